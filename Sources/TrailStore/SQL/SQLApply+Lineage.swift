import Foundation
import TrailCore
import TrailLedger

/// Applies OpenLineage changes (`ApplyContext.apply` routes by `Change.concern`).
extension ApplyContext {
    mutating func applyLineage(_ change: Change) throws {
        switch change {
        case .recordOpenLineage(let event, let body, let bodyBytes, let received):
            let values: [(any SQLValueConvertible)?] = [
                event.kind.rawValue, event.eventType, event.eventTimeMillis, event.runID, event.jobNamespace, event.jobName, event.parentRunID,
                event.producer, event.gitCommit, event.sourceLocation, event.processingType, event.description, body.description, bodyBytes,
                received,
            ]
            try db.cachedStatement(
                sql: """
                    INSERT INTO openlineage_events (kind, event_type, event_time, run_uuid, job_namespace, job_name, parent_run_uuid, producer,
                        git_commit, source_location, processing_type, description, body_digest, body_bytes, received_time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: values + [eventIndex])
            let seq = try db.lastInsertedRowID
            try record("openlineage_events", [seq] + values)
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO openlineage_datasets (event_seq, role, namespace, name, version, schema_json, dataset_type, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for dataset in event.datasets {
                let row: [(any SQLValueConvertible)?] = [
                    seq, dataset.role, dataset.namespace, dataset.name, dataset.version, dataset.schemaJSON, dataset.datasetType,
                ]
                try insert.execute(arguments: row + [eventIndex])
                try record("openlineage_datasets", [try db.lastInsertedRowID] + row)
            }
            changed = true
        default:
            throw TrailError.internalError("\(change) is not a lineage change")
        }
    }
}

extension SQLMetadataStore {
    static let openLineageColumns = """
        e.seq, e.kind, e.event_type, e.event_time, e.run_uuid, e.job_namespace, e.job_name, e.parent_run_uuid, e.producer, e.git_commit,
        e.source_location, e.processing_type, e.description, e.body_digest, e.event_index
        """

    static func openLineageRecord(_ row: SQLRow) -> OpenLineageRecord {
        OpenLineageRecord(
            seq: row[0], kind: row[1], eventType: row[2] as String?, eventTimeMillis: row[3], runID: row[4] as String?, jobNamespace: row[5] as String?,
            jobName: row[6] as String?, parentRunID: row[7] as String?, producer: row[8], gitCommit: row[9] as String?, sourceLocation: row[10] as String?,
            processingType: row[11] as String?, description: row[12] as String?, bodyDigest: row[13], eventIndex: row[14], datasets: [])
    }

    /// Fills in each record's datasets.
    static func attachDatasets(_ records: [OpenLineageRecord], _ db: any SQLDatabase) throws -> [OpenLineageRecord] {
        let select = try db.cachedStatement(
            sql: "SELECT role, namespace, name, version, schema_json, dataset_type FROM openlineage_datasets WHERE event_seq = ? ORDER BY seq")
        return try records.map { record in
            var record = record
            record.datasets = try SQLRow.fetchAll(select, arguments: [record.seq]).map {
                OpenLineageEvent.Dataset(
                    role: $0[0], namespace: $0[1], name: $0[2], version: $0[3] as String?, schemaJSON: $0[4] as String?, datasetType: $0[5] as String?)
            }
            return record
        }
    }

    public func openLineageEvents(matching query: OpenLineageQuery) async throws -> [OpenLineageRecord] {
        try await read { db in
            var clauses: [String] = []
            var arguments: SQLArguments = []
            if let digest = query.bodyDigest {
                clauses.append("e.body_digest = ?")
                arguments += [digest]
            }
            if let run = query.runID {
                clauses.append("e.run_uuid = ?")
                arguments += [run]
            }
            if let (namespace, name) = query.job {
                clauses.append("e.job_namespace = ? AND e.job_name = ?")
                arguments += [namespace, name]
            }
            if let (namespace, name) = query.dataset {
                clauses.append("e.seq IN (SELECT event_seq FROM openlineage_datasets WHERE namespace = ? AND name = ?)")
                arguments += [namespace, name]
            }
            if !query.outputVersions.isEmpty || !query.outputNames.isEmpty {
                var any: [String] = []
                if !query.outputVersions.isEmpty {
                    any.append("version IN (\(query.outputVersions.map { _ in "?" }.joined(separator: ", ")))")
                    for version in query.outputVersions.sorted() { arguments += [version] }
                }
                for (namespace, name) in query.outputNames {
                    any.append("(namespace = ? AND name = ?)")
                    arguments += [namespace, name]
                }
                clauses.append("e.seq IN (SELECT event_seq FROM openlineage_datasets WHERE role = 'output' AND (\(any.joined(separator: " OR "))))")
            }
            let sql =
                "SELECT \(Self.openLineageColumns) FROM openlineage_events e"
                + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY e.seq DESC LIMIT ?"
            arguments += [Int64(query.limit)]
            return try Self.attachDatasets(try SQLRow.fetchAll(db, sql: sql, arguments: arguments).map(Self.openLineageRecord), db)
        }
    }

    public func openLineageEdges() async throws -> [OpenLineageEdge] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT d.role, e.job_namespace, e.job_name, d.namespace, d.name FROM openlineage_datasets d
                    JOIN openlineage_events e ON e.seq = d.event_seq
                    WHERE e.job_namespace IS NOT NULL AND d.role IN ('input', 'output')
                    ORDER BY 2, 3, 1, 4, 5 LIMIT 100000
                    """
            ).map { OpenLineageEdge(role: $0[0], jobNamespace: $0[1], jobName: $0[2], datasetNamespace: $0[3], datasetName: $0[4]) }
        }
    }

