import Foundation
import Testing
import TrailCore
import TrailService
import TrailStore

@Suite("Training pipeline, reproduction and the demo")
struct TrainingPipelineTests {
    static let environment = TrainingEnvironment(
        gitCommit: "0123456789abcdef0123456789abcdef01234567", gitRemote: "https://example.com/modeltrail.git", gitBranch: "main",
        gitDirty: false, gitDiffSHA256: nil, swiftToolchain: "Swift 6.3.1", os: "Linux", cpu: "test", trailBinarySHA256: "sha256:test",
        dependencyLockSHA256: "absent")
    static let engineer = Actor.user("carol")

    /// A private copy of the bundled data set, so a test can edit it.
    static func dataCopy() throws -> String {
        let (bytes, _) = try TrainingPipeline.loadData("bundled:breast_cancer.csv")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bc-\(UUID().uuidString).csv")
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func trainLogsEveryPieceOfEvidence() async throws {
        let home = try await makeHome()
        let data = try Self.dataCopy()
        let result = try await home.pipeline(as: Self.engineer).train(
            TrainingConfig(dataPath: data, registerAs: "bc"), environment: Self.environment)
        #expect(result.rows == 569 && result.features == 30 && result.testRows == 114)
        #expect(result.metrics["accuracy"]! >= 0.95)
        #expect(result.metrics["roc_auc"]! >= 0.98)
        #expect(result.dataSHA256 == Digest.of(try Data(contentsOf: URL(fileURLWithPath: data))))
        let run = try await home.tracking.run(result.runID)
        #expect(run.info.status == .finished)
        #expect(run.info.name.hasPrefix("product-model-") && run.info.name.hasSuffix("-0123456"))
        let params = Dictionary(uniqueKeysWithValues: run.params.map { ($0.key, $0.value) })
        for key in ["model_type", "C", "max_iter", "tolerance", "test_size", "seed"] { #expect(params[key] != nil, "param \(key)") }
        let tags = Dictionary(run.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        for key in [
            "mlflow.source.git.commit", "mlflow.source.git.repoURL", "mlflow.source.git.branch", "git_dirty", "swift_toolchain", "os", "cpu",
            "trail_binary_sha256", "dependency_lock_sha256", "environment_sha256", "data_sha256",
        ] {
            #expect(tags[key]?.isEmpty == false, "tag \(key)")
        }
        #expect(run.inputs.first?.digest == result.dataSHA256.description)
        let paths = Set(try await home.tracking.artifacts(result.runID).map(\.path.value))
        for path in [
            "confusion_matrix.svg", "confusion_matrix.png", "classification_report.json", "classification_report.txt", "run_manifest.json",
            "model_card.md", "model/model.json", "model/signature.json", "model/input_example.json", "input_example.json", "repro/manifest.json",
            "repro/run.sh", "steps/lineage.json", "steps/train/model.json",
        ] {
            #expect(paths.contains(path), "artifact \(path)")
        }
        let png = try await home.tracking.blobs.get(
            try #require(try await home.tracking.artifacts(result.runID).first { $0.path.value == "confusion_matrix.png" }).digest)
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        let card = String(decoding: try await home.tracking.blobs.get(
            try #require(try await home.tracking.artifacts(result.runID).first { $0.path.value == "model_card.md" }).digest), as: UTF8.self)
        #expect(card.contains("NOT for clinical use"))
        // Any step output loads back by step and name.
        let model = try await home.pipeline(as: Self.engineer).stepOutput(runID: result.runID, step: "train", name: "model")
        #expect(Digest.of(model.canonicalBytes) == result.modelSHA256)
        #expect(result.registered?.manifest.files.map(\.path).contains("model.json") == true)
    }

    @Test func theModelCardCountsTheRowsItWasTrainedOn() async throws {
        let home = try await makeHome()
        let lines = try String(contentsOfFile: try Self.dataCopy(), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let fewer = FileManager.default.temporaryDirectory.appendingPathComponent("bc-fewer-\(UUID().uuidString).csv")
        try (lines.prefix(1) + lines.dropFirst(3)).joined(separator: "\n").write(to: fewer, atomically: true, encoding: .utf8)
        let result = try await home.pipeline(as: Self.engineer).train(TrainingConfig(dataPath: fewer.path, tolerance: 1e-6), environment: Self.environment)
        let entry = try #require(try await home.tracking.artifacts(result.runID).first { $0.path.value == "model_card.md" })
        let card = String(decoding: try await home.tracking.blobs.get(entry.digest), as: UTF8.self)
        // (The full data set's count must not appear as a count; the card also names a random
        // temporary file and digests, in which the digits 569 may occur.)
        #expect(card.contains("567 samples") && card.contains("567 rows"), "\(card)")
        #expect(!card.contains("569 samples") && !card.contains("569 rows"), "\(card)")
    }

    @Test func reproducesTwiceThenDiffersWhenTheDataChanges() async throws {
        let home = try await makeHome()
        let data = try Self.dataCopy()
        let original = try await home.pipeline(as: Self.engineer).train(TrainingConfig(dataPath: data), environment: Self.environment)
        for _ in 0..<2 {
            let report = try await home.pipeline(as: Self.engineer).reproduce(original.runID, environment: Self.environment)
            #expect(report.outcome == "REPRODUCED", "\(report.differences)")
            #expect(report.sameEnvironment && report.verdict == "REPRODUCED in the same environment", "\(report.environmentDifferences)")
            let rebuild = try await home.tracking.run(try #require(report.rebuildRunID))
            #expect(rebuild.tags.contains { $0.key == "rebuild_of" && $0.value == original.runID.value })
        }
        // Another machine, outside a git work tree, with another binary: the model and metrics
        // still match, and every environment difference is listed.
        var elsewhere = Self.environment
        elsewhere.gitCommit = "unknown (not a git work tree)"
        elsewhere.trailBinarySHA256 = "sha256:other"
        elsewhere.cpu = "another cpu"
        let moved = try await home.pipeline(as: Self.engineer).reproduce(original.runID, environment: elsewhere)
        #expect(moved.outcome == "REPRODUCED")
        #expect(!moved.sameEnvironment)
        #expect(moved.verdict == "REPRODUCED in another environment (3 differences)")
        #expect(moved.environmentDifferences.contains { $0.hasPrefix("git commit: recorded ") && $0.hasSuffix("now unknown (not a git work tree)") })
        #expect(moved.environmentDifferences.contains { $0.hasPrefix("trail binary:") })
        var text = try String(contentsOfFile: data, encoding: .utf8)
        text = text.replacingOccurrences(of: "17.99,10.38", with: "18.99,10.38")
        try text.write(toFile: data, atomically: true, encoding: .utf8)
        let report = try await home.pipeline(as: Self.engineer).reproduce(original.runID, environment: Self.environment)
        #expect(report.outcome == "DIFFERS")
        #expect(report.rebuildRunID == nil)
        #expect(report.differences.first?.contains(original.dataSHA256.description) == true)
        let events = try await home.ledger.events(EventQuery(action: "run.reproduce"))
        #expect(events.count == 4)  // two in place, one elsewhere, one on changed data
    }

    @Test func badInputFailsTheRunWithTheError() async throws {
        let home = try await makeHome()
        await #expect(throws: TrailError.self) {
            _ = try await home.pipeline(as: Self.engineer).train(TrainingConfig(c: 0), environment: Self.environment)
        }
        await #expect(throws: TrailError.self) {
            _ = try await home.pipeline(as: Self.engineer).train(TrainingConfig(testSize: 1), environment: Self.environment)
        }
        #expect(try await home.tracking.searchRuns(experimentIDs: [.defaultExperiment]).items.isEmpty, "refused before any run")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).csv")
        try Data("mean_radius,target\n1.0,x\n".utf8).write(to: url)
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.pipeline(as: Self.engineer).train(TrainingConfig(dataPath: url.path), environment: Self.environment)
        }
        #expect(error?.message.contains("'target'") == true)
        let experiment = try await home.tracking.experiment(named: "breast-cancer")
        let run = try #require(try await home.tracking.searchRuns(experimentIDs: [experiment.id]).items.first)
        #expect(run.info.status == .failed)
        #expect(run.tags.contains { $0.key == "failed_step" && $0.value == "load_data" })
        #expect(try await home.ledger.events(EventQuery(subjectType: "run", subjectID: run.info.runID.value, action: "run.update")).count == 1)
    }

    @Test func demoRunsEndToEnd() async throws {
        let home = try await makeHome()
        let outcome = try await DemoScenario(home: home, actor: .user("root")).run(environment: Self.environment, say: { _ in })
        #expect(outcome.verifyOK)
        #expect(outcome.refusedRequirements.count == 2, "\(outcome.refusedRequirements)")
        #expect(try await home.registry.model(DemoScenario.modelName).aliases["production"] == outcome.version)
        #expect(outcome.lineage.dataSHA256 == outcome.training.dataSHA256.description)
        #expect(outcome.lineage.gitCommit == Self.environment.gitCommit)
        let proven = outcome.lineage.links.filter { $0.eventIndex != nil }.map(\.proven)
        #expect(!proven.isEmpty && !proven.contains(false))
        let approvals = outcome.lineage.links.filter { $0.kind == "approval" }.count
        #expect(approvals == 2)
        // Running it again on the same home adds version 2 and promotes it the same way.
        let again = try await DemoScenario(home: home, actor: .user("root")).run(environment: Self.environment, say: { _ in })
        #expect(again.version == 2 && again.verifyOK)
    }
}
