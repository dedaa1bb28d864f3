import Foundation
import TrailCore
import TrailLedger

extension SQLMetadataStore {
    static func storedEvent(_ row: SQLRow) -> StoredEvent {
        let body: Data = row[8]
        return StoredEvent(
            index: row[0], eventID: row[1], action: row[2], actor: Actor(type: Actor.Kind(rawValue: row[3]) ?? .user, id: row[4]),
            subject: Subject(type: row[5], id: row[6]), timeMillis: row[7], body: Array(body), actorTypeColumn: row[3])
    }

    static let eventColumns = "idx, event_id, action, actor_type, actor_id, subject_type, subject_id, time, body"

    public func event(id: String) async throws -> StoredEvent? {
        try await read { db in
            try SQLRow.fetchOne(db, sql: "SELECT \(Self.eventColumns) FROM ledger_events WHERE event_id = ?", arguments: [id]).map(Self.storedEvent)
        }
    }

    public func events(matching query: EventQuery) async throws -> [StoredEvent] {
        var conditions = ["idx >= ?"]
        var arguments: [(any SQLValueConvertible)?] = [query.fromIndex]
        let filters: [(String, (any SQLValueConvertible)?)] = [
            ("subject_type = ?", query.subjectType), ("subject_id = ?", query.subjectID), ("actor_id = ?", query.actorID),
            ("action = ?", query.action), ("time >= ?", query.fromTimeMillis), ("time < ?", query.toTimeMillis),
        ]
        for (condition, value) in filters where value != nil {
            conditions.append(condition)
            arguments.append(value)
        }
        arguments.append(query.limit)
        let sql = "SELECT \(Self.eventColumns) FROM ledger_events WHERE \(conditions.joined(separator: " AND ")) ORDER BY idx LIMIT ?"
        let bound = SQLArguments(arguments)
        return try await read { db in try SQLRow.fetchAll(db, sql: sql, arguments: bound).map(Self.storedEvent) }
    }

    public func merkleNodes(_ addresses: [NodeAddress]) async throws -> [NodeAddress: TreeHash] {
        try await read { db in
            let select = try db.cachedStatement(sql: "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?")
            var out: [NodeAddress: TreeHash] = [:]
            for address in Set(addresses) {
                if let hash = try Data.fetchOne(select, arguments: [address.level, Int64(address.index)]) { out[address] = Array(hash) }
            }
            return out
        }
    }

    public func insertCheckpoint(_ checkpoint: StoredCheckpoint, record: CheckpointRecord, previous: CheckpointRecord?) async throws {
        do {
            try await write("store a checkpoint") { db in
                let newest = try String.fetchOne(db, sql: "SELECT record FROM checkpoint_records ORDER BY size DESC LIMIT 1")
                guard newest == previous?.record else { throw TrailError.concurrentChange("the checkpoint records") }
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM checkpoints WHERE size = ?", arguments: [Int64(checkpoint.size)]) != true else { return }
                try db.execute(
                    sql: "INSERT INTO checkpoints (size, root, time, note) VALUES (?, ?, ?, ?)",
                    arguments: [Int64(checkpoint.size), Data(checkpoint.root), checkpoint.timeMillis, checkpoint.note])
                try db.execute(
                    sql: "INSERT INTO checkpoint_records (size, record) VALUES (?, ?)", arguments: [Int64(record.size), record.record])
            }
        } catch let error as TrailError {
            throw error
        } catch {
            throw TrailError(.internalError, "cannot store a checkpoint", cause: error)
        }
    }

    public func insertCosignature(size: UInt64, witness: String, line: String, timeMillis: Int64) async throws {
        do {
            try await write("store a cosignature") { db in
                try db.execute(
                    sql: "INSERT INTO checkpoint_cosignatures (size, witness, line, time) VALUES (?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING",
                    arguments: [Int64(clamping: size), witness, line, timeMillis])
            }
        } catch {
            throw TrailError(.internalError, "cannot store a cosignature", cause: error)
        }
    }

    public func cosignatures(size: UInt64) async throws -> [String: String] {
        try await read { db in
            Dictionary(
                try SQLRow.fetchAll(db, sql: "SELECT witness, line FROM checkpoint_cosignatures WHERE size = ?", arguments: [Int64(clamping: size)]).map {
                    ($0[0] as String, $0[1] as String)
                }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func lastCosignedSize(witness: String) async throws -> UInt64? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(size) FROM checkpoint_cosignatures WHERE witness = ?", arguments: [witness]).map {
                UInt64(max(0, $0))
            }
        }
    }

