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
    /// A column of the data that is time, not a feature: its range is recorded (`data_time_range`).
    public var timeColumn: String?
    /// Subgroups of the held-out rows whose metrics are logged (`mean_radius>=15`).
    public var subgroups: [String]
    /// The provenance standard's fields `trail train` cannot detect.
    public var provenance: ProvenanceInputs

    public init(
        dataPath: String? = nil, testSize: Double = 0.2, seed: UInt64 = 42, c: Double = 1.0, maxIterations: Int = 100,
        tolerance: Double = 1e-10, experiment: String = "breast-cancer", registerAs: String? = nil, timeColumn: String? = nil,
        subgroups: [String] = [], provenance: ProvenanceInputs = ProvenanceInputs()
    ) {
        self.timeColumn = timeColumn
        self.subgroups = subgroups
        self.provenance = provenance
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
        ] + (timeColumn.map { [Param(key: "time_column", value: $0)] } ?? [])
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
        try config.provenance.check()
        let subgroups = try config.subgroups.map(Subgroup.init(parsing:))
        guard subgroups.count <= 20 else { throw TrailError.invalid("subgroup", "at most 20 subgroups") }
        let (bytes, source) = try Self.loadData(config.dataPath)
        let dataDigest = Digest.of(bytes)
        // Names are checked against the data before a run exists.
        let header = Set(
            (String(decoding: bytes.prefix(1 << 20), as: UTF8.self).split(separator: "\n").first ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            })
        for subgroup in subgroups where !header.contains(subgroup.feature) || subgroup.feature == config.timeColumn {
            throw TrailError.invalid("subgroup", "'\(subgroup.feature.prefix(60))' is not a feature of the data")
        }
        var timeRange: String?
        if let column = config.timeColumn { timeRange = try ProvenanceProbe.timeRange(bytes, column: column) }

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
                experimentID: experiment.id, owner: run.info.userID, environment: environment, subgroups: subgroups, timeRange: timeRange,
                recorder: &recorder, progress: progress)
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
        experimentID: ExperimentID, owner: String, environment: TrainingEnvironment, subgroups: [Subgroup], timeRange: String?,
        recorder: inout StepRecorder, progress: @Sendable (String) -> Void
    ) async throws -> TrainingResult {
        // load_data
        recorder.begin("load_data", inputs: ["data": .string(dataDigest.description), "source": .string(source)])
        let table = try LabeledTable.parseCSV(bytes, ignoring: Set(config.timeColumn.map { [$0] } ?? []))
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
        let provenanceTags = Self.provenanceTags(
            config, environment: environment, source: source, dataDigest: dataDigest, datasetName: input.name, timeRange: timeRange,
            trainRows: split.train.count, testRows: split.test.count)
        try await client.logBatch(runID, NativeAPI.LogBatch(tags: provenanceTags))

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

        // Subgroups: the five metrics inside each and in the rest, and the largest gap.
        var subgroupFiles: [(String, [UInt8])] = []
        if !subgroups.isEmpty {
            let report = try Self.subgroupReport(subgroups, table: table, test: test, scores: scores, threshold: model.threshold)
            let time = client.nowMillis()
            try await client.logBatch(
                runID,
                NativeAPI.LogBatch(
                    metrics: report.metrics.map { Metric(key: $0.key, value: $0.value, timestampMillis: time, step: 0) },
                    tags: [Tag(key: "fairness.max_gap_subgroup", value: report.largest.subgroup), Tag(key: "fairness.max_gap_metric", value: report.largest.metric)]))
            try await recorder.output("subgroups", report.json)
            subgroupFiles.append(("evaluation/subgroups.json", report.json.canonicalBytes))
            progress(
                "✓ subgroups  \(subgroups.count): largest gap \(String(format: "%.4f", report.largest.gap)) (\(report.largest.metric) in \(report.largest.subgroup))")
        }

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
                "time_column": config.timeColumn.map(JSONValue.string) ?? .null, "subgroups": .array(config.subgroups.map(JSONValue.string)),
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
        ] + subgroupFiles + (config.provenance.sbom.map { [("sbom/sbom.json", $0)] } ?? [])
            + (config.provenance.securityReport.map { [("reports/security/\($0.name)", $0.bytes)] } ?? [])
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

