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

    func run() async throws {
        var configured = Logger(label: "modeltrail.serve")
        configured.logLevel = ProcessInfo.processInfo.environment["TRAIL_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let logger = configured
        try await runReporting(options) {
            let parts = reference.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw TrailError.invalid("reference", "give NAME@alias, e.g. breast_cancer_classifier@production") }
            let (name, ref) = (parts[0], parts[1])
            let home = try await options.localHome("serve", remoteAlternative: "trail serve on the machine holding the home")
            let serving = ServingService(tracking: home.tracking, registry: home.registry)
            let loaded = try await serving.load(name: name, reference: ref, pinned: pinned)
            let actor = Actor.service("serve")
            let deploymentID = "d" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(15)
            let config: JSONValue = [
                "reference": .string(reference), "host": .string(host), "port": .int(Int64(port)), "poll_seconds": .double(pollSeconds),
                "pinned": .bool(pinned), "keep_inputs": .bool(keepInputs),
            ]
            let binary = TrainingEnvironment.binaryDigest()
            let machine = ProcessInfo.processInfo.hostName
            func deployment(_ action: String, _ model: LoadedModel) -> Deployment {
                Deployment(
                    deploymentID: deploymentID, modelName: name, reference: ref, modelVersion: model.version.version,
                    configDigest: Digest.of(config.canonicalBytes), binaryDigest: binary, host: machine, action: action,
                    timeMillis: home.tracking.clock.nowMillis())
            }
            let startEvent = try await serving.record(deployment("start", loaded), actor: actor)
            let log = PredictionLog(service: serving, deploymentID: deploymentID, model: loaded, actor: actor)
            let state = ServingState(model: loaded, deploymentID: deploymentID, log: log, keepInputs: keepInputs)
            let poll = pollSeconds
            let follower = Task.detached {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(poll))
                    do {
                        try await home.ledger.checkpointIfBehind()
                        let current = state.model
                        let target = try await home.registry.currentVersion(name: name, reference: ModelReference(parsing: ref))
                        guard let target, target != current.version.version else { continue }
                        let next = try await serving.load(name: name, reference: ref, pinned: pinned)
                        try await log.switchModel(next)
                        let index = try await serving.record(deployment("switch", next), actor: actor)
                        state.swap(next)
                        logger.info("switched \(name)@\(ref) from version \(current.version.version) to \(next.version.version) (event #\(index))")
                    } catch {
                        logger.error("following \(name)@\(ref): \(error); still serving version \(state.model.version.version)")
                    }
                }
            }
            defer { follower.cancel() }
            let app = Application(
                router: ServingApplication.router(state: state, logger: logger),
                configuration: .init(address: .hostname(host, port: port), serverName: "ModelTrail-serve"), logger: logger)
            if options.json {
                Output.printJSON([
                    "listening": "http://\(host):\(port)", "deployment_id": deploymentID, "model": name, "version": String(loaded.version.version),
                    "event_index": String(startEvent),
                ])
            } else {
                print("serving \(name)@\(ref) = version \(loaded.version.version) (root \(loaded.version.manifest.root))")
                print("deployment \(deploymentID) (event #\(startEvent)); http://\(host):\(port)/docs")
            }
            fflush(nil)
            try await app.runService()
        }
    }
}
