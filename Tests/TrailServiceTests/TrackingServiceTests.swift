import Foundation
import Testing
import TrailArtifacts
import TrailCore
import TrailService
import TrailStore

/// A clock tests can move.
final class TestClock: TrailClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64 = 1_700_000_000_000
    func nowMillis() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        now += 1
        return now
    }
}

func makeHome() async throws -> TrailHome {
    try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-home-\(UUID().uuidString)"), clock: TestClock(), store: try await StoreSettings.testing())
}

let alice = Actor.user("alice")

@Suite("Tracking service rules")
struct TrackingServiceTests {
    @Test func homeHasTheDefaultExperimentRecordedAsAServiceAction() async throws {
        let home = try await makeHome()
        let experiment = try await home.tracking.experiment(id: .defaultExperiment)
        #expect(experiment.name == "Default")
        let events = try await home.tracking.store.events(from: 0, to: 10)
        #expect(events.count == 1)
        #expect(events[0].actor == .service("modeltrail"))
        // Opening again does not create it twice.
        _ = try await TrailHome.open(home.url)
        #expect(try await home.tracking.store.eventCount() == 1)
    }

    @Test func anExperimentTagKeepsTheExperimentsRecordedStateTrue() async throws {
        // A tag moves the experiment's last_update_time: that state is recorded with the tag's
        // event, so `ledger verify` finds the row as its last recorded state says.
        let home = try await makeHome()
        let experiment = try await home.tracking.createExperiment(name: "tagged", tags: [], actor: .user("alice"))
        try await home.tracking.setExperimentTag(experiment.id, key: "team", value: "risk", actor: .user("alice"))
        try await home.tracking.setExperimentTag(experiment.id, key: "team", value: nil, actor: .user("alice"))
        try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
    }

