import Foundation
import TrailCore
import TrailStore

/// One deployment of a model: what it serves (resolved from the registry by the one rule,
/// `ModelReference`), how it follows the registry, how it scores, and what it records. The
/// HTTP app (`ServingApplication`) and `trail serve` only translate to and from it.
///
/// Serving follows what the registry says: an alias or stage is served only while it names a
/// version that is not Archived. When the reference names nothing servable (the alias was
/// removed, the stage emptied, the version archived), the deployment is **withdrawn**: it
/// answers 503 and records `deployment.withdraw`; when the reference names a servable version
/// again, it switches to it (`deployment.switch`). A pinned version number is served as is.
public final class ModelServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var name: String
        public var reference: String
        public var pinned: Bool
        public var keepInputs: Bool
        /// Recorded (by digest) with every deployment event.
        public var settings: JSONValue
        public var binaryDigest: String
        public var host: String
        /// Where MLflow models are materialised for the workers, and the worker program written.
        public var cache: URL?
        /// How MLflow models are scored: interpreter, workers, timeout, batch size.
        public var workers: PyfuncPool.Settings
        /// Serve an MLflow model that has no input signature (recorded in the deployment event).
        public var allowUnsigned: Bool

        public init(
            name: String, reference: String, pinned: Bool = false, keepInputs: Bool = false, settings: JSONValue = [:], binaryDigest: String = "",
            host: String = ProcessInfo.processInfo.hostName, cache: URL? = nil, workers: PyfuncPool.Settings = .init(), allowUnsigned: Bool = false
        ) {
            self.cache = cache
            self.workers = workers
            self.allowUnsigned = allowUnsigned
            self.name = name
            self.reference = reference
            self.pinned = pinned
            self.keepInputs = keepInputs
            self.settings = settings
            self.binaryDigest = binaryDigest
            self.host = host
        }
    }

    /// What `/predict` answers: an HTTP status, the body, and the ids of the logged predictions.
    public struct Answer: Sendable {
        public var status: Int
        public var body: JSONValue
        public var predictionIDs: [String]
        public var modelVersion: Int64
    }

    /// What one look at the registry did.
    public enum FollowOutcome: Sendable, Equatable {
        case unchanged
        case switched(from: Int64?, to: Int64, event: Int64)
        case withdrawn(version: Int64, reason: String, event: Int64)
    }

    public let serving: ServingService
    public let configuration: Configuration
    public let deploymentID: String
    public let log: PredictionLog
    let actor: Actor
    let lock = NSLock()
    var current: LoadedModel
    /// The workers scoring `current` when it is an MLflow model.
    var pool: PyfuncPool?
    private var withdrawal: String?
    private var stopped = false

    public init(
        serving: ServingService, model: LoadedModel, pool: PyfuncPool? = nil, configuration: Configuration, deploymentID: String,
        actor: Actor = .service("serve")
    ) {
        self.serving = serving
        self.configuration = configuration
        self.deploymentID = deploymentID
        self.actor = actor
        current = model
        self.pool = pool
        log = PredictionLog(service: serving, deploymentID: deploymentID, model: model, actor: actor)
    }

    /// Resolves and loads the model (refusing what may not be served; an MLflow model gets its
    /// workers, which must load it), records `deployment.start`, and returns the server with
    /// the start event's index.
    public static func start(serving: ServingService, configuration: Configuration, actor: Actor = .service("serve")) async throws -> (
        ModelServer, Int64
    ) {
        let model = try await load(serving: serving, configuration: configuration)
        let pool = try await workers(for: model, configuration: configuration)
        let id = "d" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(15)
        let server = ModelServer(serving: serving, model: model, pool: pool, configuration: configuration, deploymentID: String(id), actor: actor)
        do {
            let event = try await server.record("start", model, pool: pool)
            return (server, event)
        } catch {
            await pool?.drain()
            throw error
        }
    }

    /// Fresh workers for an MLflow model (nil for the native format). A model without an input
    /// signature is refused unless the deployment allows it.
    static func workers(for model: LoadedModel, configuration: Configuration) async throws -> PyfuncPool? {
        guard let pyfunc = model.pyfunc else { return nil }
        let cache = configuration.cache ?? pyfunc.directory.deletingLastPathComponent().deletingLastPathComponent()
        let pool = try await PyfuncPool.start(model: pyfunc.directory, cache: cache, settings: configuration.workers)
        if pool.loaded.signature.inputs == nil, !configuration.allowUnsigned {
            await pool.drain()
            throw TrailError(
                .invalidState,
                "\(model.name) version \(model.version.version) has no input signature, so its inputs cannot be checked before scoring; log it with a signature (mlflow.models.infer_signature) or serve it with --allow-unsigned (recorded in the deployment event)",
                field: "allow_unsigned")
        }
        return pool
    }

    /// The version the reference names now, loaded and checked, or a refusal saying why it may
    /// not be served.
    static func load(serving: ServingService, configuration: Configuration) async throws -> LoadedModel {
        let model = try await serving.load(
            name: configuration.name, reference: configuration.reference, pinned: configuration.pinned, cache: configuration.cache)
        if model.version.stage == .archived, !configuration.pinned {
            throw TrailError(
                .invalidState,
                "\(configuration.name) version \(model.version.version) is Archived: the registry has withdrawn it, so \(configuration.name)@\(configuration.reference) is not served (serve a version explicitly with --pinned, e.g. to reproduce)",
                field: "reference")
        }
        return model
    }

    public var model: LoadedModel {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Why the deployment is withdrawn, or nil while it serves.
    public var withdrawnBecause: String? {
        lock.lock()
        defer { lock.unlock() }
        return withdrawal
    }

    func record(_ action: String, _ model: LoadedModel, pool: PyfuncPool? = nil) async throws -> Int64 {
        var facts: [String: JSONValue] = ["format": .string(model.formatName)]
        if let pool {
            let loaded = pool.loaded
            facts["unsigned"] = .bool(loaded.signature.inputs == nil)
            facts["mlflow_version"] = .string(loaded.mlflowVersion)
            facts["python_version"] = .string(loaded.pythonVersion)
            facts["predict_fn"] = .string(loaded.predictFunction)
            facts["workers"] = .int(Int64(pool.settings.workers))
        }
        return try await serving.record(
            Deployment(
                deploymentID: deploymentID, modelName: configuration.name, reference: configuration.reference, modelVersion: model.version.version,
                configDigest: Digest.of(configuration.settings.canonicalBytes), binaryDigest: configuration.binaryDigest, host: configuration.host,
                action: action, timeMillis: serving.tracking.clock.nowMillis()),
            facts: facts, actor: actor)
    }

    /// The workers of the model served now (nil for the native format).
    public var workers: PyfuncPool? { lock.withLock { pool } }

    /// One look at the registry: switch to the version the reference names now, or withdraw
    /// when it names nothing servable. A pinned deployment never changes.
    public func follow() async throws -> FollowOutcome {
        if configuration.pinned { return .unchanged }
        let registry = serving.registry
        let served = model
        let named = try await registry.currentVersion(name: configuration.name, reference: ModelReference(parsing: configuration.reference))
        let target = try await named.asyncMap { try await registry.version(configuration.name, $0) }
        if let target, target.stage != .archived {
            if target.version == served.version.version, withdrawnBecause == nil { return .unchanged }
            let next = try await Self.load(serving: serving, configuration: configuration)
            // New workers load the new version before anything switches; the old ones finish
            // what they hold, then end.
            let nextPool = try await Self.workers(for: next, configuration: configuration)
            let event: Int64
            do {
                try await log.switchModel(next)
                event = try await record("switch", next, pool: nextPool)
            } catch {
                await nextPool?.drain()
                throw error
            }
            let old = lock.withLock {
                let old = pool
                current = next
                pool = nextPool
                withdrawal = nil
                return old
            }
            await old?.drain()
            return .switched(from: served.version.version, to: next.version.version, event: event)
        }
        guard withdrawnBecause == nil else { return .unchanged }
        let reason =
            target.map { "\(configuration.name) version \($0.version) has been Archived" }
            ?? "\(configuration.name)@\(configuration.reference) names no version any more"
        try await log.drain()
        let event = try await record("withdraw", served)
        lock.withLock { withdrawal = reason }
        return .withdrawn(version: served.version.version, reason: reason, event: event)
    }

    /// Drains the prediction log and records `deployment.stop`. Idempotent.
    @discardableResult
    public func stop() async throws -> Int64? {
        let already = lock.withLock {
            let was = stopped
            stopped = true
            return was
        }
        guard !already else { return nil }
        try await log.drain()
        let event = try await record("stop", model)
        await workers?.drain()
        return event
    }

    // MARK: - Scoring

    static let idAlphabet = Array("0123456789abcdef".utf8)

    /// A prediction id: `p` + 24 random hex digits (96 random bits).
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits: (UInt64, UInt64) = (generator.next(), generator.next())
        var bytes: [UInt8] = [UInt8(ascii: "p")]
        bytes.reserveCapacity(25)
        for i in 0..<16 { bytes.append(idAlphabet[Int((bits.0 >> (UInt64(i) * 4)) & 15)]) }
        for i in 0..<8 { bytes.append(idAlphabet[Int((bits.1 >> (UInt64(i) * 4)) & 15)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Rows from the accepted body shapes: a row object; `{"features": row}`; a non-empty list
    /// of rows; `{"inputs"|"instances"|"dataframe_records": [rows]}`.
    public static func rows(_ body: JSONValue) -> (rows: [[String: JSONValue]], batch: Bool)? {
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
            // MLflow's `{"dataframe_split": {"columns": [...], "data": [[...], ...]}}`.
            if case .object(let split)? = members["dataframe_split"], members.count == 1 {
                guard case .array(let columns)? = split["columns"], case .array(let data)? = split["data"], !data.isEmpty else { return nil }
                let names = columns.compactMap(\.stringValue)
                guard names.count == columns.count, Set(names).count == names.count else { return nil }
                var rows: [[String: JSONValue]] = []
                for item in data {
                    guard case .array(let values) = item, values.count == names.count else { return nil }
                    rows.append(Dictionary(uniqueKeysWithValues: zip(names, values)))
                }
                return (rows, true)
            }
            return ([members], false)
        default: return nil
        }
    }

    /// Scores a request body: checks every row against the model's signature, scores, and logs
    /// every prediction (or the refusal) durably before answering.
    public func predict(_ bytes: [UInt8], startedNanos: UInt64 = DispatchTime.now().uptimeNanoseconds) async throws -> Answer {
        let model = self.model
        let now = serving.tracking.clock.nowMillis()
        func micros() -> Int64 { Int64((DispatchTime.now().uptimeNanoseconds &- startedNanos) / 1000) }
        if let reason = withdrawnBecause {
            return Answer(
                status: 503,
                body: ["error": ["code": "WITHDRAWN", "message": .string("this deployment serves nothing: \(reason)"), "field": "reference"]],
                predictionIDs: [], modelVersion: model.version.version)
        }
        func refuse(_ message: String, field: String, extra: [String: JSONValue], digest: Digest) async throws -> Answer {
            let id = Self.newID()
            try await log.log(
                PredictionRecord(
                    predictionID: id, timeMillis: now, deploymentID: deploymentID, modelName: model.name, modelVersion: model.version.version,
                    inputDigest: digest, probability: nil, prediction: nil, latencyMicros: micros(), outcome: "refused", error: message),
                values: nil)
            var body: [String: JSONValue] = [
                "error": ["code": "INVALID_INPUT", "message": .string(message), "field": .string(field)], "prediction_id": .string(id),
            ]
            body.merge(extra) { a, _ in a }
            return Answer(status: 422, body: .object(body), predictionIDs: [id], modelVersion: model.version.version)
        }
        guard let linear = model.native else {
            return try await refuse(
                "this deployment serves an MLflow model (\(model.name) version \(model.version.version)): POST /invocations with one of MLflow's formats",
                field: "path", extra: [:], digest: Digest.of(bytes))
        }
        guard let body = try? JSONValue.parse(bytes), let (rows, batch) = Self.rows(body) else {
            return try await refuse(
                "the body must be a JSON object of feature → number, {\"features\": {…}}, or a non-empty list of such objects (or {\"inputs\": […]})",
                field: "body", extra: [:], digest: Digest.of(bytes))
        }
        guard rows.count <= 10_000 else {
            return try await refuse("at most 10000 rows per request", field: "inputs", extra: [:], digest: Digest.of(bytes))
        }
        var checked: [[Double]] = []
        checked.reserveCapacity(rows.count)
        for (i, row) in rows.enumerated() {
            switch ServingService.check(row, for: linear) {
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
        let probabilities = checked.map { linear.probability($0) }
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
            let prediction = probability >= linear.threshold ? linear.positiveClass : 1 - linear.positiveClass
            let id = Self.newID()
            ids.append(id)
            records.append(
                (
                    PredictionRecord(
                        predictionID: id, timeMillis: now, deploymentID: deploymentID, modelName: model.name, modelVersion: model.version.version,
                        inputDigest: ServingService.inputDigest(rows[i]), probability: probability, prediction: prediction, latencyMicros: micros(),
                        outcome: "ok", rawInput: configuration.keepInputs ? JSONValue.object(rows[i]).canonicalString : nil), values
                ))
            answers.append(
                [
                    "prediction_id": .string(id), "model_name": .string(model.name), "model_version": .int(model.version.version),
                    "deployment_id": .string(deploymentID), "probability_positive_class": .double(probability),
                    "prediction": .int(Int64(prediction)), "prediction_label": .string(linear.classLabels[prediction]),
                    "positive_class": .string(model.positiveLabel), "threshold": .double(linear.threshold),
                ])
        }
        // Durable before the answer: wait for the group commit(s) holding these records.
        try await logAll(records.map { ($0.0, Optional($0.1)) })
        return Answer(status: 200, body: batch ? ["predictions": .array(answers)] : answers[0], predictionIDs: ids, modelVersion: model.version.version)
    }

    // MARK: - Descriptions

    /// `/health`.
    public var health: JSONValue {
        let model = self.model
        let reason = withdrawnBecause
        var body: [String: JSONValue] = [
            "status": .string(reason == nil ? "ok" : "withdrawn"), "model_loaded": .bool(reason == nil), "model_name": .string(model.name),
            "model_version": .int(model.version.version), "deployment_id": .string(deploymentID),
        ]
        if let reason { body["reason"] = .string(reason) }
        return .object(body)
    }

    /// `/model-info`: the seed's fields (`model_stage` included) and what stands behind them.
    public var info: JSONValue {
        let model = self.model
        let reference = ModelReference(parsing: configuration.reference)
        let aliased: String? = if case .alias(let alias) = reference { alias } else { nil }
        return [
            "model_name": .string(model.name), "reference": .string(model.reference), "model_version": .int(model.version.version),
            "model_alias": aliased.map(JSONValue.string) ?? .null, "model_stage": .string(model.version.stage.rawValue),
            "stage": .string(model.version.stage.rawValue), "aliases": .array(model.version.aliases.map(JSONValue.string)),
            "source_run_id": .string(model.version.runID?.value ?? ""), "root_digest": .string(model.version.manifest.root.description),
            "deployment_id": .string(deploymentID), "format": .string(model.formatName),
            "expected_feature_count": .int(Int64(featureNames.count)), "feature_names": .array(featureNames.map(JSONValue.string)),
            "threshold": model.native.map { .double($0.threshold) } ?? .null,
            "positive_class": model.native == nil ? .null : .string(model.positiveLabel),
            "positive_class_value": model.native.map { .int(Int64($0.positiveClass)) } ?? .null,
            "withdrawn": withdrawnBecause.map(JSONValue.string) ?? .null,
        ]
    }

    /// The input columns the served model expects, in order.
    public var featureNames: [String] {
        let (model, pool) = lock.withLock { (self.current, self.pool) }
        if let native = model.native { return native.featureNames }
        return pool?.loaded.signature.columnNames ?? []
    }
}
