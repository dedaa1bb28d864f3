import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TrailCore
import TrailHTTP
import TrailService

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the tracking server (native API under /api/v1).")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Address to bind (default: $TRAIL_HOST or 127.0.0.1, this machine only).")
    var host: String?

    @Option(help: "Port to listen on (default: $TRAIL_PORT or 5050).")
    var port: Int?

    @Option(help: "Largest JSON request body in bytes (default 4 MiB).")
    var maxBodyBytes: Int = 4 << 20

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let config = TrailServerConfig(
            host: host ?? environment["TRAIL_HOST"] ?? "127.0.0.1",
            port: port ?? environment["TRAIL_PORT"].flatMap(Int.init) ?? 5050,
            maxBodyBytes: maxBodyBytes,
            localActor: GlobalOptions.osUser)
        var logger = Logger(label: "modeltrail")
        logger.logLevel = environment["TRAIL_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        try await runReporting(options) {
            let home = try await TrailHome.open(options.homeURL)
            let app = TrailApplication.make(tracking: home.tracking, config: config, logger: logger)
            if options.json {
                Output.printJSON(["listening": "http://\(config.host):\(config.port)", "home": home.url.path])
            } else {
                print("ModelTrail \(TrailVersion.current) serving http://\(config.host):\(config.port)  (home: \(home.url.path))")
            }
            try await app.runService()
        }
    }
}
