import Crypto
import Foundation
import Testing
import TrailLedger

/// `../shared/reference/witness.md`: cosignatures byte for byte, the add-checkpoint steps with
/// the witness's state after each, and k-of-n client checks.
@Suite("Witness: cosignatures and the tlog-witness protocol (C2SP vectors)")
struct WitnessVectorTests {
    static var vectors: [String: Any] { get throws { try Vectors.load("witness_vectors") } }

    static func witnessKey(_ index: Int) throws -> (CosignatureSigner, String) {
        let keys = try #require(try vectors["keys"] as? [String: Any])
        let witness = try #require((keys["witnesses"] as? [[String: Any]])?[index])
        return (try CosignatureSigner(name: witness["name"] as! String, seed: Vectors.hex(witness["ed25519_seed_hex"] as! String)), witness["vkey"] as! String)
    }

    @Test func keysAndCosignaturesAreReproducedByteForByte() throws {
        for i in 0..<3 {
            let (signer, vkey) = try Self.witnessKey(i)
            #expect(signer.verifier.vkey == vkey)
            #expect(try CosignatureVerifier(vkey: vkey) == signer.verifier)
        }
        // The same key as a 0x01 vkey is refused as a witness key.
        let keys = try #require(try Self.vectors["keys"] as? [String: Any])
        let first = try #require((keys["witnesses"] as? [[String: Any]])?.first)
        #expect(throws: NoteError.self) { _ = try CosignatureVerifier(vkey: first["same_key_as_type_01_vkey_do_not_use"] as! String) }
        let (signer, _) = try Self.witnessKey(0)
        for vector in try #require(try Self.vectors["cosignatures"] as? [[String: Any]]) + [try #require(try Self.vectors["cosignature_with_extension_line"] as? [String: Any])] {
            let text = vector["checkpoint_text"] as! String
            let time = UInt64(vector["timestamp"] as! Int)
            #expect(Cosignature.message(checkpointText: text, time: time) == Array((vector["signed_message"] as! String).utf8))
            let line = try signer.cosign(checkpointText: text, time: time)
            #expect(line == vector["signature_line"] as! String)
            let cosigned = vector["cosigned_checkpoint"] as! String
            #expect(try Cosignature.cosigners(of: cosigned, among: [signer.verifier]) == [signer.verifier: time])
        }
    }

    @Test func forgedCosignaturesAreRejected() throws {
        let (signer, _) = try Self.witnessKey(0)
        let witness = signer.verifier
        let vector = try #require((try Self.vectors["cosignatures"] as? [[String: Any]])?[1])
        let text = vector["checkpoint_text"] as! String
        let payload = Vectors.hex(vector["payload_hex"] as! String)
        #expect(Cosignature.verify(payload: payload, text: text, by: witness) == 1_700_000_120)
        var changedTime = payload
        changedTime[11] ^= 1
        var flipped = payload
        flipped[40] ^= 0x10
        var tooLate = payload
        tooLate[4] = 0x80
        let other = try #require((try Self.vectors["cosignatures"] as? [[String: Any]])?[0])["checkpoint_text"] as! String
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Vectors.hex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"))
        let plain = Array(payload.prefix(12)) + Array(try key.signature(for: Data(text.utf8)))
        for (bad, what) in [
            (changedTime, "time changed by one"), (flipped, "signature bit flipped"), (Array(payload.prefix(72)), "truncated to 72 bytes"),
            (tooLate, "t = 2^63"), (plain, "plain Ed25519 over the text"),
        ] {
            #expect(Cosignature.verify(payload: bad, text: text, by: witness) == nil, "\(what)")
        }
        #expect(Cosignature.verify(payload: payload, text: other, by: witness) == nil, "payload moved to another checkpoint")
    }

    /// Replays every step of both add-checkpoint sequences: status, content type, body and the
    /// record after each.
    @Test(arguments: ["add_checkpoint", "add_checkpoint_size_zero"])
    func addCheckpointStepsReplay(sequence: String) throws {
        let (signer, _) = try Self.witnessKey(0)
        let vectors = try #require(try Self.vectors[sequence] as? [String: Any])
        let initial = try #require(vectors["initial_state"] as? [String: Any])
        func record(_ state: [String: Any]) -> WitnessRecord {
            WitnessRecord(
                origin: state["origin"] as! String, logVKeys: state["log_vkeys"] as! [String], size: UInt64(state["size"] as! Int),
                root: Vectors.b64(state["root_b64"]))
        }
        var records = [initial["origin"] as! String: record(initial)]
        for step in try #require(vectors["steps"] as? [[String: Any]]) {
            let name = step["step"] as! String
            let body = Array(((step["request"] as! [String: Any])["body"] as! String).utf8)
            let (answer, update) = WitnessProtocol.addCheckpoint(body, records: records, signer: signer, time: UInt64(step["witness_time"] as! Int))
            #expect(answer.status == step["expected_status"] as! Int, "\(name): \(answer.body)")
            #expect(answer.contentType == step["expected_content_type"] as? String, "\(name)")
            if let expected = step["expected_body"] as? String { #expect(answer.body == expected, "\(name)") }
            if let update { records[update.origin] = update }
            let after = record(step["state_after"] as! [String: Any])
            #expect(records[after.origin] == after, "\(name): record after")
            #expect((update != nil) == (answer.status == 200), "\(name): only a 200 changes the record")
        }
    }

    @Test func aClientNeedsTheLogSignatureAndAQuorumOfWitnesses() throws {
        let policy = try #require(try Self.vectors["client_policy"] as? [String: Any])
        let log = try NoteVerifier(vkey: policy["log_vkey"] as! String)
        let witnesses = try (policy["witness_vkeys"] as! [String]).map { try CosignatureVerifier(vkey: $0) }
        for vector in try #require(policy["cases"] as? [[String: Any]]) {
            let name = vector["case"] as! String
            let result = Result { try Cosignature.verifyQuorum(note: vector["note"] as! String, log: log, witnesses: witnesses, quorum: vector["k"] as! Int) }
            switch result {
            case .success(let (_, cosigners)):
                #expect(vector["expected_valid"] as! Bool, "\(name) should fail")
                if let detail = vector["detail"] as? [String] { #expect(cosigners == detail.sorted(), "\(name)") }
            case .failure(let error):
                #expect(!(vector["expected_valid"] as! Bool), "\(name): \(error)")
                if let detail = vector["detail"] as? String { #expect("\(error)".contains(detail), "\(name): \(error)") }
            }
        }
    }
}