    public func latestCosignedSize() async throws -> UInt64? {
        try await read { db in
            // The primary key orders insertions: one row, not a scan of every cosignature.
            try Int64.fetchOne(db, sql: "SELECT size FROM checkpoint_cosignatures ORDER BY seq DESC LIMIT 1").map { UInt64(max(0, $0)) }
        }
    }

    public func allCosignatures() async throws -> [(size: UInt64, witness: String, line: String)] {
        try await read { db in
            try SQLRow.fetchAll(db, sql: "SELECT size, witness, line FROM checkpoint_cosignatures ORDER BY seq").map {
                (UInt64(max(0, $0[0] as Int64)), $0[1] as String, $0[2] as String)
            }
        }
    }

    public func latestCheckpointRecord() async throws -> CheckpointRecord? {
        try await read { db in
            try SQLRow.fetchOne(db, sql: "SELECT size, record FROM checkpoint_records ORDER BY size DESC LIMIT 1").map {
                CheckpointRecord(size: UInt64(max(0, $0[0] as Int64)), record: $0[1])
            }
        }
    }

    public func checkpointRecords() async throws -> (records: [CheckpointRecord], since: Int64) {
        try await read { db in
            let records = try SQLRow.fetchAll(db, sql: "SELECT size, record FROM checkpoint_records ORDER BY size").map {
                CheckpointRecord(size: UInt64(max(0, $0[0] as Int64)), record: $0[1])
            }
            return (records, try Int64.fetchOne(db, sql: "SELECT MIN(since) FROM checkpoint_records_since") ?? Int64.max)
        }
    }

