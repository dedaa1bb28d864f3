import Foundation
import TrailArtifacts
import TrailCore
import TrailLearn
import TrailLedger
import TrailStore

/// A model version loaded for serving: every file checked against the version's manifest.
public struct LoadedModel: Sendable {
    /// What the version's files are: ModelTrail's own model (`model.json`, scored in Swift) or an
    /// MLflow model with a `python_function` flavor (scored by Python workers).
    public enum Format: Sendable {
        case native(LinearModel)
        case pyfunc(PyfuncModel)
    }

    public var name: String
    public var reference: String
    public var version: ModelVersion
    public var format: Format
    /// Per feature: the training profile's histogram edges and counts (the drift baseline).
    public var baseline: [String: (edges: [Double], counts: [Int])]

    public init(name: String, reference: String, version: ModelVersion, format: Format, baseline: [String: (edges: [Double], counts: [Int])] = [:]) {
        self.name = name
        self.reference = reference
        self.version = version
        self.format = format
        self.baseline = baseline
    }

    /// The native model, or nil for an MLflow model.
    public var native: LinearModel? {
        if case .native(let model) = format { return model }
        return nil
    }

    public var pyfunc: PyfuncModel? {
        if case .pyfunc(let model) = format { return model }
        return nil
    }

    public var formatName: String { native == nil ? "mlflow_pyfunc" : "trail_linear" }

    public var positiveLabel: String { native.map { $0.classLabels[$0.positiveClass] } ?? "" }
}

/// Serving rules: what may be served, how inputs are checked and scored, and what is recorded.
public struct ServingService: Sendable {
    public let tracking: TrackingService
    public let registry: RegistryService

    public init(tracking: TrackingService, registry: RegistryService) {
        self.tracking = tracking
        self.registry = registry
    }

    /// Resolves `name@reference` and loads that version. An alias or stage is served only as
    /// the registry holds it (the gate admitted it there); a bare version number only with
    /// `pinned`. Refuses any file whose bytes do not match the manifest.
    public func load(name: String, reference: String, pinned: Bool = false, cache: URL? = nil) async throws -> LoadedModel {
        let parsed = ModelReference(parsing: reference)
        if case .version(let direct) = parsed, !pinned {
            throw TrailError(
                .permissionDenied,
                "version \(direct) is served only through an alias or stage the promotion policy admitted it to, or with --pinned",
                field: "reference")
        }
        guard let number = try await registry.currentVersion(name: name, reference: parsed) else {
            throw TrailError.notFound("model reference", "\(name)@\(reference)", field: "reference")
        }
        let version = try await registry.version(name, number)
        return try await Self.assemble(name: name, reference: reference, version: version, cache: cache) { file in
            do {
                return try await tracking.blobs.get(file.digest, expectedBytes: file.sizeBytes)
            } catch let error as TrailError where error.code == .dataLoss {
                throw TrailError(
                    .dataLoss, "model file \(file.path) (\(file.digest)) of \(name) version \(number) has been altered in the blob store", field: "reference")
            } catch let error as TrailError where error.code == .temporarilyUnavailable {
                throw error
            } catch {
                throw TrailError(.dataLoss, "model file \(file.path) (\(file.digest)) of \(name) version \(number) is missing", field: "reference")
            }
        }
    }

    /// Builds a servable model from a version's files, fetched by `fetch` (from the blob store
    /// here, or downloaded from a server by a client): every file must match its manifest
    /// digest and the manifest its root, or nothing is loaded.
    /// An MLflow model (MLmodel with a `python_function` flavor) is written read-only under
    /// `cache` (default: a folder in the temporary directory) for Python workers to load.
    public static func assemble(
        name: String, reference: String, version: ModelVersion, cache: URL? = nil, fetch: (ManifestFile) async throws -> [UInt8]
    ) async throws -> LoadedModel {
        let number = version.version
        var files: [String: [UInt8]] = [:]
        for file in version.manifest.files {
            let bytes = try await fetch(file)
            guard Digest.of(bytes) == file.digest else {
                throw TrailError(
                    .dataLoss, "model file \(file.path) of \(name) version \(number) does not match its manifest digest \(file.digest); refusing to serve",
                    field: "reference")
            }
            files[file.path] = bytes
        }
        guard ModelManifest(files: version.manifest.files).root == version.manifest.root else {
            throw TrailError(.dataLoss, "the manifest of \(name) version \(number) does not match its root digest", field: "reference")
        }
        if files["model.json"] == nil, let mlmodel = files["MLmodel"] {
            guard let described = PyfuncModel.describe(mlmodel: mlmodel) else {
                throw TrailError.invalid(
                    "reference", "\(name) version \(number) is an MLflow model without a python_function flavor; only pyfunc models are served")
            }
            let folder = cache ?? FileManager.default.temporaryDirectory.appendingPathComponent("modeltrail-serving", isDirectory: true)
            let directory = try PyfuncModel.materialize(files: files, manifest: version.manifest, cache: folder.appendingPathComponent("models"))
            return LoadedModel(
                name: name, reference: reference, version: version,
                format: .pyfunc(
                    PyfuncModel(
                        directory: directory, loaderModule: described.loaderModule, predictFunction: described.predictFunction,
                        pythonVersion: described.pythonVersion, declaresSignature: described.signed)))
        }
        guard let modelBytes = files["model.json"] else {
            throw TrailError.invalid(
                "reference", "\(name) version \(number) has neither model.json (a trail train model) nor MLmodel (an MLflow model) to serve")
        }
        let linear = try LinearModel(parsing: modelBytes)
        var baseline: [String: (edges: [Double], counts: [Int])] = [:]
        if let profile = files["training_profile.json"], case .array(let features)? = try JSONValue.parse(profile)["features"] {
            for feature in features {
                guard let name = feature["name"]?.stringValue, case .array(let edges)? = feature["edges"], case .array(let counts)? = feature["counts"]
                else { continue }
                baseline[name] = (
                    edges.compactMap { if case .double(let d) = $0 { d } else { $0.intValue.map(Double.init) } },
                    counts.map { Int($0.intValue ?? 0) }
                )
            }
        }
        return LoadedModel(name: name, reference: reference, version: version, format: .native(linear), baseline: baseline)
    }

