import ArgumentParser
import Foundation
import TrailCore
import TrailService

/// Progress lines on standard error when it is a terminal or text output is wanted; silent
/// with --json so scripts read one JSON document from standard output.
struct StepProgress {
    let enabled: Bool
    init(_ options: GlobalOptions) { enabled = !options.json }
    var say: @Sendable (String) -> Void {
        let enabled = enabled
        return { line in if enabled { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
    }
}

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the breast-cancer classifier with full evidence (steps, metrics, evidence files, provenance, repro bundle).",
        discussion: """
            Defaults reproduce the classic set-up: the Breast Cancer Wisconsin CSV (data/breast_cancer.csv in the working
            directory, else the copy bundled with trail), test fraction 0.2, seed 42, C 1.0. Code provenance is read from the
            git work tree of the working directory.
            """)
    @OptionGroup var options: GlobalOptions
    @Option(help: "The CSV to train on (30 numeric features and a 0/1 'target').") var data: String?
    @Option(name: .customLong("test-size"), help: "Held-out fraction, strictly between 0 and 1.") var testSize: Double = 0.2
    @Option var seed: UInt64 = 42
    @Option(name: .customLong("C"), help: "Inverse L2 regularisation strength (> 0).") var c: Double = 1.0
    @Option(name: .customLong("max-iter")) var maxIter: Int = 100
    @Option var tolerance: Double = 1e-10
    @Option(help: "Experiment name (created if missing).") var experiment: String = "breast-cancer"
    @Option(help: "Register the model as a new version of this registered model.") var register: String?
    @Option(help: "Log the five metrics inside a subgroup of the held-out rows and in the rest, e.g. \"mean_radius>=15\" (repeatable); the largest gap is fairness.max_gap.")
    var subgroup: [String] = []
    @Option(name: .customLong("time-column"), help: "A column that is time, not a feature: its range is recorded as data_time_range.")
    var timeColumn: String?
    @Option(name: .customLong("data-time-range"), help: "The period the data covers (FROM/TO), when no time column says it.")
    var dataTimeRange: String?
    @Option(help: "A CycloneDX or SPDX JSON SBOM of the training image, logged as sbom/sbom.json and summarised.") var sbom: String?
    @Option(name: .customLong("egress-policy"), help: "on or off: whether the job could reach the network.") var egressPolicy: String?
    @Option(name: .customLong("feature-groups"), help: "Feature groups read, with versions (comma-separated).") var featureGroups: String?
    @Option(name: .customLong("dataset-id"), help: "The dataset's id (default: its name).") var datasetID: String?
    @Option(name: .customLong("container-digest"), help: "The training image's digest (default: $TRAIN_IMAGE_DIGEST).") var containerDigest: String?
    @Option(name: .customLong("train-image-version"), help: "The training image's version (default: $TRAIN_IMAGE_VERSION).")
    var trainImageVersion: String?
    @Option(name: .customLong("security-decision"), help: "The security pipeline's verdict, PASS, FAIL or REVIEW (frozen once the run ends).")
    var securityDecision: String?
    @Option(name: .customLong("security-report"), help: "The report behind --security-decision, logged under reports/security/.")
    var securityReport: String?
    @Option(
        name: .customLong("openlineage-url"),
        help: "Also send the run to this OpenLineage receiver (e.g. Marquez) as RunEvents; what cannot be sent now is sent by the next train or server on this home (default: $TRAIL_OPENLINEAGE_URL; token from $TRAIL_OPENLINEAGE_API_KEY).")
    var openLineageURL: String?

