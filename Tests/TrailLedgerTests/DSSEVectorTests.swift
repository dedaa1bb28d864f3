import Crypto
import Foundation
import Testing
import TrailCore
import TrailLedger

/// The DSSE and in-toto vectors of `reference/dsse_vector.json` (RFC 8032 test key).
@Suite("DSSE envelopes and in-toto statements")
struct DSSEVectorTests {
    static func vectors() throws -> [String: Any] { try Vectors.load("dsse_vector") }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func preAuthenticationEncodingCountsBytes() throws {
        let cases = try #require(try Self.vectors()["pae_vectors"] as? [[String: Any]])
        #expect(cases.count >= 4)
        for item in cases {
            let pae = DSSE.pae(payloadType: item["payloadType"] as! String, payload: Self.bytes(hex: item["payload_hex"] as! String))
            #expect(Self.hex(pae) == item["pae_hex"] as! String)
        }
    }

    @Test func keyIDIsTheSecureSystemsLibOne() throws {
        let key = try #require(try Self.vectors()["test_key"] as? [String: Any])
        #expect(DSSE.keyID(ed25519PublicKey: Self.bytes(hex: key["ed25519_public_key_hex"] as! String)) == key["keyid"] as! String)
    }

    @Test func signsByteForByteAndVerifies() throws {
        let all = try Self.vectors()
        let key = try #require(all["test_key"] as? [String: Any])
        let seed = Self.bytes(hex: key["ed25519_seed_hex"] as! String)
        let publicKey = Self.bytes(hex: key["ed25519_public_key_hex"] as! String)
        let keyID = key["keyid"] as! String
        let vectors = try #require(all["ed25519_vectors"] as? [String: [String: Any]])
        #expect(vectors.count == 4)
        for (name, vector) in vectors {
            let payload = Array((vector["payload_utf8"] as! String).utf8)
            #expect(Self.hex(SHA256.hash(data: payload)) == vector["payload_sha256"] as! String, "\(name)")
            let pae = DSSE.pae(payloadType: DSSE.inTotoPayloadType, payload: payload)
            #expect(pae.count == vector["pae_length"] as! Int)
            #expect(Self.hex(SHA256.hash(data: pae)) == vector["pae_sha256"] as! String)
            let signed = try DSSE.Envelope.sign(
                payloadType: DSSE.inTotoPayloadType, payload: payload, key: try Curve25519.Signing.PrivateKey(rawRepresentation: seed))
            #expect(Self.hex(signed.signatures[0].sig) == vector["signature_hex"] as! String, "\(name): Ed25519 is deterministic")
            // The published envelope parses and verifies with the trusted key, and only with it.
            let published = try JSONSerialization.data(withJSONObject: vector["envelope"]!)
            let envelope = try DSSE.Envelope(parsing: Array(published))
            #expect(envelope.payload == payload)
            #expect(envelope.verifiedKeyIDs(trusted: [keyID: publicKey]) == [keyID])
            #expect(envelope.verifiedKeyIDs(trusted: ["other": Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)]).isEmpty)
            let statement = try DSSE.Statement(parsing: envelope.payload)
            #expect(!statement.subjects.isEmpty)
            // Changing the payload type breaks the signature.
            var tampered = envelope
            tampered.payloadType = "application/json"
            #expect(tampered.verifiedKeyIDs(trusted: [keyID: publicKey]).isEmpty)
        }
    }

    @Test func acceptsURLSafeBase64AndIgnoresUnknownFields() throws {
        let all = try Self.vectors()
        let vector = try #require((all["ed25519_vectors"] as? [String: [String: Any]])?["minimal"])
        let envelope = vector["envelope"] as! [String: Any]
        let urlSafe = (envelope["payload"] as! String).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let signatures = envelope["signatures"] as! [[String: Any]]
        let json = #"{"payload":"\#(urlSafe)","payloadType":"application/vnd.in-toto+json","extra":1,"signatures":[{"sig":"\#(signatures[0]["sig"] as! String)"}]}"#
        let parsed = try DSSE.Envelope(parsing: Array(json.utf8))
        let key = all["test_key"] as! [String: Any]
        #expect(parsed.verifiedKeyIDs(trusted: ["k": Self.bytes(hex: key["ed25519_public_key_hex"] as! String)]) == ["k"], "no keyid: every key is tried")
    }

    @Test func refusesMalformedStatements() {
        for (payload, field) in [
            (#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":{"sha256":"00"}}],"predicateType":"x"}"#, "statement._type"),
            (#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"}"#, "statement.subject"),
            (#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"x"}"#, "statement.subject[0].digest"),
            (#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}]}"#, "statement.predicateType"),
        ] {
            #expect(throws: TrailError.self) { try DSSE.Statement(parsing: Array(payload.utf8)) }
            #expect((try? DSSE.Statement(parsing: Array(payload.utf8))) == nil)
            do {
                _ = try DSSE.Statement(parsing: Array(payload.utf8))
            } catch let error as TrailError {
                #expect(error.field == field)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
