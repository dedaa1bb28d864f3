import Foundation
import TrailCore
import TrailLearn
import TrailStore

public struct DriftReport: Sendable, Codable {
    public struct Feature: Sendable, Codable {
        public var name: String
        public var psi: Double
        public var level: String
        public var served: Int
    }

    public var name: String
    public var reference: String
    public var version: Int64
    public var windowSeconds: Int64
    public var served: Int
    public var level: String
    public var warningThreshold: Double
    public var alertThreshold: Double
    public var features: [Feature]
    public var eventIndex: Int64?

    enum CodingKeys: String, CodingKey {
        case name, reference, version, windowSeconds = "window_seconds", served, level, warningThreshold = "warning_threshold"
        case alertThreshold = "alert_threshold", features, eventIndex = "event_index"
    }
}

public struct PredictionCheck: Sendable, Codable {
    public var predictionID: String
    public var outcome: String
    public var differences: [String]
    public var probability: Double?
    public var prediction: Int?
    /// An MLflow model's output for the row now (canonical JSON).
    public var output: String?
    public var eventIndex: Int64?

    enum CodingKeys: String, CodingKey {
        case predictionID = "prediction_id", outcome, differences, probability, prediction, output, eventIndex = "event_index"
    }
}

extension ServingService {
    public static let driftWarning = 0.1
    public static let driftAlert = 0.25

    /// Population stability index per feature of the inputs served by `name@reference`'s
    /// current version in the last `windowMillis`, against its training profile. Recorded as a
    /// `drift.check` event; an `alert` stays open until a later check of the same version with
    /// at least `minimumRows` served rows is below alert. Fewer rows give
    /// `insufficient-data`, which is recorded but decides nothing.
    public func drift(
        name: String, reference: String, windowMillis: Int64, minimumRows: Int = PromotionPolicy.defaultDriftMinRows, actor: Actor
    ) async throws -> DriftReport {
        guard windowMillis > 0, windowMillis <= 100 * 365 * 86_400_000 else {
            throw TrailError.invalid("window", "the window must be positive and at most 100 years")
        }
        guard minimumRows >= 1, minimumRows <= 1_000_000_000 else { throw TrailError.invalid("min_rows", "min_rows must be 1 to 1000000000") }
        let loaded = try await load(name: name, reference: reference, pinned: true)
        let now = tracking.clock.nowMillis()
        let served = try await tracking.store.servedFeatureCounts(
            name: name, version: loaded.version.version, fromMillis: now - windowMillis, toMillis: now + 1)
        var features: [DriftReport.Feature] = []
        for feature in loaded.native?.featureNames ?? [] {
            guard let base = loaded.baseline[feature], let counts = served[feature], counts.count == base.counts.count else { continue }
            let psi = FeatureProfile.psi(expected: base.counts, actual: counts)
            features.append(
                .init(name: feature, psi: psi, level: psi >= Self.driftAlert ? "alert" : psi >= Self.driftWarning ? "warning" : "ok", served: counts.reduce(0, +)))
        }
        let total = features.first?.served ?? 0
        // No training profile (an MLflow model whose run logged none): nothing to compare with.
        let level =
            loaded.baseline.isEmpty
            ? "no-baseline" : total == 0
            ? "no-data" : total < minimumRows ? "insufficient-data" : features.contains { $0.level == "alert" } ? "alert" : features.contains { $0.level == "warning" } ? "warning" : "ok"
        if level == "insufficient-data" || level == "no-data" || level == "no-baseline" {
            for i in features.indices { features[i].level = level }
        }
        var report = DriftReport(
            name: name, reference: reference, version: loaded.version.version, windowSeconds: windowMillis / 1000, served: total, level: level,
            warningThreshold: Self.driftWarning, alertThreshold: Self.driftAlert, features: features)
        let index = try await tracking.store.record(
            EventDraft(
                    action: "drift.check", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: [
                        "reference": .string(reference), "version": .int(loaded.version.version), "window_ms": .int(windowMillis),
                        "served": .int(Int64(total)), "level": .string(level), "min_rows": .int(Int64(minimumRows)),
                        "psi": .object(Dictionary(uniqueKeysWithValues: features.map { ($0.name, JSONValue.double($0.psi)) })),
                    ]))
        report.eventIndex = index
        return report
    }