    func run() async throws {
        try await runReporting(options) {
            let environment = ProcessInfo.processInfo.environment
            let receiver = openLineageURL ?? environment["TRAIL_OPENLINEAGE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            if receiver != nil, options.serverURL != nil, openLineageURL != nil {
                throw TrailError.invalid("openlineage-url", "with --server the server sends its runs: start it with --openlineage-url")
            }
            let client = try await options.backend()
            var sbomBytes: [UInt8]?
            if let sbom {
                guard let data = FileManager.default.contents(atPath: sbom) else { throw TrailError.invalid("sbom", "cannot read \(sbom)") }
                sbomBytes = Array(data)
            }
            var report: (name: String, bytes: [UInt8])?
            if let securityReport {
                guard let data = FileManager.default.contents(atPath: securityReport) else {
                    throw TrailError.invalid("security-report", "cannot read \(securityReport)")
                }
                report = (URL(fileURLWithPath: securityReport).lastPathComponent, Array(data))
            }
            let provenance = ProvenanceInputs(
                sbom: sbomBytes, egressPolicy: egressPolicy, featureGroups: (featureGroups ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty }, datasetID: datasetID, dataTimeRange: dataTimeRange, containerDigest: containerDigest,
                trainImageVersion: trainImageVersion, securityDecision: securityDecision, securityReport: report)
            let config = TrainingConfig(
                dataPath: data, testSize: testSize, seed: seed, c: c, maxIterations: maxIter, tolerance: tolerance, experiment: experiment,
                registerAs: register, timeColumn: timeColumn, subgroups: subgroup, provenance: provenance)
            let result = try await TrainingPipeline(client: client).train(
                config, environment: TrainingEnvironment.probe(), progress: StepProgress(options).say)
            if let receiver, let local = client as? LocalClient {
                let home = local.home
                let forwarder = try OpenLineageForwarder(
                    emitter: OpenLineageEmitter(tracking: home.tracking, registry: home.registry, ledger: home.ledger), url: receiver,
                    apiKey: environment["TRAIL_OPENLINEAGE_API_KEY"])
                let pass = try await forwarder.drain()
                let line =
                    pass.failed
                    ? "openlineage: \(pass.delivered) events sent to \(receiver); the rest waits (\(pass.cursor.lastError ?? "failed")) and is sent by the next train or server on this home"
                    : "openlineage: \(pass.delivered) events sent to \(receiver)"
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            if options.json { return Output.printJSON(result) }
            print("run        \(result.runID)  \(result.runName)")
            print("data       \(result.dataSHA256)  \(result.rows) rows × \(result.features) features  (\(result.dataSource))")
            print("model      \(result.modelSHA256)")
            print("metrics    " + TrainingPipeline.metricKeys.map { "\($0)=\(String(format: "%.4f", result.metrics[$0]!))" }.joined(separator: " "))
            if let version = result.registered { print("registered \(version.name) version \(version.version)  root \(version.manifest.root)") }
            print("reproduce  trail reproduce \(result.runID)" + (options.serverURL.map { " --server \($0)" } ?? ""))
        }
    }
}

struct ReproduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce", abstract: "Rebuild a run (trail reproduce RUN_ID) or re-score a prediction (trail reproduce prediction ID).",
        subcommands: [ReproduceRun.self, ReproducePrediction.self], defaultSubcommand: ReproduceRun.self)
}

struct ReproducePrediction: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prediction",
        abstract: "Re-score a logged prediction with its exact model version; checks the input digest and the output (exit 1 if DIFFERS).")
    @OptionGroup var options: GlobalOptions
    @Argument var predictionID: String
    @Option(help: "The input row as JSON (feature → value); default: the stored row, if the deployment kept inputs.") var input: String?
    @Option(help: "MLflow models: the Python interpreter to re-score with (mlflow and the model's requirements installed).")
    var python: String = ProcessInfo.processInfo.environment["TRAIL_PYTHON"] ?? "python3"

    func run() async throws {
        try await runReporting(options) {
            let client = try await options.backend()
            var row: [String: JSONValue]?
            if let input {
                let value = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: input))))
                if case .object(let members) = value {
                    row = members
                    if case .object(let inner)? = members["features"], members.count == 1 { row = inner }
                } else {
                    throw TrailError.invalid("input", "the input file must hold one JSON object of feature → value")
                }
            }
            // Re-scored here, with the exact version's files fetched by digest and checked; the
            // result is recorded where the prediction is.
            let check = try await PyfuncPool.$interpreter.withValue(python) { try await client.rescore(predictionID: predictionID, input: row) }
            if options.json {
                Output.printJSON(check)
            } else {
                print(check.outcome)
                for difference in check.differences { print("  ✗ \(difference)") }
                if let p = check.probability { print("probability_positive_class \(p), prediction \(check.prediction ?? -1)") }
                if let output = check.output { print("output \(output)") }
            }
            if check.outcome != "REPRODUCED" {
                for backend in OpenedBackends.shared.drain() { try await backend.finish() }
                throw ExitCode(1)
            }
        }
    }
}

