import Foundation
import Testing
import TrailCore
import TrailService
import TrailStore

@Suite("Model registry")
struct RegistryServiceTests {
    /// A home with one run holding `model/` files.
    static func homeWithModelRun() async throws -> (TrailHome, RunID) {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice).info.runID
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/weights.json"), bytes: Array("[1,2,3]".utf8), actor: alice)
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/card.md"), bytes: Array("# card".utf8), actor: alice)
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "other.txt"), bytes: [1], actor: alice)
        return (home, run)
    }

    @Test func versionsCarryADigestManifestAndNumbersFromOne() async throws {
        let (home, run) = try await Self.homeWithModelRun()
        let first = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: alice)
        let second = try await home.registry.registerVersion(name: "bc", runID: run, path: "model/", actor: alice)
        #expect(first.version == 1)
        #expect(second.version == 2)
        #expect(first.manifest.files.map(\.path) == ["card.md", "weights.json"])
        #expect(first.manifest.files[1].digest == Digest.of(Array("[1,2,3]".utf8)))
        #expect(first.manifest.root == ModelManifest(files: first.manifest.files.reversed()).root, "root is order-independent")
        #expect(first.status == "READY")
        #expect(first.createdBy == alice)
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "nothing", actor: alice)
        }
        #expect(error?.field == "path")
    }

    @Test func aliasesAndStagesMoveAtomicallyAndHistoryAnswersPastQuestions() async throws {
        let (home, run) = try await Self.homeWithModelRun()
        for _ in 0..<2 { _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: alice) }
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, reason: "first", actor: alice)
        let between = home.tracking.clock.nowMillis()
        try await home.registry.setAlias(name: "bc", alias: "production", version: 2, reason: "better", actor: .user("bob"))
        _ = try await home.registry.transitionStage(name: "bc", version: 1, stage: .production, actor: alice)
        _ = try await home.registry.transitionStage(
            name: "bc", version: 2, stage: .production, archiveExisting: true, reason: "replace", actor: alice)
        #expect(try await home.registry.version("bc", 1).stage == .archived)
        #expect(try await home.registry.model("bc").aliases == ["production": 2])
        let (past, change) = try await home.registry.resolve(name: "bc", reference: "production", atMillis: between)
        #expect(past == [1])
        #expect(change?.reason == "first")
        let (now, _) = try await home.registry.resolve(name: "bc", reference: "Production", atMillis: Int64.max)
        #expect(now == [2])
        let history = try await home.registry.history("bc")
        #expect(history.map(\.to) == ["1", "2", "Production", "Archived", "Production"])
        #expect(history[1].actor == .user("bob"))
        #expect(history[3].eventIndex == history[4].eventIndex, "archiving the old version is part of the same change")
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok)
    }

    @Test(
        "refuses bad registry input, changes nothing and records the attempt",
        arguments: [
            ("name", { @Sendable (h: TrailHome, r: RunID) in _ = try await h.registry.createModel(name: "bc", actor: alice) }),
            ("name", { @Sendable h, r in _ = try await h.registry.createModel(name: "a/b", actor: alice) }),
            ("name", { @Sendable h, r in _ = try await h.registry.version("nope", 1) }),
            ("version", { @Sendable h, r in try await h.registry.setAlias(name: "bc", alias: "production", version: 7, actor: alice) }),
            ("alias", { @Sendable h, r in try await h.registry.setAlias(name: "bc", alias: "latest", version: 1, actor: alice) }),
            ("alias", { @Sendable h, r in try await h.registry.setAlias(name: "bc", alias: "v2", version: 1, actor: alice) }),
            ("alias", { @Sendable h, r in try await h.registry.setAlias(name: "bc", alias: "gone", version: nil, actor: alice) }),
            (
                "archive_existing_versions",
                { @Sendable h, r in
                    _ = try await h.registry.transitionStage(name: "bc", version: 1, stage: .none, archiveExisting: true, actor: alice)
                }
            ),
        ] as [(String, @Sendable (TrailHome, RunID) async throws -> Void)])
    func refusesBadInput(_ field: String, _ body: @Sendable (TrailHome, RunID) async throws -> Void) async throws {
        let (home, run) = try await Self.homeWithModelRun()
        _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: alice)
        let before = try await home.tracking.store.eventCount()
        let state = (try await home.registry.model("bc"), try await home.registry.versions("bc"))
        let error = await #expect(throws: TrailError.self) { try await body(home, run) }
        #expect(error?.field == field)
        #expect(try await home.registry.model("bc") == state.0)
        #expect(try await home.registry.versions("bc") == state.1)
        // A refused mutation is one `registry.refused` event naming the reason; a read records nothing.
        let added = try await home.ledger.events(EventQuery(fromIndex: before, limit: 10))
        #expect(added.count <= 1)
        #expect(added.allSatisfy { $0.action == "registry.refused" })
    }
}
