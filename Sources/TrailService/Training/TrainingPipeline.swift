import Foundation
import TrailArtifacts
import TrailCore
import TrailLearn
import TrailStore

/// What `trail train` does, as parameters.
public struct TrainingConfig: Sendable, Hashable {
    /// The CSV to train on; nil: `data/breast_cancer.csv` under the working directory if it
    /// exists, else the copy bundled with `trail`.
    public var dataPath: String?
    public var testSize: Double
    public var seed: UInt64
    public var c: Double
    public var maxIterations: Int
    public var tolerance: Double
    public var experiment: String
    /// Register the model as a new version of this registered model.
    public var registerAs: String?

    public init(
        dataPath: String? = nil, testSize: Double = 0.2, seed: UInt64 = 42, c: Double = 1.0, maxIterations: Int = 100,
        tolerance: Double = 1e-10, experiment: String = "breast-cancer", registerAs: String? = nil
    ) {
        self.dataPath = dataPath
        self.testSize = testSize
        self.seed = seed
        self.c = c
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.experiment = experiment
        self.registerAs = registerAs
    }

    var params: [Param] {
        [
            Param(key: "model_type", value: "logistic_regression"), Param(key: "C", value: JSONValue.ecmaScriptNumber(c)),
            Param(key: "max_iter", value: String(maxIterations)), Param(key: "tolerance", value: JSONValue.ecmaScriptNumber(tolerance)),
            Param(key: "test_size", value: JSONValue.ecmaScriptNumber(testSize)), Param(key: "seed", value: String(seed)),
            Param(key: "solver", value: "newton-cholesky"), Param(key: "threshold", value: "0.5"),
        ]
    }
}

/// The outcome of one training run.
public struct TrainingResult: Sendable, Codable {
    public var runID: RunID
    public var runName: String
    public var experimentID: ExperimentID
    public var dataSource: String
    public var dataSHA256: Digest
    public var rows: Int
    public var features: Int
    public var trainRows: Int
    public var testRows: Int
    public var metrics: [String: Double]
    public var modelSHA256: Digest
    public var environmentSHA256: Digest
    public var gitCommit: String
    public var artifacts: [String]
    public var registered: ModelVersion?

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", runName = "run_name", experimentID = "experiment_id", dataSource = "data_source", dataSHA256 = "data_sha256"
        case rows, features, trainRows = "train_rows", testRows = "test_rows", metrics, modelSHA256 = "model_sha256"
        case environmentSHA256 = "environment_sha256", gitCommit = "git_commit", artifacts, registered
    }
}

/// The training pipeline behind `trail train` and `trail reproduce`: named steps (load_data,
/// split, train, evaluate, package), each recorded with its inputs and outputs under
/// `steps/<step>/<output>.json` and summarised in `steps/lineage.json`, so any output can be
/// loaded back by step and name. Business rules live here; the CLI only calls it.
public struct TrainingPipeline: Sendable {
    /// Where the run is recorded, and as whom: a home folder, or a server (the pipeline trains
    /// on this machine and logs everything there).
    public let client: any TrailClient

    public static let steps = ["load_data", "split", "train", "evaluate", "package"]
    public static let metricKeys = ["accuracy", "precision", "recall", "f1", "roc_auc"]
    static let bundledSource = "bundled:breast_cancer.csv"

    public init(client: any TrailClient) { self.client = client }

    /// The bytes and recorded source of the data set `path` names (see `TrainingConfig.dataPath`).
    public static func loadData(_ path: String?) throws -> (bytes: [UInt8], source: String) {
        if path == bundledSource || path == nil {
            let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("data/breast_cancer.csv")
            if path == nil, let data = try? Data(contentsOf: local) { return (Array(data), local.standardizedFileURL.path) }
            guard let url = Bundle.module.url(forResource: "breast_cancer", withExtension: "csv"), let data = try? Data(contentsOf: url) else {
                throw TrailError(.resourceDoesNotExist, "the bundled breast_cancer.csv is missing from this build; pass --data", field: "data")
            }
            return (Array(data), bundledSource)
        }
        let url = URL(fileURLWithPath: path!).standardizedFileURL
        guard let data = try? Data(contentsOf: url) else {
            throw TrailError(.resourceDoesNotExist, "cannot read the data file \(url.path)", field: "data")
        }
        return (Array(data), url.path)
    }

