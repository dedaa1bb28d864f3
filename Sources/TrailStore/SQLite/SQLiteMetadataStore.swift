import Foundation
import GRDB
import TrailCore
import TrailLedger

/// The embedded metadata store: one SQLite file in WAL mode through GRDB.
///
/// Writes are serialised by SQLite's single writer; each `apply` is one `IMMEDIATE`
/// transaction. With WAL and `synchronous = NORMAL` a committed transaction survives the
/// process being killed (`kill -9`); set `durability: .full` to also survive power loss.
public final class SQLiteMetadataStore: MetadataStore {
    public enum Durability: Sendable { case normal, full }

    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    public init(path: String, durability: Durability = .normal) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw TrailError(.internalError, "cannot open the metadata database", cause: error)
        }
    }

    // MARK: - The one write path

    public func apply(_ batch: WriteBatch) async throws -> WriteReceipt {
        do {
            return try await pool.write { db in try Self.apply(batch, in: db) }
        } catch let error as TrailError {
            throw error
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw TrailError(.resourceAlreadyExists, "the name is already taken", cause: error)
        } catch {
            throw TrailError(.internalError, "the metadata store failed to write", cause: error)
        }
    }

    static func apply(_ batch: WriteBatch, in db: Database) throws -> WriteReceipt {
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
        return WriteReceipt(eventIndex: eventIndex, experimentID: context.experimentID, modelVersion: context.modelVersion)
    }

    /// Stores the leaf and every perfect subtree it completes, in the event's transaction.
    static func appendToTree(leaf: TreeHash, index: UInt64, in db: Database) throws {
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

    static func check(_ precondition: Precondition, in db: Database) throws {
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
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, end_time FROM runs WHERE run_id = ?"), arguments: [id.value])
            else { throw TrailError.notFound("run", id.description, field: "run_id") }
            let status: String = row[0]
            let end: Int64? = row[1]
            if end != nil || ["FINISHED", "FAILED", "KILLED"].contains(status) {
                throw TrailError(.invalidState, "run \(id) ended while this change was made; what policies read from it is frozen", field: field)
            }
        }
    }

    static func runPK(_ id: RunID, in db: Database) throws -> Int64 {
        guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM runs WHERE run_id = ?"), arguments: [id.value]) else {
            throw TrailError.notFound("run", id.description, field: "run_id")
        }
        return pk
    }
}

/// State of one `apply`: the event index every row written gets, and what happened.
struct ApplyContext {
    let db: Database
    let eventIndex: Int64
    let actor: Actor
    var changed = false
    var experimentID: ExperimentID?
    var modelVersion: Int64?
    /// The rows written, per recorded table, encoded as the event's write digests cover them.
    var writes: [String: [[UInt8]]] = [:]

    mutating func record(_ table: String, _ values: [(any DatabaseValueConvertible)?]) {
        writes[table, default: []].append(ApplyContext.encode(values.map { ($0?.databaseValue) ?? .null }))
    }

