import Foundation
import TrailCore
import TrailLedger

/// Applies the serving changes of a batch (`ApplyContext.apply` routes by `Change.concern`).
extension ApplyContext {
    mutating func applyServing(_ change: Change) throws {
        switch change {
        case .recordDeployment(let d):
            let values: [(any SQLValueConvertible)?] = [
                d.deploymentID, d.modelName, d.reference, d.modelVersion, d.configDigest.description, d.binaryDigest, d.host, d.action, d.timeMillis,
            ]
            try db.cachedStatement(
                sql: """
                    INSERT INTO deployments (deployment_id, model_name, reference, model_version, config_digest, binary_digest, host, action, time,
                        event_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: SQLArguments(values + [eventIndex]))
            try record("deployments", [db.lastInsertedRowID] + values)
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
                let values: [(any SQLValueConvertible)?] = [
                    r.predictionID, r.timeMillis, r.deploymentID, r.modelName, r.modelVersion, r.inputDigest.description, r.probability,
                    r.prediction, r.latencyMicros, r.outcome, r.error, r.rawInput, position,
                ]
                try insert.execute(arguments: SQLArguments(values + [eventIndex]))
                try record("predictions", [db.lastInsertedRowID] + values)
                if let output = r.output {
                    try db.cachedStatement(sql: "INSERT INTO prediction_outputs (prediction_id, output, event_index) VALUES (?, ?, ?)")
                        .execute(arguments: [r.predictionID, output, eventIndex])
                    try record("prediction_outputs", [db.lastInsertedRowID, r.predictionID, output])
                }
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
                try record("served_feature_counts", [db.lastInsertedRowID, batch.deploymentID, batch.modelName, batch.modelVersion, time, counts])
            }
            if !batch.records.isEmpty { changed = true }
        default:
            throw TrailError.internalError("\(change) is not a serving change")
        }
    }
}