    /// Trains, evaluates and packages a model, logging every piece of evidence to a new run.
    /// Bad parameters are refused before anything is written; a failure after the run exists
    /// marks it FAILED with the error (tags `error` and `failed_step`).
    public func train(
        _ config: TrainingConfig, environment: TrainingEnvironment, rebuildOf: RunID? = nil, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> TrainingResult {
        let solver = try LogisticRegression(c: config.c, maxIterations: config.maxIterations, tolerance: config.tolerance)
        guard config.testSize > 0, config.testSize < 1 else {
            throw TrailError.invalid("test_size", "the test fraction must be strictly between 0 and 1, got \(config.testSize)")
        }
        if let name = config.registerAs { try RegistryService.checkName(name, field: "register") }
        let (bytes, source) = try Self.loadData(config.dataPath)
        let dataDigest = Digest.of(bytes)

        let experiment = try await client.experiment(orCreate: config.experiment)
        let now = Date(timeIntervalSince1970: Double(client.nowMillis()) / 1000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmm"
        let short = environment.gitCommit.allSatisfy(\.isHexDigit) ? String(environment.gitCommit.prefix(7)) : "nogit"
        let runName = "product-model-\(formatter.string(from: now))-\(short)"
        var tags = environment.tags + [
            Tag(key: "mlflow.source.type", value: "LOCAL"), Tag(key: "mlflow.source.name", value: "trail train"),
            Tag(key: "pipeline", value: "trail.train/v1"), Tag(key: "data_sha256", value: dataDigest.description),
        ]
        if let rebuildOf { tags.append(Tag(key: "rebuild_of", value: rebuildOf.value)) }
        let run = try await client.createRun(NativeAPI.CreateRun(experimentID: experiment.id, runName: runName, tags: tags))
        let runID = run.info.runID
        progress("run \(runID) (\(runName)) in experiment \(experiment.name)")
        var recorder = StepRecorder(client: client, runID: runID)
        do {
            return try await execute(
                config, solver: solver, bytes: bytes, source: source, dataDigest: dataDigest, runID: runID, runName: runName,
                experimentID: experiment.id, owner: run.info.userID, environment: environment, recorder: &recorder, progress: progress)
        } catch {
            let message = (error as? TrailError)?.message ?? "\(error)"
            try? await client.logBatch(
                runID, NativeAPI.LogBatch(tags: [Tag(key: "error", value: String(message.prefix(4000))), Tag(key: "failed_step", value: recorder.current)]))
            _ = try? await client.updateRun(runID, NativeAPI.UpdateRun(status: .failed, endTime: client.nowMillis()))
            progress("✗ \(recorder.current) failed: \(message)")
            throw error
        }
    }

    private func execute(
        _ config: TrainingConfig, solver: LogisticRegression, bytes: [UInt8], source: String, dataDigest: Digest, runID: RunID, runName: String,
        experimentID: ExperimentID, owner: String, environment: TrainingEnvironment, recorder: inout StepRecorder, progress: @Sendable (String) -> Void
    ) async throws -> TrainingResult {
        // load_data
        recorder.begin("load_data", inputs: ["data": .string(dataDigest.description), "source": .string(source)])
        let table = try LabeledTable.parseCSV(bytes)
        var input = try CSVDatasetProfiler.describe(bytes: bytes, name: "breast_cancer", source: source, context: "training")
        input.sourceType = source == Self.bundledSource ? "bundled" : "local"
        try await client.logInputs(runID, [input])
        try await client.logBatch(runID, NativeAPI.LogBatch(params: config.params))
        let schema = JSONValue.array(table.featureNames.map { ["name": .string($0), "type": "double"] } + [["name": "target", "type": "integer"]])
        let datasetFacts: JSONValue = [
            "sha256": .string(dataDigest.description), "source": .string(source), "rows": .int(Int64(table.count)),
            "features": .int(Int64(table.featureNames.count)), "schema": schema,
            "class_counts": ["0": .int(Int64(table.labels.filter { $0 == 0 }.count)), "1": .int(Int64(table.labels.filter { $0 == 1 }.count))],
        ]
        try await recorder.output("dataset", datasetFacts)
        progress("✓ load_data  \(table.count) rows × \(table.featureNames.count) features, \(dataDigest)")

        // split
        recorder.begin("split", inputs: ["dataset": recorder.digest("load_data", "dataset")])
        let split = try StratifiedSplit(labels: table.labels, testFraction: config.testSize, seed: config.seed)
        let train = table.subset(split.train), test = table.subset(split.test)
        let profiles = table.featureNames.indices.map { j in FeatureProfile(name: table.featureNames[j], values: train.rows.map { $0[j] }) }
        let profileJSON = Self.profileJSON(profiles)
        try await recorder.output(
            "split",
            [
                "seed": .int(Int64(config.seed)), "test_size": .double(config.testSize), "train": .array(split.train.map { .int(Int64($0)) }),
                "test": .array(split.test.map { .int(Int64($0)) }),
            ])
        try await recorder.output("train_profile", profileJSON)
        progress("✓ split      \(split.train.count) train / \(split.test.count) test (stratified, seed \(config.seed))")

        // train
        recorder.begin("train", inputs: ["split": recorder.digest("split", "split"), "dataset": recorder.digest("load_data", "dataset")])
        let scaler = StandardScaler(fitting: train.rows)
        let fit = solver.fit(train.rows.map(scaler.transform), train.labels)
        guard fit.converged else {
            throw TrailError.invalid(
                "max_iter", "the solver did not reach the tolerance \(config.tolerance) in \(config.maxIterations) iterations (gradient \(fit.gradientNorm))")
        }
        let model = LinearModel(featureNames: table.featureNames, scaler: scaler, coefficients: fit.coefficients, intercept: fit.intercept)
        let modelBytes = model.bytes
        let modelDigest = Digest.of(modelBytes)
        try await recorder.output("model", model.json)
        try await recorder.output(
            "fit", ["iterations": .int(Int64(fit.iterations)), "gradient_max_abs": .double(fit.gradientNorm), "converged": .bool(fit.converged)])
        progress("✓ train      Newton converged in \(fit.iterations) iterations; model \(modelDigest)")

        // evaluate
        recorder.begin("evaluate", inputs: ["model": recorder.digest("train", "model"), "split": recorder.digest("split", "split")])
        let scores = test.rows.map(model.probability)
        let metrics = BinaryMetrics(labels: test.labels, scores: scores, threshold: model.threshold)
        let values: [String: Double] = [
            "accuracy": metrics.accuracy, "precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1, "roc_auc": metrics.rocAUC,
        ]
        let time = client.nowMillis()
        try await client.logBatch(
            runID, NativeAPI.LogBatch(metrics: Self.metricKeys.map { Metric(key: $0, value: values[$0]!, timestampMillis: time, step: 0) }))
        let metricsJSON = JSONValue.object(values.mapValues(JSONValue.double))
        try await recorder.output(
            "metrics", ["held_out": metricsJSON, "confusion_matrix": .array(metrics.confusion.map { .array($0.map { .int(Int64($0)) }) })])
        progress(
            "✓ evaluate   accuracy \(String(format: "%.4f", metrics.accuracy))  roc_auc \(String(format: "%.4f", metrics.rocAUC))  f1 \(String(format: "%.4f", metrics.f1))"
        )

        // package
        recorder.begin("package", inputs: ["model": recorder.digest("train", "model"), "metrics": recorder.digest("evaluate", "metrics")])
        let example = JSONValue.object(Dictionary(uniqueKeysWithValues: zip(table.featureNames, test.rows[0].map(JSONValue.double))))
        let signature: JSONValue = [
            "inputs": .array(table.featureNames.map { ["name": .string($0), "type": "double"] }),
            "outputs": [
                ["name": "probability_positive_class", "type": "double"], ["name": "prediction", "type": "integer"],
                ["name": "prediction_label", "type": "string"],
            ],
            "positive_class": 1, "positive_label": "benign",
        ]
        let manifest: JSONValue = [
            "run_id": .string(runID.value), "run_name": .string(runName), "data_sha256": .string(dataDigest.description),
            "data_shape": ["rows": .int(Int64(table.count)), "features": .int(Int64(table.featureNames.count))],
            "split": ["train": .int(Int64(split.train.count)), "test": .int(Int64(split.test.count)), "seed": .int(Int64(config.seed))],
            "metrics": metricsJSON, "model_sha256": .string(modelDigest.description), "git_commit": .string(environment.gitCommit),
            "environment_sha256": .string(environment.digest.description),
        ]
        let repro: JSONValue = [
            "format": "modeltrail.repro/v1", "run_id": .string(runID.value), "pipeline": "trail train",
            "data": [
                "source": .string(source), "sha256": .string(dataDigest.description), "rows": .int(Int64(table.count)),
                "features": .int(Int64(table.featureNames.count)),
            ],
            "params": [
                "C": .double(config.c), "max_iter": .int(Int64(config.maxIterations)), "tolerance": .double(config.tolerance),
                "test_size": .double(config.testSize), "seed": .int(Int64(config.seed)), "experiment": .string(config.experiment),
            ],
            "expected": ["model_sha256": .string(modelDigest.description), "metrics": metricsJSON],
            "environment": environment.json, "environment_sha256": .string(environment.digest.description),
        ]
        let files: [(String, [UInt8])] = [
            ("model/model.json", modelBytes),
            ("model/signature.json", signature.canonicalBytes),
            ("model/input_example.json", example.canonicalBytes),
            ("model/training_profile.json", profileJSON.canonicalBytes),
            ("input_example.json", example.canonicalBytes),
            ("confusion_matrix.svg", EvidenceRenderers.confusionSVG(metrics.confusion, title: "Confusion matrix, held-out set (n = \(test.count))")),
            ("confusion_matrix.png", EvidenceRenderers.confusionPNG(metrics.confusion)),
            ("classification_report.json", EvidenceRenderers.classificationReport(metrics).canonicalBytes),
            ("classification_report.txt", Array(EvidenceRenderers.classificationReportText(metrics).utf8)),
            ("run_manifest.json", manifest.canonicalBytes),
            (
                "model_card.md",
                Array(
                    ModelCard.render(
                        runID: runID, runName: runName, owner: owner, source: source, dataDigest: dataDigest, rows: table.count,
                        features: table.featureNames.count, trainRows: split.train.count, testRows: split.test.count, metrics: values,
                        confusion: metrics.confusion, config: config, modelDigest: modelDigest, environment: environment
                    ).utf8)
            ),
            ("repro/manifest.json", repro.canonicalBytes),
            ("repro/run.sh", Array(Self.runScript(runID: runID, source: source, dataDigest: dataDigest, config: config).utf8)),
        ]
        var written: [String: JSONValue] = [:]
        for (path, content) in files {
            let entry = try await client.putArtifact(runID, path: try ArtifactPath(validating: path), bytes: content)
            written[path] = .string(entry.digest.description)
        }
        try await recorder.output("files", .object(written))
        try await client.setTag(runID, key: "model_sha256", value: modelDigest.description)
        progress("✓ package    \(files.count) files: model/, evidence, repro/ bundle")
        try await recorder.finish()

        var registered: ModelVersion?
        if let name = config.registerAs {
            registered = try await client.registerVersion(
                name: name, runID: runID, path: "model", description: "trained by trail train, run \(runName)")
            progress("✓ registered \(name) version \(registered!.version) (root \(registered!.manifest.root))")
        }
        _ = try await client.updateRun(runID, NativeAPI.UpdateRun(status: .finished, endTime: client.nowMillis()))
        return TrainingResult(
            runID: runID, runName: runName, experimentID: experimentID, dataSource: source, dataSHA256: dataDigest, rows: table.count,
            features: table.featureNames.count, trainRows: split.train.count, testRows: split.test.count, metrics: values,
            modelSHA256: modelDigest, environmentSHA256: environment.digest, gitCommit: environment.gitCommit,
            artifacts: files.map(\.0) + recorder.paths, registered: registered)
    }

    static func profileJSON(_ profiles: [FeatureProfile]) -> JSONValue {
        [
            "format": "modeltrail.feature_profile/v1",
            "features": .array(
                profiles.map { p in
                    [
                        "name": .string(p.name), "count": .int(Int64(p.count)), "mean": .double(p.mean), "std": .double(p.std), "min": .double(p.min),
                        "max": .double(p.max), "edges": .array(p.edges.map(JSONValue.double)), "counts": .array(p.counts.map { .int(Int64($0)) }),
                    ]
                }),
        ]
    }

    static func runScript(runID: RunID, source: String, dataDigest: Digest, config: TrainingConfig) -> String {
        """
        #!/bin/sh
        # Rebuilds run \(runID) from its recorded inputs and compares the model digest and every metric.
        #   data    \(source)
        #           \(dataDigest)
        #   params  C=\(JSONValue.ecmaScriptNumber(config.c)) max_iter=\(config.maxIterations) tolerance=\(JSONValue.ecmaScriptNumber(config.tolerance)) test_size=\(JSONValue.ecmaScriptNumber(config.testSize)) seed=\(config.seed)
        # Prints REPRODUCED or DIFFERS (exit 1) with the differences; the rebuild is a new run tagged rebuild_of.
        set -eu
        exec "${TRAIL:-trail}" reproduce \(runID.value) "$@"

        """
    }

    /// Loads a step's output back, by step and name (e.g. `train`, `model`).
    public func stepOutput(runID: RunID, step: String, name: String) async throws -> JSONValue {
        try await stepFile(runID, "steps/\(step)/\(name).json")
    }

    /// `steps/lineage.json`: every step with its inputs and outputs (path and digest).
    public func stepLineage(runID: RunID) async throws -> JSONValue {
        try await stepFile(runID, "steps/lineage.json")
    }
}

/// Records each step's inputs and outputs as artifacts and, at the end, `steps/lineage.json`.
struct StepRecorder {
    let client: any TrailClient
    let runID: RunID
    private(set) var current = "setup"
    private var lineage: [JSONValue] = []
    private var inputs: JSONValue = .object([:])
    private var outputs: [String: JSONValue] = [:]
    private var digests: [String: JSONValue] = [:]
    private(set) var paths: [String] = []

    init(client: any TrailClient, runID: RunID) {
        self.client = client
        self.runID = runID
    }

    mutating func begin(_ step: String, inputs: JSONValue) {
        closeStep()
        current = step
        self.inputs = inputs
    }

    mutating func output(_ name: String, _ value: JSONValue) async throws {
        let path = "steps/\(current)/\(name).json"
        let entry = try await client.putArtifact(runID, path: try ArtifactPath(validating: path), bytes: value.canonicalBytes)
        outputs[name] = ["path": .string(path), "digest": .string(entry.digest.description)]
        digests["\(current)/\(name)"] = .string(entry.digest.description)
        paths.append(path)
    }

    func digest(_ step: String, _ name: String) -> JSONValue { digests["\(step)/\(name)"] ?? .null }

    private mutating func closeStep() {
        guard current != "setup" else { return }
        lineage.append(["step": .string(current), "inputs": inputs, "outputs": .object(outputs)])
        outputs = [:]
    }

    mutating func finish() async throws {
        closeStep()
        current = "finish"
        let document: JSONValue = ["format": "modeltrail.steps/v1", "run_id": .string(runID.value), "steps": .array(lineage)]
        _ = try await client.putArtifact(runID, path: try ArtifactPath(validating: "steps/lineage.json"), bytes: document.canonicalBytes)
        paths.append("steps/lineage.json")
    }
}
