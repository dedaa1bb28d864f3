import Crypto
import Foundation
import Testing
import TrailCore
import TrailLedger
import TrailService
import TrailStore

/// Issue #12, the gate: each test reproduces one way the gate could be walked around on the
/// main before the fix, and shows it holding now.
@Suite("Security: the gate fails closed")
struct GateSecurityTests {
    static let root = Actor.user("root")
    static let carol = Actor.user("carol")  // contributor + approver: trains and uploads
    static let dave = Actor.user("dave")  // contributor: registers
    static let ann = Actor.user("ann")  // approver
    static let ben = Actor.user("ben")  // approver

    /// `bc` versions 1 and 2 (carol's runs, registered by dave), `@production` protected by
    /// two approvals and a metric.
    static func setUp(policy: String = #"{"approvals": 2, "metrics": [{"key": "roc_auc", "op": ">=", "value": 0.9}]}"#) async throws -> TrailHome {
        let home = try await SecurityFixtures.home()
        for (name, roles) in [("carol", [Role.contributor, .approver]), ("dave", [.contributor]), ("ann", [.approver]), ("ben", [.approver])] {
            _ = try await home.identity.createUser(name: name, roles: Set(roles), actor: root)
        }
        for auc in [0.97, 0.98] {
            let run = try await home.tracking.createRun(experimentID: nil, actor: carol).info.runID
            try await home.tracking.logBatch(run, metrics: [Metric(key: "roc_auc", value: auc, timestampMillis: 1)], actor: carol)
            try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/model.json"), bytes: Array("\(auc)".utf8), actor: carol)
            _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: dave)
            _ = try await home.tracking.updateRun(run, status: .finished, actor: carol)
        }
        _ = try await home.registry.setPolicy(name: "bc", target: "@production", document: Array(policy.utf8), actor: root)
        return home
    }

    // 1. "Reject" (any spelling but `reject`) was recorded as an approval.
    @Test func onlyKnownDecisionsAndARejectionNeverCounts() async throws {
        let home = try await Self.setUp(policy: #"{"approvals": 1}"#)
        for text in ["rejected", "no", "", "APPROVED", "yes"] {
            let error = #expect(throws: TrailError.self) { _ = try ApprovalDecision(parsing: text) }
            #expect(error?.field == "decision")
        }
        #expect(throws: TrailError.self) { _ = try ApprovalDecision(parsing: nil) }
        #expect(try ApprovalDecision(parsing: "Reject") == .reject)
        _ = try await home.registry.approve(name: "bc", version: 1, target: "@production", decision: try ApprovalDecision(parsing: "Reject"), actor: Self.ann)
        #expect(try await home.registry.approvals(name: "bc", version: 1).map(\.decision) == ["reject"])
        #expect(try await home.ledger.events(EventQuery(action: "approval.approve")).isEmpty)
        #expect(!(try await home.registry.evaluate(name: "bc", version: 1, target: "@production").granted))
    }

    // 2. A stage of the alias's name, alias deletion and serving's fallback to a stage.
    @Test func aProtectedAliasCannotBeWalkedAround() async throws {
        let home = try await Self.setUp()
        let registry = home.registry
        // The stage `Production` is held to the `@production` policy.
        let staged = await #expect(throws: TrailError.self) {
            _ = try await registry.transitionStage(name: "bc", version: 2, stage: .production, actor: Self.dave)
        }
        #expect(staged?.code == .permissionDenied)
        #expect(try await registry.version("bc", 2).stage == .none)
        // An admin puts version 1 there through the emergency path; a contributor cannot remove it.
        try await registry.emergencySetAlias(name: "bc", alias: "production", version: 1, reason: "incident 42: restore service", actor: Self.root)
        let removed = await #expect(throws: TrailError.self) {
            try await registry.setAlias(name: "bc", alias: "production", version: nil, actor: Self.dave)
        }
        #expect(removed?.code == .permissionDenied)
        #expect(try await registry.model("bc").aliases["production"] == 1)
        #expect(try await home.ledger.events(EventQuery(action: "promotion.refused")).count == 2)
        // Look-alike aliases (fullwidth, Cyrillic) are refused: aliases are ASCII.
        for alias in ["ｐroduction", "prоduction", "produçtion"] {
            let error = await #expect(throws: TrailError.self) { try await registry.setAlias(name: "bc", alias: alias, version: 2, actor: Self.dave) }
            #expect(error?.field == "alias")
        }
        // Case variants are refused, and protected alike.
        for alias in ["PRODUCTION", "Production"] {
            await #expect(throws: TrailError.self) { try await registry.emergencySetAlias(name: "bc", alias: alias, version: 2, reason: "a variant spelling", actor: Self.root) }
        }
        #expect(try await registry.evaluate(name: "bc", version: 2, target: "@PRODUCTION").requirements.count == 3)
        // Removing it takes the emergency path.
        try await registry.emergencySetAlias(name: "bc", alias: "production", version: nil, reason: "incident 43: withdraw the model", actor: Self.root)
        #expect(try await registry.model("bc").aliases["production"] == nil)
        // Serving `@production` never falls back to the stage `Production`.
        _ = try await registry.createModel(name: "free", actor: Self.root)
        let run = try await home.tracking.createRun(experimentID: nil, actor: Self.carol).info.runID
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "m/model.json"), bytes: Array("{}".utf8), actor: Self.carol)
        _ = try await registry.registerVersion(name: "free", runID: run, path: "m", actor: Self.dave)
        _ = try await registry.transitionStage(name: "free", version: 1, stage: .production, actor: Self.dave)
        #expect(try await registry.currentVersion(name: "free", reference: ModelReference(parsing: "production")) == nil)
        #expect(try await registry.currentVersion(name: "free", reference: ModelReference(parsing: "Production")) == 1)
        let serving = ServingService(tracking: home.tracking, registry: registry)
        let notServed = await #expect(throws: TrailError.self) { _ = try await serving.load(name: "free", reference: "production") }
        #expect(notServed?.code == .resourceDoesNotExist)
        #expect(try await registry.resolve(name: "free", reference: "production", atMillis: .max).versions.isEmpty)
    }

    // 3. A signed statement about one digest was accepted for any version holding a file with it.
    @Test func attestationsBindToTheVersionRootAndName() async throws {
        let home = try await Self.setUp(policy: #"{"attestations": ["https://slsa.dev/provenance/v1"]}"#)
        let registry = home.registry
        let key = Curve25519.Signing.PrivateKey()
        _ = try await registry.trustKey(
            name: "trainer", publicKeyHex: key.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined(),
            predicateTypes: ["https://slsa.dev/provenance/v1"], actor: Self.root)
        func envelope(_ name: String, _ digest: TrailCore.Digest) throws -> [UInt8] {
            let statement = #"{"_type":"https://in-toto.io/Statement/v1","predicate":{},"predicateType":"https://slsa.dev/provenance/v1","subject":[{"digest":{"sha256":"\#(digest.hex)"},"name":"\#(name)"}]}"#
            return try DSSE.Envelope.sign(payloadType: DSSE.inTotoPayloadType, payload: Array(statement.utf8), key: key).json
        }
        let v2 = try await registry.version("bc", 2)
        // A file's digest, even under the right name: refused. The root under another name: refused.
        for bad in [try envelope("bc/2", v2.manifest.files[0].digest), try envelope("bc/1", v2.manifest.root), try envelope("other/2", v2.manifest.root)] {
            let error = await #expect(throws: TrailError.self) {
                _ = try await registry.attest(name: "bc", version: 2, predicateType: nil, envelope: bad, actor: Self.carol)
            }
            #expect(error?.field == "statement.subject")
        }
        #expect(try await registry.attestations(name: "bc", version: 2).isEmpty)
        _ = try await registry.attest(name: "bc", version: 2, predicateType: nil, envelope: try envelope("bc/2", v2.manifest.root), actor: Self.carol)
        #expect(try await registry.evaluate(name: "bc", version: 2, target: "@production").granted)
        #expect(!(try await registry.evaluate(name: "bc", version: 1, target: "@production").granted))
    }

    // 4. Separation of duties looked only at who registered the version.
    @Test func whoeverMadeTheVersionCannotApproveIt() async throws {
        let home = try await Self.setUp(policy: #"{"approvals": 1}"#)
        // carol created the run and uploaded the files; dave registered it.
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.registry.approve(name: "bc", version: 1, target: "@production", actor: Self.carol)
        }
        #expect(error?.code == .permissionDenied)
        #expect(try await home.registry.approvals(name: "bc", version: 1).isEmpty)
        // An uploader of one file into someone else's run is excluded too.
        let run = try await home.tracking.createRun(experimentID: nil, actor: Self.dave).info.runID
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/a.json"), bytes: [1], actor: Self.dave)
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/b.json"), bytes: [2], actor: Self.carol)
        let v3 = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: Self.root)
        #expect(try await home.registry.contributors(of: v3) == ["carol", "dave", "root"])
        await #expect(throws: TrailError.self) { _ = try await home.registry.approve(name: "bc", version: 3, target: "@production", actor: Self.carol) }
        _ = try await home.registry.approve(name: "bc", version: 3, target: "@production", actor: Self.ann)
        #expect(try await home.registry.evaluate(name: "bc", version: 3, target: "@production").granted)
        // Whoever wrote a fact the gate reads (a metric, a tag) on someone else's run made it too.
        let ben2 = try await home.identity.createUser(name: "erin", roles: [.contributor, .approver], actor: Self.root)
        let run4 = try await home.tracking.createRun(experimentID: nil, actor: Self.dave).info.runID
        try await home.tracking.putArtifact(run4, path: try ArtifactPath(validating: "model/c.json"), bytes: [3], actor: Self.dave)
        try await home.tracking.logMetric(run4, Metric(key: "roc_auc", value: 0.99, timestampMillis: 1), actor: .user(ben2.name))
        let v4 = try await home.registry.registerVersion(name: "bc", runID: run4, path: "model", actor: Self.dave)
        #expect(try await home.registry.contributors(of: v4).contains("erin"))
        await #expect(throws: TrailError.self) { _ = try await home.registry.approve(name: "bc", version: 4, target: "@production", actor: .user("erin")) }
        // An approval for a target no policy protects would count for nothing: refused. One
        // for the stage counts for the alias of its name, and the other way round.
        let unprotected = await #expect(throws: TrailError.self) {
            _ = try await home.registry.approve(name: "bc", version: 1, target: "@prod", actor: Self.ann)
        }
        #expect(unprotected?.field == "target")
        _ = try await home.registry.approve(name: "bc", version: 1, target: "Production", actor: Self.ann)
        await #expect(throws: TrailError.self) { _ = try await home.registry.approve(name: "bc", version: 1, target: "@production", actor: Self.ann) }
        #expect(try await home.registry.evaluate(name: "bc", version: 1, target: "@production").granted)
    }

    // 5. A version from a logged model without a source run could name any run.
    @Test func aVersionCannotBorrowAnotherRunsEvidence() async throws {
        let home = try await Self.setUp()
        let donor = try #require(try await home.registry.version("bc", 1).runID)
        let model = try await home.tracking.createLoggedModel(experimentID: .defaultExperiment, name: "orphan", sourceRunID: nil, actor: Self.dave)
        let upload = try await home.tracking.beginArtifactUpload(.loggedModel(model.modelID), path: try ArtifactPath(validating: "model.json"))
        try [UInt8]("{}".utf8).withUnsafeBytes { try upload.write($0) }
        try await home.tracking.finishArtifactUpload(upload, actor: Self.dave)
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.registry.createVersion(name: "bc", source: "models:/\(model.modelID)", runID: donor, tracking: home.tracking, actor: Self.dave)
        }
        #expect(error?.field == "run_id")
        let version = try await home.registry.createVersion(name: "bc", source: "models:/\(model.modelID)", runID: nil, tracking: home.tracking, actor: Self.dave)
        #expect(version.runID == nil)
        #expect(!(try await home.registry.evaluate(name: "bc", version: version.version, target: "@production").granted))
    }

    // 6. The gate's reads were not preconditions of its write: 8 concurrent decisions recorded 5.
    @Test func concurrentDecisionsAndPromotionsAreDecidedOnWhatTheyRead() async throws {
        let home = try await Self.setUp(policy: #"{"approvals": 1}"#)
        let registry = home.registry
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    (try? await registry.approve(name: "bc", version: 1, target: "@production", comment: "\(i)", actor: Self.ann)) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await registry.approvals(name: "bc", version: 1).count == 1)
        #expect(try await home.ledger.events(EventQuery(action: "approval.refused", limit: 100)).count == 15)
        _ = try await registry.approve(name: "bc", version: 2, target: "@production", actor: Self.ann)
        // Two concurrent promotions: both may land, one after the other, each citing the state it changed.
        await withTaskGroup(of: Void.self) { group in
            for version in [Int64(1), 2] {
                group.addTask { try? await registry.setAlias(name: "bc", alias: "production", version: version, reason: "v\(version)", actor: Self.dave) }
            }
        }
        let moves = try await registry.history("bc").filter { $0.kind == .alias && $0.key == "production" }
        #expect(!moves.isEmpty)
        #expect(moves.first?.from == nil)
        for (earlier, later) in zip(moves, moves.dropFirst()) { #expect(later.from == earlier.to, "\(moves)") }
        let events = try await home.ledger.events(EventQuery(action: "alias.set"))
        for (earlier, later) in zip(events, events.dropFirst()) {
            #expect(try JSONValue.parse(later.body)["facts"]?["from"] == JSONValue.parse(earlier.body)["facts"]?["to"])
        }
    }

    // 7. A check on too few rows, or of another version, cleared an open drift alert.
    @Test func aDriftVerdictNeedsEnoughRowsOfTheVersionBeingPromoted() async throws {
        let home = try await Self.setUp(policy: #"{"no_open_drift_alert": true}"#)
        func check(version: Int64, level: String, served: Int64) async throws {
            _ = try await home.tracking.store.record(
                EventDraft(
                    action: "drift.check", actor: .user("ops"), timeMillis: home.tracking.clock.nowMillis(), subject: Subject(type: "model", id: "bc"),
                    facts: ["version": .int(version), "level": .string(level), "served": .int(served)]))
        }
        try await check(version: 2, level: "alert", served: 500)
        #expect(!(try await home.registry.evaluate(name: "bc", version: 2, target: "@production").granted))
        try await check(version: 2, level: "no-data", served: 0)
        try await check(version: 2, level: "insufficient-data", served: 6)
        try await check(version: 2, level: "ok", served: 6)
        try await check(version: 1, level: "ok", served: 500)
        #expect(!(try await home.registry.evaluate(name: "bc", version: 2, target: "@production").granted))
        try await check(version: 2, level: "ok", served: 100)
        #expect(try await home.registry.evaluate(name: "bc", version: 2, target: "@production").granted)
    }

    @Test func driftOnAFewRowsIsInsufficientData() async throws {
        let (home, serving) = try await SecurityFixtures.servedHome()
        let loaded = try await serving.load(name: "bc", reference: "live")
        let log = PredictionLog(service: serving, deploymentID: "dtest", model: loaded, actor: .service("serve"))
        let row = try SecurityFixtures.row()
        for _ in 0..<6 {
            let values = try ServingService.check(row, for: loaded.native!).get()
            try await log.log(
                PredictionRecord(
                    predictionID: "p\(UUID().uuidString.prefix(8))", timeMillis: home.tracking.clock.nowMillis(), deploymentID: "dtest", modelName: "bc",
                    modelVersion: 1, inputDigest: ServingService.inputDigest(row), probability: 0.5, prediction: 1, latencyMicros: 1, outcome: "ok"),
                values: values)
        }
        let report = try await serving.drift(name: "bc", reference: "live", windowMillis: 3_600_000, actor: .user("ops"))
        #expect(report.served == 6)
        #expect(report.level == "insufficient-data")
        let loose = try await serving.drift(name: "bc", reference: "live", windowMillis: 3_600_000, minimumRows: 5, actor: .user("ops"))
        #expect(loose.level != "insufficient-data")
    }

    // 8. security_decision flipped FAIL → PASS, evidence and metrics added after the run finished.
    @Test func whatAPolicyReadsFreezesWhenTheRunEnds() async throws {
        let home = try await Self.setUp(
            policy: #"{"security_decision": "PASS", "metrics": [{"key": "roc_auc", "op": ">=", "value": 0.9}], "evidence_artifacts": ["model_card.md"], "provenance_tags": ["git_commit"]}"#)
        let tracking = home.tracking
        let run = try await tracking.createRun(experimentID: nil, actor: Self.carol).info.runID
        try await tracking.setTag(run, key: "security_decision", value: "FAIL", actor: Self.carol)
        try await tracking.setTag(run, key: "security_decision", value: "REVIEW", actor: Self.carol)  // open: may change
        try await tracking.updateRun(run, status: .finished, endTimeMillis: tracking.clock.nowMillis(), actor: Self.carol)
        let before = try await tracking.store.eventCount()
        for attempt in [
            { try await tracking.setTag(run, key: "security_decision", value: "PASS", actor: Self.carol) },
            { try await tracking.setTag(run, key: "security_decision", value: nil, actor: Self.carol) },
            { try await tracking.logMetric(run, Metric(key: "roc_auc", value: 0.99, timestampMillis: 2), actor: Self.carol) },
            { try await tracking.setTag(run, key: "git_commit", value: "abc", actor: Self.carol) },
            { _ = try await tracking.putArtifact(run, path: try ArtifactPath(validating: "docs/model_card.md"), bytes: [1], actor: Self.carol) },
        ] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: TrailError.self) { try await attempt() }
            #expect(error?.code == .invalidState)
        }
        let after = try await tracking.store.events(from: before, to: before + 100)
        #expect(after.map(\.action) == Array(repeating: "run.change.refused", count: 5))
        #expect(try await tracking.run(run).tags.first { $0.key == "security_decision" }?.value == "REVIEW")
        // A run that is not FINISHED cannot pass a policy that reads run facts (it could change
        // them afterwards, or never end): the requirement is listed, unmet.
        let open = try await tracking.createRun(experimentID: nil, actor: Self.carol).info.runID
        try await tracking.logBatch(
            open, metrics: [Metric(key: "roc_auc", value: 0.99, timestampMillis: 1)],
            tags: [TrailCore.Tag(key: "security_decision", value: "PASS"), TrailCore.Tag(key: "git_commit", value: "abc")], actor: Self.carol)
        try await tracking.putArtifact(open, path: try ArtifactPath(validating: "model/model_card.md"), bytes: [1], actor: Self.carol)
        let version = try await home.registry.registerVersion(name: "bc", runID: open, path: "model", actor: Self.dave)
        let report = try await home.registry.evaluate(name: "bc", version: version.version, target: "@production")
        #expect(report.unmet.map(\.requirement) == ["source run FINISHED (what the policy reads from it is frozen)"], "\(report.unmet)")
        await #expect(throws: TrailError.self) {
            _ = try await tracking.createRun(experimentID: nil, startTimeMillis: .max, actor: Self.carol)
        }
        // What no policy reads is still open to notes.
        try await tracking.logMetric(run, Metric(key: "latency_ms", value: 3, timestampMillis: 2), actor: Self.carol)
        try await tracking.setTag(run, key: "note", value: "reviewed", actor: Self.carol)
    }

    // 9. With no policy in force yet, security_decision of a FINISHED run could be flipped
    // FAIL → PASS, and a policy set afterwards would then read PASS (issue #18).
    @Test func securityDecisionIsFrozenWithoutAnyPolicy() async throws {
        let home = try await SecurityFixtures.home()
        let tracking = home.tracking
        let run = try await tracking.createRun(experimentID: nil, actor: Self.carol).info.runID
        try await tracking.setTag(run, key: "security_decision", value: "FAIL", actor: Self.carol)
        try await tracking.updateRun(run, status: .finished, endTimeMillis: tracking.clock.nowMillis(), actor: Self.carol)
        let before = try await tracking.store.eventCount()
        for attempt in [
            { try await tracking.setTag(run, key: "security_decision", value: "PASS", actor: Self.carol) },
            { try await tracking.setTag(run, key: "security_decision", value: nil, actor: Self.carol) },
            { try await tracking.logBatch(run, tags: [TrailCore.Tag(key: "security_decision", value: "PASS")], actor: Self.carol) },
        ] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: TrailError.self) { try await attempt() }
            #expect(error?.code == .invalidState)
            #expect(error?.field == "tags.security_decision")
        }
        let after = try await tracking.store.events(from: before, to: before + 100)
        #expect(after.map(\.action) == Array(repeating: "run.change.refused", count: 3))
        #expect(try await tracking.run(run).tags.first { $0.key == "security_decision" }?.value == "FAIL")
        try await tracking.setTag(run, key: "note", value: "still open to notes", actor: Self.carol)
    }
}
