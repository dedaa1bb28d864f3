import Foundation
import TrailCore

extension SQLMetadataStore {
    public func deployments(id: String?, modelName: String?) async throws -> [Deployment] {
        try await read { db in
            var sql = """
                SELECT deployment_id, model_name, reference, model_version, config_digest, binary_digest, host, action, time, event_index
                FROM deployments
                """
            var arguments: SQLArguments = []
            if let id {
                sql += " WHERE deployment_id = ?"
                arguments += [id]
            } else if let modelName {
                sql += " WHERE model_name = ?"
                arguments += [modelName]
            }
            return try SQLRow.fetchAll(db, sql: sql + " ORDER BY seq", arguments: arguments).map { row in
                Deployment(
                    deploymentID: row[0], modelName: row[1], reference: row[2], modelVersion: row[3], configDigest: try Digest(parsing: row[4]),
                    binaryDigest: row[5], host: row[6], action: row[7], timeMillis: row[8], eventIndex: row[9])
            }
        }
    }

    static let predictionColumns = """
        p.prediction_id, p.time, p.deployment_id, p.model_name, p.model_version, p.input_digest, p.probability, p.prediction, p.latency_us,
        p.outcome, p.error, p.raw_input, p.event_index, p.position, o.output
        """
    static let predictionTables = "predictions p LEFT JOIN prediction_outputs o ON o.prediction_id = p.prediction_id"

    static func predictionRecord(_ row: SQLRow) throws -> PredictionRecord {
        let error: String? = row[10]
        let rawInput: String? = row[11]
        let output: String? = row[14]
        return PredictionRecord(
            predictionID: row[0], timeMillis: row[1], deploymentID: row[2], modelName: row[3], modelVersion: row[4],
            inputDigest: try Digest(parsing: row[5]), probability: row[6], prediction: row[7], latencyMicros: row[8], outcome: row[9], error: error,
            rawInput: rawInput, output: output)
    }

    public func prediction(id: String) async throws -> (record: PredictionRecord, eventIndex: Int64, position: Int)? {
        try await read { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT \(Self.predictionColumns) FROM \(Self.predictionTables) WHERE p.prediction_id = ?", arguments: [id])
            else { return nil }
            return (try Self.predictionRecord(row), row[12], row[13])
        }
    }

    public func predictions(eventIndex: Int64) async throws -> [PredictionRecord] {
        try await read { db in
            // A cached statement and a cursor (rows decoded in place): a trace reads its whole
            // group commit to rebuild the Merkle path.
            let statement = try db.cachedStatement(sql: "SELECT \(Self.predictionColumns) FROM \(Self.predictionTables) WHERE p.event_index = ? ORDER BY p.position")
            let cursor = try SQLRow.fetchCursor(statement, arguments: [eventIndex])
            var records: [PredictionRecord] = []
            while let row = try cursor.next() { records.append(try Self.predictionRecord(row)) }
            return records
        }
    }

    public func servedFeatureCounts(name: String, version: Int64, fromMillis: Int64, toMillis: Int64) async throws -> [String: [Int]] {
        try await read { db in
            var total: [String: [Int]] = [:]
            for json in try String.fetchAll(
                db, sql: "SELECT counts_json FROM served_feature_counts WHERE model_name = ? AND model_version = ? AND time >= ? AND time < ?",
                arguments: [name, version, fromMillis, toMillis])
            {
                guard case .object(let members) = try JSONValue.parse(Array(json.utf8)) else { continue }
                for (feature, value) in members {
                    guard case .array(let items) = value else { continue }
                    let counts = items.map { Int($0.intValue ?? 0) }
                    if var existing = total[feature], existing.count == counts.count {
                        for i in counts.indices { existing[i] += counts[i] }
                        total[feature] = existing
                    } else {
                        total[feature] = counts
                    }
                }
            }
            return total
        }
    }

    public func runs(datasetDigest: String) async throws -> [RunID] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT r.run_id FROM runs r WHERE r.pk IN (SELECT run_pk FROM dataset_inputs WHERE digest = ?) ORDER BY r.start_time, r.run_id",
                arguments: [datasetDigest]
            ).compactMap { try? RunID(parsing: $0) }
        }
    }

    public func predictionCounts(deploymentID: String, modelName: String, modelVersion: Int64, bucketMillis: Int64) async throws -> [(
        bucket: Int64, ok: Int64, refused: Int64
    )] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT (time / ?) * ?, SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) FROM predictions
                    WHERE deployment_id = ? AND model_name = ? AND model_version = ?
                    GROUP BY 1 ORDER BY 1
                    """, arguments: [max(1, bucketMillis), max(1, bucketMillis), deploymentID, modelName, modelVersion]
            ).map { (bucket: $0[0], ok: $0[1], refused: $0[2]) }
        }
    }
}
