import Foundation
import TrailCore
import TrailLedger
import TrailStore

/// Trusted signing keys and in-toto attestations about model versions.
extension RegistryService {
    /// Trusts an Ed25519 public key (64 hex) to sign attestations of `predicateTypes` (admins
    /// only, as declared by the callers). Trusting a key again replaces its predicate types.
    public func trustKey(name: String, publicKeyHex: String, predicateTypes: [String], actor: Actor) async throws -> TrustedKey {
        let hex = publicKeyHex.lowercased()
        guard hex.utf8.count == 64, let raw = [UInt8](hex: hex) else {
            throw TrailError.invalid("public_key", "public_key must be a raw Ed25519 public key: 64 hexadecimal characters")
        }
        guard !name.isEmpty, name.count <= 200 else { throw TrailError.invalid("name", "a key name is 1 to 200 characters") }
        guard !predicateTypes.isEmpty else {
            throw TrailError.invalid("predicate_types", "name at least one predicate type the key may sign")
        }
        for type in predicateTypes where type.isEmpty || type.count > 500 || type.contains(where: \.isWhitespace) {
            throw TrailError.invalid("predicate_types", "predicate type '\(type.prefix(80))' is not a type URI")
        }
        let keyID = DSSE.keyID(ed25519PublicKey: raw)
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                changes: [
                    .setTrustedKey(keyID: keyID, name: name, publicKeyHex: hex, predicateTypes: predicateTypes, revoked: false, timeMillis: now)
                ],
                event: EventDraft(
                    action: "key.trust", actor: actor, timeMillis: now, subject: Subject(type: "key", id: keyID),
                    facts: [
                        "name": .string(name), "public_key": .string(hex), "predicate_types": .array(predicateTypes.map(JSONValue.string)),
                    ])))
        return try await trustedKeys().first { $0.keyID == keyID }!
    }

    /// Withdraws trust in a key: attestations it signed no longer count at the gate.
    public func revokeKey(keyID: String, actor: Actor) async throws -> TrustedKey {
        guard let key = try await store.trustedKeys().first(where: { $0.keyID == keyID }), !key.revoked else {
            throw TrailError.notFound("trusted key", keyID, field: "keyid")
        }
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                changes: [
                    .setTrustedKey(
                        keyID: keyID, name: key.name, publicKeyHex: key.publicKeyHex, predicateTypes: key.predicateTypes, revoked: true,
                        timeMillis: now)
                ],
                event: EventDraft(
                    action: "key.revoke", actor: actor, timeMillis: now, subject: Subject(type: "key", id: keyID),
                    facts: ["name": .string(key.name)])))
        return try await trustedKeys().first { $0.keyID == keyID }!
    }

    public func trustedKeys() async throws -> [TrustedKey] {
        try await store.trustedKeys()
    }

    public func attestations(name: String, version: Int64) async throws -> [Attestation] {
        _ = try await self.version(name, version)
        return try await store.attestations(name: name, version: version)
    }

    /// Verifies a DSSE envelope and records it as an attestation of `version`. In order: the
    /// envelope parses; a key trusted for the statement's predicate type signed it; the
    /// payload is an in-toto Statement v1 of the expected predicate type; a subject's sha256
    /// is the version's root digest, named `NAME/VERSION`. Any failure is refused,
    /// naming the check, and the attempt is recorded (`attestation.refused`).
    public func attest(name: String, version: Int64, predicateType expected: String?, envelope bytes: [UInt8], actor: Actor) async throws
        -> Attestation
    {
        let found = try await self.version(name, version)
        guard let blobs else { throw TrailError.internalError("this registry has no blob store for attestations") }
        guard bytes.count <= 1 << 20 else { throw TrailError.invalid("envelope", "an attestation envelope is at most 1 MiB") }
        let now = clock.nowMillis()
        let envelopeDigest = Digest.of(bytes)
        func refuse(_ error: TrailError) async throws -> Never {
            _ = try await store.record(
                EventDraft(
                        action: "attestation.refused", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                        facts: [
                            "version": .int(version), "envelope_digest": .string(envelopeDigest.description), "reason": .string(error.message),
                        ]))
            var error = error
            error.recorded = true
            throw error
        }
        let envelope: DSSE.Envelope
        let statement: DSSE.Statement
        do {
            envelope = try DSSE.Envelope(parsing: bytes)
            guard envelope.payloadType == DSSE.inTotoPayloadType || envelope.payloadType.hasPrefix("application/vnd.in-toto.") else {
                throw TrailError.invalid("envelope.payloadType", "payloadType '\(envelope.payloadType)' is not an in-toto statement")
            }
            // The predicate type decides which keys are trusted; it is read from the payload
            // before the signature check only to choose those keys, and the statement is
            // accepted only once a key trusted for that type has verified these same bytes.
            statement = try DSSE.Statement(parsing: envelope.payload)
        } catch let error as TrailError {
            try await refuse(error)
        }
        if let expected, expected != statement.predicateType {
            try await refuse(
                .invalid("predicate_type", "the statement's predicateType is \(statement.predicateType), not \(expected)"))
        }
        var trusted: [String: [UInt8]] = [:]
        for key in try await store.trustedKeys() where !key.revoked && key.predicateTypes.contains(statement.predicateType) {
            trusted[key.keyID] = [UInt8](hex: key.publicKeyHex)
        }
        let verified = envelope.verifiedKeyIDs(trusted: trusted)
        guard !verified.isEmpty else {
            try await refuse(
                TrailError(
                    .permissionDenied,
                    "no signature verifies with a key trusted for \(statement.predicateType) (bad signature or untrusted key; \(trusted.count) trusted key\(trusted.count == 1 ? "" : "s") for this type)",
                    field: "envelope.signatures"))
        }
        // The subject is the version itself: its root digest, under its own name. A file's
        // digest is not enough (another version can carry the same file, or the canonical
        // manifest bytes of an attested version as a file).
        let names: Set<String> = ["\(name)/\(version)", "models:/\(name)/\(version)"]
        let root = found.manifest.root
        guard statement.subjects.contains(where: { $0.digest["sha256"].flatMap { try? Digest(hex: $0) } == root }) else {
            try await refuse(
                .invalid("statement.subject", "no subject's sha256 is version \(version)'s root digest \(root)"))
        }
        guard statement.subjects.contains(where: { $0.digest["sha256"].flatMap { try? Digest(hex: $0) } == root && names.contains($0.name) }) else {
            try await refuse(
                .invalid(
                    "statement.subject",
                    "the subject with version \(version)'s root digest must be named '\(name)/\(version)' (this model and version); got \(statement.subjects.filter { $0.digest["sha256"].flatMap { try? Digest(hex: $0) } == root }.map { "'\($0.name.prefix(100))'" }.joined(separator: ", "))"))
        }
        let subject = root
        _ = try await blobs.put(bytes)
        let attestation = Attestation(
            name: name, version: version, predicateType: statement.predicateType, envelopeDigest: envelopeDigest,
            payloadDigest: Digest.of(envelope.payload), subjectDigest: subject, keyIDs: verified, submittedBy: actor.description, timeMillis: now,
            eventIndex: 0)
        let receipt = try await store.apply(
            WriteBatch(
                preconditions: [.modelVersion(name, version)], changes: [.recordAttestation(attestation)],
                event: EventDraft(
                    action: "attestation.add", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: [
                        "version": .int(version), "predicate_type": .string(statement.predicateType),
                        "envelope_digest": .string(envelopeDigest.description), "payload_digest": .string(attestation.payloadDigest.description),
                        "subject_digest": .string(subject.description), "keyids": .array(verified.map(JSONValue.string)),
                    ],
                    artifactDigests: [envelopeDigest])))
        return try await store.attestations(name: name, version: version).first { $0.eventIndex == receipt.eventIndex } ?? attestation
    }

    /// Attestations that count at the gate for `predicateType`: a key still trusted for that
    /// type verified it, and its subject is the version's current root digest.
    func standingAttestations(of found: ModelVersion, predicateType: String) async throws -> [Attestation] {
        let keys = try await store.trustedKeys().filter { !$0.revoked && $0.predicateTypes.contains(predicateType) }.map(\.keyID)
        return try await store.attestations(name: found.name, version: found.version).filter {
            $0.predicateType == predicateType && $0.subjectDigest == found.manifest.root && $0.keyIDs.contains(where: keys.contains)
        }
    }
}
