import Foundation
import GRDB
import Testing
import TrailCore

@testable import TrailStore

/// SQLite specifics: the database itself refuses edits to the record.
@Suite("SQLite append-only tables")
struct SQLiteAppendOnlyTests {
    static let statements = [
        "UPDATE ledger_events SET action = 'x'", "DELETE FROM ledger_events", "UPDATE params SET value = 'x'", "DELETE FROM params",
        "UPDATE metrics SET value = 0", "DELETE FROM metrics", "UPDATE run_tag_history SET value = 'x'", "DELETE FROM artifacts",
        "UPDATE artifacts SET digest = 'x'", "DELETE FROM dataset_inputs", "DELETE FROM experiment_tag_history",
    ]

    @Test("UPDATE and DELETE are refused", arguments: statements)
    func refuses(_ sql: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-ao-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("trail.sqlite").path
        let store = try SQLMetadataStore(path: path)
        let run = try await Fixtures.createRun(store, try await Fixtures.createExperiment(store, "e"))
        try await Fixtures.log(
            store, run, metrics: [Metric(key: "m", value: 1, timestampMillis: 1)], params: [Param(key: "p", value: "v")],
            tags: [TrailCore.Tag(key: "t", value: "v")])
        _ = try await store.apply(
            WriteBatch(
                changes: [
                    .putArtifact(.run(run), ArtifactEntry(path: try ArtifactPath(validating: "a"), digest: Digest.of([1]), sizeBytes: 1, createdMillis: 1)),
                    .insertDatasetInputs(run, [DatasetInput(name: "d", digest: "x", source: "s")]),
                    .changeExperimentTags(ExperimentID(0), [TagChange(key: "k", value: "v", timeMillis: 1, actor: Fixtures.actor)]),
                ], event: Fixtures.event("mixed")))
        let queue = try DatabaseQueue(path: path)
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: sql) } }
    }

    @Test func survivesReopenWithMigrationsApplied() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-reopen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("trail.sqlite").path
        let experiment = try await Fixtures.createExperiment(try SQLMetadataStore(path: path), "kept")
        let reopened = try SQLMetadataStore(path: path)
        #expect(try await reopened.experiment(id: experiment)?.name == "kept")
    }
}
