import Foundation
import TrailCore

/// `POST /invocations`: MLflow's scoring protocol in front of either model format. The body is
/// parsed and every row checked against the signature in Swift (a 4xx names the field before any
/// worker is asked); an MLflow model's rows go to its workers, batched with concurrent requests;
/// every answered row gets a prediction id and is logged durably before the answer is sent.
extension ModelServer {
    /// What `/invocations` answers: the status, the body bytes (MLflow's `{"predictions": …}` as
    /// its scoring server writes it, or an error object), the prediction ids.
    public struct Invocation: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var predictionIDs: [String]
        public var modelVersion: Int64
    }

    public func invoke(contentType: String?, body bytes: [UInt8], startedNanos: UInt64 = DispatchTime.now().uptimeNanoseconds) async throws
        -> Invocation
    {
        let (model, pool) = lock.withLock { (self.current, self.pool) }
        let now = serving.tracking.clock.nowMillis()
        let version = model.version.version
        func micros() -> Int64 { Int64((DispatchTime.now().uptimeNanoseconds &- startedNanos) / 1000) }
        func errorBody(_ code: String, _ message: String, _ extra: [String: JSONValue] = [:]) -> [UInt8] {
            var object: [String: JSONValue] = ["error_code": .string(code), "message": .string(message)]
            object.merge(extra) { a, _ in a }
            return JSONValue.object(object).canonicalBytes
        }
        if let reason = withdrawnBecause {
            return Invocation(
                status: 503, body: errorBody("TEMPORARILY_UNAVAILABLE", "this deployment serves nothing: \(reason)", ["field": "reference"]),
                predictionIDs: [], modelVersion: version)
        }
        /// Logs one refused request (by the digest of what was refused) and answers it.
        func refuse(status: Int, code: String, message: String, field: String, digest: Digest, extra: [String: JSONValue] = [:]) async throws
            -> Invocation
        {
            let id = Self.newID()
            try await log.log(
                PredictionRecord(
                    predictionID: id, timeMillis: now, deploymentID: deploymentID, modelName: model.name, modelVersion: version, inputDigest: digest,
                    probability: nil, prediction: nil, latencyMicros: micros(), outcome: "refused",
                    // The log keeps the reason, bounded (a body may name 10,000 columns).
                    error: message.count > 2000 ? String(message.prefix(2000)) + "…" : message),
                values: nil)
            var more = extra
            more["field"] = .string(field)
            more["prediction_id"] = .string(id)
            return Invocation(status: status, body: errorBody(code, message, more), predictionIDs: [id], modelVersion: version)
        }

        let signature: MLflowSignature? =
            if let native = model.native {
                MLflowSignature(inputs: .columns(native.featureNames.map { .init(name: $0, type: .double, required: true) }))
            } else {
                pool?.loaded.signature
            }
        let request: ScoringRequest
        switch ScoringRequest.parse(contentType: contentType, body: bytes, signature: signature) {
        case .success(let parsed): request = parsed
        case .failure(let refusal):
            return try await refuse(
                status: refusal.status, code: refusal.errorCode, message: refusal.message, field: refusal.field, digest: Digest.of(bytes))
        }
        func problems(_ p: InputProblems, field: String, row: Int?, digest: Digest) async throws -> Invocation {
            var extra: [String: JSONValue] = [
                "missing": .array(p.missing.map(JSONValue.string)), "extra": .array(p.extra.map(JSONValue.string)),
                "invalid": .object(p.invalid.mapValues(JSONValue.string)),
            ]
            if let row { extra["row"] = .int(Int64(row)) }
            return try await refuse(
                status: 422, code: "INVALID_PARAMETER_VALUE", message: (row.map { "row \($0): " } ?? "") + p.message, field: field, digest: digest,
                extra: extra)
        }

        // Params (MLflow models with a params schema only).
        var params: [String: JSONValue] = [:]
        if let signature, model.native == nil {
            switch signature.checkParams(request.params) {
            case .success(let checked): params = checked
            case .failure(let p): return try await problems(p, field: "params", row: nil, digest: Digest.of(bytes))
            }
        }

        // Rows: each checked against the signature (in schema order), or the tensor checked whole.
        var rows: [[String: JSONValue]] = []
        var values: [[JSONValue]] = []
        var columns: [String] = []
        var raw: (format: String, value: JSONValue)?
        switch request.input {
        case .raw(let format, let value):
            if let problem = signature?.checkTensor(value) {
                return try await problems(InputProblems(invalid: [format: problem]), field: format, row: nil, digest: Digest.of(bytes))
            }
            raw = (format, value)
        case .rows(let given, let list):
            rows = list
            if let signature, signature.inputs != nil {
                columns = signature.columnNames ?? []
                values.reserveCapacity(list.count)
                for (i, row) in list.enumerated() {
                    switch signature.check(row) {
                    case .success(let checked): values.append(checked)
                    case .failure(let p):
                        return try await problems(
                            p, field: list.count > 1 ? "inputs[\(i)]" : "inputs", row: list.count > 1 ? i : nil, digest: ServingService.inputDigest(row))
                    }
                }
            } else {
                // No signature (served with --allow-unsigned): the columns as given.
                columns = given ?? Array(Set(list.flatMap(\.keys))).sorted()
                values = list.map { row in columns.map { row[$0] ?? .null } }
            }
        }

        // Native format: scored here.
        if let native = model.native {
            var records: [(PredictionRecord, [Double])] = []
            var labels: [JSONValue] = []
            for (i, row) in values.enumerated() {
                let features = row.map { value -> Double in
                    switch value {
                    case .int(let n): Double(n)
                    case .double(let d): d
                    default: .nan
                    }
                }
                let probability = native.probability(features)
                guard probability.isFinite else {
                    return try await refuse(
                        status: 422, code: "INVALID_PARAMETER_VALUE",
                        message: "row \(i): the model's score for this input is not a finite number (the inputs are out of any range it can score)",
                        field: "inputs[\(i)]", digest: ServingService.inputDigest(rows[i]))
                }
                let prediction = probability >= native.threshold ? native.positiveClass : 1 - native.positiveClass
                labels.append(.int(Int64(prediction)))
                records.append(
                    (
                        PredictionRecord(
                            predictionID: Self.newID(), timeMillis: now, deploymentID: deploymentID, modelName: model.name, modelVersion: version,
                            inputDigest: ServingService.inputDigest(rows[i]), probability: probability, prediction: prediction,
                            latencyMicros: micros(), outcome: "ok",
                            rawInput: configuration.keepInputs ? JSONValue.object(rows[i]).canonicalString : nil), features
                    ))
            }
            try await logAll(records.map { ($0.0, Optional($0.1)) })
            return Invocation(
                status: 200, body: Self.mlflowJSON(["predictions": .array(labels)]), predictionIDs: records.map(\.0.predictionID),
                modelVersion: version)
        }

        guard let pool else {
            return Invocation(
                status: 503, body: errorBody("TEMPORARILY_UNAVAILABLE", "the model has no workers"), predictionIDs: [], modelVersion: version)
        }
        let digests: [Digest] = raw != nil ? [Digest.of(bytes)] : rows.map(ServingService.inputDigest)
        let outcome: PyfuncPool.Outcome
        do {
            if let raw {
                outcome = try await pool.score(raw: raw.format, value: raw.value, params: params)
            } else {
                outcome = try await pool.score(columns: columns, rows: values, params: params)
            }
        } catch {
            // The worker died or hung: every row of the request gets an id and a `failed` record.
            let message = "\(error)"
            let records = digests.map { digest -> PredictionRecord in
                PredictionRecord(
                    predictionID: Self.newID(), timeMillis: now, deploymentID: deploymentID, modelName: model.name, modelVersion: version,
                    inputDigest: digest, probability: nil, prediction: nil, latencyMicros: micros(), outcome: "failed", error: message)
            }
            try await logAll(records.map { ($0, nil) })
            let ids = records.map { $0.predictionID }
            return Invocation(
                status: 503,
                body: errorBody(
                    "TEMPORARILY_UNAVAILABLE", "\(message); retry the request", ["prediction_ids": .array(ids.map(JSONValue.string)), "field": "model"]),
                predictionIDs: ids, modelVersion: version)
        }
        switch outcome {
        case .modelError(let status, let code, let message):
            return try await refuse(
                status: (400...599).contains(status) ? status : 500, code: code, message: message, field: "inputs",
                digest: raw != nil ? Digest.of(bytes) : Digest.of(JSONValue.array(rows.map(JSONValue.object)).canonicalBytes))
        case .predictions(let answer):
            // Each row's output is its element of `predictions` when the model answered row by
            // row; otherwise every row records the whole answer.
            let predictions = (try? JSONValue.parseAllowingNonFinite(answer))?["predictions"] ?? .string(String(decoding: answer, as: UTF8.self))
            let outputs: [JSONValue] =
                if case .array(let list) = predictions, list.count == digests.count { list } else { Array(repeating: predictions, count: digests.count) }
            var records: [PredictionRecord] = []
            records.reserveCapacity(digests.count)
            for (i, (digest, output)) in zip(digests, outputs).enumerated() {
                let label: Int? = if case .int(let n) = output { Int(exactly: n) } else { nil }
                records.append(PredictionRecord(
                    predictionID: Self.newID(), timeMillis: now, deploymentID: deploymentID, modelName: model.name, modelVersion: version,
                    inputDigest: digest, probability: nil, prediction: label, latencyMicros: micros(), outcome: "ok",
                    rawInput: configuration.keepInputs && raw == nil ? JSONValue.object(rows[i]).canonicalString : nil,
                    output: output.canonicalString))
            }
            try await logAll(records.map { ($0, nil) })
            return Invocation(status: 200, body: answer, predictionIDs: records.map { $0.predictionID }, modelVersion: version)
        }
    }

    /// Logs records durably (each waits for the group commit that holds it).
    func logAll(_ records: [(PredictionRecord, [Double]?)]) async throws {
        if records.count == 1 {
            try await log.log(records[0].0, values: records[0].1)
            return
        }
        let log = self.log
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (record, values) in records { group.addTask { try await log.log(record, values: values) } }
            try await group.waitForAll()
        }
    }

    /// JSON as MLflow's scoring server writes it (Python's `json.dumps` defaults: `", "` and
    /// `": "` separators), for answers made here.
    static func mlflowJSON(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        func write(_ v: JSONValue) {
            switch v {
            case .array(let items):
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(contentsOf: ", ".utf8) }
                    write(item)
                }
                out.append(UInt8(ascii: "]"))
            case .object(let members):
                out.append(UInt8(ascii: "{"))
                for (i, key) in members.keys.sorted().enumerated() {
                    if i > 0 { out.append(contentsOf: ", ".utf8) }
                    JSONValue.writeString(key, into: &out)
                    out.append(contentsOf: ": ".utf8)
                    write(members[key]!)
                }
                out.append(UInt8(ascii: "}"))
            default: v.write(into: &out)
            }
        }
        write(value)
        return out
    }
}
