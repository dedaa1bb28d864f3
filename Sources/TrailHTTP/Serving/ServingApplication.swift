import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TrailCore
import TrailService

/// The model server's state: the model being served (swapped atomically when the alias it
/// follows moves) and its durable prediction log.
public final class ServingState: @unchecked Sendable {
    private let lock = NSLock()
    private var current: LoadedModel
    public let deploymentID: String
    public let log: PredictionLog
    public let keepInputs: Bool

    public init(model: LoadedModel, deploymentID: String, log: PredictionLog, keepInputs: Bool) {
        current = model
        self.deploymentID = deploymentID
        self.log = log
        self.keepInputs = keepInputs
    }

    public var model: LoadedModel {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func swap(_ model: LoadedModel) {
        lock.lock()
        current = model
        lock.unlock()
    }
}

/// `trail serve`: /health, /model-info, /predict, /openapi.json, /docs.
public enum ServingApplication {
    static let idAlphabet = Array("0123456789abcdef".utf8)

    /// A prediction id: `p` + 24 random hex digits (96 random bits, two system random calls).
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits: (UInt64, UInt64) = (generator.next(), generator.next())
        var bytes: [UInt8] = [UInt8(ascii: "p")]
        bytes.reserveCapacity(25)
        for i in 0..<16 { bytes.append(idAlphabet[Int((bits.0 >> (UInt64(i) * 4)) & 15)]) }
        for i in 0..<8 { bytes.append(idAlphabet[Int((bits.1 >> (UInt64(i) * 4)) & 15)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func router(state: ServingState, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("health") { _, _ in
            let model = state.model
            return json(
                [
                    "status": "ok", "model_loaded": true, "model_name": .string(model.name), "model_version": .int(model.version.version),
                    "deployment_id": .string(state.deploymentID),
                ])
        }
        router.get("model-info") { _, _ in json(info(state.model, deployment: state.deploymentID)) }
        router.get("openapi.json") { _, _ in json(openAPI(state.model)) }
        router.get("docs") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: docsPage(state.model))))
        }
        router.post("predict") { request, _ in
            try await predict(request, state: state)
        }
        return router
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.canonicalBytes)))
    }

    static func info(_ model: LoadedModel, deployment: String) -> JSONValue {
        [
            "model_name": .string(model.name), "reference": .string(model.reference), "model_version": .int(model.version.version),
            "stage": .string(model.version.stage.rawValue), "aliases": .array(model.version.aliases.map(JSONValue.string)),
            "source_run_id": .string(model.version.runID?.value ?? ""), "root_digest": .string(model.version.manifest.root.description),
            "deployment_id": .string(deployment), "expected_feature_count": .int(Int64(model.model.featureNames.count)),
            "feature_names": .array(model.model.featureNames.map(JSONValue.string)), "threshold": .double(model.model.threshold),
            "positive_class": .string(model.positiveLabel), "positive_class_value": .int(Int64(model.model.positiveClass)),
        ]
    }

    /// Rows from the accepted body shapes: a row object; `{"features": row}`; a list of rows;
    /// `{"inputs"|"instances"|"dataframe_records": [rows]}`.
    static func rows(_ body: JSONValue) -> (rows: [[String: JSONValue]], batch: Bool)? {
        func objects(_ list: [JSONValue]) -> [[String: JSONValue]]? {
            let rows = list.compactMap { if case .object(let o) = $0 { o } else { nil } }
            return rows.count == list.count && !rows.isEmpty ? rows : nil
        }
        switch body {
        case .array(let list): return objects(list).map { ($0, true) }
        case .object(let members):
            for key in ["inputs", "instances", "dataframe_records"] {
                if case .array(let list)? = members[key], members.count == 1 { return objects(list).map { ($0, true) } }
            }
            if case .object(let row)? = members["features"], members.count == 1 { return ([row], false) }
            return ([members], false)
        default: return nil
        }
    }

    static func predict(_ request: Request, state: ServingState) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        var request = request
        let buffer = try await request.collectBody(upTo: 8 << 20)
        let model = state.model
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        func micros() -> Int64 { Int64((DispatchTime.now().uptimeNanoseconds - started) / 1000) }
        func refuse(_ message: String, field: String, extra: [String: JSONValue], digest: Digest) async throws -> Response {
            let id = newID()
            try await state.log.log(
                PredictionRecord(
                    predictionID: id, timeMillis: now, deploymentID: state.deploymentID, modelName: model.name, modelVersion: model.version.version,
                    inputDigest: digest, probability: nil, prediction: nil, latencyMicros: micros(), outcome: "refused", error: message),
                values: nil)
            var body: [String: JSONValue] = [
                "error": ["code": "INVALID_INPUT", "message": .string(message), "field": .string(field)], "prediction_id": .string(id),
            ]
            body.merge(extra) { a, _ in a }
            return json(
                .object(body), status: .unprocessableContent,
                headers: [HTTPField.Name("X-Prediction-Id")!: id, HTTPField.Name("X-Model-Version")!: String(model.version.version)])
        }
        let bytes = Array(buffer.readableBytesView)
        guard let body = try? JSONValue.parse(bytes), let (rows, batch) = rows(body) else {
            return try await refuse(
                "the body must be a JSON object of feature → number, {\"features\": {…}}, or a list of such objects (or {\"inputs\": […]})",
                field: "body", extra: [:], digest: Digest.of(bytes))
        }
        guard rows.count <= 10_000 else {
            return try await refuse("at most 10000 rows per request", field: "inputs", extra: [:], digest: Digest.of(bytes))
        }
        var checked: [[Double]] = []
        checked.reserveCapacity(rows.count)
        for (i, row) in rows.enumerated() {
            switch ServingService.check(row, for: model.model) {
            case .success(let values): checked.append(values)
            case .failure(let problems):
                var extra: [String: JSONValue] = [
                    "missing": .array(problems.missing.map(JSONValue.string)), "extra": .array(problems.extra.map(JSONValue.string)),
                    "invalid": .object(problems.invalid.mapValues(JSONValue.string)),
                ]
                if batch { extra["row"] = .int(Int64(i)) }
                return try await refuse(
                    (batch ? "row \(i): " : "") + problems.message, field: batch ? "inputs[\(i)]" : "features", extra: extra,
                    digest: ServingService.inputDigest(row))
            }
        }
        // A score that is not a finite number (inputs so large that the linear term overflows)
        // is no answer: refused like bad input, and never stored.
        let probabilities = checked.map { model.model.probability($0) }
        if let i = probabilities.firstIndex(where: { !$0.isFinite }) {
            return try await refuse(
                (batch ? "row \(i): " : "") + "the model's score for this input is not a finite number (the inputs are out of any range it can score)",
                field: batch ? "inputs[\(i)]" : "features", extra: batch ? ["row": .int(Int64(i))] : [:], digest: ServingService.inputDigest(rows[i]))
        }
        var answers: [JSONValue] = []
        var ids: [String] = []
        var records: [(PredictionRecord, [Double])] = []
        answers.reserveCapacity(rows.count)
        for (i, values) in checked.enumerated() {
            let probability = probabilities[i]
            let prediction = probability >= model.model.threshold ? model.model.positiveClass : 1 - model.model.positiveClass
            let id = newID()
            ids.append(id)
            records.append(
                (
                    PredictionRecord(
                        predictionID: id, timeMillis: now, deploymentID: state.deploymentID, modelName: model.name,
                        modelVersion: model.version.version, inputDigest: ServingService.inputDigest(rows[i]), probability: probability,
                        prediction: prediction, latencyMicros: micros(), outcome: "ok",
                        rawInput: state.keepInputs ? JSONValue.object(rows[i]).canonicalString : nil), values
                ))
            answers.append(
                [
                    "prediction_id": .string(id), "model_name": .string(model.name), "model_version": .int(model.version.version),
                    "deployment_id": .string(state.deploymentID), "probability_positive_class": .double(probability),
                    "prediction": .int(Int64(prediction)), "prediction_label": .string(model.model.classLabels[prediction]),
                    "positive_class": .string(model.positiveLabel), "threshold": .double(model.model.threshold),
                ])
        }
        // Durable before the answer: wait for the group commit(s) holding these records.
        if records.count == 1 {
            try await state.log.log(records[0].0, values: records[0].1)
        } else {
            let pending = records
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (record, values) in pending { group.addTask { try await state.log.log(record, values: values) } }
                try await group.waitForAll()
            }
        }
        let headers: HTTPFields = [
            HTTPField.Name("X-Prediction-Id")!: ids.count <= 100 ? ids.joined(separator: ",") : ids[0],
            HTTPField.Name("X-Model-Version")!: String(model.version.version),
        ]
        return json(batch ? ["predictions": .array(answers)] : answers[0], headers: headers)
    }

    static func openAPI(_ model: LoadedModel) -> JSONValue {
        let features = JSONValue.object(Dictionary(uniqueKeysWithValues: model.model.featureNames.map { ($0, ["type": "number"]) }))
        let row: JSONValue = [
            "type": "object", "properties": features, "required": .array(model.model.featureNames.map(JSONValue.string)),
            "additionalProperties": false,
        ]
        let answer: JSONValue = [
            "type": "object",
            "properties": [
                "prediction_id": ["type": "string"], "model_name": ["type": "string"], "model_version": ["type": "integer"],
                "deployment_id": ["type": "string"], "probability_positive_class": ["type": "number"], "prediction": ["type": "integer"],
                "prediction_label": ["type": "string"], "positive_class": ["type": "string"], "threshold": ["type": "number"],
            ],
        ]
        return [
            "openapi": "3.1.0",
            "info": ["title": .string("ModelTrail serving: \(model.name)"), "version": .string(String(model.version.version))],
            "paths": [
                "/predict": [
                    "post": [
                        "summary": "Score one row or a batch; every prediction is logged durably before the answer",
                        "requestBody": [
                            "required": true,
                            "content": [
                                "application/json": [
                                    "schema": ["oneOf": [row, ["type": "object", "properties": ["features": row]], ["type": "array", "items": row],
                                        ["type": "object", "properties": ["inputs": ["type": "array", "items": row]]]]]
                                ]
                            ],
                        ],
                        "responses": [
                            "200": ["description": "prediction(s)", "content": ["application/json": ["schema": answer]]],
                            "422": ["description": "input does not match the model: missing, extra and invalid features listed"],
                        ],
                    ]
                ],
                "/health": ["get": ["summary": "status and loaded model"]],
                "/model-info": ["get": ["summary": "model name, alias, version, source run, features, threshold, positive class"]],
            ],
        ]
    }

    static func docsPage(_ model: LoadedModel) -> String {
        let features = model.model.featureNames.map { "<li><code>\($0)</code></li>" }.joined()
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>\(model.name) — ModelTrail serving</title></head>
            <body style="font-family:sans-serif;max-width:50em;margin:2em auto">
            <h1>\(model.name)@\(model.reference) — version \(model.version.version)</h1>
            <p>Root digest <code>\(model.version.manifest.root)</code>, source run <code>\(model.version.runID?.value ?? "-")</code>.
            Positive class: <b>\(model.positiveLabel)</b> (threshold \(model.model.threshold)). Not for clinical use.</p>
            <h2>POST /predict</h2>
            <p>Body: an object with exactly these \(model.model.featureNames.count) numeric features (or <code>{"inputs": [ … ]}</code> for a batch).
            Every answer carries <code>prediction_id</code>; the headers <code>X-Prediction-Id</code> and <code>X-Model-Version</code> repeat it.
            A request that does not match gets HTTP 422 with <code>missing</code>, <code>extra</code> and <code>invalid</code>.
            Trace any answer with <code>trail trace prediction ID</code>.</p>
            <ol>\(features)</ol>
            <p><a href="/openapi.json">OpenAPI document</a> · <a href="/model-info">model info</a> · <a href="/health">health</a></p>
            </body></html>
            """
    }
}
