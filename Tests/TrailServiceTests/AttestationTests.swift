import Crypto
import Foundation
import Testing
import TrailCore
import TrailLedger
import TrailService
import TrailStore

@Suite("Attestations, trusted keys and the emergency path")
struct AttestationTests {
    static let provenance = "https://slsa.dev/provenance/v1"

    static func statement(subject: TrailCore.Digest, type: String = provenance, name: String = "bc/1") -> [UInt8] {
        Array(
            #"{"_type":"https://in-toto.io/Statement/v1","predicate":{"runDetails":{"builder":{"id":"trail"}}},"predicateType":"\#(type)","subject":[{"digest":{"sha256":"\#(subject.hex)"},"name":"\#(name)"}]}"#
                .utf8)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func attestationsAreVerifiedOnArrivalAndRequiredByPolicy() async throws {
        let home = try await PromotionGateTests.setUp()
        let registry = home.registry
        let signer = Curve25519.Signing.PrivateKey()
        let stranger = Curve25519.Signing.PrivateKey()
        let root = try await registry.version("bc", 1).manifest.root
        var policy = try #require(try await registry.policy(name: "bc", target: "@production")?.policy)
        policy.attestations = [Self.provenance]
        policy.approvals = 0
        _ = try await registry.setPolicy(name: "bc", target: "@production", policy: policy, actor: PromotionGateTests.admin)
        #expect(try await registry.evaluate(name: "bc", version: 1, target: "@production").unmet.map(\.requirement) == ["attestation \(Self.provenance)"])

        // Nobody trusted yet: refused. Then trust the signer for provenance only.
        let signed = try DSSE.Envelope.sign(payloadType: DSSE.inTotoPayloadType, payload: Self.statement(subject: root), key: signer).json
        let untrusted = await #expect(throws: TrailError.self) {
            _ = try await registry.attest(name: "bc", version: 1, predicateType: Self.provenance, envelope: signed, actor: PromotionGateTests.carol)
        }
        #expect(untrusted?.code == .permissionDenied)
        let key = try await registry.trustKey(
            name: "trainer", publicKeyHex: Self.hex(signer.publicKey.rawRepresentation), predicateTypes: [Self.provenance],
            actor: PromotionGateTests.admin)
        #expect(key.keyID == DSSE.keyID(ed25519PublicKey: Array(signer.publicKey.rawRepresentation)))

        // A stranger's signature, a tampered payload, a foreign subject, a type the key may not sign: each refused.
        let strangers = try DSSE.Envelope.sign(payloadType: DSSE.inTotoPayloadType, payload: Self.statement(subject: root), key: stranger).json
        var tampered = try DSSE.Envelope(parsing: signed)
        tampered.payload = Self.statement(subject: TrailCore.Digest.of([1]))
        let foreign = try DSSE.Envelope.sign(payloadType: DSSE.inTotoPayloadType, payload: Self.statement(subject: TrailCore.Digest.of([2])), key: signer).json
        let otherType = try DSSE.Envelope.sign(
            payloadType: DSSE.inTotoPayloadType, payload: Self.statement(subject: root, type: "https://in-toto.io/attestation/test-result/v0.1"),
            key: signer
        ).json
        for (bad, field) in [
            (strangers, "envelope.signatures"), (tampered.json, "envelope.signatures"), (foreign, "statement.subject"),
            (otherType, "envelope.signatures"), (Array("{}".utf8), "envelope.payloadType"),
        ] {
            let error = await #expect(throws: TrailError.self) {
                _ = try await registry.attest(name: "bc", version: 1, predicateType: nil, envelope: bad, actor: PromotionGateTests.carol)
            }
            #expect(error?.field == field, "\(String(describing: error))")
        }
        #expect(try await home.ledger.events(EventQuery(action: "attestation.refused")).count == 6)
        #expect(try await registry.attestations(name: "bc", version: 1).isEmpty)

        // The signed one is accepted, kept byte for byte, and satisfies the policy.
        let accepted = try await registry.attest(
            name: "bc", version: 1, predicateType: Self.provenance, envelope: signed, actor: PromotionGateTests.carol)
        #expect(accepted.subjectDigest == root)
        #expect(accepted.keyIDs == [key.keyID])
        #expect(try await home.tracking.blobs.get(accepted.envelopeDigest) == signed)
        let report = try await registry.evaluate(name: "bc", version: 1, target: "@production")
        #expect(report.granted)
        #expect(report.requirements.first { $0.requirement.hasPrefix("attestation") }?.evidence.contains(accepted.envelopeDigest.description) == true)
        try await registry.setAlias(name: "bc", alias: "production", version: 1, reason: "attested", actor: PromotionGateTests.carol)

        // Revoking the key withdraws the evidence: version 2's attestation by it no longer counts.
        let root2 = try await registry.version("bc", 2).manifest.root
        _ = try await registry.attest(
            name: "bc", version: 2, predicateType: Self.provenance,
            envelope: try DSSE.Envelope.sign(payloadType: DSSE.inTotoPayloadType, payload: Self.statement(subject: root2, name: "bc/2"), key: signer).json,
            actor: PromotionGateTests.carol)
        #expect(try await registry.evaluate(name: "bc", version: 2, target: "@production").granted)
        _ = try await registry.revokeKey(keyID: key.keyID, actor: PromotionGateTests.admin)
        #expect(!(try await registry.evaluate(name: "bc", version: 2, target: "@production").granted))
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok, "envelope blobs are referenced, not orphans")
    }

    @Test func emergencyPathNeedsAReasonAndIsRecordedAsSuch() async throws {
        let home = try await PromotionGateTests.setUp()
        let registry = home.registry
        await #expect(throws: TrailError.self) {
            try await registry.emergencySetAlias(name: "bc", alias: "production", version: 2, reason: "", actor: PromotionGateTests.admin)
        }
        #expect(try await registry.model("bc").aliases.isEmpty)
        try await registry.emergencySetAlias(
            name: "bc", alias: "production", version: 2, reason: "v1 leaks PII; incident INC-42", actor: PromotionGateTests.admin)
        #expect(try await registry.model("bc").aliases["production"] == 2)
        let event = try #require(try await home.ledger.events(EventQuery(action: "alias.emergency")).last)
        let body = try JSONValue.parse(event.body)
        #expect(body["facts"]?["reason"] == .string("v1 leaks PII; incident INC-42"))
        guard case .array(let bypassed)? = body["facts"]?["bypassed"] else { Issue.record("no bypassed list"); return }
        #expect(bypassed.count == 1, "the unmet approvals requirement is named")
        #expect(try await registry.history("bc").last?.reason.hasPrefix("EMERGENCY: ") == true)
    }
}
