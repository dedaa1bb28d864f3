import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TrailCore
import TrailService

/// `trail witness`: a C2SP tlog-witness as its own process, with its own key and a durable
/// state folder. Logs send `POST /add-checkpoint`; it cosigns a checkpoint only if it extends
/// the last one it cosigned for that log.
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a transparency-log witness (C2SP tlog-witness): cosigns a log's checkpoints only if each extends the last.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The witness's folder: its key, the logs it follows, its durable state.") var dir: String
    @Option(help: "The witness's name (first run only), e.g. witness.example.org/w1.") var name: String?
    @Option(help: "A log to follow, as its verifier key (repeat; e.g. from GET /api/v1/ledger/public-key).") var log: [String] = []
    @Option var host: String = "127.0.0.1"
    @Option var port: Int = 7380
    @Flag(help: "Print the witness's verifier key and state, then exit.") var show = false

    func run() async throws {
        try await runReporting(options) {
            guard (0...65535).contains(port) else { throw TrailError.invalid("port", "port must be 0 to 65535") }
            let witness = try WitnessService(directory: URL(fileURLWithPath: dir), name: name, logs: log)
            let vkey = await witness.vkey
            let state = await witness.state()
            if show || options.json {
                if options.json {
                    Output.printJSON([
                        "vkey": vkey, "listening": "http://\(host):\(port)",
                        "logs": state.map { "\($0.origin) size \($0.size)" }.joined(separator: "; "),
                    ])
                } else {
                    print("witness \(vkey)")
                    for record in state { print("  \(record.origin): size \(record.size)") }
                }
                fflush(nil)
                if show { return }
            } else {
                print("witness \(vkey) on http://\(host):\(port)/add-checkpoint (\(state.count) log\(state.count == 1 ? "" : "s"))")
                fflush(nil)
            }
            let router = Router()
            router.post("add-checkpoint") { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                let answer = await witness.addCheckpoint(Array(body.readableBytesView))
                var headers: HTTPFields = [.contentType: answer.contentType ?? "text/plain; charset=utf-8"]
                headers[.cacheControl] = "no-store"
                return Response(
                    status: HTTPResponse.Status(code: answer.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
            }
            var logger = Logger(label: "modeltrail.witness")
            logger.logLevel = .warning
            let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "ModelTrail-witness"), logger: logger)
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        }
    }
}
