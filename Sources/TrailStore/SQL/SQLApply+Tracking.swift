import Foundation
import TrailCore
import TrailLedger

/// Applies the tracking changes of a batch (`ApplyContext.apply` routes by `Change.concern`).
extension ApplyContext {
    mutating func applyTracking(_ change: Change) throws {
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
            let pk = try db.lastInsertedRowID
            try recordState("runs", key: pk)
            try changeRunTags(pk, tags)
        case .updateRun(let id, let status, let endTime, let name):
            let pk = try SQLMetadataStore.runPK(id, in: db)
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
                try recordState("runs", key: try SQLMetadataStore.runPK(id, in: db))
            }
        case .insertParams(let id, let params):
            try insertParams(params, table: "params", owner: "run_pk", pk: try SQLMetadataStore.runPK(id, in: db))
        case .insertMetrics(let id, let metrics):
            guard !metrics.isEmpty else { return }
            let pk = try SQLMetadataStore.runPK(id, in: db)
            // MLflow's metric identity is (run, key, timestamp, step, value): a repeated point
            // (a client retry, log_model re-linking metrics) is a no-op. Points repeated inside
            // the batch are dropped here; points already stored are skipped by the statement,
            // which inserts up to 500 points at once (one round trip to PostgreSQL, not one per
            // point) and returns the ones it inserted, whose rows the event's digest covers.
            struct Point: Hashable {
                var key: String
                var timestamp: Int64
                var step: Int64
                var isNaN: Bool
                var bits: UInt64
            }
            var seen = Set<Point>()
            var points: [Metric] = []
            points.reserveCapacity(metrics.count)
            for metric in metrics {
                let point = Point(
                    key: metric.key, timestamp: metric.timestampMillis, step: metric.step, isNaN: metric.value.isNaN,
                    bits: metric.value.isNaN ? 0 : (metric.value == 0 ? 0 : metric.value.bitPattern))
                if seen.insert(point).inserted { points.append(metric) }
            }
            var latest: [String: Metric] = [:]
            var start = 0
            while start < points.count {
                let chunk = points[start..<min(start + 500, points.count)]
                start += chunk.count
                let row = "(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))"
                // The event index comes first: its placeholder is first in the statement's text.
                var arguments: [(any SQLValueConvertible)?] = [eventIndex]
                arguments.reserveCapacity(chunk.count * 6 + 1)
                for metric in chunk {
                    arguments += [pk, metric.key, metric.value.isNaN ? nil : metric.value, metric.value.isNaN ? 1 : 0, metric.timestampMillis, metric.step]
                }
                let inserted = try SQLRow.fetchAll(
                    db,
                    sql: """
                        INSERT INTO metrics (run_pk, key, value, is_nan, timestamp, step, event_index)
                        SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, CAST(? AS BIGINT)
                        FROM (VALUES \(Array(repeating: row, count: chunk.count).joined(separator: ", "))) AS v
                        WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.run_pk = v.column1 AND m.key = v.column2 AND m.timestamp = v.column5
                            AND m.step = v.column6 AND m.is_nan = v.column4 AND m.value IS NOT DISTINCT FROM v.column3)
                        RETURNING key, value, is_nan, timestamp, step
                        """,
                    arguments: SQLArguments(arguments))
                for stored in inserted {
                    let key: String = stored[0]
                    let value: Double? = stored[1]
                    let isNaN: Bool = (stored[2] as Int64) != 0
                    let timestamp: Int64 = stored[3]
                    let step: Int64 = stored[4]
                    changed = true
                    record("metrics", [pk, key, value, isNaN, timestamp, step])
                    let metric = Metric(key: key, value: isNaN ? .nan : value ?? 0, timestampMillis: timestamp, step: step)
                    if let current = latest[key], !metric.isLater(than: current) { continue }
                    latest[key] = metric
                }
            }
            // The latest point per key, up to 200 keys per statement (each key once, as an
            // upsert that touches a row twice is refused).
            let latestPoints = latest.values.sorted { $0.key < $1.key }
            var from = 0
            while from < latestPoints.count {
                let chunk = latestPoints[from..<min(from + 200, latestPoints.count)]
                from += chunk.count
                var arguments: [(any SQLValueConvertible)?] = []
                for metric in chunk {
                    arguments += [pk, metric.key, metric.value.isNaN ? nil : metric.value, metric.value.isNaN, metric.timestampMillis, metric.step]
                }
                try db.execute(
                    sql: """
                        INSERT INTO latest_metrics (run_pk, key, value, is_nan, timestamp, step)
                        VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", "))
                        ON CONFLICT (run_pk, key) DO UPDATE SET
                            value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step
                        WHERE (excluded.step, excluded.timestamp) > (latest_metrics.step, latest_metrics.timestamp)
                           OR ((excluded.step, excluded.timestamp) = (latest_metrics.step, latest_metrics.timestamp)
                               AND (excluded.is_nan > latest_metrics.is_nan
                                    OR (excluded.is_nan = 0 AND latest_metrics.is_nan = 0 AND excluded.value > latest_metrics.value)))
                        """, arguments: SQLArguments(arguments))
            }
        case .changeRunTags(let id, let changes):
            try changeRunTags(try SQLMetadataStore.runPK(id, in: db), changes)
        case .insertDatasetInputs(let id, let inputs):
            let pk = try SQLMetadataStore.runPK(id, in: db)
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
                        [try db.lastInsertedRowID, pk, input.name, input.digest, input.sourceType, input.source, schema, profile, input.context ?? ""])
                }
            }
        case .putArtifact(let owner, let entry):
            try putArtifact(owner, entry)
        case .createLoggedModel(let model):
            try createLoggedModel(model)
        case .updateLoggedModel(let id, let status, let lifecycle, let time):
            try updateLoggedModel(id, status: status, lifecycle: lifecycle, time: time)
        case .changeLoggedModelTags(let id, let changes):
            try changeLoggedModelTags(try SQLMetadataStore.loggedModelPK(id, in: db), changes)
        case .insertLoggedModelParams(let id, let params):
            try insertLoggedModelParams(try SQLMetadataStore.loggedModelPK(id, in: db), params)
        case .insertLoggedModelMetrics(let id, let metrics):
            try insertLoggedModelMetrics(id, metrics)
        case .linkRunModels(let id, let links):
            try linkRunModels(id, links)
        default:
            throw TrailError.internalError("\(change) is not a tracking change")
        }
    }


    mutating func changeExperimentTags(_ id: ExperimentID, _ changes: [TagChange]) throws {
        for change in changes {
            try db.cachedStatement(
                sql: "INSERT INTO experiment_tag_history (experiment_id, key, value, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [id.value, change.key, change.value, change.timeMillis, change.actor.description, eventIndex])
            try record("experiment_tag_history", [db.lastInsertedRowID, id.value, change.key, change.value, change.timeMillis, change.actor.description])
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
            // The experiment's state changes with it (last_update_time): recorded with this event,
            // as every other change of an entity row is, or `ledger verify` finds it altered.
            try db.cachedStatement(sql: "UPDATE experiments SET last_update_time = MAX(last_update_time, ?), event_index = ? WHERE id = ?")
                .execute(arguments: [changes.map(\.timeMillis).max()!, eventIndex, id.value])
            try recordState("experiments", key: id.value)
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
            try record("run_tag_history", [db.lastInsertedRowID, pk, change.key, change.value, change.timeMillis, change.actor.description])
            if let value = change.value {
                try upsert.execute(arguments: [pk, change.key, value])
            } else {
                try remove.execute(arguments: [pk, change.key])
            }
            changed = true
        }
    }
}