    /// A stored row as the canonical JSON array its event's write digest covers; verification
    /// encodes rows read back the same way.
    static func encode<Values: Sequence>(_ values: Values) -> [UInt8] where Values.Element == DatabaseValue {
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
    static func json(_ value: DatabaseValue) -> JSONValue {
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
        let (keyColumn, columns) = SQLiteSchema.stateColumns[entity]!
        let select = try db.cachedStatement(sql: "SELECT \(columns.joined(separator: ", ")) FROM \(entity) WHERE \(keyColumn) = ?")
        guard let row = try Row.fetchOne(select, arguments: [key])
        else {
            return
        }
        let state = JSONValue.array(row.databaseValues.map(ApplyContext.json)).canonicalString
        try db.cachedStatement(sql: "INSERT INTO state_history (entity, entity_key, row, event_index) VALUES (?, ?, ?, ?)").execute(arguments: [
            entity, key, state, eventIndex,
        ])
        record("state_history", [db.lastInsertedRowID, entity, key, state])
    }

    mutating func apply(_ change: Change) throws {
        switch change {
        case .createExperiment(let name, let tags, let time):
            let next = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(id), -1) + 1 FROM experiments"))!
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM experiments WHERE name = ?"), arguments: [name]) == true {
                throw TrailError(.resourceAlreadyExists, "experiment '\(name)' already exists", field: "name")
            }
            try db.execute(
                sql:
                    "INSERT INTO experiments (id, name, lifecycle_stage, creation_time, last_update_time, event_index) VALUES (?, ?, 'active', ?, ?, ?)",
                arguments: [next, name, time, time, eventIndex])
            experimentID = ExperimentID(next)
            try recordState("experiments", key: next)
            try changeExperimentTags(ExperimentID(next), tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: time, actor: actor) })
            changed = true
        case .setExperimentLifecycle(let id, let stage, let time):
            try db.cachedStatement(
                sql: "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ?, event_index = ? WHERE id = ? AND lifecycle_stage != ?"
            ).execute(arguments: [stage.rawValue, time, eventIndex, id.value, stage.rawValue])
            if db.changesCount > 0 {
                changed = true
                try recordState("experiments", key: id.value)
            }
        case .renameExperiment(let id, let name, let time):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM experiments WHERE name = ? AND id != ?"), arguments: [name, id.value]) == true
            {
                throw TrailError(.resourceAlreadyExists, "experiment '\(name)' already exists", field: "new_name")
            }
            try db.cachedStatement(sql: "UPDATE experiments SET name = ?, last_update_time = ?, event_index = ? WHERE id = ? AND name != ?").execute(
                arguments: [name, time, eventIndex, id.value, name])
            if db.changesCount > 0 {
                changed = true
                try recordState("experiments", key: id.value)
            }
        case .changeExperimentTags(let id, let changes):
            try changeExperimentTags(id, changes)
        case .createRun(let info, let tags):
            try db.cachedStatement(
                sql: """
                    INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                info.runID.value, info.experimentID.value, info.name, info.userID, info.status.rawValue,
                info.startTimeMillis, info.endTimeMillis, info.lifecycleStage.rawValue, eventIndex,
            ])
            changed = true
            let pk = db.lastInsertedRowID
            try recordState("runs", key: pk)
            try changeRunTags(pk, tags)
        case .updateRun(let id, let status, let endTime, let name):
            let pk = try SQLiteMetadataStore.runPK(id, in: db)
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = COALESCE(?, status), end_time = COALESCE(?, end_time), name = COALESCE(?, name),
                        event_index = ? WHERE pk = ?
                    """
            ).execute(arguments: [status?.rawValue, endTime, name, eventIndex, pk])
            changed = true
            try recordState("runs", key: pk)
        case .setRunLifecycle(let id, let stage):
            try db.cachedStatement(sql: "UPDATE runs SET lifecycle_stage = ?, event_index = ? WHERE run_id = ? AND lifecycle_stage != ?").execute(
                arguments: [stage.rawValue, eventIndex, id.value, stage.rawValue])
            if db.changesCount > 0 {
                changed = true
                try recordState("runs", key: try SQLiteMetadataStore.runPK(id, in: db))
            }
        case .insertParams(let id, let params):
            try insertParams(params, table: "params", owner: "run_pk", pk: try SQLiteMetadataStore.runPK(id, in: db))
        case .insertMetrics(let id, let metrics):
            guard !metrics.isEmpty else { return }
            let pk = try SQLiteMetadataStore.runPK(id, in: db)
            // MLflow's metric identity is (run, key, timestamp, step, value): a repeated point
            // (a client retry, log_model re-linking metrics) is a no-op, decided in one statement.
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO metrics (run_pk, key, value, is_nan, timestamp, step, event_index)
                    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS (SELECT 1 FROM metrics
                        WHERE run_pk = ?1 AND key = ?2 AND timestamp = ?5 AND step = ?6 AND is_nan = ?4 AND value IS ?3)
                    """)
            var latest: [String: Metric] = [:]
            for metric in metrics {
                let value: Double? = metric.value.isNaN ? nil : metric.value
                try insert.execute(arguments: [pk, metric.key, value, metric.value.isNaN, metric.timestampMillis, metric.step, eventIndex])
                guard db.changesCount > 0 else { continue }
                changed = true
                record("metrics", [pk, metric.key, value, metric.value.isNaN, metric.timestampMillis, metric.step])
                if let current = latest[metric.key], !metric.isLater(than: current) { continue }
                latest[metric.key] = metric
            }
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO latest_metrics (run_pk, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run_pk, key) DO UPDATE SET
                        value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step
                    WHERE (excluded.step, excluded.timestamp) > (latest_metrics.step, latest_metrics.timestamp)
                       OR ((excluded.step, excluded.timestamp) = (latest_metrics.step, latest_metrics.timestamp)
                           AND (excluded.is_nan > latest_metrics.is_nan
                                OR (excluded.is_nan = 0 AND latest_metrics.is_nan = 0 AND excluded.value > latest_metrics.value)))
                    """)
            for metric in latest.values {
                try upsert.execute(arguments: [
                    pk, metric.key, metric.value.isNaN ? nil : metric.value, metric.value.isNaN, metric.timestampMillis, metric.step,
                ])
            }
        case .changeRunTags(let id, let changes):
            try changeRunTags(try SQLiteMetadataStore.runPK(id, in: db), changes)
        case .insertDatasetInputs(let id, let inputs):
            let pk = try SQLiteMetadataStore.runPK(id, in: db)
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for input in inputs {
                let schema = try input.schemaText ?? input.schema.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                let profile = try input.profileText ?? input.profile.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO dataset_inputs (run_pk, name, digest, source_type, source, schema_json, profile_json, context, event_index)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_pk, name, digest, context) DO NOTHING
                        """
                ).execute(arguments: [pk, input.name, input.digest, input.sourceType, input.source, schema, profile, input.context ?? "", eventIndex])
                if db.changesCount > 0 {
                    changed = true
                    record(
                        "dataset_inputs",
                        [db.lastInsertedRowID, pk, input.name, input.digest, input.sourceType, input.source, schema, profile, input.context ?? ""])
                }
            }
        case .createRegisteredModel(let name, let description, let time):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM registered_models WHERE name = ?"), arguments: [name]) == true {
                throw TrailError(.resourceAlreadyExists, "registered model '\(name)' already exists", field: "name")
            }
            try db.cachedStatement(
                sql: "INSERT INTO registered_models (name, description, creation_time, last_update_time, event_index) VALUES (?, ?, ?, ?, ?)"
            ).execute(arguments: [name, description, time, time, eventIndex])
            try recordState("registered_models", key: db.lastInsertedRowID)
            changed = true
        case .createModelVersion(let name, let runID, let source, let manifest, let description, let tags, let time):
            let version = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?"), arguments: [name])!
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            try db.cachedStatement(
                sql: """
                    INSERT INTO model_versions (name, version, run_id, source, root_digest, manifest_json, stage, description, created_by,
                        creation_time, last_update_time, event_index) VALUES (?, ?, ?, ?, ?, ?, 'None', ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                name, version, runID?.value, source, manifest.root.description, String(decoding: try encoder.encode(manifest), as: UTF8.self),
                description, actor.description, time, time, eventIndex,
            ])
            try recordState("model_versions", key: db.lastInsertedRowID)
            try touchModel(name, time)
            if !tags.isEmpty { try changeRegistryTags(name, version: version, tags) }
            modelVersion = version
            changed = true
        case .setAlias(let name, let alias, let version, let reason, let time):
            let current = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT version FROM model_aliases WHERE name = ? AND alias = ?"), arguments: [name, alias])
            guard current != version else { return }
            if let version {
                try db.cachedStatement(
                    sql:
                        "INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version"
                ).execute(arguments: [name, alias, version])
            } else {
                try db.cachedStatement(sql: "DELETE FROM model_aliases WHERE name = ? AND alias = ?").execute(arguments: [name, alias])
            }
            try recordRegistryChange(
                name, kind: "alias", key: alias, from: current.map(String.init), to: version.map(String.init), reason: reason, time: time)
            try touchModel(name, time)
        case .setStage(let name, let version, let stage, let archiveExisting, let reason, let time):
            if archiveExisting, stage == .staging || stage == .production {
                let others = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT version FROM model_versions WHERE name = ? AND stage = ? AND version != ? ORDER BY version"),
                    arguments: [name, stage.rawValue, version])
                for other in others {
                    try moveStage(
                        name, other, from: stage.rawValue, to: ModelStage.archived.rawValue,
                        reason: "archived by the promotion of version \(version): \(reason)", time: time)
                }
            }
            guard
                let current = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT stage FROM model_versions WHERE name = ? AND version = ?"), arguments: [name, version]),
                current != stage.rawValue
            else { return }
            try moveStage(name, version, from: current, to: stage.rawValue, reason: reason, time: time)
        case .createUser(let name, let roles, let time):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE name = ?"), arguments: [name]) == true {
                throw TrailError(.resourceAlreadyExists, "user '\(name)' already exists", field: "name")
            }
            try db.cachedStatement(sql: "INSERT INTO users (name, roles, disabled, creation_time, event_index) VALUES (?, ?, 0, ?, ?)")
                .execute(arguments: [name, roles.map(\.rawValue).sorted().joined(separator: ","), time, eventIndex])
            try recordState("users", key: db.lastInsertedRowID)
            changed = true
        case .updateUser(let name, let roles, let disabled):
            guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM users WHERE name = ?"), arguments: [name]) else {
                throw TrailError.notFound("user", name, field: "name")
            }
            try db.cachedStatement(sql: "UPDATE users SET roles = COALESCE(?, roles), disabled = COALESCE(?, disabled), event_index = ? WHERE pk = ?")
                .execute(arguments: [roles.map { $0.map(\.rawValue).sorted().joined(separator: ",") }, disabled, eventIndex, pk])
            try recordState("users", key: pk)
            changed = true
        case .createToken(let token):
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE name = ?"), arguments: [token.userName]) == true else {
                throw TrailError.notFound("user", token.userName, field: "user")
            }
            try db.cachedStatement(
                sql:
                    "INSERT INTO tokens (token_id, user_name, secret_digest, creation_time, expires, revoked, event_index) VALUES (?, ?, ?, ?, ?, NULL, ?)"
            ).execute(arguments: [
                token.id, token.userName, token.secretDigest.description, token.creationTimeMillis, token.expiresMillis, eventIndex,
            ])
            try recordState("tokens", key: db.lastInsertedRowID)
            changed = true
        case .revokeToken(let id, let time):
            guard
                let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM tokens WHERE token_id = ? AND revoked IS NULL"), arguments: [id])
            else { throw TrailError.notFound("active token", id, field: "token_id") }
            try db.cachedStatement(sql: "UPDATE tokens SET revoked = ?, event_index = ? WHERE pk = ?").execute(arguments: [time, eventIndex, pk])
            try recordState("tokens", key: pk)
            changed = true
        case .setPolicy(let name, let target, let document, let time):
            let version = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE name = ? AND target = ?"),
                arguments: [name, target])!
            try db.cachedStatement(
                sql: "INSERT INTO policies (name, target, version, document, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [name, target, version, document, time, actor.description, eventIndex])
            record("policies", [db.lastInsertedRowID, name, target, version, document, time, actor.description])
            changed = true
        case .recordApproval(let name, let version, let target, let approver, let root, let decision, let comment, let time):
            try db.cachedStatement(
                sql: """
                    INSERT INTO approvals (name, version, target, approver, root_digest, decision, comment, time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [name, version, target, approver, root.description, decision, comment, time, eventIndex])
            record("approvals", [db.lastInsertedRowID, name, version, target, approver, root.description, decision, comment, time])
            changed = true
        case .setTrustedKey(let keyID, let name, let publicKey, let types, let revoked, let time):
            let typesJSON = JSONValue.array(types.map(JSONValue.string)).canonicalString
            try db.cachedStatement(
                sql: """
                    INSERT INTO trusted_keys (keyid, name, public_key, predicate_types, revoked, actor, time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [keyID, name, publicKey, typesJSON, revoked, actor.description, time, eventIndex])
            record("trusted_keys", [db.lastInsertedRowID, keyID, name, publicKey, typesJSON, revoked, actor.description, time])
            changed = true
        case .recordDeployment(let d):
            let values: [(any DatabaseValueConvertible)?] = [
                d.deploymentID, d.modelName, d.reference, d.modelVersion, d.configDigest.description, d.binaryDigest, d.host, d.action, d.timeMillis,
            ]
            try db.cachedStatement(
                sql: """
                    INSERT INTO deployments (deployment_id, model_name, reference, model_version, config_digest, binary_digest, host, action, time,
                        event_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: StatementArguments(values + [eventIndex]))
            record("deployments", [db.lastInsertedRowID] + values)
            changed = true
        case .recordPredictions(let batch):
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO predictions (prediction_id, time, deployment_id, model_name, model_version, input_digest, probability, prediction,
                        latency_us, outcome, error, raw_input, position, event_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for (position, r) in batch.records.enumerated() {
                // SQLite stores NaN as NULL: a non-finite score would be hashed as one value and
                // stored as another. The serving layer refuses such scores; this keeps it so.
                if let probability = r.probability, !probability.isFinite {
                    throw TrailError.invalid("probability", "prediction \(r.predictionID) has a non-finite score; it cannot be recorded")
                }
                let values: [(any DatabaseValueConvertible)?] = [
                    r.predictionID, r.timeMillis, r.deploymentID, r.modelName, r.modelVersion, r.inputDigest.description, r.probability,
                    r.prediction, r.latencyMicros, r.outcome, r.error, r.rawInput, position,
                ]
                try insert.execute(arguments: StatementArguments(values + [eventIndex]))
                record("predictions", [db.lastInsertedRowID] + values)
            }
            if !batch.featureCounts.isEmpty {
                let counts = JSONValue.object(batch.featureCounts.mapValues { .array($0.map { .int(Int64($0)) }) }).canonicalString
                let time = batch.records.last?.timeMillis ?? 0
                try db.cachedStatement(
                    sql: """
                        INSERT INTO served_feature_counts (deployment_id, model_name, model_version, time, counts_json, event_index)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [batch.deploymentID, batch.modelName, batch.modelVersion, time, counts, eventIndex])
                record("served_feature_counts", [db.lastInsertedRowID, batch.deploymentID, batch.modelName, batch.modelVersion, time, counts])
            }
            if !batch.records.isEmpty { changed = true }
        case .recordAttestation(let a):
            let keyIDs = JSONValue.array(a.keyIDs.map(JSONValue.string)).canonicalString
            try db.cachedStatement(
                sql: """
                    INSERT INTO attestations (name, version, predicate_type, envelope_digest, payload_digest, subject_digest, keyids,
                        submitted_by, time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                a.name, a.version, a.predicateType, a.envelopeDigest.description, a.payloadDigest.description, a.subjectDigest.description, keyIDs,
                a.submittedBy, a.timeMillis, eventIndex,
            ])
            record(
                "attestations",
                [
                    db.lastInsertedRowID, a.name, a.version, a.predicateType, a.envelopeDigest.description, a.payloadDigest.description,
                    a.subjectDigest.description, keyIDs, a.submittedBy, a.timeMillis,
                ])
            changed = true
        case .putArtifact(let owner, let entry):
            try putArtifact(owner, entry)
        case .createLoggedModel(let model):
            try createLoggedModel(model)
        case .updateLoggedModel(let id, let status, let lifecycle, let time):
            try updateLoggedModel(id, status: status, lifecycle: lifecycle, time: time)
        case .changeLoggedModelTags(let id, let changes):
            try changeLoggedModelTags(try SQLiteMetadataStore.loggedModelPK(id, in: db), changes)
        case .insertLoggedModelParams(let id, let params):
            try insertLoggedModelParams(try SQLiteMetadataStore.loggedModelPK(id, in: db), params)
        case .insertLoggedModelMetrics(let id, let metrics):
            try insertLoggedModelMetrics(id, metrics)
        case .linkRunModels(let id, let links):
            try linkRunModels(id, links)
        case .changeRegistryTags(let name, let version, let changes):
            try changeRegistryTags(name, version: version, changes)
        case .describeRegistryEntry(let name, let version, let description, let time):
            try describeRegistryEntry(name, version: version, description: description, time: time)
        }
    }

    mutating func touchModel(_ name: String, _ time: Int64) throws {
        try db.cachedStatement(sql: "UPDATE registered_models SET last_update_time = MAX(last_update_time, ?), event_index = ? WHERE name = ?")
            .execute(arguments: [time, eventIndex, name])
        if let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM registered_models WHERE name = ?"), arguments: [name]) {
            try recordState("registered_models", key: pk)
        }
    }

    mutating func moveStage(_ name: String, _ version: Int64, from: String, to: String, reason: String, time: Int64) throws {
        try db.cachedStatement(
            sql: "UPDATE model_versions SET stage = ?, last_update_time = ?, event_index = ? WHERE name = ? AND version = ?"
        ).execute(arguments: [to, time, eventIndex, name, version])
        if let pk = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT pk FROM model_versions WHERE name = ? AND version = ?"), arguments: [name, version])
        {
            try recordState("model_versions", key: pk)
        }
        try recordRegistryChange(name, kind: "stage", key: String(version), from: from, to: to, reason: reason, time: time)
        try touchModel(name, time)
    }

    mutating func recordRegistryChange(_ name: String, kind: String, key: String, from: String?, to: String?, reason: String, time: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO registry_history (name, kind, key, from_value, to_value, reason, time, actor, event_index)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [name, kind, key, from, to, reason, time, actor.description, eventIndex])
        record("registry_history", [db.lastInsertedRowID, name, kind, key, from, to, reason, time, actor.description])
        changed = true
    }

    mutating func changeExperimentTags(_ id: ExperimentID, _ changes: [TagChange]) throws {
        for change in changes {
            try db.cachedStatement(
                sql: "INSERT INTO experiment_tag_history (experiment_id, key, value, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [id.value, change.key, change.value, change.timeMillis, change.actor.description, eventIndex])
            record("experiment_tag_history", [db.lastInsertedRowID, id.value, change.key, change.value, change.timeMillis, change.actor.description])
            if let value = change.value {
                try db.execute(
                    sql:
                        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                    arguments: [id.value, change.key, value])
            } else {
                try db.cachedStatement(sql: "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?").execute(arguments: [
                    id.value, change.key,
                ])
            }
            changed = true
        }
        if !changes.isEmpty {
            try db.cachedStatement(sql: "UPDATE experiments SET last_update_time = MAX(last_update_time, ?) WHERE id = ?").execute(arguments: [
                changes.map(\.timeMillis).max()!, id.value,
            ])
        }
    }

    mutating func changeRunTags(_ pk: Int64, _ changes: [TagChange]) throws {
        let history = try db.cachedStatement(
            sql: "INSERT INTO run_tag_history (run_pk, key, value, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?)")
        let upsert = try db.cachedStatement(
            sql: "INSERT INTO run_tags (run_pk, key, value) VALUES (?, ?, ?) ON CONFLICT (run_pk, key) DO UPDATE SET value = excluded.value")
        let remove = try db.cachedStatement(sql: "DELETE FROM run_tags WHERE run_pk = ? AND key = ?")
        for change in changes {
            try history.execute(arguments: [pk, change.key, change.value, change.timeMillis, change.actor.description, eventIndex])
            record("run_tag_history", [db.lastInsertedRowID, pk, change.key, change.value, change.timeMillis, change.actor.description])
            if let value = change.value {
                try upsert.execute(arguments: [pk, change.key, value])
            } else {
                try remove.execute(arguments: [pk, change.key])
            }
            changed = true
        }
    }
}
