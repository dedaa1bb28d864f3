import Foundation
import Hummingbird
import NIOCore
import TrailCore

/// One MLflow request's fields, from a JSON body (POST, PATCH, DELETE) or a query string (GET),
/// read the way MLflow's server reads them: unknown fields ignored, int64 as a number or a
/// decimal string, enums by name, NaN and infinities as strings, repeated query keys as lists.
struct MLflowInput: Sendable {
    let fields: [String: JSONValue]

    init(fields: [String: JSONValue]) { self.fields = fields }

    /// Reads the body (at most `limit` bytes) or, for GET, the query string.
    static func read(_ request: Request, limit: Int) async throws -> MLflowInput {
        if request.method == .get || request.method == .head { return MLflowInput(fields: parseQuery(request.uri.query ?? "")) }
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        guard buffer.readableBytes > 0 else { return MLflowInput(fields: [:]) }
        try JSONResponse.requireJSON(request, bodyBytes: buffer.readableBytes)
        try JSONResponse.refuseNUL(buffer.readableBytesView)
        let value: JSONValue
        do {
            value = try JSONValue.parse(Array(buffer.readableBytesView))
        } catch {
            throw TrailError(.malformedRequest, "request body is not valid JSON", field: "body")
        }
        guard case .object(let object) = value else { throw TrailError.invalid("body", "request body must be a JSON object") }
        return MLflowInput(fields: object)
    }

    /// `application/x-www-form-urlencoded`: `+` is a space, then one percent-decoding, for keys
    /// and values; a repeated key makes a list.
    static func parseQuery(_ query: String) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncodingOnce() ?? spaced
            }
            let key = decode(parts[0])
            let value = JSONValue.string(parts.count > 1 ? decode(parts[1]) : "")
            switch out[key] {
            case nil: out[key] = value
            case .array(let items)?: out[key] = .array(items + [value])
            case let existing?: out[key] = .array([existing, value])
            }
        }
        return out
    }

    func has(_ field: String) -> Bool {
        if let value = fields[field], value != .null { return true }
        return false
    }

    func string(_ field: String) throws -> String? {
        switch fields[field] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case .double(let d)?: return JSONValue.ecmaScriptNumber(d)
        case .bool(let b)?: return b ? "true" : "false"
        default: throw TrailError.invalid(field, "field '\(field)' must be a string")
        }
    }

    func require(_ field: String) throws -> String {
        guard let value = try string(field), !value.isEmpty else {
            throw TrailError.invalid(field, "Missing value for required parameter '\(field)'")
        }
        return value
    }

    /// `run_id`, falling back to `run_uuid` (the client sends both).
    func runID() throws -> RunID {
        let text = try string("run_id").flatMap { $0.isEmpty ? nil : $0 } ?? string("run_uuid")
        guard let text, !text.isEmpty else { throw TrailError.invalid("run_id", "Missing value for required parameter 'run_id'") }
        return try RunID(parsing: text)
    }

    func int(_ field: String) throws -> Int64? {
        switch fields[field] {
        case nil, .null?: return nil
        case .int(let i)?: return i
        case .double(let d)? where d == d.rounded() && abs(d) < 9.007_199_254_740_992e15: return Int64(d)
        case .string(let s)? where Int64(s) != nil: return Int64(s)
        case .string(let s)? where s.isEmpty: return nil
        default: throw TrailError.invalid(field, "field '\(field)' must be an integer")
        }
    }

    func bool(_ field: String) throws -> Bool? {
        switch fields[field] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case .string(let s)? where s.lowercased() == "true": return true
        case .string(let s)? where s.lowercased() == "false": return false
        default: throw TrailError.invalid(field, "field '\(field)' must be true or false")
        }
    }

    /// A repeated string field (JSON array, or repeated query keys, or one value).
    func strings(_ field: String) throws -> [String] {
        switch fields[field] {
        case nil, .null?: return []
        case .array(let items)?:
            return try items.enumerated().map { i, item in
                guard let text = item.stringValue ?? item.intValue.map(String.init) else {
                    throw TrailError.invalid("\(field)[\(i)]", "field '\(field)[\(i)]' must be a string")
                }
                return text
            }
        default: return [try string(field) ?? ""]
        }
    }

    /// A repeated message field, each element as its own input.
    func objects(_ field: String) throws -> [MLflowInput] {
        switch fields[field] {
        case nil, .null?: return []
        case .array(let items)?:
            return try items.enumerated().map { i, item in
                guard case .object(let object) = item else { throw TrailError.invalid("\(field)[\(i)]", "field '\(field)[\(i)]' must be an object") }
                return MLflowInput(fields: object)
            }
        default: throw TrailError.invalid(field, "field '\(field)' must be a list")
        }
    }

    func object(_ field: String) throws -> MLflowInput? {
        switch fields[field] {
        case nil, .null?: return nil
        case .object(let object)?: return MLflowInput(fields: object)
        default: throw TrailError.invalid(field, "field '\(field)' must be an object")
        }
    }

    /// A double that may arrive as a number or as `"NaN"`, `"Infinity"`, `"-Infinity"`.
    func double(_ field: String) throws -> Double? {
        switch fields[field] {
        case nil, .null?: return nil
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        case .string(let s)?:
            guard let value = FlexibleDouble.parse(s) else { throw TrailError.invalid(field, "field '\(field)' must be a number, NaN or Infinity") }
            return value
        default: throw TrailError.invalid(field, "field '\(field)' must be a number")
        }
    }

    /// `{key, value}` pairs (tags, params); `value` may be absent for params and tags.
    func keyValues(_ field: String) throws -> [Tag] {
        try objects(field).enumerated().map { i, item in
            guard let key = try item.string("key"), !key.isEmpty else {
                throw TrailError.invalid("\(field)[\(i)].key", "Missing value for required parameter '\(field)[\(i)].key'")
            }
            return Tag(key: key, value: try item.string("value") ?? "")
        }
    }

    func maxResults(default value: Int) throws -> Int {
        guard let number = try int("max_results") else { return value }
        guard number > 0, number <= Int64(Int32.max) else { throw TrailError.invalid("max_results", "max_results must be a positive integer") }
        return Int(number)
    }

    func pageToken() throws -> String? {
        guard let token = try string("page_token"), !token.isEmpty else { return nil }
        return token
    }
}

