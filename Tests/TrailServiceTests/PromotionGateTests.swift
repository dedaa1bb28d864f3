import Foundation
import Testing
import TrailCore
import TrailService
import TrailStore

@Suite("Promotion policy, approvals and the gate")
struct PromotionGateTests {
    static let admin = Actor.user("root")
    static let carol = Actor.user("carol")  // contributor, registers versions
    static let ann = Actor.user("ann")  // approver
    static let ben = Actor.user("ben")  // approver

    static func setUp() async throws -> TrailHome {
        let home = try await makeHome()
        _ = try await home.identity.createUser(name: "carol", roles: [.contributor, .approver], actor: admin)
        _ = try await home.identity.createUser(name: "ann", roles: [.approver], actor: admin)
        _ = try await home.identity.createUser(name: "ben", roles: [.approver], actor: admin)
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: admin)
        for auc in [0.97, 0.98] {
            let run = try await home.tracking.createRun(experimentID: nil, actor: carol).info.runID
            try await home.tracking.logBatch(
                run, metrics: [Metric(key: "roc_auc", value: auc, timestampMillis: 1)], tags: [TrailCore.Tag(key: "git_commit", value: "abc123")],
                actor: carol)
            try await home.tracking.putArtifact(
                run, path: try ArtifactPath(validating: "model/model.json"), bytes: Array("\(auc)".utf8), actor: carol)
            try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model_card.md"), bytes: Array("card".utf8), actor: carol)
            _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: carol)
            _ = try await home.tracking.updateRun(run, status: .finished, actor: carol)  // what a policy reads is read from finished runs
        }
        let policy = try PromotionPolicy.parse(
            Array(
                #"{"approvals": 2, "approval_ttl_hours": 24, "metrics": [{"key": "roc_auc", "op": ">=", "value": 0.95}], "evidence_artifacts": ["model_card.md"], "provenance_tags": ["git_commit"]}"#
                    .utf8))
        _ = try await home.registry.setPolicy(name: "bc", target: "@production", policy: policy, actor: admin)
        return home
    }

    @Test func theDoneWhenFlow() async throws {
        let home = try await Self.setUp()
        let registry = home.registry
        // Without approvals: refused, with every reason, and recorded.
        let refused = await #expect(throws: TrailError.self) {
            try await registry.setAlias(name: "bc", alias: "production", version: 1, reason: "release", actor: Self.carol)
        }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains("2 approvals") == true)
        #expect(try await registry.model("bc").aliases.isEmpty, "nothing changed")
        let refusals = try await home.ledger.events(EventQuery(action: "promotion.refused"))
        #expect(refusals.count == 1)
        // The creator cannot approve; a viewer cannot approve; both attempts are recorded.
        await #expect(throws: TrailError.self) { _ = try await registry.approve(name: "bc", version: 1, target: "@production", actor: Self.carol) }
        await #expect(throws: TrailError.self) { _ = try await registry.approve(name: "bc", version: 1, target: "@production", actor: .user("vic")) }
        #expect(try await home.ledger.events(EventQuery(action: "approval.refused")).count == 2)
        // A digest that is not the version's: refused.
        await #expect(throws: TrailError.self) {
            _ = try await registry.approve(name: "bc", version: 1, target: "@production", reviewedDigest: Digest.of([0]), actor: Self.ann)
        }
        // Two approvers: granted; a second approval by the same user is refused.
        let root = try await registry.version("bc", 1).manifest.root
        _ = try await registry.approve(name: "bc", version: 1, target: "@production", comment: "ok", reviewedDigest: root, actor: Self.ann)
        await #expect(throws: TrailError.self) { _ = try await registry.approve(name: "bc", version: 1, target: "@production", actor: Self.ann) }
        let check = try await registry.evaluate(name: "bc", version: 1, target: "@production")
        #expect(!check.granted)
        #expect(check.unmet.map(\.requirement) == ["2 approvals from distinct approvers who made none of it"])
        _ = try await registry.approve(name: "bc", version: 1, target: "@production", actor: Self.ben)
        try await registry.setAlias(name: "bc", alias: "production", version: 1, reason: "release", actor: Self.carol)
        let granted = try #require(try await home.ledger.events(EventQuery(action: "alias.set")).last)
        let body = try JSONValue.parse(granted.body)
        #expect(body["facts"]?["evidence"]?["requirements"] != nil, "the event cites the evidence")
        #expect(String(decoding: granted.body, as: UTF8.self).contains("ann (#"))
        let released = home.tracking.clock.nowMillis()
        // Version 2 through the gate, then a rollback to 1 through the same gate (still approved).
        for approver in [Self.ann, Self.ben] { _ = try await registry.approve(name: "bc", version: 2, target: "@production", actor: approver) }
        try await registry.setAlias(name: "bc", alias: "production", version: 2, reason: "better", actor: Self.carol)
        try await registry.setAlias(name: "bc", alias: "production", version: 1, reason: "rollback: v2 misbehaves", actor: Self.carol)
        // What was in production at T, and who approved it.
        let (then, change) = try await registry.resolve(name: "bc", reference: "production", atMillis: released)
        #expect(then == [1])
        #expect(change?.reason == "release")
        let approvers = try await registry.approvals(name: "bc", version: 1).filter { $0.decision == "approve" }.map(\.approver)
        #expect(approvers == ["ann", "ben"])
        #expect(try await registry.history("bc").map(\.reason) == ["release", "better", "rollback: v2 misbehaves"])
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok)
    }

    @Test func unmetMetricsEvidenceAndProvenanceAreEachListed() async throws {
        let home = try await Self.setUp()
        let policy = PromotionPolicy(
            metrics: [.init(key: "roc_auc", op: ">=", value: 0.99), .init(key: "f1", op: ">", value: 0.5)],
            evidenceArtifacts: ["confusion_matrix.png"],
            provenanceTags: ["data_sha256"], securityDecision: "PASS")
        _ = try await home.registry.setPolicy(name: "bc", target: "Production", policy: policy, actor: Self.admin)
        let report = try await home.registry.evaluate(name: "bc", version: 1, target: "production")
        // Five of the stage's own, and the approvals of the same-named alias's policy (`@production`).
        #expect(report.unmet.count == 6)
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.registry.transitionStage(name: "bc", version: 1, stage: .production, actor: Self.carol)
        }
        for fragment in ["roc_auc >= 0.99", "f1 > 0.5", "confusion_matrix.png", "data_sha256", "security_decision"] {
            #expect(error?.message.contains(fragment) == true, "\(fragment) not in \(error?.message ?? "")")
        }
        #expect(try await home.registry.version("bc", 1).stage == ModelStage.none)
    }

    @Test func refusedRegistryAttemptsAreRecordedOnce() async throws {
        let home = try await Self.setUp()
        let registry = home.registry
        let before = try await home.ledger.events(EventQuery(action: "registry.refused")).count
        await #expect(throws: TrailError.self) { _ = try await registry.createModel(name: "bc", actor: Self.carol) }
        await #expect(throws: TrailError.self) {
            try await registry.setAlias(name: "bc", alias: "staging", version: 99, actor: Self.carol)
        }
        await #expect(throws: TrailError.self) { _ = try await registry.version("nope", 1) }  // a read: not an attempt
        await #expect(throws: TrailError.self) {
            _ = try await registry.setPolicy(name: "bc", target: "@production", document: Array("{\n\"approvals\": }".utf8), actor: Self.admin)
        }
        let refused = try await home.ledger.events(EventQuery(action: "registry.refused"))
        #expect(refused.count == before + 3)
        #expect(String(decoding: refused.last!.body, as: UTF8.self).contains("line 2"))
        // A gate refusal is recorded as promotion.refused, not twice.
        await #expect(throws: TrailError.self) {
            try await registry.setAlias(name: "bc", alias: "production", version: 1, actor: Self.carol)
        }
        #expect(try await home.ledger.events(EventQuery(action: "registry.refused")).count == before + 3)
        #expect(try await home.ledger.events(EventQuery(action: "promotion.refused")).count == 1)
    }

    @Test(
        "policy files that do not parse are refused, naming the line or field",
        arguments: [
            ("{\n  \"approvals\": 2,\n  \"metrics\": [\n}", "line 4"),
            (#"{"approvals": "two"}"#, "policy.approvals"),
            (#"{"metrics": [{"key": "auc", "op": "~", "value": 1}]}"#, "policy.metrics[0].op"),
            (#"{"aprovals": 2}"#, "policy.aprovals"),
        ])
    func badPolicies(_ text: String, _ expected: String) {
        let error = #expect(throws: TrailError.self) { _ = try PromotionPolicy.parse(Array(text.utf8)) }
        #expect((error?.message.contains(expected) ?? false) || error?.field == expected, "\(String(describing: error))")
    }
}