struct ReproduceRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Rebuild a run from its repro bundle and compare the model digest and every metric: REPRODUCED or DIFFERS (exit 1).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The run to rebuild.") var runID: String
    @Option(help: "Read the data from here instead of the recorded source (its digest must still match).") var data: String?
    @Flag(help: "Exit 1 on any difference, the environment's included (commit, dirty flag, toolchain, OS, CPU, binary, lock).")
    var strict = false

    func run() async throws {
        try await runReporting(options) {
            let client = try await options.backend()
            let report = try await TrainingPipeline(client: client).reproduce(
                try RunID(parsing: runID), dataPath: data, environment: TrainingEnvironment.probe(), progress: StepProgress(options).say)
            if options.json {
                Output.printJSON(report)
            } else {
                print(report.verdict)
                for difference in report.differences { print("  ✗ \(difference)") }
                for difference in report.environmentDifferences { print("  ≠ \(difference)") }
                if let rebuild = report.rebuildRunID { print("rebuild run \(rebuild) (tagged rebuild_of=\(runID))") }
                print("model   expected \(report.expectedModelSHA256)" + (report.actualModelSHA256.map { "\n        rebuilt  \($0)" } ?? ""))
                if let index = report.eventIndex { print("ledger  event #\(index) (run.reproduce)") }
            }
            if !report.reproduced || (strict && !report.sameEnvironment) {
                for backend in OpenedBackends.shared.drain() { try await backend.finish() }
                throw ExitCode(1)
            }
        }
    }
}