    /// Checks one row (feature name → value) against the model's features: the exact set, and
    /// finite numbers only. Returns the values in the model's order.
    public static func check(_ row: [String: JSONValue], for model: LinearModel) -> Result<[Double], InputProblems> {
        let expected = Set(model.featureNames)
        var problems = InputProblems(
            missing: model.featureNames.filter { row[$0] == nil }, extra: row.keys.filter { !expected.contains($0) }.sorted(), invalid: [:])
        var values: [Double] = []
        values.reserveCapacity(model.featureNames.count)
        for name in model.featureNames {
            guard let value = row[name] else { continue }
            switch value {
            case .double(let d) where d.isFinite: values.append(d)
            case .int(let i): values.append(Double(i))
            case .double: problems.invalid[name] = "must be a finite number"
            case .string(let s) where ["nan", "inf", "infinity", "-inf", "-infinity"].contains(s.lowercased()):
                problems.invalid[name] = "must be a finite number, got \(s)"
            default: problems.invalid[name] = "must be a number, got \(Self.typeName(value))"
            }
        }
        if problems.missing.isEmpty && problems.extra.isEmpty && problems.invalid.isEmpty { return .success(values) }
        return .failure(problems)
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        default: "a number"
        }
    }

    /// sha256 of the canonical JSON of a row.
    public static func inputDigest(_ row: [String: JSONValue]) -> Digest { Digest.of(JSONValue.object(row).canonicalBytes) }

    /// Records a deployment's start, switch or stop (with `facts` about what is served, e.g. the
    /// model format and whether it runs without a signature).
    public func record(_ deployment: Deployment, facts extra: [String: JSONValue] = [:], actor: Actor) async throws -> Int64 {
        var facts: [String: JSONValue] = [
            "model_name": .string(deployment.modelName), "reference": .string(deployment.reference),
            "model_version": .int(deployment.modelVersion), "config_digest": .string(deployment.configDigest.description),
            "binary_digest": .string(deployment.binaryDigest), "host": .string(deployment.host),
        ]
        facts.merge(extra) { a, _ in a }
        let receipt = try await tracking.store.apply(
            WriteBatch(
                preconditions: [.modelVersion(deployment.modelName, deployment.modelVersion)], changes: [.recordDeployment(deployment)],
                event: EventDraft(
                    action: "deployment.\(deployment.action)", actor: actor, timeMillis: deployment.timeMillis,
                    subject: Subject(type: "deployment", id: deployment.deploymentID),
                    related: ["model": "\(deployment.modelName)/\(deployment.modelVersion)"],
                    facts: .object(facts))))
        return receipt.eventIndex ?? 0
    }

    /// Writes one group commit: the records, drift counts and a Merkle root over the records,
    /// in one transaction with one `predictions.batch` event.
    public func commit(_ records: [PredictionRecord], deployment: String, model: LoadedModel, counts: [String: [Int]], actor: Actor)
        async throws -> Int64?
    {
        guard !records.isEmpty else { return nil }
        // Raw inputs are sealed, each under a key of its own (issue #18): erasing one, or a
        // retention window of them, destroys keys and leaves the rows and their digests intact.
        var records = records
        var keys: [SealKey] = []
        for i in records.indices {
            guard let raw = records[i].rawInput, !Sealer.isSealed(raw) else { continue }
            let key = SealKey(
                keyID: SealKey.inputKeyID(prediction: records[i].predictionID), kind: .rawInput, scope: model.name, bytes: Sealer.newKeyBytes(),
                creationTimeMillis: records[i].timeMillis)
            records[i].rawInput = try Sealer.seal(raw, keyID: key.keyID, key: key.bytes ?? [])
            keys.append(key)
        }
        let leaves = records.map { Merkle.leafHash($0.leafBytes) }
        let root = Merkle.root(leaves: leaves[...]).hexString
        let refused = records.filter { $0.outcome != "ok" }.count
        let batch = PredictionBatch(
            deploymentID: deployment, modelName: model.name, modelVersion: model.version.version, records: records, featureCounts: counts,
            merkleRootHex: root)
        let receipt = try await tracking.store.apply(
            WriteBatch(
                changes: (keys.isEmpty ? [] : [.createSealKeys(keys)]) + [.recordPredictions(batch)],
                event: EventDraft(
                    action: "predictions.batch", actor: actor, timeMillis: records.last!.timeMillis,
                    subject: Subject(type: "deployment", id: deployment),
                    related: ["model": "\(model.name)/\(model.version.version)"],
                    facts: [
                        "count": .int(Int64(records.count)), "refused": .int(Int64(refused)), "first_id": .string(records.first!.predictionID),
                        "last_id": .string(records.last!.predictionID), "merkle_root": .string(root), "leaf": "sha256(0x00 || canonical record)",
                    ])))
        return receipt.eventIndex
    }
}