    /// Re-scores one row with an MLflow model in a fresh worker (`PyfuncPool.interpreter`) and
    /// compares its output with the recorded one, byte for byte as canonical JSON.
    static func checkPyfunc(_ row: [String: JSONValue], record: PredictionRecord, model: PyfuncModel, into check: inout PredictionCheck) async throws {
        let cache = model.directory.deletingLastPathComponent().deletingLastPathComponent()
        let pool = try await PyfuncPool.start(model: model.directory, cache: cache, settings: .init(python: PyfuncPool.interpreter, workers: 1))
        let outcome: PyfuncPool.Outcome
        do {
            let signature = pool.loaded.signature
            let columns: [String]
            let values: [JSONValue]
            if signature.inputs != nil {
                switch signature.check(row) {
                case .success(let checked):
                    columns = signature.columnNames ?? []
                    values = checked
                case .failure(let problems):
                    await pool.drain()
                    check.differences.append("input: \(problems.message)")
                    return
                }
            } else {
                columns = row.keys.sorted()
                values = columns.map { row[$0]! }
            }
            outcome = try await pool.score(columns: columns, rows: [values], params: [:])
        } catch {
            await pool.drain()
            throw error
        }
        await pool.drain()
        switch outcome {
        case .modelError(_, let code, let message): check.differences.append("the model refused the input now: \(code): \(message)")
        case .predictions(let bytes):
            let predictions = (try? JSONValue.parseAllowingNonFinite(bytes))?["predictions"] ?? .string(String(decoding: bytes, as: UTF8.self))
            let output = if case .array(let list) = predictions, list.count == 1 { list[0] } else { predictions }
            check.output = output.canonicalString
            if output.canonicalString != record.output {
                check.differences.append("output: recorded \(record.output ?? "none"), now \(output.canonicalString)")
            }
        }
    }

    /// Re-scores a logged prediction with its exact model version: the input (given, or the
    /// stored one when raw inputs were kept) must have the recorded digest, and the output
    /// must be identical. Recorded as `prediction.reproduce`.
    public func rescore(predictionID: String, input: [String: JSONValue]?, actor: Actor) async throws -> PredictionCheck {
        guard let (stored, _, _) = try await tracking.store.prediction(id: predictionID) else {
            throw TrailError.notFound("prediction", predictionID, field: "prediction_id")
        }
        // The server re-scores with the stored input in clear; only the verdict leaves it.
        let record = try await DataProtectionService(tracking: tracking, registry: registry).present(stored, reader: .privileged)
        var check = try await Self.check(record, input: input) { try await load(name: record.modelName, reference: String(record.modelVersion), pinned: true) }
        check.eventIndex = try await recordCheck(check, actor: actor)
        return check
    }

