import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Hummingbird
import Logging
import TrailCore
import TrailHTTP
import TrailService

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the tracking server: the native API under /api/v1 and MLflow's REST API under /api/2.0/mlflow.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Address to bind (default: $TRAIL_HOST or 127.0.0.1, this machine only).")
    var host: String?

    @Option(help: "Port to listen on (default: $TRAIL_PORT or 5050).")
    var port: Int?

    @Option(help: "Largest JSON request body in bytes (default 4 MiB).")
    var maxBodyBytes: Int = 4 << 20

    @Flag(help: "Accept requests without a token, acting as the OS user with every role (this machine only; for development).")
    var localOnly = false

    @Option(help: "Run 'ledger verify' every this many seconds and record each result (default: $TRAIL_VERIFY_EVERY or 0 = never).")
    var verifyEvery: Int?

    @Option(
        help: "Apply the retention settings every this many seconds, as 'trail retention apply' (default: $TRAIL_RETENTION_EVERY or 3600; 0 = never).")
    var retentionEvery: Int?

    @Option(
        name: .customLong("metrics-listen"),
        help: "Also serve Prometheus /metrics without a token on HOST:PORT (e.g. 127.0.0.1:9464), for a scraper; /metrics on the main port needs an admin token.")
    var metricsListen: String?

    @Option(
        name: .customLong("openlineage-url"),
        help: "Send this server's runs to an OpenLineage receiver (e.g. Marquez at http://marquez:5000) as START/COMPLETE/FAIL RunEvents, durably: the ledger is the outbox (default: $TRAIL_OPENLINEAGE_URL). The token, if any, from $TRAIL_OPENLINEAGE_API_KEY.")
    var openLineageURL: String?

    @Option(
        name: .customLong("witness"),
        help: "A witness to send every new checkpoint to, as URL=VKEY (e.g. http://w.example:7380/add-checkpoint=w.example/w1+…); repeatable.")
    var witnesses: [String] = []

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let config = TrailServerConfig(
            host: host ?? environment["TRAIL_HOST"] ?? "127.0.0.1",
            port: port ?? environment["TRAIL_PORT"].flatMap(Int.init) ?? 5050,
            maxBodyBytes: maxBodyBytes,
            localActor: GlobalOptions.osUser,
            localOnly: localOnly || environment["TRAIL_LOCAL_ONLY"] == "1")
        var logger = Logger(label: "modeltrail")
        logger.logLevel = environment["TRAIL_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        try await runReporting(options) {
            try config.validate()
            let endpoints = try witnesses.map { try WitnessEndpoint(parsing: $0) }
            try ServerLock.hold(home: options.homeURL)
            let home = try await options.openHome()
            // A wrong secret, region or bucket stops the start instead of the first upload.
            try await home.tracking.blobs.check()
            let metrics = TrailMetrics()
            let app = TrailApplication.make(home: home, config: config, logger: logger, metrics: metrics)
            let metricsApp = try metricsListen.map { try MetricsListen.application(address: $0, metrics: metrics, home: home, logger: logger) }
            let log = logger
            let verifyInterval = verifyEvery ?? environment["TRAIL_VERIFY_EVERY"].flatMap(Int.init) ?? 0
            // Checkpoints follow commits, batched: at most one a second under load.
            let checkpointer = Task.detached {
                while !Task.isCancelled {
                    do { try await home.ledger.checkpointIfBehind() } catch { log.error("checkpoint failed: \(error)") }
                    // Every new checkpoint goes to the witnesses; refusals are logged loudly and
                    // retried on the next round.
                    for line in await home.ledger.collectCosignatures(witnesses: endpoints, post: Self.post) {
                        if line.hasPrefix("ALARM") || line.contains("refused") { log.error("witness: \(line)") } else { log.info("witness: \(line)") }
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            let retentionInterval = retentionEvery ?? environment["TRAIL_RETENTION_EVERY"].flatMap(Int.init) ?? 3600
            // Retention on a schedule: nothing happens (and nothing is recorded) until an admin
            // sets a window (`trail retention set`).
            let scheduledRetention = Task.detached {
                guard retentionInterval > 0 else { return }
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(retentionInterval))
                    do {
                        let result = try await home.dataProtection.applyRetention(actor: .service("retention"))
                        for applied in result.applied where applied.removed > 0 {
                            log.info("retention: \(applied.kind.rawValue): \(applied.removed) removed (events \(applied.eventIndexes))")
                        }
                    } catch {
                        log.error("scheduled retention failed: \(error)")
                    }
                }
            }
            // OpenLineage out: the ledger is the outbox; a cursor per receiver, retried with backoff.
            let forwarder = try (openLineageURL ?? environment["TRAIL_OPENLINEAGE_URL"]).map {
                try OpenLineageForwarder(
                    emitter: OpenLineageEmitter(tracking: home.tracking, registry: home.registry, ledger: home.ledger), url: $0,
                    apiKey: environment["TRAIL_OPENLINEAGE_API_KEY"])
            }
            let openLineageOut = Task.detached {
                guard let forwarder else { return }
                var failing = false
                while !Task.isCancelled {
                    do {
                        let pass = try await forwarder.deliver()
                        if pass.failed, !failing { log.error("openlineage: delivery to \(forwarder.receiver) failing, will retry: \(pass.cursor.lastError ?? "")") }
                        if !pass.failed, failing { log.info("openlineage: delivery to \(forwarder.receiver) resumed") }
                        failing = pass.failed
                    } catch {
                        log.error("openlineage: \(error)")
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            // The outbox: webhook messages written with the facts that caused them, sent with
            // retries and backoff; on a restart, pending messages resume (a claimed one when its
            // lease runs out).
            let webhooks = home.webhooks
            let outboxWorker = Task.detached {
                while !Task.isCancelled {
                    do {
                        if try await webhooks.deliverDue() > 0 { continue }
                    } catch {
                        log.error("webhook delivery failed: \(error)")
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            let scheduledVerify = Task.detached {
                guard verifyInterval > 0 else { return }
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(verifyInterval))
                    do {
                        let report = try await home.verifier.verify()
                        metrics.observe(report)
                        try await home.ledger.record(report, actor: .service("scheduled-verify"))
                        if report.ok { log.info("\(report.verdict)") } else { log.error("\(report.verdict)") }
                    } catch {
                        log.error("scheduled verification failed: \(error)")
                    }
                }
            }
            defer {
                checkpointer.cancel()
                outboxWorker.cancel()
                scheduledVerify.cancel()
                scheduledRetention.cancel()
                openLineageOut.cancel()
            }
            if options.json {
                Output.printJSON([
                    "listening": "http://\(config.host):\(config.port)", "home": home.url.path, "blobs": home.tracking.blobs.location,
                    "store": home.store.location,
                ])
            } else {
                print("ModelTrail \(TrailVersion.current) serving http://\(config.host):\(config.port)  (home: \(home.url.path))")
                print("ledger public key: \(home.ledger.verifierKey)")
                print("metadata: \(home.store.location)")
                print("blobs: \(home.tracking.blobs.location)")
                if config.localOnly {
                    print("local-only: requests without a token act as \(config.localActor) with every role")
                } else if try await home.identity.users().isEmpty {
                    print("no users yet: every request needs a token. Create the first admin on this machine with")
                    print("  trail users create NAME --role admin && trail tokens create NAME")
                }
            }
            fflush(nil)  // start-up lines reach a redirected stdout before the server runs
            if let metricsApp {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await app.runService() }
                    group.addTask { try await metricsApp.runService() }
                    try await group.next()
                    group.cancelAll()
                }
            } else {
                try await app.runService()
            }
        }
    }

    /// POSTs an add-checkpoint request to a witness.
    @Sendable static func post(_ url: String, _ body: [UInt8]) async throws -> (status: Int, body: String, contentType: String?) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes), response.headers.first(name: "Content-Type"))
    }
}

/// `--metrics-listen HOST:PORT`: a listener of its own that answers only `/metrics`.
enum MetricsListen {
    static func parse(_ address: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port),
            colon != address.startIndex
        else { throw TrailError.invalid("metrics-listen", "give HOST:PORT, e.g. 127.0.0.1:9464") }
        return (String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    static func application(
        address: String, metrics: TrailMetrics, home: TrailHome?, logger: Logger, workers: (@Sendable () async -> Int?)? = nil
    ) throws -> some ApplicationProtocol {
        let (host, port) = try parse(address)
        return Application(
            router: MetricsApplication.router(metrics: metrics, home: home, workers: workers),
            configuration: .init(address: .hostname(host, port: port), serverName: "ModelTrail metrics"), logger: logger)
    }
}
