import Foundation

/// A public key trusted to sign attestations of the listed predicate types. Trust is granted
/// and withdrawn by admins; every change is a new row and a ledger event.
public struct TrustedKey: Sendable, Hashable, Codable {
    /// The securesystemslib key id (hex SHA-256 of the key's canonical description).
    public var keyID: String
    public var name: String
    /// Raw Ed25519 public key, hex.
    public var publicKeyHex: String
    public var predicateTypes: [String]
    public var revoked: Bool
    public var actor: String
    public var timeMillis: Int64
    public var eventIndex: Int64

    public init(
        keyID: String, name: String, publicKeyHex: String, predicateTypes: [String], revoked: Bool, actor: String, timeMillis: Int64,
        eventIndex: Int64
    ) {
        self.keyID = keyID
        self.name = name
        self.publicKeyHex = publicKeyHex
        self.predicateTypes = predicateTypes
        self.revoked = revoked
        self.actor = actor
        self.timeMillis = timeMillis
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey {
        case keyID = "keyid", name, publicKeyHex = "public_key", predicateTypes = "predicate_types", revoked, actor, timeMillis = "time"
        case eventIndex = "event_index"
    }
}

/// A verified in-toto statement about a model version, as accepted: the envelope is kept
/// byte for byte in the blob store under `envelopeDigest`.
public struct Attestation: Sendable, Hashable, Codable {
    public var name: String
    public var version: Int64
    public var predicateType: String
    public var envelopeDigest: Digest
    public var payloadDigest: Digest
    /// The subject digest that matched the version (its root digest or one of its files).
    public var subjectDigest: Digest
    /// Key ids of the trusted keys whose signatures verified.
    public var keyIDs: [String]
    public var submittedBy: String
    public var timeMillis: Int64
    public var eventIndex: Int64

    public init(
        name: String, version: Int64, predicateType: String, envelopeDigest: Digest, payloadDigest: Digest, subjectDigest: Digest,
        keyIDs: [String], submittedBy: String, timeMillis: Int64, eventIndex: Int64
    ) {
        self.name = name
        self.version = version
        self.predicateType = predicateType
        self.envelopeDigest = envelopeDigest
        self.payloadDigest = payloadDigest
        self.subjectDigest = subjectDigest
        self.keyIDs = keyIDs
        self.submittedBy = submittedBy
        self.timeMillis = timeMillis
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey {
        case name, version, predicateType = "predicate_type", envelopeDigest = "envelope_digest", payloadDigest = "payload_digest"
        case subjectDigest = "subject_digest", keyIDs = "keyids", submittedBy = "submitted_by", timeMillis = "time", eventIndex = "event_index"
    }
}