    /// Re-scores `record` with the model `load` gives (its exact version, every file checked):
    /// the input row (given, or the stored one) must have the recorded digest and the output
    /// must be identical. Shared by the server's home and by a client re-scoring on its own
    /// machine from downloaded files.
    public static func check(
        _ record: PredictionRecord, input: [String: JSONValue]?, load: () async throws -> LoadedModel
    ) async throws -> PredictionCheck {
        let predictionID = record.predictionID
        guard record.outcome == "ok" else { throw TrailError.invalid("prediction_id", "\(predictionID) was a refused request; nothing to re-score") }
        var row = input
        if row == nil, let raw = record.rawInput, case .object(let stored) = try JSONValue.parse(Array(raw.utf8)) { row = stored }
        guard let row else {
            switch record.rawInputState {
            case "erased": throw TrailError.invalid("input", "\(predictionID)'s raw input was erased; pass the input row (--input row.json)")
            case "masked":
                throw TrailError.invalid("input", "\(predictionID)'s raw input is shown only to auditors and admins; pass the input row (--input row.json)")
            default: throw TrailError.invalid("input", "the deployment did not keep raw inputs; pass the input row (--input row.json)")
            }
        }
        var check = PredictionCheck(predictionID: predictionID, outcome: "DIFFERS", differences: [])
        let digest = Self.inputDigest(row)
        if digest != record.inputDigest {
            check.differences.append("input digest: recorded \(record.inputDigest), given \(digest)")
        } else {
            let loaded = try await load()
            guard loaded.version.name == record.modelName, loaded.version.version == record.modelVersion else {
                throw TrailError(.dataLoss, "the model loaded is not \(record.modelName) version \(record.modelVersion)", field: "prediction_id")
            }
            guard let native = loaded.native else {
                guard let pyfunc = loaded.pyfunc else { throw TrailError.internalError("unknown model format") }
                try await Self.checkPyfunc(row, record: record, model: pyfunc, into: &check)
                check.outcome = check.differences.isEmpty ? "REPRODUCED" : "DIFFERS"
                return check
            }
            switch Self.check(row, for: native) {
            case .failure(let problems): check.differences.append("input: \(problems.message)")
            case .success(let values):
                let probability = native.probability(values)
                let prediction = probability >= native.threshold ? 1 : 0
                check.probability = probability
                check.prediction = prediction
                if probability != record.probability { check.differences.append("probability: recorded \(record.probability ?? .nan), now \(probability)") }
                if prediction != record.prediction { check.differences.append("prediction: recorded \(record.prediction ?? -1), now \(prediction)") }
            }
        }
        check.outcome = check.differences.isEmpty ? "REPRODUCED" : "DIFFERS"
        return check
    }

    /// Records a re-scoring as `prediction.reproduce` (done here, or on a client and reported):
    /// the prediction must exist, the outcome be REPRODUCED or DIFFERS, the text bounded.
    public func recordCheck(_ check: PredictionCheck, actor: Actor) async throws -> Int64? {
        guard let (record, _, _) = try await tracking.store.prediction(id: check.predictionID) else {
            throw TrailError.notFound("prediction", check.predictionID, field: "prediction_id")
        }
        guard ["REPRODUCED", "DIFFERS"].contains(check.outcome) else { throw TrailError.invalid("outcome", "outcome must be REPRODUCED or DIFFERS") }
        guard (check.outcome == "DIFFERS") == !check.differences.isEmpty else {
            throw TrailError.invalid("differences", "REPRODUCED lists no differences; DIFFERS lists at least one")
        }
        if let p = check.probability, !(0...1).contains(p) { throw TrailError.invalid("probability", "probability must be between 0 and 1") }
        if let p = check.prediction, p != 0, p != 1 { throw TrailError.invalid("prediction", "prediction must be 0 or 1") }
        // REPRODUCED means the recorded output came back exactly.
        if check.outcome == "REPRODUCED" {
            if let recorded = record.output {
                guard check.output == recorded else { throw TrailError.invalid("outcome", "REPRODUCED must give back the recorded output") }
            } else if check.probability != record.probability || check.prediction != record.prediction {
                throw TrailError.invalid("outcome", "REPRODUCED must give back the recorded probability and prediction")
            }
        }
        if let output = check.output, output.utf8.count > 65_536 { throw TrailError.invalid("output", "output must be at most 65536 bytes") }
        guard check.differences.count <= 100, check.differences.allSatisfy({ $0.utf8.count <= 4000 }) else {
            throw TrailError.invalid("differences", "at most 100 differences of at most 4000 bytes each")
        }
        if let p = check.probability, !p.isFinite { throw TrailError.invalid("probability", "probability must be finite") }
        var facts: [String: JSONValue] = ["outcome": .string(check.outcome), "differences": .array(check.differences.map(JSONValue.string))]
        if let p = check.probability { facts["probability"] = .double(p) }
        if let p = check.prediction { facts["prediction"] = .int(Int64(p)) }
        if let output = check.output { facts["output"] = .string(output) }
        return try await tracking.store.record(
            EventDraft(
                action: "prediction.reproduce", actor: actor, timeMillis: tracking.clock.nowMillis(),
                subject: Subject(type: "prediction", id: check.predictionID), facts: .object(facts)))
    }
}