    static func storedCheckpoint(_ row: SQLRow) -> StoredCheckpoint {
        let root: Data = row[1]
        let size: Int64 = row[0]
        return StoredCheckpoint(size: UInt64(max(0, size)), root: Array(root), timeMillis: row[2], note: row[3])
    }

    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await read { db in
            try SQLRow.fetchOne(db, sql: "SELECT size, root, time, note FROM checkpoints ORDER BY size DESC LIMIT 1").map(Self.storedCheckpoint)
        }
    }

    public func checkpoint(size: UInt64) async throws -> StoredCheckpoint? {
        try await read { db in
            try SQLRow.fetchOne(db, sql: "SELECT size, root, time, note FROM checkpoints WHERE size = ?", arguments: [Int64(size)])
                .map(Self.storedCheckpoint)
        }
    }

    public func checkpoints() async throws -> [StoredCheckpoint] {
        try await read { db in try SQLRow.fetchAll(db, sql: "SELECT size, root, time, note FROM checkpoints ORDER BY size").map(Self.storedCheckpoint) }
    }

    public var recordedTables: [String] { StoreSchema.recordedColumns.map(\.table) }

    public func merkleNodes(level: Int, range: Range<UInt64>) async throws -> [UInt64: TreeHash] {
        try await read { db in
            var out: [UInt64: TreeHash] = [:]
            let cursor = try SQLRow.fetchCursor(
                db, sql: "SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ?",
                arguments: [level, Int64(range.lowerBound), Int64(clamping: range.upperBound)])
            while let row = try cursor.next() {
                let index: Int64 = row[0]
                let hash: Data = row[1]
                out[UInt64(index)] = Array(hash)
            }
            return out
        }
    }

    public func recordedRows(table: String, events range: Range<Int64>) async throws -> [Int64: [[UInt8]]] {
        guard let columns = StoreSchema.recordedColumns.first(where: { $0.table == table })?.columns else {
            throw TrailError.invalid("table", "'\(table)' is not a recorded table")
        }
        let sql = "SELECT event_index, \(columns.joined(separator: ", ")) FROM \(table) WHERE event_index >= ? AND event_index < ?"
        return try await read { db in
            var out: [Int64: [[UInt8]]] = [:]
            let cursor = try SQLRow.fetchCursor(db, sql: sql, arguments: [range.lowerBound, range.upperBound])
            while let row = try cursor.next() {
                let values = row.databaseValues
                let index = Int64.fromDatabaseValue(values[values.startIndex]) ?? -1
                out[index, default: []].append(ApplyContext.encode(values.dropFirst()))
            }
            return out
        }
    }

    public func derivedStateMismatches() async throws -> [String] {
        try await read { db in
            var findings: [String] = []
            for (entity, (key, columns)) in StoreSchema.stateColumns.sorted(by: { $0.key < $1.key }) {
                let rows = try SQLRow.fetchAll(
                    db,
                    sql: """
                        SELECT e.\(key), e.event_index, \(columns.map { "e.\($0)" }.joined(separator: ", ")),
                            (SELECT h.row FROM state_history h WHERE h.entity = ? AND h.entity_key = e.\(key) ORDER BY h.seq DESC LIMIT 1),
                            (SELECT h.event_index FROM state_history h WHERE h.entity = ? AND h.entity_key = e.\(key) ORDER BY h.seq DESC LIMIT 1)
                        FROM \(entity) e
                        """, arguments: [entity, entity])
                for row in rows {
                    let values = Array(row.databaseValues)
                    let id = values[0]
                    let current = JSONValue.array(values[2..<(2 + columns.count)].map(ApplyContext.json)).canonicalString
                    let recorded = String.fromDatabaseValue(values[2 + columns.count])
                    let recordedIndex = Int64.fromDatabaseValue(values[3 + columns.count])
                    if recorded != current {
                        findings.append("\(entity) row \(id): its columns differ from the last recorded state")
                    } else if recordedIndex != Int64.fromDatabaseValue(values[1]) {
                        findings.append("\(entity) row \(id): event_index differs from the event that recorded its state")
                    }
                }
                let orphans =
                    try Int.fetchOne(
                        db,
                        sql:
                            "SELECT COUNT(DISTINCT entity_key) FROM state_history WHERE entity = ? AND entity_key NOT IN (SELECT \(key) FROM \(entity))",
                        arguments: [entity]) ?? 0
                if orphans > 0 { findings.append("\(entity): \(orphans) recorded entities have no row (deleted behind ModelTrail's back)") }
            }
            // Each projection recomputed from its facts in one pass, compared both ways.
            func symmetricDifference(_ expected: String, _ actual: String) -> String {
                "SELECT * FROM (\(expected) EXCEPT \(actual)) AS missing UNION SELECT * FROM (\(actual) EXCEPT \(expected)) AS extra"
            }
            func lastTagValue(_ table: String, _ owner: String) -> String {
                """
                SELECT \(owner), key, value FROM (
                    SELECT \(owner), key, value, ROW_NUMBER() OVER (PARTITION BY \(owner), key ORDER BY seq DESC) AS rn FROM \(table)
                ) AS latest WHERE rn = 1 AND value IS NOT NULL
                """
            }
            let projections: [(String, String)] = [
                ("run_tags", symmetricDifference(lastTagValue("run_tag_history", "run_pk"), "SELECT run_pk, key, value FROM run_tags")),
                (
                    "experiment_tags",
                    symmetricDifference(
                        lastTagValue("experiment_tag_history", "experiment_id"), "SELECT experiment_id, key, value FROM experiment_tags")
                ),
                (
                    "model_aliases",
                    symmetricDifference(
                        """
                        SELECT name, key, CAST(to_value AS BIGINT) FROM (
                            SELECT name, key, to_value, ROW_NUMBER() OVER (PARTITION BY name, key ORDER BY seq DESC) AS rn
                            FROM registry_history WHERE kind = 'alias'
                        ) AS latest WHERE rn = 1 AND to_value IS NOT NULL
                        """, "SELECT name, alias, version FROM model_aliases")
                ),
                (
                    "latest_metrics",
                    symmetricDifference(
                        """
                        SELECT run_pk, key, value, is_nan, timestamp, step FROM (
                            SELECT run_pk, key, value, is_nan, timestamp, step, ROW_NUMBER() OVER (
                                PARTITION BY run_pk, key ORDER BY step DESC, timestamp DESC, is_nan DESC, value DESC) AS rn
                            FROM metrics
                        ) AS latest WHERE rn = 1
                        """, "SELECT run_pk, key, value, is_nan, timestamp, step FROM latest_metrics")
                ),
            ]
            for (table, sql) in projections {
                for row in try SQLRow.fetchAll(db, sql: sql) {
                    findings.append("\(table) (\(row[0] as SQLValue), \(row[1] as SQLValue)): differs from the facts it is derived from")
                }
            }
            return findings
        }
    }
}