/// MLflow's JSON responses: snake_case fields, int64 as numbers, non-finite doubles as strings.
enum MLflowJSON {
    static func response(_ body: JSONValue) -> Response {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        body.write(into: &bytes)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static let empty = JSONValue.object([:])

    static func double(_ value: Double) -> JSONValue {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
        return .double(value)
    }

    static func tags(_ tags: [Tag]) -> JSONValue {
        .array(tags.map { ["key": .string($0.key), "value": .string($0.value)] })
    }

    static func experiment(_ e: Experiment) -> JSONValue {
        var out: [String: JSONValue] = [
            "experiment_id": .string(e.id.description), "name": .string(e.name), "artifact_location": .string(e.artifactLocation),
            "lifecycle_stage": .string(e.lifecycleStage.rawValue), "creation_time": .int(e.creationTimeMillis),
            "last_update_time": .int(e.lastUpdateTimeMillis),
        ]
        if !e.tags.isEmpty { out["tags"] = tags(e.tags) }
        return .object(out)
    }

    static func runInfo(_ info: RunInfo) -> JSONValue {
        var out: [String: JSONValue] = [
            "run_id": .string(info.runID.value), "run_uuid": .string(info.runID.value), "run_name": .string(info.name),
            "experiment_id": .string(info.experimentID.description), "user_id": .string(info.userID), "status": .string(info.status.rawValue),
            "start_time": .int(info.startTimeMillis), "artifact_uri": .string(info.artifactURI),
            "lifecycle_stage": .string(info.lifecycleStage.rawValue),
        ]
        if let end = info.endTimeMillis { out["end_time"] = .int(end) }
        return .object(out)
    }

    static func metric(_ m: Metric) -> JSONValue {
        ["key": .string(m.key), "value": double(m.value), "timestamp": .int(m.timestampMillis), "step": .int(m.step)]
    }

    static func run(_ run: Run) -> JSONValue {
        var data: [String: JSONValue] = [:]
        if !run.metrics.isEmpty { data["metrics"] = .array(run.metrics.map(metric)) }
        if !run.params.isEmpty { data["params"] = tags(run.params.map { Tag(key: $0.key, value: $0.value) }) }
        if !run.tags.isEmpty { data["tags"] = tags(run.tags) }
        var inputs: [String: JSONValue] = [:]
        if !run.inputs.isEmpty {
            inputs["dataset_inputs"] = .array(
                run.inputs.map { input in
                    var dataset: [String: JSONValue] = [
                        "name": .string(input.name), "digest": .string(input.digest), "source_type": .string(input.sourceType),
                        "source": .string(input.source),
                    ]
                    // MLflow's client sends these as JSON text and gets its text back; native
                    // inputs have ModelTrail's shapes, shown as their canonical JSON.
                    if let schema = input.schemaText ?? input.schema.map({ s in
                        JSONValue.array(s.map { ["name": .string($0.name), "type": .string($0.type)] }).canonicalString
                    }) { dataset["schema"] = .string(schema) }
                    if let profile = input.profileText ?? input.profile.map({ JSONValue.object(["rows": .int($0.rows), "columns": .int($0.columns)]).canonicalString }) {
                        dataset["profile"] = .string(profile)
                    }
                    var entry: [String: JSONValue] = ["dataset": .object(dataset)]
                    if let context = input.context { entry["tags"] = tags([Tag(key: "mlflow.data.context", value: context)]) }
                    return .object(entry)
                })
        }
        let modelInputs = run.modelLinks.filter { $0.direction == .input }
        if !modelInputs.isEmpty { inputs["model_inputs"] = .array(modelInputs.map { ["model_id": .string($0.modelID)] }) }
        var out: [String: JSONValue] = ["info": runInfo(run.info), "data": .object(data), "inputs": .object(inputs)]
        let outputs = run.modelLinks.filter { $0.direction == .output }
        out["outputs"] = outputs.isEmpty ? .object([:]) : ["model_outputs": .array(outputs.map { ["model_id": .string($0.modelID), "step": .int($0.step)] })]
        return .object(out)
    }

    static func loggedModel(_ m: LoggedModel, registrations: [(String, Int64)] = []) -> JSONValue {
        var info: [String: JSONValue] = [
            "model_id": .string(m.modelID), "experiment_id": .string(m.experimentID.description), "name": .string(m.name),
            "creation_timestamp_ms": .int(m.creationTimeMillis), "last_updated_timestamp_ms": .int(m.lastUpdatedMillis),
            "artifact_uri": .string(m.artifactURI), "status": .string(m.status.rawValue), "model_type": .string(m.modelType),
            "status_message": .string(m.statusMessage),
        ]
        if let run = m.sourceRunID { info["source_run_id"] = .string(run.value) }
        if !m.tags.isEmpty { info["tags"] = tags(m.tags) }
        var data: [String: JSONValue] = [:]
        if !m.params.isEmpty { data["params"] = tags(m.params.map { Tag(key: $0.key, value: $0.value) }) }
        if !m.metrics.isEmpty {
            data["metrics"] = .array(
                m.metrics.map { linked in
                    var out: [String: JSONValue] = [
                        "key": .string(linked.metric.key), "value": double(linked.metric.value), "timestamp": .int(linked.metric.timestampMillis),
                        "step": .int(linked.metric.step), "model_id": .string(m.modelID),
                    ]
                    if let run = linked.runID { out["run_id"] = .string(run.value) }
                    if let name = linked.datasetName { out["dataset_name"] = .string(name) }
                    if let digest = linked.datasetDigest { out["dataset_digest"] = .string(digest) }
                    return .object(out)
                })
        }
        return ["info": .object(info), "data": .object(data)]
    }

    static func registeredModel(_ model: RegisteredModel, tags modelTags: [Tag], latest: [ModelVersion]) -> JSONValue {
        var out: [String: JSONValue] = [
            "name": .string(model.name), "creation_timestamp": .int(model.creationTimeMillis), "last_updated_timestamp": .int(model.lastUpdatedMillis),
            "description": .string(model.description), "user_id": "",
        ]
        if !latest.isEmpty { out["latest_versions"] = .array(latest.map { modelVersion($0, tags: []) }) }
        if !modelTags.isEmpty { out["tags"] = tags(modelTags) }
        if !model.aliases.isEmpty {
            out["aliases"] = .array(model.aliases.sorted { $0.key < $1.key }.map { ["alias": .string($0.key), "version": .string(String($0.value))] })
        }
        return .object(out)
    }

    static func modelVersion(_ v: ModelVersion, tags versionTags: [Tag]) -> JSONValue {
        var out: [String: JSONValue] = [
            "name": .string(v.name), "version": .string(String(v.version)), "creation_timestamp": .int(v.creationTimeMillis),
            "last_updated_timestamp": .int(v.lastUpdatedMillis), "user_id": .string(v.createdBy.id), "current_stage": .string(v.stage.rawValue),
            "description": .string(v.description), "source": .string(v.source), "status": "READY", "status_message": "", "run_link": "",
        ]
        if let run = v.runID { out["run_id"] = .string(run.value) }
        if v.source.hasPrefix("models:/") { out["model_id"] = .string(String(v.source.dropFirst("models:/".count))) }
        if !versionTags.isEmpty { out["tags"] = tags(versionTags) }
        if !v.aliases.isEmpty { out["aliases"] = .array(v.aliases.map(JSONValue.string)) }
        return .object(out)
    }

    static func page(_ key: String, _ items: [JSONValue], next: String?) -> JSONValue {
        var out: [String: JSONValue] = [:]
        if !items.isEmpty { out[key] = .array(items) }
        if let next { out["next_page_token"] = .string(next) }
        return .object(out)
    }
}

/// MLflow's error envelope and its status for each code (`mlflow/exceptions.py`). Client
/// mistakes are never 5xx: the client retries 5xx for minutes and then loses the message.
enum MLflowErrors {
    static func status(for code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .invalidParameterValue, .malformedRequest, .resourceAlreadyExists, .invalidState: .badRequest
        case .resourceDoesNotExist, .endpointNotFound: .notFound
        case .resourceConflict: .conflict
        case .requestTooLarge: .contentTooLarge
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .notImplemented: .notImplemented
        case .dataLoss, .internalError: .internalServerError
        case .temporarilyUnavailable: .serviceUnavailable
        }
    }

    /// MLflow's names: ModelTrail's own codes map onto the nearest `databricks.ErrorCode`.
    static func name(for code: ErrorCode) -> String {
        switch code {
        case .malformedRequest: "BAD_REQUEST"
        case .invalidState: "INVALID_PARAMETER_VALUE"
        case .requestTooLarge: "INVALID_PARAMETER_VALUE"
        default: code.rawValue
        }
    }

    static func response(_ error: TrailError) -> Response {
        var body: [String: JSONValue] = [
            "error_code": .string(name(for: error.code)),
            "message": .string(error.code == .internalError ? "internal error; the server log has the details" : error.message),
        ]
        if let field = error.field { body["field"] = .string(field) }
        var bytes: [UInt8] = []
        JSONValue.object(body).write(into: &bytes)
        return Response(
            status: status(for: error.code), headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Paths answered in MLflow's envelope.
    static func isMLflowPath(_ path: String) -> Bool {
        path.hasPrefix("/api/2.0/") || path.hasPrefix("/api/3.0/") || path.hasPrefix("/ajax-api/")
    }
}
