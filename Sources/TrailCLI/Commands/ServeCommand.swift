import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TrailCore
import TrailHTTP
import TrailService

/// `trail serve NAME@alias`: a model server, separate from the tracking server, that checks
/// the model's files against its manifest, follows the registry, and logs every prediction
/// durably and provably before answering.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve a registered model (NAME@alias) with traceable predictions; follows alias moves.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "NAME@alias, NAME@stage, or NAME@version with --pinned.") var reference: String
    @Option var host: String = "127.0.0.1"
    @Option var port: Int = 8080
    @Option(name: .customLong("poll-seconds"), help: "How often to re-read the registry for alias moves.") var pollSeconds: Double = 2
    @Flag(help: "Serve a bare version number (not admitted through an alias or stage).") var pinned = false
    @Flag(name: .customLong("keep-inputs"), help: "Store raw input rows with predictions (off: privacy by default; digests only).")
    var keepInputs = false
    @Option(help: "MLflow models: the Python interpreter of the model's environment (with mlflow and the model's requirements).")
    var python: String = "python3"
    @Option(help: "MLflow models: how many Python worker processes score (1-64).") var workers: Int = 2
    @Option(help: "MLflow models: seconds a worker may take for one batch before it is replaced (the requests get 503).")
    var timeout: Double = 60
    @Option(name: .customLong("max-batch-rows"), help: "MLflow models: most rows scored in one worker call (concurrent requests are batched).")
    var maxBatchRows: Int = 2000
    @Flag(name: .customLong("allow-unsigned"), help: "MLflow models: serve a model without an input signature (recorded in the deployment event).")
    var allowUnsigned = false
    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve Prometheus /metrics (answers per version and outcome, latency, live workers) on HOST:PORT, e.g. 127.0.0.1:9465; off by default.")
    var metricsListen: String?

    func run() async throws {
        var configured = Logger(label: "modeltrail.serve")
        configured.logLevel = ProcessInfo.processInfo.environment["TRAIL_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let logger = configured
        try await runReporting(options) {
            let parts = reference.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw TrailError.invalid("reference", "give NAME@alias, e.g. breast_cancer_classifier@production") }
            guard (0...65535).contains(port) else { throw TrailError.invalid("port", "port must be 0 to 65535") }
            guard pollSeconds >= 0.1, pollSeconds <= 86_400 else { throw TrailError.invalid("poll-seconds", "poll-seconds must be 0.1 to 86400") }
            guard (1...64).contains(workers) else { throw TrailError.invalid("workers", "workers must be 1 to 64") }
            guard timeout >= 0.1, timeout <= 86_400 else { throw TrailError.invalid("timeout", "timeout must be 0.1 to 86400 seconds") }
            guard (1...100_000).contains(maxBatchRows) else { throw TrailError.invalid("max-batch-rows", "max-batch-rows must be 1 to 100000") }
            guard !python.isEmpty, !python.contains("\0") else { throw TrailError.invalid("python", "give the path or name of a Python interpreter") }
            let (name, ref) = (parts[0], parts[1])
            let home = try await options.localHome("serve", remoteAlternative: "trail serve on the machine holding the home")
            let serving = ServingService(tracking: home.tracking, registry: home.registry)
            let settings: JSONValue = [
                "reference": .string(reference), "host": .string(host), "port": .int(Int64(port)), "poll_seconds": .double(pollSeconds),
                "pinned": .bool(pinned), "keep_inputs": .bool(keepInputs), "python": .string(python), "workers": .int(Int64(workers)),
                "timeout": .double(timeout), "max_batch_rows": .int(Int64(maxBatchRows)), "allow_unsigned": .bool(allowUnsigned),
            ]
            let (server, startEvent) = try await ModelServer.start(
                serving: serving,
                configuration: .init(
                    name: name, reference: ref, pinned: pinned, keepInputs: keepInputs, settings: settings,
                    binaryDigest: TrainingEnvironment.binaryDigest(), cache: home.url.appendingPathComponent("serving", isDirectory: true),
                    workers: .init(python: python, workers: workers, timeout: timeout, maxBatchRows: maxBatchRows), allowUnsigned: allowUnsigned))
            let loaded = server.model
            let poll = pollSeconds
            // Follows the registry: switches when the reference moves, withdraws when it names
            // nothing servable. Ends with the server.
            let follower = Task.detached {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(poll))
                    if Task.isCancelled { break }
                    do {
                        try await home.ledger.checkpointIfBehind()
                        switch try await server.follow() {
                        case .unchanged: break
                        case .switched(let from, let to, let event):
                            logger.info("switched \(name)@\(ref) from version \(from.map(String.init) ?? "-") to \(to) (event #\(event))")
                        case .withdrawn(let version, let reason, let event):
                            logger.warning("withdrew \(name)@\(ref) (was version \(version)): \(reason) (event #\(event)); /predict answers 503")
                        }
                    } catch {
                        if Task.isCancelled { break }
                        logger.error("following \(name)@\(ref): \(error); still serving version \(server.model.version.version)")
                    }
                }
            }
            let metrics = TrailMetrics()
            let app = Application(
                router: ServingApplication.router(server: server, logger: logger, metrics: metrics),
                configuration: .init(address: .hostname(host, port: port), serverName: "ModelTrail-serve"), logger: logger)
            let metricsApp = try metricsListen.map {
                try MetricsListen.application(address: $0, metrics: metrics, home: nil, logger: logger) { await server.workers?.liveWorkers }
            }
            let metricsTask = Task {
                guard let metricsApp else { return }
                do { try await metricsApp.runService() } catch { logger.error("metrics listener: \(error)") }
            }
            defer { metricsTask.cancel() }
            if options.json {
                Output.printJSON([
                    "listening": "http://\(host):\(port)", "deployment_id": server.deploymentID, "model": name, "version": String(loaded.version.version),
                    "event_index": String(startEvent), "format": loaded.formatName,
                ])
            } else {
                print("serving \(name)@\(ref) = version \(loaded.version.version) (root \(loaded.version.manifest.root)), \(loaded.formatName)")
                if let pool = server.workers {
                    let unsigned = pool.loaded.signature.inputs == nil ? ", no signature (--allow-unsigned)" : ""
                    print("\(workers) worker(s): \(python), Python \(pool.loaded.pythonVersion), mlflow \(pool.loaded.mlflowVersion)\(unsigned)")
                }
                print("deployment \(server.deploymentID) (event #\(startEvent)); http://\(host):\(port)/docs")
            }
            fflush(nil)
            // SIGTERM and SIGINT shut the server down gracefully: requests in flight finish (and
            // their predictions are committed) before it returns; then the stop is recorded.
            do {
                try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            } catch {
                follower.cancel()
                _ = try? await server.stop()
                throw error
            }
            follower.cancel()
            _ = await follower.result
            if let event = try await server.stop() {
                try await home.ledger.checkpointIfBehind()
                if !options.json { print("stopped deployment \(server.deploymentID) (event #\(event))") }
            }
        }
    }
}
