import Foundation
import Testing
import TrailCore
import TrailStore

/// Every metadata-store backend the conformance suite runs against. Add a case for each new
/// backend; the suite itself is written once, against the protocol.
/// PostgreSQL runs when `TRAIL_TEST_POSTGRES` names a server (`compat/postgres.sh` starts one;
/// `.ci/run` always does): each test gets a database of its own.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    static var allCases: [StoreBackend] { postgresServer == nil ? [.sqlite] : [.sqlite, .postgres] }

    static var postgresServer: PostgresLocation? {
        ProcessInfo.processInfo.environment["TRAIL_TEST_POSTGRES"].flatMap { try? PostgresLocation($0) }
    }

    var testDescription: String { rawValue }

    func make() async throws -> SQLMetadataStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLMetadataStore(path: directory.appendingPathComponent("trail.sqlite").path)
        case .postgres:
            let server = try #require(Self.postgresServer)
            let name = "trail_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
            try await server.createDatabase(name)
            return try await SQLMetadataStore(postgres: server.database(name))
        }
    }
}

/// Small builders so each test reads as the mutation it makes.
enum Fixtures {
    static let actor = Actor.user("tester")

    static func event(_ action: String, _ subject: Subject = Subject(type: "test", id: "")) -> EventDraft {
        EventDraft(action: action, actor: actor, timeMillis: 1000, subject: subject)
    }

    static func createExperiment(_ store: any MetadataStore, _ name: String) async throws -> ExperimentID {
        let receipt = try await store.apply(
            WriteBatch(changes: [.createExperiment(name: name, tags: [], timeMillis: 1000)], event: event("experiment.create")))
        return receipt.experimentID!
    }

    static func createRun(_ store: any MetadataStore, _ experiment: ExperimentID, name: String = "r", start: Int64 = 1000) async throws -> RunID {
        let info = RunInfo(
            runID: .random(), experimentID: experiment, name: name, userID: "tester", status: .running, startTimeMillis: start,
            endTimeMillis: nil, lifecycleStage: .active)
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.experiment(experiment, mustBeActive: true)], changes: [.createRun(info, tags: [])],
                event: event("run.create", Subject(type: "run", id: info.runID.value))))
        return info.runID
    }

    static func log(_ store: any MetadataStore, _ run: RunID, metrics: [Metric] = [], params: [Param] = [], tags: [TrailCore.Tag] = []) async throws {
        var changes: [Change] = []
        if !params.isEmpty { changes.append(.insertParams(run, params)) }
        if !metrics.isEmpty { changes.append(.insertMetrics(run, metrics)) }
        if !tags.isEmpty { changes.append(.changeRunTags(run, tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: 1000, actor: actor) })) }
        _ = try await store.apply(WriteBatch(preconditions: [.run(run, mustBeActive: true)], changes: changes, event: event("batch.log")))
    }
}