    @Test func runsGetANameTagAndTheActorAsUser() async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, name: "first", actor: alice)
        #expect(run.info.userID == "alice")
        #expect(run.info.experimentID == .defaultExperiment)
        #expect(run.tags.contains(TrailCore.Tag(key: "mlflow.runName", value: "first")))
        let generated = try await home.tracking.createRun(experimentID: nil, actor: alice)
        #expect(generated.info.name.split(separator: "-").count == 3)
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.tracking.createRun(
                experimentID: nil, name: "a", tags: [TrailCore.Tag(key: "mlflow.runName", value: "b")], actor: alice)
        }
        #expect(error?.field == "run_name")
    }

    @Test func endingARunSetsItsEndTimeAndRenamingFollowsTheTag() async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, name: "n1", actor: alice)
        let info = try await home.tracking.updateRun(run.info.runID, status: .finished, actor: alice)
        #expect(info.status == .finished)
        #expect(info.endTimeMillis != nil)
        try await home.tracking.setTag(run.info.runID, key: "mlflow.runName", value: "n2", actor: alice)
        #expect(try await home.tracking.run(run.info.runID).info.name == "n2")
    }

    @Test func deletedExperimentsRefuseNewRunsUntilRestored() async throws {
        let home = try await makeHome()
        let experiment = try await home.tracking.createExperiment(name: "x", tags: [], actor: alice)
        try await home.tracking.deleteExperiment(experiment.id, actor: alice)
        await #expect(throws: TrailError.self) { _ = try await home.tracking.createRun(experimentID: experiment.id, actor: alice) }
        try await home.tracking.restoreExperiment(experiment.id, actor: alice)
        _ = try await home.tracking.createRun(experimentID: experiment.id, actor: alice)
        let actions = try await home.tracking.store.events(from: 0, to: 100).map(\.action)
        #expect(actions == ["experiment.create", "experiment.create", "experiment.delete", "experiment.restore", "run.create"])
        let defaultDelete = await #expect(throws: TrailError.self) { try await home.tracking.deleteExperiment(.defaultExperiment, actor: alice) }
        #expect(defaultDelete?.field == "experiment_id")
    }

    @Test(
        "refuses bad input naming the field, and records nothing",
        arguments: [
            (
                "params[0].key",
                { @Sendable (t: TrackingService, r: RunID) in try await t.logBatch(r, params: [Param(key: "", value: "x")], actor: alice) }
            ),
            (
                "params[0].key",
                { @Sendable t, r in try await t.logBatch(r, params: [Param(key: String(repeating: "k", count: 251), value: "x")], actor: alice) }
            ),
            (
                "params[0].value",
                { @Sendable t, r in try await t.logBatch(r, params: [Param(key: "k", value: String(repeating: "v", count: 6001))], actor: alice) }
            ),
            (
                "tags[0].value",
                { @Sendable t, r in try await t.logBatch(r, tags: [TrailCore.Tag(key: "k", value: String(repeating: "v", count: 8001))], actor: alice)
                }
            ),
            (
                "metrics",
                { @Sendable t, r in
                    try await t.logBatch(r, metrics: Array(repeating: Metric(key: "m", value: 1, timestampMillis: 1), count: 1001), actor: alice)
                }
            ),
            (
                "metrics[0].key",
                { @Sendable t, r in try await t.logBatch(r, metrics: [Metric(key: "../etc", value: 1, timestampMillis: 1)], actor: alice) }
            ),
            (
                "params[1]",
                { @Sendable t, r in try await t.logBatch(r, params: [Param(key: "a", value: "1"), Param(key: "a", value: "2")], actor: alice) }
            ),
            ("max_results", { @Sendable t, _ in _ = try await t.searchRuns(experimentIDs: [.defaultExperiment], maxResults: 50001) }),
            (
                "order_by",
                { @Sendable t, _ in _ = try await t.searchRuns(experimentIDs: [.defaultExperiment], orderBy: ["metrics.a", "metrics.a DESC"]) }
            ),
            ("end_time", { @Sendable t, r in _ = try await t.updateRun(r, status: .finished, endTimeMillis: 1, actor: alice) }),
        ] as [(String, @Sendable (TrackingService, RunID) async throws -> Void)])
    func refusesBadInput(_ field: String, _ body: @Sendable (TrackingService, RunID) async throws -> Void) async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice)
        let before = try await home.tracking.store.eventCount()
        let error = await #expect(throws: TrailError.self) { try await body(home.tracking, run.info.runID) }
        #expect(error?.field == field)
        #expect(error?.code == .invalidParameterValue)
        #expect(try await home.tracking.store.eventCount() == before)
    }

    @Test func artifactConflictKeepsTheFirstContentAndStoresNoOrphan() async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice)
        let path = try ArtifactPath(validating: "model/weights.bin")
        let first = try await home.tracking.putArtifact(run.info.runID, path: path, bytes: [1, 2, 3], actor: alice)
        let same = try await home.tracking.putArtifact(run.info.runID, path: path, bytes: [1, 2, 3], actor: alice)
        #expect(same.digest == first.digest)
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.tracking.putArtifact(run.info.runID, path: path, bytes: [4, 5, 6], actor: alice)
        }
        #expect(error?.code == .resourceConflict)
        #expect(try await home.tracking.blobs.allDigests() == [first.digest])
        let (entry, reader) = try await home.tracking.openArtifact(run.info.runID, path: path, actor: alice)
        reader.close()
        #expect(entry.digest == Digest.of([1, 2, 3]))
        let events = try await home.tracking.store.events(from: 0, to: 100).filter { $0.action == "artifact.put" }
        #expect(events.count == 1)
    }

    @Test func datasetInputsFromCSVCarryDigestSchemaAndProfile() async throws {
        let csv = Array("a,b,label\n1,2.5,x\n3,4,y\n".utf8)
        let input = try CSVDatasetProfiler.describe(bytes: csv, name: "d", source: "mem", context: "training")
        #expect(input.digest == Digest.of(csv).description)
        #expect(input.schema?.map(\.type) == ["integer", "double", "string"])
        #expect(input.profile == .init(rows: 2, columns: 3))
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice)
        try await home.tracking.logInputs(run.info.runID, [input], actor: alice)
        #expect(try await home.tracking.run(run.info.runID).inputs == [input])
        await #expect(throws: TrailError.self) {
            try await home.tracking.logInputs(run.info.runID, [DatasetInput(name: "d", digest: "sha256:zz", source: "s")], actor: alice)
        }
    }

    @Test func everyEventNamesTheActor() async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice)
        try await home.tracking.logMetric(run.info.runID, Metric(key: "m", value: 1, timestampMillis: 1), actor: .service("trainer"))
        let events = try await home.tracking.store.events(from: 1, to: 10)
        #expect(events.map(\.actor) == [alice, .service("trainer")])
        #expect(events.map(\.action) == ["run.create", "metrics.log"])
    }
}