extension TrainingPipeline {
    /// The provenance standard's fields, as `modeltrail.*` tags: what this process can detect
    /// (commit, remote, CI pipeline and job, hardware, container, data snapshot) and what it was told.
    static func provenanceTags(
        _ config: TrainingConfig, environment: TrainingEnvironment, source: String, dataDigest: Digest, datasetName: String, timeRange: String?,
        trainRows: Int, testRows: Int
    ) -> [Tag] {
        let env = ProcessInfo.processInfo.environment
        func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
        var fields: [(String, String?)] = []
        fields.append(("git_sha", environment.gitCommit.allSatisfy(\.isHexDigit) ? environment.gitCommit : nil))
        fields.append(("repo_url", environment.gitRemote == "none" ? nil : environment.gitRemote))
        fields.append(("container_digest", nonEmpty(config.provenance.containerDigest) ?? nonEmpty(env["TRAIN_IMAGE_DIGEST"]) ?? nonEmpty(env["MODELTRAIL_CONTAINER_DIGEST"])))
        fields.append(("container_runtime", ProvenanceProbe.container()))
        fields.append(("train_image_version", nonEmpty(config.provenance.trainImageVersion) ?? nonEmpty(env["TRAIN_IMAGE_VERSION"])))
        if let sbom = config.provenance.sbom, let summary = try? SBOMSummary(parsing: sbom) {
            fields += [
                ("sbom_ref", "sbom/sbom.json"), ("sbom_sha256", summary.sha256), ("sbom_format", "\(summary.format) \(summary.specVersion)"),
                ("sbom_components", String(summary.components)),
            ]
        }
        fields.append(("dataset_id", nonEmpty(config.provenance.datasetID) ?? datasetName))
        var snapshot = ProvenanceProbe.iso(Int64(Date().timeIntervalSince1970 * 1000))
        if source != bundledSource, let attributes = try? FileManager.default.attributesOfItem(atPath: source),
            let modified = attributes[.modificationDate] as? Date
        {
            snapshot = ProvenanceProbe.iso(Int64(modified.timeIntervalSince1970 * 1000))
        }
        fields.append(("dataset_snapshot_at", snapshot))
        fields.append(("dataset_hash", dataDigest.description))
        fields.append(("feature_groups", config.provenance.featureGroups.isEmpty ? nil : config.provenance.featureGroups.joined(separator: ",")))
        fields.append(("data_time_range", timeRange ?? nonEmpty(config.provenance.dataTimeRange)))
        let execution = ProvenanceProbe.execution(env)
        fields.append(("orchestrator", execution.orchestrator ?? "trail train"))
        fields.append(("pipeline_id", nonEmpty(execution.pipeline) ?? "trail.train/v1"))
        fields.append(("job_id", nonEmpty(execution.job)))
        fields.append(("seeds", "split=\(config.seed)"))
        fields.append(
            ("train_val_test_split", "train=\(trainRows),test=\(testRows) (stratified, test_size=\(JSONValue.ecmaScriptNumber(config.testSize)), seed=\(config.seed))"))
        fields.append(("hardware", ProvenanceProbe.hardware()))
        fields.append(("egress_policy", config.provenance.egressPolicy))
        var tags = fields.compactMap { name, value in value.map { Tag(key: "modeltrail.\(name)", value: String($0.prefix(1000))) } }
        if let decision = config.provenance.securityDecision {
            tags.append(Tag(key: "security_decision", value: decision))
            if let report = config.provenance.securityReport {
                tags.append(Tag(key: "security_report", value: "reports/security/\(report.name) \(Digest.of(report.bytes))"))
            }
        }
        return tags
    }

    struct SubgroupReport {
        var metrics: [String: Double]
        var largest: (gap: Double, subgroup: String, metric: String)
        var json: JSONValue
    }

    /// Metrics inside each subgroup of the held-out rows and in the rest; gaps are |inside − rest|.
    static func subgroupReport(_ subgroups: [Subgroup], table: LabeledTable, test: LabeledTable, scores: [Double], threshold: Double) throws
        -> SubgroupReport
    {
        var metrics: [String: Double] = [:]
        var largest: (gap: Double, subgroup: String, metric: String) = (0, "", "")
        var entries: [JSONValue] = []
        func five(_ m: BinaryMetrics) -> [String: Double] {
            ["accuracy": m.accuracy, "precision": m.precision, "recall": m.recall, "f1": m.f1, "roc_auc": m.rocAUC]
        }
        func json(_ values: [String: Double]) -> JSONValue { .object(values.mapValues { $0.isFinite ? .double($0) : .null }) }
        for subgroup in subgroups {
            guard let j = table.featureNames.firstIndex(of: subgroup.feature) else {
                throw TrailError.invalid("subgroup", "'\(subgroup.feature.prefix(60))' is not a feature of the data")
            }
            let inside = test.rows.indices.filter { subgroup.contains(test.rows[$0][j]) }
            let rest = test.rows.indices.filter { !subgroup.contains(test.rows[$0][j]) }
            guard !inside.isEmpty, !rest.isEmpty else {
                throw TrailError.invalid(
                    "subgroup", "'\(subgroup.text)' holds \(inside.count) of the \(test.count) held-out rows; it and the rest must each hold at least one")
            }
            let a = five(BinaryMetrics(labels: inside.map { test.labels[$0] }, scores: inside.map { scores[$0] }, threshold: threshold))
            let b = five(BinaryMetrics(labels: rest.map { test.labels[$0] }, scores: rest.map { scores[$0] }, threshold: threshold))
            var gaps: [String: Double] = [:]
            for key in metricKeys {
                metrics["subgroup.\(subgroup.slug).\(key)"] = a[key]!
                metrics["subgroup.\(subgroup.slug).rest.\(key)"] = b[key]!
                let gap = abs(a[key]! - b[key]!)
                gaps[key] = gap
                if gap.isFinite, gap > largest.gap || largest.subgroup.isEmpty { largest = (gap, subgroup.text, key) }
            }
            entries.append([
                "subgroup": .string(subgroup.text), "slug": .string(subgroup.slug), "rows": .int(Int64(inside.count)), "rest_rows": .int(Int64(rest.count)),
                "metrics": json(a), "rest": json(b), "gaps": json(gaps),
            ])
        }
        metrics["fairness.max_gap"] = largest.gap
        let document: JSONValue = [
            "subgroups": .array(entries),
            "largest_gap": ["value": .double(largest.gap), "subgroup": .string(largest.subgroup), "metric": .string(largest.metric)],
            "gap": "|metric inside the subgroup − metric in the rest of the held-out rows|",
        ]
        return SubgroupReport(metrics: metrics, largest: largest, json: document)
    }
}
