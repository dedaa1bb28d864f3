import Crypto
import Foundation
import TrailCore

/// DSSE v1 envelopes (secure-systems-lab/dsse) carrying in-toto Statement v1 payloads, signed
/// with Ed25519. See `docs/promotion.md` for how the gate uses them.
public enum DSSE {
    public static let inTotoPayloadType = "application/vnd.in-toto+json"
    public static let statementType = "https://in-toto.io/Statement/v1"

    /// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in
    /// UTF-8 bytes, ASCII decimal.
    public static func pae(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        return Array("DSSEv1 \(type.count) ".utf8) + type + Array(" \(payload.count) ".utf8) + payload
    }

    /// The securesystemslib key id of an Ed25519 public key: SHA-256 of the canonical JSON of
    /// `{"keytype":"ed25519","keyval":{"public":<hex>},"scheme":"ed25519"}`.
    public static func keyID(ed25519PublicKey publicKey: [UInt8]) -> String {
        let hex = publicKey.hexString
        let preimage = #"{"keytype":"ed25519","keyval":{"public":"\#(hex)"},"scheme":"ed25519"}"#
        return Array(SHA256.hash(data: Array(preimage.utf8))).hexString
    }

    /// Decodes standard or URL-safe base64, with or without padding.
    public static func base64Decode(_ text: String) -> [UInt8]? {
        var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while normalized.count % 4 != 0 { normalized += "=" }
        return Data(base64Encoded: normalized).map(Array.init)
    }

    public struct Signature: Sendable, Hashable {
        public var keyID: String
        public var sig: [UInt8]
    }

    public struct Envelope: Sendable, Hashable {
        public var payloadType: String
        public var payload: [UInt8]
        public var signatures: [Signature]

        /// Parses an envelope; unknown fields are ignored, as the spec requires.
        public init(parsing bytes: [UInt8]) throws {
            guard case .object(let members) = try JSONValue.parse(bytes) else {
                throw TrailError.invalid("envelope", "a DSSE envelope is a JSON object")
            }
            guard case .string(let payloadType)? = members["payloadType"] else {
                throw TrailError.invalid("envelope.payloadType", "the envelope has no payloadType string")
            }
            guard case .string(let payloadText)? = members["payload"], let payload = DSSE.base64Decode(payloadText) else {
                throw TrailError.invalid("envelope.payload", "the envelope's payload is missing or not base64")
            }
            guard case .array(let list)? = members["signatures"] else {
                throw TrailError.invalid("envelope.signatures", "the envelope has no signatures array")
            }
            var signatures: [Signature] = []
            for (i, item) in list.enumerated() {
                guard case .object(let signature) = item, case .string(let sigText)? = signature["sig"], let sig = DSSE.base64Decode(sigText) else {
                    throw TrailError.invalid("envelope.signatures[\(i)].sig", "signature \(i) has no base64 sig")
                }
                var keyID = ""
                if case .string(let text)? = signature["keyid"] { keyID = text }
                signatures.append(Signature(keyID: keyID, sig: sig))
            }
            self.payloadType = payloadType
            self.payload = payload
            self.signatures = signatures
        }

        public init(payloadType: String, payload: [UInt8], signatures: [Signature]) {
            self.payloadType = payloadType
            self.payload = payload
            self.signatures = signatures
        }

        /// The envelope as compact JSON with standard padded base64.
        public var json: [UInt8] {
            let value: JSONValue = [
                "payload": .string(Data(payload).base64EncodedString()), "payloadType": .string(payloadType),
                "signatures": .array(
                    signatures.map { ["keyid": .string($0.keyID), "sig": .string(Data($0.sig).base64EncodedString())] }),
            ]
            return value.canonicalBytes
        }

        /// Signs `payload` with an Ed25519 key.
        public static func sign(payloadType: String, payload: [UInt8], key: Curve25519.Signing.PrivateKey) throws -> Envelope {
            let signature = try key.signature(for: DSSE.pae(payloadType: payloadType, payload: payload))
            return Envelope(
                payloadType: payloadType, payload: payload,
                signatures: [Signature(keyID: DSSE.keyID(ed25519PublicKey: Array(key.publicKey.rawRepresentation)), sig: Array(signature))])
        }

        /// The key ids of the distinct `trusted` keys (id → raw Ed25519 public key) whose
        /// signature verifies. `keyid` only picks which key to try first; a failed signature
        /// is skipped, not fatal.
        public func verifiedKeyIDs(trusted: [String: [UInt8]]) -> [String] {
            let message = DSSE.pae(payloadType: payloadType, payload: payload)
            var verified: [String] = []
            for signature in signatures {
                let candidates = trusted[signature.keyID] != nil ? [signature.keyID] + trusted.keys.sorted() : trusted.keys.sorted()
                for id in candidates where !verified.contains(id) {
                    guard let raw = trusted[id], let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { continue }
                    if key.isValidSignature(signature.sig, for: message) {
                        verified.append(id)
                        break
                    }
                }
            }
            return verified
        }
    }

    /// An in-toto Statement v1, checked as the framework requires: `_type`, a non-empty
    /// subject list in which every entry has a digest, a predicate type.
    public struct Statement: Sendable, Hashable {
        public struct Subject: Sendable, Hashable {
            public var name: String
            public var digest: [String: String]
        }

        public var subjects: [Subject]
        public var predicateType: String
        public var predicate: JSONValue

        public init(parsing payload: [UInt8]) throws {
            guard case .object(let members) = try JSONValue.parse(payload) else {
                throw TrailError.invalid("statement", "the payload is not a JSON object")
            }
            guard members["_type"] == .string(DSSE.statementType) else {
                throw TrailError.invalid("statement._type", "the statement's _type must be \(DSSE.statementType)")
            }
            guard case .array(let list)? = members["subject"], !list.isEmpty else {
                throw TrailError.invalid("statement.subject", "the statement must name at least one subject")
            }
            subjects = try list.enumerated().map { i, item in
                guard case .object(let subject) = item, case .object(let digests)? = subject["digest"], !digests.isEmpty else {
                    throw TrailError.invalid("statement.subject[\(i)].digest", "every subject must have a digest")
                }
                var digest: [String: String] = [:]
                for (algorithm, value) in digests {
                    if case .string(let text) = value { digest[algorithm] = text.lowercased() }
                }
                var name = ""
                if case .string(let text)? = subject["name"] { name = text }
                return Subject(name: name, digest: digest)
            }
            guard case .string(let predicateType)? = members["predicateType"], !predicateType.isEmpty else {
                throw TrailError.invalid("statement.predicateType", "the statement has no predicateType")
            }
            self.predicateType = predicateType
            predicate = members["predicate"] ?? .object([:])
        }
    }
}