struct StepsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steps", abstract: "A training run's steps with their inputs and outputs; with STEP NAME, load that output back.")
    @OptionGroup var options: GlobalOptions
    @Argument var runID: String
    @Argument var step: String?
    @Argument var name: String?

    func run() async throws {
        try await runReporting(options) {
            let pipeline = TrainingPipeline(client: try await options.backend())
            let id = try RunID(parsing: runID)
            if let step {
                guard let name else { throw TrailError.invalid("name", "give the output's name too, e.g. trail steps RUN train model") }
                let value = try await pipeline.stepOutput(runID: id, step: step, name: name)
                return print(options.json ? value.canonicalString : String(decoding: try JSONSerialization.data(
                    withJSONObject: try JSONSerialization.jsonObject(with: Data(value.canonicalBytes)), options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            }
            let lineage = try await pipeline.stepLineage(runID: id)
            if options.json { return print(lineage.canonicalString) }
            guard case .array(let steps)? = lineage["steps"] else { return }
            for item in steps {
                print(item["step"]?.stringValue ?? "?")
                if case .object(let inputs)? = item["inputs"] {
                    for (key, value) in inputs.sorted(by: { $0.key < $1.key }) { print("  in   \(key)  \(value.stringValue ?? value.canonicalString)") }
                }
                if case .object(let outputs)? = item["outputs"] {
                    for (key, value) in outputs.sorted(by: { $0.key < $1.key }) {
                        print("  out  \(key)  \(value["digest"]?.stringValue ?? "")  \(value["path"]?.stringValue ?? "")")
                    }
                }
            }
        }
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole story in one command: train, register, stage, gate, attest, approve, promote, verify, trace.")
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReporting(options) {
            let client = try await options.backend()
            let say = StepProgress(options).say
            say("ModelTrail demo in \(client.location)")
            // Locally the trainer key lives in the home; against a server, in the user's config folder.
            let trainerKey =
                (client as? LocalClient)?.home.url.appendingPathComponent("keys/demo-trainer.key")
                ?? AuditorStore.defaultDirectory().appendingPathComponent("demo-trainer.key")
            let outcome = try await DemoScenario(client: client, trainerKey: trainerKey).run(environment: TrainingEnvironment.probe(), say: say)
            if options.json { return Output.printJSON(outcome) }
            print("")
            TraceCommand.printLineage(outcome.lineage)
            guard outcome.verifyOK else { throw TrailError(.dataLoss, "the ledger did not verify; run trail ledger verify") }
        }
    }
}

struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Trace what stands behind a model, link by link, each with its ledger event and inclusion proof.",
        subcommands: [Model.self, Prediction.self])

    /// One link as a line: kind, event and verdict, summary, in columns that never run
    /// together (a kind longer than its column still gets a space).
    static func linkLine(_ link: LineageService.Link) -> String {
        let proof = link.eventIndex.map { "#\($0) \(link.proven ? "✓ proven" : "✗ NOT PROVEN")" } ?? "(no event)"
        return "  \(link.kind.padding(toLength: max(14, link.kind.count + 1), withPad: " ", startingAt: 0))"
            + "\(proof.padding(toLength: max(20, proof.count + 1), withPad: " ", startingAt: 0))\(link.summary)"
    }

    static func printLineage(_ lineage: LineageService.ModelLineage) {
        print("\(lineage.name)@\(lineage.reference) = version \(lineage.version)   root \(lineage.rootDigest)")
        print("  run          \(lineage.runID?.value ?? "-")")
        print("  data         \(lineage.dataSHA256 ?? "-")")
        print("  git commit   \(lineage.gitCommit ?? "-")")
        print("  environment  \(lineage.environmentSHA256 ?? "-")")
        for link in lineage.links {
            print(linkLine(link))
        }
        print("  (inclusion proofs checked against the signed checkpoint of size \(lineage.checkpointSize))")
    }

    struct Prediction: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "prediction → deployment → promotion → model version → run → dataset, commit, environment; each link proven.")
        @OptionGroup var options: GlobalOptions
        @Argument var predictionID: String

        func run() async throws {
            try await runReporting(options) {
                let trace = try await options.backend().predictionTrace(id: predictionID)
                if options.json { return Output.printJSON(trace) }
                let p = trace.prediction
                print("prediction \(p.predictionID)  \(p.outcome)  \(p.modelName) version \(p.modelVersion)  deployment \(p.deploymentID)")
                print("  input        \(p.inputDigest)" + (p.rawInput == nil ? "  (raw input not kept)" : ""))
                if let probability = p.probability { print("  output       p(positive) = \(probability), prediction \(p.prediction ?? -1)") }
                if let output = p.output { print("  output       \(output)") }
                if let error = p.error { print("  refused      \(error)") }
                print("  commit       event #\(trace.batchEventIndex), leaf \(trace.position) of \(trace.batchSize), Merkle path of \(trace.merklePath.count)")
                for link in trace.links.prefix(trace.links.count - trace.model.links.count) {
                    print(TraceCommand.linkLine(link))
                }
                TraceCommand.printLineage(trace.model)
            }
        }
    }

    struct Model: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "NAME@alias, NAME@stage or NAME@version.")
        @OptionGroup var options: GlobalOptions
        @Argument var reference: String

        func run() async throws {
            try await runReporting(options) {
                let parts = reference.split(separator: "@", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw TrailError.invalid("reference", "give NAME@alias (e.g. breast_cancer_classifier@production)") }
                let lineage = try await options.backend().modelLineage(name: parts[0], reference: parts[1])
                options.json ? Output.printJSON(lineage) : TraceCommand.printLineage(lineage)
            }
        }
    }
}

struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage", abstract: "Reverse impact (what depends on a dataset) and the job/dataset graph (OpenLineage's and ModelTrail's).",
        subcommands: [Dataset.self, Graph.self, Receivers.self])

    struct Receivers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Where delivery of this home's runs to each OpenLineage receiver stands (--openlineage-url of trail server and trail train).")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let receivers = try await options.backend().openLineageReceivers()
                if options.json { return Output.printJSON(receivers) }
                if receivers.isEmpty { return print("no OpenLineage receiver has been configured (trail server --openlineage-url URL)") }
                Output.table(
                    ["RECEIVER", "NEXT EVENT", "DELIVERED", "FAILURES", "LAST ERROR"],
                    receivers.map { [$0.receiver, String($0.nextIndex), String($0.delivered), String($0.failures), String(($0.lastError ?? "").prefix(60))] })
            }
        }
    }

    struct Graph: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The job/dataset graph around a node, as Marquez serves it: OpenLineage events accepted at POST /api/v1/lineage and ModelTrail's own runs (jobs in namespace modeltrail).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "dataset:<namespace>:<name> or job:<namespace>:<name>, e.g. dataset:file:data/breast_cancer.csv") var nodeID: String
        @Option(help: "Job hops to follow (0–100).") var depth: Int = 20

        func run() async throws {
            try await runReporting(options) {
                let graph = try await options.backend().lineageGraph(nodeID: nodeID, depth: depth)
                if options.json { return Output.printJSON(graph) }
                for node in graph.graph {
                    print("\(node.type.padding(toLength: 8, withPad: " ", startingAt: 0))\(node.id)")
                    for edge in node.inEdges { print("    ← \(edge.origin)") }
                    for edge in node.outEdges { print("    → \(edge.destination)") }
                }
            }
        }
    }

    struct Dataset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Runs, model versions, deployments and prediction counts (per time window) that depend on a dataset digest.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "sha256:… of the dataset's bytes") var digest: String
        @Option(help: "Window for prediction counts, e.g. 1h, 24h, 7d.") var window: String = "24h"

        func run() async throws {
            try await runReporting(options) {
                let impact = try await options.backend().datasetImpact(digest: digest, windowMillis: try DriftCommand.duration(window))
                if options.json { return Output.printJSON(impact) }
                print("dataset \(impact.digest): \(impact.runs.count) runs, \(impact.totalPredictions) predictions served")
                for use in impact.runs {
                    print("  run \(use.runID) \(use.runName)")
                    for version in use.versions { print("    version     \(version)") }
                    for deployment in use.deployments { print("    deployment  \(deployment)") }
                }
                if !impact.predictionsByWindow.isEmpty {
                    Output.table(
                        ["DEPLOYMENT", "MODEL VERSION", "WINDOW START", "PREDICTIONS", "REFUSED"],
                        impact.predictionsByWindow.map { [$0.deploymentID, $0.modelVersion, $0.start, String($0.predictions), String($0.refused)] })
                }
            }
        }
    }
}

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Population stability index per feature of served inputs against the training profile (warning ≥ 0.1, alert ≥ 0.25); recorded.")
    @OptionGroup var options: GlobalOptions
    @Argument var reference: String
    @Option(help: "e.g. 1h, 24h, 7d") var window: String = "24h"
    @Option(name: .customLong("min-rows"), help: "Fewest served rows for a verdict; fewer give INSUFFICIENT-DATA, which clears nothing.")
    var minRows: Int = PromotionPolicy.defaultDriftMinRows

    static func duration(_ text: String) throws -> Int64 {
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count > 0 else {
            throw TrailError.invalid("window", "a window is a positive number with s, m, h or d, e.g. 24h")
        }
        let (millis, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow else { throw TrailError.invalid("window", "the window '\(text.prefix(40))' is too long") }
        return millis
    }

    func run() async throws {
        try await runReporting(options) {
            let parts = reference.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw TrailError.invalid("reference", "give NAME@alias") }
            let report = try await options.backend().drift(
                name: parts[0], reference: parts[1], windowMillis: try Self.duration(window), minimumRows: minRows)
            if options.json { return Output.printJSON(report) }
            print("\(report.name)@\(report.reference) version \(report.version): \(report.level.uppercased()) over \(report.served) served inputs in \(window) (event #\(report.eventIndex ?? -1))")
            Output.table(
                ["FEATURE", "PSI", "LEVEL"],
                report.features.sorted { $0.psi > $1.psi }.map { [$0.name, String(format: "%.4f", $0.psi), $0.level] })
        }
    }
}
