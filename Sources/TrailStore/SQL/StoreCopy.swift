import Foundation
import TrailCore

/// What `copyAll(to:)` copied.
public struct StoreCopyReport: Sendable, Encodable {
    public var from: String
    public var to: String
    public var tables: Int
    public var rows: Int
    public var events: Int64
}

extension StoreSchema {
    /// Every table the migrations create, in creation order (a table is created after the
    /// tables it refers to).
    static var tables: [String] {
        let pattern = try! NSRegularExpression(pattern: #"CREATE TABLE (\w+)"#)
        return migrations.flatMap { migration in
            pattern.matches(in: migration.sql, range: NSRange(migration.sql.startIndex..., in: migration.sql)).compactMap { match in
                Range(match.range(at: 1), in: migration.sql).map { String(migration.sql[$0]) }
            }
        }
    }
}

extension SQLMetadataStore {
    /// Copies every row of every table into `target`, a store with the same schema and nothing
    /// in it, in one transaction on the target (all or nothing). The ledger's leaves, Merkle
    /// nodes, checkpoints and cosignatures are copied byte for byte, so the target has the same
    /// roots and every old checkpoint verifies there. Reads one snapshot of this store.
    /// The rows of one table are held in memory while they are copied.
    public func copyAll(to target: SQLMetadataStore, progress: (@Sendable (String, Int) -> Void)? = nil) async throws -> StoreCopyReport {
        guard try await target.eventCount() == 0, try await target.experiment(id: .defaultExperiment) == nil else {
            throw TrailError.invalid("to", "the target store is not empty; migrate into a new, empty database")
        }
        let tables = StoreSchema.tables
        let source = try await engine.snapshot()
        // checkpoint_records_since is written by its migration; it must say the same on both.
        let since: [SQLValue] = try await source.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT since FROM checkpoint_records_since").map { $0.databaseValues[0] }
        }
        let targetSince: [SQLValue] = try await target.engine.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT since FROM checkpoint_records_since").map { $0.databaseValues[0] }
        }
        guard since == targetSince else {
            throw TrailError(
                .invalidState, "this home's checkpoints predate checkpoint records (since \(since)); migrating it is not supported yet")
        }
        var rows = 0
        let events = try await eventCount()
        // One transaction on the target: each table's rows are read from the snapshot, then inserted.
        var batches: [(table: String, columns: [String], rows: [[SQLValue]])] = []
        for table in tables where table != "checkpoint_records_since" {
            let read: (columns: [String], rows: [[SQLValue]]) = try await source.read { db in
                let all = try SQLRow.fetchAll(db, sql: "SELECT * FROM \(table)")
                return (all.first?.columns ?? [], all.map(\.databaseValues))
            }
            batches.append((table, read.columns, read.rows))
            rows += read.rows.count
            progress?(table, read.rows.count)
        }
        let copy = batches
        try await target.write("copy the store") { db in
            for batch in copy where !batch.rows.isEmpty {
                let width = batch.columns.count
                let perStatement = max(1, 30_000 / max(width, 1))
                var start = 0
                while start < batch.rows.count {
                    let chunk = batch.rows[start..<min(start + perStatement, batch.rows.count)]
                    let placeholders = Array(repeating: "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")", count: chunk.count)
                    _ = try db.run(
                        sql: "INSERT INTO \(batch.table) (\(batch.columns.joined(separator: ", "))) VALUES \(placeholders.joined(separator: ", "))",
                        arguments: chunk.flatMap { $0 })
                    start += chunk.count
                }
            }
            if db.dialect == .postgres {
                // Identity columns continue after the copied keys.
                let identities = try SQLRow.fetchAll(
                    db,
                    sql: """
                        SELECT table_name, column_name FROM information_schema.columns
                        WHERE table_schema = current_schema() AND is_identity = 'YES'
                        """)
                for identity in identities {
                    let table: String = identity[0]
                    let column: String = identity[1]
                    _ = try db.run(
                        sql: "SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), COALESCE((SELECT MAX(\(column)) FROM \(table)), 0) + 1, false)",
                        arguments: [])
                }
            }
        }
        return StoreCopyReport(from: backend, to: target.backend, tables: tables.count, rows: rows, events: events)
    }
}
