import Foundation
import TrailCore
import TrailLedger

/// The metadata store, written once over `SQLEngine`: SQLite (the embedded default, one file
/// in WAL mode through GRDB) or PostgreSQL (several servers on one database).
///
/// Every `apply` is one read-write transaction that the engine serialises with every other
/// write to the same store: SQLite by its single writer (`IMMEDIATE`), PostgreSQL by a
/// transaction-scoped advisory lock taken first (the ledger's sequencer, whichever server
/// writes). Preconditions, changes, the event and its Merkle nodes are all inside it.
public final class SQLMetadataStore: MetadataStore {
    public enum Durability: Sendable { case normal, full }

    /// Where reads and writes go: the engine (each read its own read-only transaction), or a
    /// snapshot (every read of a `readOnly()` view sees the same state).
    let engine: any SQLEngine

    init(engine: any SQLEngine) {
        self.engine = engine
    }

    /// Where the metadata is: the SQLite file, or the PostgreSQL address without its password.
    public var location: String {
        if let engine = engine as? PostgresEngine { return engine.location.description }
        if let engine = engine as? SQLiteEngine { return engine.pool.path }
        return backend
    }

    /// Which backend this is: "sqlite" or "postgres".
    public var backend: String {
        switch engine.dialect {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }

    /// A read-only transaction (SQLite: a snapshot of the WAL; PostgreSQL: one REPEATABLE READ
    /// READ ONLY transaction) that every read through the returned view sees, whatever is
    /// committed meanwhile. It ends when the view is released.
    public func readOnly() async throws -> any MetadataReads {
        do {
            return SQLMetadataStore(engine: try await engine.snapshot())
        } catch let error as TrailError {
            throw error
        } catch {
            throw TrailError(.internalError, "cannot open a read-only transaction", cause: error)
        }
    }

    /// Opens (creating if needed) the SQLite database at `path` and runs pending migrations.
    public convenience init(path: String, durability: Durability = .normal) throws {
        self.init(engine: try SQLiteEngine(path: path, durability: durability))
    }

    /// Connects to the PostgreSQL store at `location` and runs pending migrations.
    public convenience init(postgres location: PostgresLocation) async throws {
        do {
            self.init(engine: try await PostgresEngine(location: location))
        } catch let error as TrailError {
            throw error
        } catch {
            throw TrailError(
                PostgresErrorText.code(opening: error), "cannot open the PostgreSQL store at \(location): \(PostgresErrorText.describe(error))", cause: error)
        }
    }

    /// PostgreSQL only: grants `role` what a serving `trail server` needs, and no UPDATE, DELETE
    /// or TRUNCATE on any fact table (see `docs/deploy.md`). Run as the tables' owner.
    public func grantServingRole(_ role: String) async throws -> (facts: [String], others: [String]) {
        guard let engine = engine as? PostgresEngine else {
            throw TrailError.invalid("store", "roles and grants are PostgreSQL's; this store is SQLite")
        }
        do {
            return try await engine.grantServingRole(role)
        } catch let error as TrailError {
            throw error
        } catch {
            throw TrailError(.internalError, "cannot grant \(role): \(PostgresErrorText.describe(error))", cause: error)
        }
    }

    // MARK: - The one write path

    /// Runs `body` in the engine's read-write transaction, mapping errors to `TrailError`.
    func write<T: Sendable>(_ what: String, _ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T {
        do {
            return try await engine.write(body)
        } catch let error as TrailError {
            throw error
        } catch where engine.isUniqueViolation(error) {
            throw TrailError(.resourceAlreadyExists, "the name is already taken", cause: error)
        } catch where engine.isUnavailable(error) {
            throw TrailError(.temporarilyUnavailable, "the metadata database cannot be reached; try again", cause: error)
        } catch where engine.isTooLargeToIndex(error) {
            throw TrailError.invalid("request", "a name, key or path in this request is too long for the database to index; shorten it")
        } catch {
            if ProcessInfo.processInfo.environment["TRAIL_DEBUG_SQL"] != nil { print("SQL error: \(PostgresErrorText.describe(error)) \(String(reflecting: error).prefix(2000))") }
            throw TrailError(.internalError, "the metadata store failed to \(what)", cause: error)
        }
    }

    public func apply(_ batch: WriteBatch) async throws -> WriteReceipt {
        try await write("write") { db in try Self.apply(batch, in: db) }
    }

    static func apply(_ batch: WriteBatch, in db: any SQLDatabase) throws -> WriteReceipt {
        for precondition in batch.preconditions { try check(precondition, in: db) }
        let eventIndex = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(idx), -1) + 1 FROM ledger_events"))!
        var context = ApplyContext(db: db, eventIndex: eventIndex, actor: batch.event.actor)
        for change in batch.changes { try context.apply(change) }
        guard context.changed || batch.recordWhenUnchanged else {
            // Nothing was written, so nothing is recorded; the transaction commits empty.
            return WriteReceipt(eventIndex: nil, experimentID: context.experimentID)
        }
        var draft = batch.event
        if draft.subject.id.isEmpty, let id = context.experimentID { draft.subject.id = id.description }
        let event = LedgerEvent(
            index: eventIndex, eventID: UUID().uuidString.lowercased(), draft: draft,
            writes: context.writes.mapValues { WriteDigest.of(encodedRows: $0) })
        let body = event.canonicalBytes
        try db.cachedStatement(
            sql: """
                INSERT INTO ledger_events (idx, event_id, action, actor_type, actor_id, subject_type, subject_id, time, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            event.index, event.eventID, draft.action, draft.actor.type.rawValue, draft.actor.id, draft.subject.type,
            draft.subject.id, draft.timeMillis, Data(body),
        ])
        try appendToTree(leaf: Merkle.leafHash(body), index: UInt64(eventIndex), in: db)
        try enqueueOutbox(draft, index: eventIndex, modelVersion: context.modelVersion, in: db)
        return WriteReceipt(eventIndex: eventIndex, experimentID: context.experimentID, modelVersion: context.modelVersion)
    }

    /// Stores the leaf and every perfect subtree it completes, in the event's transaction.
    static func appendToTree(leaf: TreeHash, index: UInt64, in db: any SQLDatabase) throws {
        let select = try db.cachedStatement(sql: "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?")
        let nodes = try Merkle.nodesCompleted(byAppending: leaf, at: index) { address in
            guard let hash = try Data.fetchOne(select, arguments: [address.level, Int64(address.index)]) else {
                throw TrailError(.dataLoss, "the ledger's Merkle tree is missing node \(address.level)/\(address.index); run 'trail ledger verify'")
            }
            return Array(hash)
        }
        let insert = try db.cachedStatement(sql: "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)")
        for (address, hash) in nodes { try insert.execute(arguments: [address.level, Int64(address.index), Data(hash)]) }
    }

    static func check(_ precondition: Precondition, in db: any SQLDatabase) throws {
        switch precondition {
        case .experiment(let id, let mustBeActive):
            guard
                let stage = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT lifecycle_stage FROM experiments WHERE id = ?"), arguments: [id.value])
            else {
                throw TrailError.notFound("experiment", id.description, field: "experiment_id")
            }
            if mustBeActive, stage != LifecycleStage.active.rawValue {
                throw TrailError.invalid("experiment_id", "experiment '\(id)' is deleted; restore it first")
            }
        case .run(let id, let mustBeActive):
            guard let stage = try String.fetchOne(db.cachedStatement(sql: "SELECT lifecycle_stage FROM runs WHERE run_id = ?"), arguments: [id.value])
            else {
                throw TrailError.notFound("run", id.description, field: "run_id")
            }
            if mustBeActive, stage != LifecycleStage.active.rawValue {
                throw TrailError.invalid("run_id", "run '\(id)' is deleted; restore it first")
            }
        case .registeredModel(let name):
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM registered_models WHERE name = ?"), arguments: [name]) == true else {
                throw TrailError.notFound("registered model", name, field: "name")
            }
        case .modelVersion(let name, let version):
            guard
                try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM model_versions WHERE name = ? AND version = ?"), arguments: [name, version])
                    == true
            else { throw TrailError.notFound("model version", "\(name)/\(version)", field: "version") }
        case .loggedModel(let id, let mustBeActive):
            guard
                let stage = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT lifecycle_stage FROM logged_models WHERE model_id = ?"), arguments: [id])
            else { throw TrailError.notFound("logged model", id, field: "model_id") }
            if mustBeActive, stage != LifecycleStage.active.rawValue {
                throw TrailError.invalid("model_id", "logged model '\(id)' is deleted")
            }
        case .noEventsSince(let index, let subjects):
            let statement = try db.cachedStatement(
                sql: """
                    SELECT 1 FROM ledger_events WHERE subject_type = ? AND subject_id = ? AND idx >= ?
                    AND action NOT LIKE '%.refused' AND action != 'auth.denied' LIMIT 1
                    """)
            for subject in subjects where try Bool.fetchOne(statement, arguments: [subject.type, subject.id, index]) == true {
                throw TrailError.concurrentChange("\(subject.type) \(subject.id)")
            }
        case .runNotEnded(let id, let field):
            guard let row = try SQLRow.fetchOne(db.cachedStatement(sql: "SELECT status, end_time FROM runs WHERE run_id = ?"), arguments: [id.value])
            else { throw TrailError.notFound("run", id.description, field: "run_id") }
            let status: String = row[0]
            let end: Int64? = row[1]
            if end != nil || ["FINISHED", "FAILED", "KILLED"].contains(status) {
                throw TrailError(.invalidState, "run \(id) ended while this change was made; what policies read from it is frozen", field: field)
            }
        case .sealKeysLive(let ids, let field):
            let statement = try db.cachedStatement(sql: "SELECT key_bytes IS NOT NULL FROM seal_keys WHERE key_id = ?")
            for id in ids where try Bool.fetchOne(statement, arguments: [id]) != true {
                throw TrailError(.invalidState, "what \(field) names was erased meanwhile (sealing key \(id.prefix(120)) destroyed)", field: field)
            }
        case .noActiveHold(let subjects):
            let statement = try db.cachedStatement(
                sql: "SELECT hold_id, reason FROM legal_holds WHERE subject_type = ? AND subject_id = ? AND released_time IS NULL LIMIT 1")
            for subject in subjects {
                if let row = try SQLRow.fetchOne(statement, arguments: [subject.type, subject.id]) {
                    let id: String = row[0]
                    let reason: String = row[1]
                    throw TrailError(
                        .invalidState, "\(subject.type) \(subject.id) is under legal hold \(id) (\(reason)); release it first", field: "hold")
                }
            }
        }
    }

    static func runPK(_ id: RunID, in db: any SQLDatabase) throws -> Int64 {
        guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM runs WHERE run_id = ?"), arguments: [id.value]) else {
            throw TrailError.notFound("run", id.description, field: "run_id")
        }
        return pk
    }
}

/// State of one `apply`: the event index every row written gets, and what happened.
struct ApplyContext {
    let db: any SQLDatabase
    let eventIndex: Int64
    let actor: Actor
    var changed = false
    var experimentID: ExperimentID?
    var modelVersion: Int64?
    /// The rows written, per recorded table, encoded as the event's write digests cover them.
    var writes: [String: [[UInt8]]] = [:]

    mutating func record(_ table: String, _ values: [(any SQLValueConvertible)?]) {
        writes[table, default: []].append(ApplyContext.encode(values.map { ($0?.sqlValue) ?? .null }))
    }

    /// A stored row as the canonical JSON array its event's write digest covers; verification
    /// encodes rows read back the same way.
    static func encode<Values: Sequence>(_ values: Values) -> [UInt8] where Values.Element == SQLValue {
        var out: [UInt8] = [UInt8(ascii: "[")]
        var first = true
        for value in values {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            switch value.storage {
            case .null: out.append(contentsOf: [110, 117, 108, 108])
            case .int64(let i): out.append(contentsOf: String(i).utf8)
            case .double(let d): JSONValue.double(d).write(into: &out)
            case .string(let s): JSONValue.writeString(s, into: &out)
            case .blob(let b): JSONValue.writeString(b.base64EncodedString(), into: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The JSON form of a stored value; verification maps values read back the same way.
    static func json(_ value: SQLValue) -> JSONValue {
        switch value.storage {
        case .null: .null
        case .int64(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .blob(let b): .string(b.base64EncodedString())
        }
    }

    /// Appends the entity's state after this change to `state_history`.
    mutating func recordState(_ entity: String, key: Int64) throws {
        let (keyColumn, columns) = StoreSchema.stateColumns[entity]!
        let select = try db.cachedStatement(sql: "SELECT \(columns.joined(separator: ", ")) FROM \(entity) WHERE \(keyColumn) = ?")
        guard let row = try SQLRow.fetchOne(select, arguments: [key])
        else {
            return
        }
        let state = JSONValue.array(row.databaseValues.map(ApplyContext.json)).canonicalString
        try db.cachedStatement(sql: "INSERT INTO state_history (entity, entity_key, row, event_index) VALUES (?, ?, ?, ?)").execute(arguments: [
            entity, key, state, eventIndex,
        ])
        try record("state_history", [db.lastInsertedRowID, entity, key, state])
    }

    mutating func apply(_ change: Change) throws {
        switch change.concern {
        case .tracking: try applyTracking(change)
        case .registry: try applyRegistry(change)
        case .identity: try applyIdentity(change)
        case .serving: try applyServing(change)
        case .privacy: try applyPrivacy(change)
        case .lineage: try applyLineage(change)
        case .integrations: try applyIntegrations(change)
        }
    }
}
