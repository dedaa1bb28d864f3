import Foundation
import TrailCore

// Logged models (MLflow 3), artifacts by owner, run ↔ model links and registry tags.

extension ApplyContext {
    mutating func putArtifact(_ owner: ArtifactOwner, _ entry: ArtifactEntry) throws {
        let (table, column, pk): (String, String, Int64)
        switch owner {
        case .run(let id): (table, column, pk) = ("artifacts", "run_pk", try SQLMetadataStore.runPK(id, in: db))
        case .loggedModel(let id): (table, column, pk) = ("logged_model_artifacts", "model_pk", try SQLMetadataStore.loggedModelPK(id, in: db))
        }
        if let existing = try String.fetchOne(
            db.cachedStatement(sql: "SELECT digest FROM \(table) WHERE \(column) = ? AND path = ?"), arguments: [pk, entry.path.value])
        {
            guard existing == entry.digest.description else {
                throw TrailError(
                    .resourceConflict,
                    "artifact '\(entry.path)' already exists with other content (\(existing)); artifacts are never overwritten, so log it under a new path",
                    field: "path")
            }
            return
        }
        try db.cachedStatement(
            sql: "INSERT INTO \(table) (\(column), path, digest, size_bytes, created_time, event_index) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [pk, entry.path.value, entry.digest.description, entry.sizeBytes, entry.createdMillis, eventIndex])
        record(table, [pk, entry.path.value, entry.digest.description, entry.sizeBytes, entry.createdMillis])
        changed = true
    }

    mutating func createLoggedModel(_ model: LoggedModel) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO logged_models (model_id, experiment_id, name, model_type, source_run_id, status, status_message, lifecycle_stage,
                    creation_time, last_update_time, event_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            model.modelID, model.experimentID.value, model.name, model.modelType, model.sourceRunID?.value, model.status.rawValue,
            model.statusMessage, model.lifecycleStage.rawValue, model.creationTimeMillis, model.lastUpdatedMillis, eventIndex,
        ])
        let pk = try db.lastInsertedRowID
        try recordState("logged_models", key: pk)
        try insertLoggedModelParams(pk, model.params)
        try changeLoggedModelTags(pk, model.tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: model.creationTimeMillis, actor: actor) })
        changed = true
    }

    mutating func updateLoggedModel(_ id: String, status: LoggedModel.Status?, lifecycle: LifecycleStage?, time: Int64) throws {
        let pk = try SQLMetadataStore.loggedModelPK(id, in: db)
        try db.cachedStatement(
            sql: """
                UPDATE logged_models SET status = COALESCE(?, status), lifecycle_stage = COALESCE(?, lifecycle_stage),
                    last_update_time = ?, event_index = ? WHERE pk = ?
                """
        ).execute(arguments: [status?.rawValue, lifecycle?.rawValue, time, eventIndex, pk])
        try recordState("logged_models", key: pk)
        changed = true
    }

    mutating func touchLoggedModel(_ pk: Int64, time: Int64) throws {
        try db.cachedStatement(sql: "UPDATE logged_models SET last_update_time = MAX(last_update_time, ?), event_index = ? WHERE pk = ?")
            .execute(arguments: [time, eventIndex, pk])
        try recordState("logged_models", key: pk)
    }

    mutating func changeLoggedModelTags(_ pk: Int64, _ changes: [TagChange]) throws {
        let insert = try db.cachedStatement(
            sql: "INSERT INTO logged_model_tag_history (model_pk, key, value, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?)")
        for change in changes {
            try insert.execute(arguments: [pk, change.key, change.value, change.timeMillis, change.actor.description, eventIndex])
            try record("logged_model_tag_history", [db.lastInsertedRowID, pk, change.key, change.value, change.timeMillis, change.actor.description])
            changed = true
        }
    }

    mutating func insertLoggedModelParams(_ pk: Int64, _ params: [Param]) throws {
        try insertParams(params, table: "logged_model_params", owner: "model_pk", pk: pk)
    }

    /// Params of a run or a logged model: immutable, so a key re-logged with its value is a
    /// no-op and with another value fails the batch.
    mutating func insertParams(_ params: [Param], table: String, owner: String, pk: Int64) throws {
        let select = try db.cachedStatement(sql: "SELECT value FROM \(table) WHERE \(owner) = ? AND key = ?")
        let insert = try db.cachedStatement(sql: "INSERT INTO \(table) (\(owner), key, value, event_index) VALUES (?, ?, ?, ?)")
        for param in params {
            if let existing = try String.fetchOne(select, arguments: [pk, param.key]) {
                guard existing == param.value else {
                    throw TrailError.invalid(
                        "params.\(param.key)",
                        "param '\(param.key)' was already logged with value '\(existing.prefix(100))'; params are immutable, so '\(param.value.prefix(100))' is refused")
                }
                continue
            }
            try insert.execute(arguments: [pk, param.key, param.value, eventIndex])
            record(table, [pk, param.key, param.value])
            changed = true
        }
    }

    mutating func insertLoggedModelMetrics(_ id: String, _ metrics: [LoggedModel.LinkedMetric]) throws {
        let pk = try SQLMetadataStore.loggedModelPK(id, in: db)
        let existing = try db.cachedStatement(
            sql: """
                SELECT 1 FROM logged_model_metrics WHERE model_pk = ? AND key = ? AND timestamp = ? AND step = ? AND is_nan = ? AND value IS NOT DISTINCT FROM ?
                    AND run_id IS NOT DISTINCT FROM ? AND dataset_name IS NOT DISTINCT FROM ? AND dataset_digest IS NOT DISTINCT FROM ?
                """)
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO logged_model_metrics (model_pk, run_id, key, value, is_nan, timestamp, step, dataset_name, dataset_digest, event_index)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for linked in metrics {
            let m = linked.metric
            let value: Double? = m.value.isNaN ? nil : m.value
            let values: [(any SQLValueConvertible)?] = [
                linked.runID?.value, m.key, value, m.value.isNaN, m.timestampMillis, m.step, linked.datasetName, linked.datasetDigest,
            ]
            if try Bool.fetchOne(
                existing,
                arguments: [pk, m.key, m.timestampMillis, m.step, m.value.isNaN, value, linked.runID?.value, linked.datasetName, linked.datasetDigest])
                == true
            { continue }
            try insert.execute(arguments: SQLArguments([pk] + values + [eventIndex]))
            try record("logged_model_metrics", [db.lastInsertedRowID, pk] + values)
            changed = true
        }
    }

    mutating func linkRunModels(_ id: RunID, _ links: [RunModelLink]) throws {
        let pk = try SQLMetadataStore.runPK(id, in: db)
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO run_model_links (run_pk, model_id, direction, step, event_index) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (run_pk, model_id, direction, step) DO NOTHING
                """)
        for link in links {
            _ = try SQLMetadataStore.loggedModelPK(link.modelID, in: db)
            try insert.execute(arguments: [pk, link.modelID, link.direction.rawValue, link.step, eventIndex])
            if db.changesCount > 0 {
                try record("run_model_links", [db.lastInsertedRowID, pk, link.modelID, link.direction.rawValue, link.step])
                changed = true
            }
        }
    }

    mutating func changeRegistryTags(_ name: String, version: Int64?, _ changes: [TagChange]) throws {
        let insert = try db.cachedStatement(
            sql: "INSERT INTO registry_tag_history (name, version, key, value, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for change in changes {
            try insert.execute(arguments: [name, version ?? 0, change.key, change.value, change.timeMillis, change.actor.description, eventIndex])
            try record("registry_tag_history", [db.lastInsertedRowID, name, version ?? 0, change.key, change.value, change.timeMillis, change.actor.description])
            changed = true
        }
        if let version { try touchVersion(name, version, changes.last?.timeMillis ?? 0) }
        try touchModel(name, changes.last?.timeMillis ?? 0)
    }

    mutating func describeRegistryEntry(_ name: String, version: Int64?, description: String, time: Int64) throws {
        if let version {
            try db.cachedStatement(sql: "UPDATE model_versions SET description = ? WHERE name = ? AND version = ?")
                .execute(arguments: [description, name, version])
            try touchVersion(name, version, time)
        } else {
            try db.cachedStatement(sql: "UPDATE registered_models SET description = ? WHERE name = ?").execute(arguments: [description, name])
        }
        try touchModel(name, time)
        changed = true
    }

    mutating func touchVersion(_ name: String, _ version: Int64, _ time: Int64) throws {
        try db.cachedStatement(
            sql: "UPDATE model_versions SET last_update_time = MAX(last_update_time, ?), event_index = ? WHERE name = ? AND version = ?"
        ).execute(arguments: [time, eventIndex, name, version])
        if let pk = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT pk FROM model_versions WHERE name = ? AND version = ?"), arguments: [name, version])
        {
            try recordState("model_versions", key: pk)
        }
    }
}

extension SQLMetadataStore {
    static func loggedModelPK(_ id: String, in db: any SQLDatabase) throws -> Int64 {
        guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM logged_models WHERE model_id = ?"), arguments: [id]) else {
            throw TrailError.notFound("logged model", id, field: "model_id")
        }
        return pk
    }

    static let loggedModelColumns = """
        m.pk, m.model_id, m.experiment_id, m.name, m.model_type, m.source_run_id, m.status, m.status_message, m.lifecycle_stage,
        m.creation_time, m.last_update_time
        """

    /// Complete logged models (params, current tags, linked metrics) for rows of `loggedModelColumns`.
    static func loadLoggedModels(_ db: any SQLDatabase, rows: [SQLRow]) throws -> [LoggedModel] {
        guard !rows.isEmpty else { return [] }
        var models: [Int64: LoggedModel] = [:]
        var order: [Int64] = []
        for row in rows {
            let pk: Int64 = row[0]
            let runText: String? = row[5]
            models[pk] = LoggedModel(
                modelID: row[1], experimentID: ExperimentID(row[2]), name: row[3], modelType: row[4], sourceRunID: runText.flatMap { try? RunID(parsing: $0) },
                status: LoggedModel.Status(rawValue: row[6]) ?? .unspecified, statusMessage: row[7],
                lifecycleStage: LifecycleStage(rawValue: row[8]) ?? .active, creationTimeMillis: row[9], lastUpdatedMillis: row[10])
            order.append(pk)
        }
        let list = order.map(String.init).joined(separator: ",")
        for row in try SQLRow.fetchAll(db, sql: "SELECT model_pk, key, value FROM logged_model_params WHERE model_pk IN (\(list)) ORDER BY key") {
            models[row[0]]?.params.append(Param(key: row[1], value: row[2]))
        }
        for row in try SQLRow.fetchAll(
            db,
            sql: """
                SELECT model_pk, key, value FROM logged_model_tag_history WHERE seq IN
                    (SELECT MAX(seq) FROM logged_model_tag_history WHERE model_pk IN (\(list)) GROUP BY model_pk, key)
                ORDER BY key
                """)
        {
            let value: String? = row[2]
            if let value { models[row[0]]?.tags.append(Tag(key: row[1], value: value)) }
        }
        for row in try SQLRow.fetchAll(
            db,
            sql: """
                SELECT model_pk, run_id, key, value, is_nan, timestamp, step, dataset_name, dataset_digest FROM logged_model_metrics
                WHERE model_pk IN (\(list)) ORDER BY seq
                """)
        {
            let isNaN: Bool = row[4]
            let runText: String? = row[1]
            models[row[0]]?.metrics.append(
                LoggedModel.LinkedMetric(
                    metric: Metric(key: row[2], value: isNaN ? .nan : row[3], timestampMillis: row[5], step: row[6]),
                    runID: runText.flatMap { try? RunID(parsing: $0) }, datasetName: row[7], datasetDigest: row[8]))
        }
        return order.compactMap { models[$0] }
    }

    public func loggedModel(id: String) async throws -> LoggedModel? {
        try await read { db in
            try Self.loadLoggedModels(
                db, rows: try SQLRow.fetchAll(db, sql: "SELECT \(Self.loggedModelColumns) FROM logged_models m WHERE m.model_id = ?", arguments: [id])
            ).first
        }
    }

    public func loggedModels(experimentIDs: [ExperimentID]) async throws -> [LoggedModel] {
        try await read { db in
            let ids = experimentIDs.map { String($0.value) }.joined(separator: ",")
            return try Self.loadLoggedModels(
                db,
                rows: try SQLRow.fetchAll(
                    db,
                    sql: "SELECT \(Self.loggedModelColumns) FROM logged_models m WHERE m.experiment_id IN (\(ids)) ORDER BY m.creation_time DESC, m.pk"))
        }
    }

    public func artifacts(owner: ArtifactOwner) async throws -> [ArtifactEntry] {
        switch owner {
        case .run(let id): return try await artifacts(run: id)
        case .loggedModel(let id):
            return try await read { db in
                let pk = try Self.loggedModelPK(id, in: db)
                return try SQLRow.fetchAll(
                    db, sql: "SELECT path, digest, size_bytes, created_time FROM logged_model_artifacts WHERE model_pk = ? ORDER BY path",
                    arguments: [pk]
                ).map(Self.artifactEntry)
            }
        }
    }

    public func artifact(owner: ArtifactOwner, path: ArtifactPath) async throws -> ArtifactEntry? {
        switch owner {
        case .run(let id): return try await artifact(run: id, path: path)
        case .loggedModel(let id):
            return try await read { db in
                let pk = try Self.loggedModelPK(id, in: db)
                return try SQLRow.fetchOne(
                    db, sql: "SELECT path, digest, size_bytes, created_time FROM logged_model_artifacts WHERE model_pk = ? AND path = ?",
                    arguments: [pk, path.value]
                ).map(Self.artifactEntry)
            }
        }
    }

    public func runModelLinks(run: RunID) async throws -> [RunModelLink] {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            return try SQLRow.fetchAll(db, sql: "SELECT model_id, direction, step FROM run_model_links WHERE run_pk = ? ORDER BY seq", arguments: [pk])
                .map { RunModelLink(modelID: $0[0], direction: RunModelLink.Direction(rawValue: $0[1]) ?? .output, step: $0[2]) }
        }
    }

    /// Current tags of a registered model (`version` nil) or of a version.
    public func registryTags(name: String, version: Int64?) async throws -> [Tag] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT key, value FROM registry_tag_history WHERE seq IN
                        (SELECT MAX(seq) FROM registry_tag_history WHERE name = ? AND version = ? GROUP BY key) ORDER BY key
                    """, arguments: [name, version ?? 0]
            ).compactMap { row in
                let value: String? = row[1]
                return value.map { Tag(key: row[0], value: $0) }
            }
        }
    }

    /// Every registered model and every version, for in-memory search (registries are small).
    public func allRegisteredModels() async throws -> [RegisteredModel] {
        try await read { db in try Self.registeredModels(db, where: "1 = 1 ORDER BY name", []) }
    }

    public func allModelVersions() async throws -> [ModelVersion] {
        try await read { db in try Self.modelVersions(db, where: "1 = 1 ORDER BY name, version DESC", []) }
    }

    /// Current tags of every registered model and version, keyed by (name, version; 0 = model).
    public func allRegistryTags() async throws -> [String: [Int64: [Tag]]] {
        try await read { db in
            var out: [String: [Int64: [Tag]]] = [:]
            for row in try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT name, version, key, value FROM registry_tag_history WHERE seq IN
                        (SELECT MAX(seq) FROM registry_tag_history GROUP BY name, version, key) ORDER BY key
                    """)
            {
                let value: String? = row[3]
                if let value { out[row[0], default: [:]][row[1], default: []].append(Tag(key: row[2], value: value)) }
            }
            return out
        }
    }
}
