import Foundation
import TrailCore
import TrailLedger

/// Applies the data-protection changes of a batch (`ApplyContext.apply` routes by `Change.concern`).
extension ApplyContext {
    mutating func applyPrivacy(_ change: Change) throws {
        switch change {
        case .createSealKeys(let keys):
            let insert = try db.cachedStatement(sql: "INSERT INTO seal_keys (key_id, kind, scope, key_bytes, created_time) VALUES (?, ?, ?, ?, ?)")
            for key in keys {
                try insert.execute(arguments: [key.keyID, key.kind.rawValue, key.scope, key.bytes.map { Data($0) }, key.creationTimeMillis])
            }
            // Keys are not facts: creating one changes nothing recorded by itself.
        case .shredSealKeys(let ids, let time):
            let select = try db.cachedStatement(sql: "SELECT kind, scope, created_time FROM seal_keys WHERE key_id = ? AND key_bytes IS NOT NULL")
            let destroy = try db.cachedStatement(sql: "UPDATE seal_keys SET key_bytes = NULL WHERE key_id = ?")
            let insert = try db.cachedStatement(
                sql: "INSERT INTO seal_key_shreds (key_id, kind, scope, created_time, shredded_time, event_index) VALUES (?, ?, ?, ?, ?, ?)")
            for id in ids {
                guard let row = try SQLRow.fetchOne(select, arguments: [id]) else { continue }
                let kind: String = row[0]
                let scope: String = row[1]
                let created: Int64 = row[2]
                try destroy.execute(arguments: [id])
                try insert.execute(arguments: [id, kind, scope, created, time, eventIndex])
                try record("seal_key_shreds", [db.lastInsertedRowID, id, kind, scope, created, time])
                changed = true
            }
        case .placeLegalHold(let hold):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM legal_holds WHERE hold_id = ?"), arguments: [hold.holdID]) == true {
                throw TrailError(.resourceAlreadyExists, "legal hold '\(hold.holdID)' already exists", field: "hold_id")
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO legal_holds (hold_id, subject_type, subject_id, reason, actor, created_time, released_time, release_reason, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)
                    """
            ).execute(arguments: [
                hold.holdID, hold.subjectType.rawValue, hold.subjectID, hold.reason, hold.actor, hold.creationTimeMillis, eventIndex,
            ])
            try recordState("legal_holds", key: db.lastInsertedRowID)
            changed = true
        case .releaseLegalHold(let id, let reason, let time):
            guard
                let pk = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT pk FROM legal_holds WHERE hold_id = ? AND released_time IS NULL"), arguments: [id])
            else { throw TrailError.notFound("active legal hold", id, field: "hold_id") }
            try db.cachedStatement(sql: "UPDATE legal_holds SET released_time = ?, release_reason = ?, event_index = ? WHERE pk = ?")
                .execute(arguments: [time, reason, eventIndex, pk])
            try recordState("legal_holds", key: pk)
            changed = true
        case .setRetention(let setting):
            let pk: Int64
            if let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM retention_settings WHERE kind = ?"), arguments: [setting.kind.rawValue]) {
                try db.cachedStatement(sql: "UPDATE retention_settings SET days = ?, time = ?, actor = ?, event_index = ? WHERE pk = ?")
                    .execute(arguments: [setting.days, setting.timeMillis, setting.actor, eventIndex, existing])
                pk = existing
            } else {
                try db.cachedStatement(sql: "INSERT INTO retention_settings (kind, days, time, actor, event_index) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [setting.kind.rawValue, setting.days, setting.timeMillis, setting.actor, eventIndex])
                pk = try db.lastInsertedRowID
            }
            try recordState("retention_settings", key: pk)
            changed = true
        case .retireWrites(let writes, let time):
            let insert = try db.cachedStatement(
                sql: "INSERT INTO retired_writes (table_name, written_event, row_count, digest, retired_time, event_index) VALUES (?, ?, ?, ?, ?, ?)")
            for write in writes {
                guard RetiredWrite.tables.contains(write.table),
                    let columns = StoreSchema.recordedColumns.first(where: { $0.table == write.table })?.columns
                else { throw TrailError.internalError("\(write.table) is not a table retention may remove rows from") }
                // The rows must still be exactly those the event recorded: retiring altered rows
                // would hide the alteration.
                let rows = try SQLRow.fetchAll(
                    db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(write.table) WHERE event_index = ?", arguments: [write.writtenEvent])
                let actual = WriteDigest.of(encodedRows: rows.map { ApplyContext.encode($0.databaseValues) })
                guard Int64(actual.rows) == write.rows, actual.digest.description == write.digest else {
                    throw TrailError(
                        .dataLoss,
                        "\(write.table) rows of event \(write.writtenEvent) differ from what the event recorded (\(actual.rows) row(s), expected \(write.rows)): run `trail ledger verify`; nothing was removed",
                        field: "retention")
                }
                try insert.execute(arguments: [write.table, write.writtenEvent, write.rows, write.digest, time, eventIndex])
                try record("retired_writes", [db.lastInsertedRowID, write.table, write.writtenEvent, write.rows, write.digest, time])
                try db.execute(sql: "DELETE FROM \(write.table) WHERE event_index = ?", arguments: [write.writtenEvent])
                changed = true
            }
        case .retireBlobs(let digests, let time):
            let insert = try db.cachedStatement(sql: "INSERT INTO retired_blobs (digest, retired_time, event_index) VALUES (?, ?, ?)")
            for digest in Set(digests).sorted(by: { $0.description < $1.description }) {
                try insert.execute(arguments: [digest.description, time, eventIndex])
                try record("retired_blobs", [db.lastInsertedRowID, digest.description, time])
                changed = true
            }
        default:
            throw TrailError.internalError("\(change) is not a data-protection change")
        }
    }
}

extension SQLMetadataStore {
    static func sealKey(_ row: SQLRow) -> SealKey? {
        let kindText: String = row[1]
        guard let kind = SealKey.Kind(rawValue: kindText) else { return nil }
        let bytes: Data? = row[3]
        return SealKey(keyID: row[0], kind: kind, scope: row[2], bytes: bytes.map { Array($0) }, creationTimeMillis: row[4])
    }

    public func sealKeys(ids: [String]) async throws -> [String: SealKey] {
        guard !ids.isEmpty else { return [:] }
        return try await read { db in
            var out: [String: SealKey] = [:]
            let select = try db.cachedStatement(sql: "SELECT key_id, kind, scope, key_bytes, created_time FROM seal_keys WHERE key_id = ?")
            for id in Set(ids) {
                if let row = try SQLRow.fetchOne(select, arguments: [id]), let key = Self.sealKey(row) { out[id] = key }
            }
            return out
        }
    }

    public func sealKeyShreds(ids: [String]) async throws -> [String: SealKeyShred] {
        guard !ids.isEmpty else { return [:] }
        return try await read { db in
            var out: [String: SealKeyShred] = [:]
            let select = try db.cachedStatement(
                sql: "SELECT key_id, kind, scope, created_time, shredded_time, event_index FROM seal_key_shreds WHERE key_id = ?")
            for id in Set(ids) {
                guard let row = try SQLRow.fetchOne(select, arguments: [id]), let kind = SealKey.Kind(rawValue: row[1]) else { continue }
                out[id] = SealKeyShred(keyID: row[0], kind: kind, scope: row[2], creationTimeMillis: row[3], shreddedTimeMillis: row[4], eventIndex: row[5])
            }
            return out
        }
    }

    public func sealKeyShredCounts() async throws -> [SealKey.Kind: Int64] {
        try await read { db in
            var out: [SealKey.Kind: Int64] = [:]
            for row in try SQLRow.fetchAll(db, sql: "SELECT kind, COUNT(*) FROM seal_key_shreds GROUP BY kind") {
                if let kind = SealKey.Kind(rawValue: row[0]) { out[kind] = row[1] }
            }
            return out
        }
    }

    public func shreddedKeysStillStored() async throws -> [String] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT s.key_id FROM seal_key_shreds s JOIN seal_keys k ON k.key_id = s.key_id
                    WHERE k.key_bytes IS NOT NULL ORDER BY s.pk LIMIT 100
                    """
            ).map { $0[0] as String }
        }
    }

    public func liveInputKeys(beforeMillis: Int64, excluding: Set<String>, limit: Int) async throws
        -> [(key: SealKey, predictionID: String, inputDigest: String)]
    {
        try await read { db in
            // Held scopes are few; the rest is filtered in the query, oldest first. Keys are found
            // by (kind, created_time) and each prediction by its unique id ("in:" is 3 bytes).
            var sql = """
                SELECT k.key_id, k.kind, k.scope, k.key_bytes, k.created_time, p.prediction_id, p.input_digest
                FROM seal_keys k JOIN predictions p ON p.prediction_id = substr(k.key_id, 4)
                WHERE k.kind = 'raw_input' AND k.key_bytes IS NOT NULL AND k.created_time < ?
                """
            var arguments: SQLArguments = [beforeMillis]
            let held = excluding.sorted()
            if !held.isEmpty {
                sql += " AND k.scope NOT IN (\(held.map { _ in "?" }.joined(separator: ", ")))"
                for scope in held { arguments += [scope] }
            }
            sql += " ORDER BY k.created_time, k.key_id LIMIT ?"
            arguments += [Int64(limit)]
            return try SQLRow.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
                guard let key = Self.sealKey(row) else { return nil }
                return (key, row[5] as String, row[6] as String)
            }
        }
    }

    public func retirableEvents(table: String, beforeMillis: Int64, excludingModels: Set<String>, limit: Int) async throws
        -> [(event: Int64, predictionIDs: [String], models: [String])]
    {
        guard table == "predictions" || table == "served_feature_counts" else {
            throw TrailError.internalError("\(table) has no retirable events")
        }
        return try await read { db in
            var sql = "SELECT event_index FROM \(table) GROUP BY event_index HAVING MAX(time) < ?"
            var arguments: SQLArguments = [beforeMillis]
            let held = excludingModels.sorted()
            if !held.isEmpty {
                sql += " AND SUM(CASE WHEN model_name IN (\(held.map { _ in "?" }.joined(separator: ", "))) THEN 1 ELSE 0 END) = 0"
                for name in held { arguments += [name] }
            }
            sql += " ORDER BY event_index LIMIT ?"
            arguments += [Int64(limit)]
            let events = try Int64.fetchAll(db, sql: sql, arguments: arguments)
            let models = try db.cachedStatement(sql: "SELECT DISTINCT model_name FROM \(table) WHERE event_index = ? ORDER BY model_name")
            guard table == "predictions" else { return try events.map { ($0, [], try String.fetchAll(models, arguments: [$0])) } }
            let ids = try db.cachedStatement(sql: "SELECT prediction_id FROM predictions WHERE event_index = ? ORDER BY position")
            return try events.map { ($0, try String.fetchAll(ids, arguments: [$0]), try String.fetchAll(models, arguments: [$0])) }
        }
    }

    public func retiredWrites() async throws -> [String: [Int64: RetiredWrite]] {
        try await read { db in
            var out: [String: [Int64: RetiredWrite]] = [:]
            let cursor = try SQLRow.fetchCursor(db, sql: "SELECT table_name, written_event, row_count, digest, event_index FROM retired_writes")
            while let row = try cursor.next() {
                let write = RetiredWrite(table: row[0], writtenEvent: row[1], rows: row[2], digest: row[3], eventIndex: row[4])
                out[write.table, default: [:]][write.writtenEvent] = write
            }
            return out
        }
    }

    public func retiredBlobs() async throws -> [Digest: Int64] {
        try await read { db in
            var out: [Digest: Int64] = [:]
            for row in try SQLRow.fetchAll(db, sql: "SELECT digest, MAX(event_index) FROM retired_blobs GROUP BY digest") {
                if let digest = try? Digest(parsing: row[0] as String) { out[digest] = row[1] }
            }
            return out
        }
    }

    public func digestsReferencedSince(_ since: [Digest: Int64]) async throws -> Set<Digest> {
        guard !since.isEmpty else { return [] }
        return try await read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT 1 WHERE EXISTS (SELECT 1 FROM artifacts WHERE digest = ? AND event_index >= ?)
                        OR EXISTS (SELECT 1 FROM logged_model_artifacts WHERE digest = ? AND event_index >= ?)
                        OR EXISTS (SELECT 1 FROM attestations WHERE envelope_digest = ? AND event_index >= ?)
                        OR EXISTS (SELECT 1 FROM openlineage_events WHERE body_digest = ? AND event_index >= ?)
                    """)
            var out: Set<Digest> = []
            for (digest, event) in since {
                let text = digest.description
                if try Int64.fetchOne(statement, arguments: [text, event, text, event, text, event, text, event]) != nil { out.insert(digest) }
            }
            return out
        }
    }

    public func deletedRunBlobs(beforeMillis: Int64) async throws -> [Digest: Set<String>] {
        try await read { db in
            // A run's deletion time is the time of the event that wrote its current state.
            let rows = try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT a.digest, r.run_id FROM artifacts a JOIN runs r ON r.pk = a.run_pk JOIN ledger_events e ON e.idx = r.event_index
                    WHERE r.lifecycle_stage = 'deleted' AND e.time < ?
                      AND NOT EXISTS (SELECT 1 FROM model_versions v WHERE v.run_id = r.run_id)
                      AND a.digest NOT IN (
                        SELECT a2.digest FROM artifacts a2 JOIN runs r2 ON r2.pk = a2.run_pk JOIN ledger_events e2 ON e2.idx = r2.event_index
                        WHERE r2.lifecycle_stage <> 'deleted' OR e2.time >= ?
                            OR EXISTS (SELECT 1 FROM model_versions v2 WHERE v2.run_id = r2.run_id)
                        UNION SELECT digest FROM logged_model_artifacts
                        UNION SELECT envelope_digest FROM attestations
                        UNION SELECT body_digest FROM openlineage_events)
                    ORDER BY a.digest
                    """, arguments: [beforeMillis, beforeMillis])
            var out: [Digest: Set<String>] = [:]
            for row in rows {
                guard let digest = try? Digest(parsing: row[0] as String) else { continue }
                out[digest, default: []].insert(row[1])
            }
            return out
        }
    }

    public func legalHolds() async throws -> [LegalHold] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT hold_id, subject_type, subject_id, reason, actor, created_time, released_time, release_reason, event_index
                    FROM legal_holds ORDER BY pk
                    """
            ).compactMap { row in
                guard let type = LegalHold.SubjectType(rawValue: row[1]) else { return nil }
                return LegalHold(
                    holdID: row[0], subjectType: type, subjectID: row[2], reason: row[3], actor: row[4], creationTimeMillis: row[5],
                    releasedTimeMillis: row[6], releaseReason: row[7], eventIndex: row[8])
            }
        }
    }

    public func retentionSettings() async throws -> [RetentionSetting] {
        try await read { db in
            try SQLRow.fetchAll(db, sql: "SELECT kind, days, time, actor, event_index FROM retention_settings ORDER BY kind").compactMap { row in
                guard let kind = RetentionKind(rawValue: row[0]) else { return nil }
                return RetentionSetting(kind: kind, days: row[1], timeMillis: row[2], actor: row[3], eventIndex: row[4])
            }
        }
    }

    public func ensureSealKey(_ key: SealKey) async throws -> SealKey {
        do {
            return try await write("store a sealing key") { db in
                try db.execute(
                    sql: "INSERT INTO seal_keys (key_id, kind, scope, key_bytes, created_time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING",
                    arguments: [key.keyID, key.kind.rawValue, key.scope, key.bytes.map { Data($0) }, key.creationTimeMillis])
                guard
                    let row = try SQLRow.fetchOne(
                        db, sql: "SELECT key_id, kind, scope, key_bytes, created_time FROM seal_keys WHERE key_id = ?", arguments: [key.keyID]),
                    let stored = Self.sealKey(row)
                else { throw TrailError.internalError("sealing key \(key.keyID) vanished") }
                return stored
            }
        } catch let error as TrailError {
            throw error
        } catch {
            throw TrailError(.internalError, "cannot store a sealing key", cause: error)
        }
    }
}
