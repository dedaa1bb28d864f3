import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TrailCore
import TrailService

/// `trail serve`: /health, /model-info, /predict, /openapi.json, /docs — a thin translation
/// to `ModelServer`, which decides what is served, scores and records.
public enum ServingApplication {
    public static func router(server: ModelServer, logger: Logger, metrics: TrailMetrics = TrailMetrics()) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ScoringMetricsMiddleware(metrics: metrics, model: server.configuration.name))
        router.get("health") { _, _ in json(server.health, status: server.withdrawnBecause == nil ? .ok : .serviceUnavailable) }
        // MLflow's scoring protocol (`mlflow models serve`): /ping, /version, /invocations.
        router.get("ping") { _, _ in
            Response(
                status: server.withdrawnBecause == nil ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "\n")))
        }
        router.get("version") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: mlflowVersion)))
        }
        router.post("invocations") { request, _ in
            let started = DispatchTime.now().uptimeNanoseconds
            var request = request
            let buffer = try await request.collectBody(upTo: 8 << 20)
            let answer = try await server.invoke(
                contentType: request.headers[.contentType], body: Array(buffer.readableBytesView), startedNanos: started)
            var headers: HTTPFields = [
                .contentType: "application/json", HTTPField.Name("X-Model-Version")!: String(answer.modelVersion),
                HTTPField.Name("X-Deployment-Id")!: server.deploymentID,
            ]
            if let first = answer.predictionIDs.first {
                headers[HTTPField.Name("X-Prediction-Id")!] = answer.predictionIDs.count <= 100 ? answer.predictionIDs.joined(separator: ",") : first
            }
            return Response(status: HTTPResponse.Status(code: answer.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        router.get("model-info") { _, _ in json(server.info) }
        router.get("openapi.json") { _, _ in json(openAPI(server.model, features: server.featureNames)) }
        router.get("docs") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: docsPage(server.model, features: server.featureNames))))
        }
        router.post("predict") { request, _ in
            let started = DispatchTime.now().uptimeNanoseconds
            var request = request
            let buffer = try await request.collectBody(upTo: 8 << 20)
            let answer = try await server.predict(Array(buffer.readableBytesView), startedNanos: started)
            var headers: HTTPFields = [HTTPField.Name("X-Model-Version")!: String(answer.modelVersion)]
            if let first = answer.predictionIDs.first {
                headers[HTTPField.Name("X-Prediction-Id")!] = answer.predictionIDs.count <= 100 ? answer.predictionIDs.joined(separator: ",") : first
            }
            return json(answer.body, status: HTTPResponse.Status(code: answer.status), headers: headers)
        }
        return router
    }

    /// What `/version` answers: the MLflow scoring protocol version this front end speaks.
    static let mlflowVersion = "3.17.2"

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.canonicalBytes)))
    }

    static func openAPI(_ model: LoadedModel, features names: [String]) -> JSONValue {
        let features = JSONValue.object(Dictionary(names.map { ($0, ["type": "number"]) }, uniquingKeysWith: { a, _ in a }))
        let row: JSONValue = [
            "type": "object", "properties": features, "required": .array(names.map(JSONValue.string)),
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
                                    "schema": [
                                        "oneOf": [
                                            row, ["type": "object", "properties": ["features": row], "required": ["features"]],
                                            ["type": "array", "items": row, "minItems": 1],
                                            [
                                                "type": "object", "properties": ["inputs": ["type": "array", "items": row, "minItems": 1]],
                                                "required": ["inputs"],
                                            ],
                                        ]
                                    ]
                                ]
                            ],
                        ],
                        "responses": [
                            "200": ["description": "prediction(s)", "content": ["application/json": ["schema": answer]]],
                            "422": ["description": "input does not match the model: missing, extra and invalid features listed"],
                            "503": ["description": "the deployment is withdrawn: the registry no longer names a servable version"],
                        ],
                    ]
                ],
                "/invocations": [
                    "post": [
                        "summary": "MLflow's scoring protocol: exactly one of dataframe_split, dataframe_records, instances, inputs (JSON) or CSV; every row logged durably before the answer",
                        "requestBody": [
                            "required": true,
                            "content": [
                                "application/json": [
                                    "schema": [
                                        "type": "object",
                                        "properties": [
                                            "dataframe_split": [
                                                "type": "object",
                                                "properties": [
                                                    "columns": ["type": "array", "items": ["type": "string"]],
                                                    "data": ["type": "array", "items": ["type": "array", "items": ["type": "number"]]],
                                                ],
                                                "required": ["data"],
                                            ],
                                            "dataframe_records": ["type": "array", "items": row],
                                            "instances": ["type": "array", "items": row],
                                            "inputs": ["oneOf": [["type": "array", "items": row], row]],
                                            "params": ["type": "object"],
                                        ],
                                    ]
                                ],
                                "text/csv": ["schema": ["type": "string"]],
                            ],
                        ],
                        "responses": [
                            "200": ["description": "{\"predictions\": …} as MLflow writes it; X-Prediction-Id holds the ids"],
                            "400": ["description": "malformed body (MLflow's BAD_REQUEST), naming the field"],
                            "415": ["description": "a content type other than application/json or text/csv (UTF-8)"],
                            "422": ["description": "rows that do not match the signature: missing, extra and invalid columns"],
                            "503": ["description": "withdrawn, or the model's worker failed (the prediction ids are in the answer)"],
                        ],
                    ]
                ],
                "/health": [
                    "get": [
                        "summary": "status and loaded model",
                        "responses": [
                            "200": ["description": "serving", "content": ["application/json": ["schema": ["type": "object"]]]],
                            "503": ["description": "withdrawn", "content": ["application/json": ["schema": ["type": "object"]]]],
                        ],
                    ]
                ],
                "/model-info": [
                    "get": [
                        "summary": "model name, alias, stage, version, source run, features, threshold, positive class",
                        "responses": ["200": ["description": "the served model", "content": ["application/json": ["schema": ["type": "object"]]]]],
                    ]
                ],
            ],
        ]
    }

    static func docsPage(_ model: LoadedModel, features names: [String]) -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let features = names.map { "<li><code>\(escape($0))</code></li>" }.joined()
        let threshold = model.native.map { " (threshold \($0.threshold))" } ?? ""
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>\(model.name) — ModelTrail serving</title></head>
            <body style="font-family:sans-serif;max-width:50em;margin:2em auto">
            <h1>\(model.name)@\(model.reference) — version \(model.version.version)</h1>
            <p>Root digest <code>\(model.version.manifest.root)</code>, source run <code>\(model.version.runID?.value ?? "-")</code>.
            Format: \(model.formatName). Positive class: <b>\(escape(model.positiveLabel))</b>\(threshold). Not for clinical use.</p>
            <h2>POST /predict</h2>
            <p>MLflow's scoring protocol: <code>POST /invocations</code> with <code>dataframe_split</code>, <code>dataframe_records</code>,
            <code>instances</code> or <code>inputs</code> (JSON) or CSV; <code>GET /ping</code>, <code>/version</code>.</p>
            <p>Body: an object with exactly these \(names.count) features (or <code>{"inputs": [ … ]}</code> for a batch).
            Every answer carries <code>prediction_id</code>; the headers <code>X-Prediction-Id</code> and <code>X-Model-Version</code> repeat it.
            A request that does not match gets HTTP 422 with <code>missing</code>, <code>extra</code> and <code>invalid</code>.
            Trace any answer with <code>trail trace prediction ID</code>.</p>
            <ol>\(features)</ol>
            <p><a href="/openapi.json">OpenAPI document</a> · <a href="/model-info">model info</a> · <a href="/health">health</a></p>
            </body></html>
            """
    }
}

/// Counts each scoring answer per model version (from `X-Model-Version`) and outcome.
struct ScoringMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: TrailMetrics
    let model: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        if request.method == .post, request.uri.path == "/invocations" || request.uri.path == "/predict" {
            let version = response.headers[HTTPField.Name("X-Model-Version")!] ?? "unknown"
            metrics.observePrediction(model: model, version: String(version.prefix(20)), status: Int(response.status.code))
        }
        return response
    }
}