    public func runDatasetEdges() async throws -> [RunDatasetEdge] {
        try await read { db in
            let inputs = try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT x.name, r.run_id, d.name, d.digest, d.source, r.start_time FROM dataset_inputs d
                    JOIN runs r ON r.pk = d.run_pk JOIN experiments x ON x.id = r.experiment_id
                    WHERE r.lifecycle_stage = 'active' ORDER BY d.seq LIMIT 100000
                    """
            ).map { RunDatasetEdge(experimentName: $0[0], runID: $0[1], role: "input", name: $0[2], digest: $0[3], source: $0[4], timeMillis: $0[5]) }
            let outputs = try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT x.name, r.run_id, v.name, v.version, v.root_digest, v.creation_time FROM model_versions v
                    JOIN runs r ON r.run_id = v.run_id JOIN experiments x ON x.id = r.experiment_id
                    WHERE r.lifecycle_stage = 'active' ORDER BY v.pk LIMIT 100000
                    """
            ).map {
                RunDatasetEdge(
                    experimentName: $0[0], runID: $0[1], role: "output", name: "\($0[2] as String)/\($0[3] as Int64)", digest: $0[4], source: "",
                    timeMillis: $0[5])
            }
            return inputs + outputs
        }
    }

    static func cursor(_ row: SQLRow) -> OpenLineageCursor {
        OpenLineageCursor(
            receiver: row[0], nextIndex: row[1], delivered: row[2], failures: row[3], lastError: row[4] as String?, lastAttemptMillis: row[5] as Int64?,
            nextAttemptMillis: row[6])
    }

    public func openLineageCursor(receiver: String) async throws -> OpenLineageCursor {
        try await read { db in
            try SQLRow.fetchOne(
                db,
                sql: "SELECT receiver, next_index, delivered, failures, last_error, last_attempt, next_attempt FROM openlineage_cursors WHERE receiver = ?",
                arguments: [receiver]
            ).map(Self.cursor) ?? OpenLineageCursor(receiver: receiver)
        }
    }

    public func openLineageCursors() async throws -> [OpenLineageCursor] {
        try await read { db in
            try SQLRow.fetchAll(
                db, sql: "SELECT receiver, next_index, delivered, failures, last_error, last_attempt, next_attempt FROM openlineage_cursors ORDER BY receiver"
            ).map(Self.cursor)
        }
    }

    public func saveOpenLineageCursor(_ cursor: OpenLineageCursor) async throws {
        try await write("save an OpenLineage delivery cursor") { db in
            try db.execute(
                sql: """
                    INSERT INTO openlineage_cursors (receiver, next_index, delivered, failures, last_error, last_attempt, next_attempt)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (receiver) DO UPDATE SET next_index = excluded.next_index, delivered = excluded.delivered,
                        failures = excluded.failures, last_error = excluded.last_error, last_attempt = excluded.last_attempt,
                        next_attempt = excluded.next_attempt
                    """,
                arguments: [
                    cursor.receiver, cursor.nextIndex, cursor.delivered, cursor.failures, cursor.lastError, cursor.lastAttemptMillis,
                    cursor.nextAttemptMillis,
                ])
        }
    }

    public func predictionCounts() async throws -> [(model: String, version: Int64, outcome: String, count: Int64)] {
        try await read { db in
            try SQLRow.fetchAll(
                db, sql: "SELECT model_name, model_version, outcome, COUNT(*) FROM predictions GROUP BY model_name, model_version, outcome LIMIT 10000"
            ).map { ($0[0], $0[1], $0[2], $0[3]) }
        }
    }
}
