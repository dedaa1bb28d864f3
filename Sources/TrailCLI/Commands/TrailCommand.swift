import ArgumentParser
import Foundation
import TrailCore
import TrailService

/// `trail`: the ModelTrail command line.
public struct TrailCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trail",
        abstract: "ModelTrail: an audit-grade ML experiment tracker, model registry and model server.",
        discussion: """
            Local mode (the default) works on the home folder in $TRAIL_HOME (default ~/.modeltrail): a SQLite \
            file and a blob folder, nothing else to start; the blobs can live in an S3-compatible bucket instead \
            (trail server --blobs s3://BUCKET/PREFIX, or trail migrate --to). With --server URL (or $TRAIL_SERVER) every command \
            talks to a running 'trail server' instead.
            """,
        version: TrailVersion.current,
        subcommands: [
            DemoCommand.self, TrainCommand.self, ReproduceCommand.self, StepsCommand.self, TraceCommand.self, ServeCommand.self,
            LineageCommand.self, DriftCommand.self, ReportCommand.self,
            ServerCommand.self, ExperimentsCommand.self, RunsCommand.self, ArtifactsCommand.self, ModelsCommand.self, ApproveCommand.self,
            RejectCommand.self, AttestCommand.self, KeysCommand.self, UsersCommand.self,
            TokensCommand.self, LedgerCommand.self, WitnessCommand.self, MigrateCommand.self, StoreCommand.self, EraseCommand.self,
            HoldCommand.self, RetentionCommand.self, WebhooksCommand.self,
        ]
    )

    public init() {}
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Home folder of the embedded store (default: $TRAIL_HOME or ~/.modeltrail).")
    var home: String?

    @Option(name: .long, help: "URL of a ModelTrail server (default: $TRAIL_SERVER); local mode when absent.")
    var server: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false

    @Option(name: .long, help: "API token for --server (default: $TRAIL_TOKEN).")
    var token: String?

    @Option(name: .long, help: "Ledger signing key file (default: $TRAIL_LEDGER_KEY or HOME/keys/ledger.key; created with mode 0600).")
    var ledgerKey: String?

    @Option(
        name: .long, parsing: .upToNextOption,
        help: "Param/tag keys whose values are sealed when logged, masked in reads for non-auditors, and shown in the ledger only as salted digests (default: $TRAIL_SENSITIVE_KEYS, comma-separated).")
    var sensitiveKeys: [String] = []

    @Flag(
        name: .customLong("reveal-sensitive"),
        help: "Local mode: show sealed and sensitive values in clear (you own the home). A server decides by your role (auditor or admin).")
    var revealSensitive = false

    @Option(
        name: .long,
        help: "The home's blob store, s3://BUCKET/PREFIX, recorded in HOME/blobs.json on first use (default: $TRAIL_BLOBS, else what the home recorded, else the folder HOME/blobs).")
    var blobs: String?

    @Option(name: .customLong("s3-endpoint"), help: "S3 endpoint, http(s)://host[:port] (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS).")
    var s3Endpoint: String?

    @Option(name: .customLong("s3-region"), help: "S3 region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1).")
    var s3Region: String?

    @Option(name: .customLong("s3-credentials"), help: "File of AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines (default: those environment variables).")
    var s3Credentials: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Metadata in PostgreSQL: postgres://user:password@host:port/database[?sslmode=…&pool=N] (default: SQLite in the home; also $TRAIL_STORE; recorded in HOME/store.json without the password, which may come from $PGPASSWORD).",
            valueName: "uri"))
    var store: String?

    /// Opens the home with the key path and privacy settings from flags and environment.
    func openHome() async throws -> TrailHome {
        let environment = ProcessInfo.processInfo.environment
        let key = ledgerKey ?? environment["TRAIL_LEDGER_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        var sensitive = Set(sensitiveKeys)
        for item in (environment["TRAIL_SENSITIVE_KEYS"] ?? "").split(separator: ",") {
            sensitive.insert(item.trimmingCharacters(in: .whitespaces))
        }
        return try await TrailHome.open(
            homeURL, keyPath: key.map { URL(fileURLWithPath: $0) }, sensitiveKeys: sensitive,
            blobs: BlobSettings(uri: blobs, endpoint: s3Endpoint, region: s3Region, credentialsFile: s3Credentials, environment: environment),
            store: StoreSettings(uri: store, environment: environment))
    }

    var homeURL: URL {
        let environment = ProcessInfo.processInfo.environment
        if let home { return URL(fileURLWithPath: home) }
        if let home = environment["TRAIL_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".modeltrail")
    }

    var serverURL: String? {
        if let server, !server.isEmpty { return server }
        if let server = ProcessInfo.processInfo.environment["TRAIL_SERVER"], !server.isEmpty { return server }
        return nil
    }

    /// The OS user, who is the actor in local mode.
    static var osUser: Actor {
        let environment = ProcessInfo.processInfo.environment
        return .user(environment["USER"] ?? environment["LOGNAME"] ?? NSUserName())
    }

    /// Opens the home for the processes that serve it (`trail serve`); `--server` is refused
    /// with a pointer to what to run instead. Whatever the command appends is checkpointed when
    /// it ends.
    func localHome(_ commands: String, remoteAlternative: String) async throws -> TrailHome {
        if serverURL != nil {
            throw TrailError(
                .notImplemented, "\(commands) commands run on the machine that holds the home folder; remotely, use \(remoteAlternative)",
                field: "server")
        }
        let home = try await openHome()
        OpenedBackends.shared.add(LocalClient(home: home, actor: Self.osUser))
        return home
    }

    func backend() async throws -> any TrailBackend {
        if let serverURL {
            let environment = ProcessInfo.processInfo.environment
            return try RemoteBackend(server: serverURL, token: token ?? environment["TRAIL_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        let home = try await openHome()
        let backend = LocalClient(home: home, actor: Self.osUser, reader: Reader(reveal: revealSensitive))
        OpenedBackends.shared.add(backend)
        return backend
    }
}

/// Backends a command opened, finished (checkpointed) when the command ends.
final class OpenedBackends: @unchecked Sendable {
    static let shared = OpenedBackends()
    private let lock = NSLock()
    private var backends: [any TrailBackend] = []

    func add(_ backend: any TrailBackend) {
        lock.lock()
        backends.append(backend)
        lock.unlock()
    }

    func drain() -> [any TrailBackend] {
        lock.lock()
        defer {
            backends = []
            lock.unlock()
        }
        return backends
    }
}

/// Runs a command body, printing a `TrailError` as a one-line message (or JSON) and exiting 1.
func runReporting(_ options: GlobalOptions, _ body: () async throws -> Void) async throws {
    do {
        try await body()
        for backend in OpenedBackends.shared.drain() { try await backend.finish() }
    } catch let error as ExitCode {
        throw error
    } catch {
        let error = (error as? TrailError) ?? TrailError(.internalError, "\(error)")
        if options.json {
            Output.printJSON(NativeAPI.ErrorBody(error))
        } else {
            var text = "error: \(error.code.rawValue): \(error.message)"
            if let field = error.field { text += " [field: \(field)]" }
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
        throw ExitCode(1)
    }
}

enum Output {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }()

    static func printJSON<T: Encodable>(_ value: T) {
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// A metric value as people read it: `0.95`, `NaN`, `Infinity`.
    static func number(_ value: Double) -> String {
        value.isNaN ? "NaN" : value.isInfinite ? (value > 0 ? "Infinity" : "-Infinity") : JSONValue.ecmaScriptNumber(value)
    }

    static func date(_ millis: Int64?) -> String {
        guard let millis else { return "-" }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        print(line(header))
        for row in rows { print(line(row)) }
    }

    static func run(_ run: Run) {
        let info = run.info
        print("run \(info.runID)  \(info.name)")
        print("  experiment  \(info.experimentID)")
        print("  status      \(info.status.rawValue)  (\(info.lifecycleStage.rawValue))")
        print("  user        \(info.userID)")
        print("  started     \(date(info.startTimeMillis))   ended \(date(info.endTimeMillis))")
        print("  artifacts   \(info.artifactURI)")
        if !run.params.isEmpty { print("  params      " + run.params.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
        if !run.metrics.isEmpty {
            print("  metrics     " + run.metrics.map { "\($0.key)=\(number($0.value))" }.joined(separator: " "))
        }
        if !run.tags.isEmpty { print("  tags        " + run.tags.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
        for input in run.inputs {
            print("  input       \(input.name) \(input.digest) \(input.context ?? "")")
        }
    }
}
