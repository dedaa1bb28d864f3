import Foundation
import Testing
import TrailCore

@testable import TrailStore

/// Retention removes rows of recorded tables only as recorded retirements: the database refuses
/// any other delete (SQLite and PostgreSQL triggers), and a retirement checks that the rows are
/// still exactly those their event recorded.
@Suite("Retired writes: the only deletes the record allows")
struct RetirementTests {
    static func predictions(_ store: SQLMetadataStore, count: Int, tag: String) async throws -> Int64 {
        let records = (0..<count).map { i in
            PredictionRecord(
                predictionID: "\(tag)-\(i)", timeMillis: 1_000 + Int64(i), deploymentID: "d", modelName: "m", modelVersion: 1,
                inputDigest: Digest.of([UInt8(i)]), probability: 0.25, prediction: 0, latencyMicros: 3, outcome: "ok")
        }
        let receipt = try await store.apply(
            WriteBatch(
                changes: [
                    .recordPredictions(
                        PredictionBatch(deploymentID: "d", modelName: "m", modelVersion: 1, records: records, featureCounts: ["f": [1, 2]], merkleRootHex: ""))
                ], event: Fixtures.event("predictions.batch", Subject(type: "deployment", id: "d"))))
        return try #require(receipt.eventIndex)
    }

    static func recordedWrite(_ store: SQLMetadataStore, _ table: String, _ event: Int64) async throws -> RetiredWrite {
        let body = try #require(try await store.events(from: event, to: event + 1).first).body
        let write = try #require(try JSONValue.parse(body)["digests"]?["writes"]?[table])
        return RetiredWrite(table: table, writtenEvent: event, rows: try #require(write["rows"]?.intValue), digest: try #require(write["digest"]?.stringValue))
    }

    @Test(arguments: StoreBackend.allCases)
    func onlyRecordedRetirementsDelete(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let first = try await Self.predictions(store, count: 3, tag: "a")
        let second = try await Self.predictions(store, count: 2, tag: "b")

        // A delete no retirement records is refused by the database, whoever asks.
        for sql in ["DELETE FROM predictions", "DELETE FROM served_feature_counts", "UPDATE predictions SET outcome = 'x'"] {
            await #expect(throws: (any Error).self, "\(sql)") { try await store.engine.write { db in try db.execute(sql: sql) } }
        }
        #expect(try await store.prediction(id: "a-0") != nil)

        // A retirement whose digest is not the event's changes nothing.
        var wrong = try await Self.recordedWrite(store, "predictions", first)
        wrong.digest = Digest.of([9]).description
        let refused = await #expect(throws: TrailError.self) {
            _ = try await store.apply(WriteBatch(changes: [.retireWrites([wrong], timeMillis: 5)], event: Fixtures.event("retention.apply")))
        }
        #expect(refused?.code == .dataLoss)
        #expect(try await store.retiredWrites().isEmpty)
        #expect(try await store.prediction(id: "a-0") != nil)

        // The recorded one removes exactly that event's rows and is itself recorded.
        let writes = [try await Self.recordedWrite(store, "predictions", first), try await Self.recordedWrite(store, "served_feature_counts", first)]
        let receipt = try await store.apply(WriteBatch(changes: [.retireWrites(writes, timeMillis: 5)], event: Fixtures.event("retention.apply")))
        #expect(try await store.prediction(id: "a-0") == nil)
        #expect(try await store.prediction(id: "b-0") != nil)
        #expect(try await store.recordedRows(table: "predictions", events: first..<(first + 1)).isEmpty)
        let recorded = try await store.retiredWrites()
        #expect(recorded["predictions"]?[first]?.rows == 3 && recorded["predictions"]?[first]?.eventIndex == receipt.eventIndex)
        #expect(recorded["served_feature_counts"]?[first] != nil && recorded["predictions"]?[second] == nil)
        let retention = try #require(receipt.eventIndex)
        #expect(try await store.recordedRows(table: "retired_writes", events: retention..<(retention + 1))[retention]?.count == 2)

        // The retirement record itself is append-only; the other event's rows still refuse a delete.
        for sql in ["DELETE FROM retired_writes", "UPDATE retired_writes SET digest = 'x'", "DELETE FROM predictions WHERE event_index = \(second)"] {
            await #expect(throws: (any Error).self, "\(sql)") { try await store.engine.write { db in try db.execute(sql: sql) } }
        }
        #expect(try await store.prediction(id: "b-1") != nil)
        // A table retention has no business with cannot be named.
        let other = RetiredWrite(table: "params", writtenEvent: second, rows: 0, digest: "x")
        await #expect(throws: TrailError.self) {
            _ = try await store.apply(WriteBatch(changes: [.retireWrites([other], timeMillis: 5)], event: Fixtures.event("retention.apply")))
        }
    }
}
