import ArgumentParser
import Foundation
import TrailCore
import TrailService
import TrailStore

/// `trail migrate --to s3://BUCKET/PREFIX` (or `--to folder`): moves the home's blobs;
/// `--to postgres://…` (or `--to sqlite`): moves its metadata and ledger. Either keeps every
/// ledger leaf, then runs the full verify on the result.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move the home's blobs (folder ↔ S3) or its metadata (SQLite ↔ PostgreSQL), keeping every ledger leaf (run with the server stopped).",
        discussion: """
            Every blob is copied through a reader that refuses altered bytes; every blob a record refers to must be on \
            the target before the home switches to it; the move is one 'blobs.migrate' event. The source is left as it \
            was. Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or --s3-credentials.
            The metadata moves into an empty PostgreSQL database (or back into HOME/trail.sqlite) in one transaction: \
            every table is copied, the ledger's leaves, nodes, checkpoints and cosignatures byte for byte, so the \
            roots are the same and the old checkpoints verify there; the move is one 'store.migrate' event there.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "Where the blobs go (s3://BUCKET/PREFIX, or 'folder': HOME/blobs), or the metadata (postgres://user:password@host:port/db, or 'sqlite': HOME/trail.sqlite).")
    var to: String

    @Flag(inversion: .prefixedNo, help: "Run the full 'ledger verify' on the result.")
    var verify = true

    func run() async throws {
        try await runReporting(options) {
            if options.serverURL != nil {
                throw TrailError.invalid("server", "migrate runs on the machine holding the home, with the server stopped")
            }
            let environment = ProcessInfo.processInfo.environment
            guard FileManager.default.fileExists(atPath: options.homeURL.appendingPathComponent("trail.sqlite").path)
                || FileManager.default.fileExists(atPath: options.homeURL.appendingPathComponent("store.json").path)
            else {
                throw TrailError.invalid("home", "there is no ModelTrail home at \(options.homeURL.path)")
            }
            let home = try await options.openHome()
            if to == "sqlite" || to.lowercased().hasPrefix("postgres") {
                try await migrateStore(home, environment: environment)
                return
            }
            let target: BlobSettings? =
                to == "folder"
                ? nil
                : BlobSettings(
                    uri: to, endpoint: options.s3Endpoint, region: options.s3Region, credentialsFile: options.s3Credentials,
                    environment: environment)
            let bar = TerminalProgress(label: "migrate", enabled: !options.json, unit: "blobs")
            let report = try await home.migrateBlobs(to: target, actor: GlobalOptions.osUser) { done, total, _ in
                bar.update(Int64(done), Int64(total))
            }
            try await home.ledger.checkpointIfBehind()
            var verified: VerificationReport?
            if verify {
                // The home as it now is: reopened on its new record.
                let moved = try await TrailHome.open(
                    home.url, keyPath: home.keyPath,
                    blobs: BlobSettings(endpoint: options.s3Endpoint, region: options.s3Region, credentialsFile: options.s3Credentials, environment: environment.filter { $0.key != "TRAIL_BLOBS" }),
                    store: StoreSettings(uri: options.store, environment: environment))
                let verifyBar = TerminalProgress(label: "verify", enabled: !options.json)
                verified = try await moved.verifier.verify(progress: { phase, done, total in verifyBar.update(done, total, phase: phase) })
                try await moved.ledger.record(verified!, actor: GlobalOptions.osUser)
            }
            if options.json {
                Output.printJSON(MigrateOutput(migration: report, verify: verified))
            } else {
                print("the home's \(report.blobs) blobs are now read from \(report.to) (\(report.copied) copied, \(report.alreadyThere) already there, \(report.bytes) bytes; the copy in \(report.from) is left as it was) in \(report.seconds) s")
                if let verified { print(verified.verdict) }
            }
            if let verified, !verified.ok { throw ExitCode(1) }
        }
    }

    func migrateStore(_ home: TrailHome, environment: [String: String]) async throws {
        let bar = TerminalProgress(label: "migrate", enabled: !options.json, unit: "rows")
        let copied = Counter()
        let report = try await home.migrateStore(to: to == "sqlite" ? nil : to, environment: environment, actor: GlobalOptions.osUser) { table, rows in
            bar.update(copied.add(Int64(rows)), 0, phase: table)
        }
        let moved = try await TrailHome.open(
            home.url, keyPath: home.keyPath,
            blobs: BlobSettings(endpoint: options.s3Endpoint, region: options.s3Region, credentialsFile: options.s3Credentials, environment: environment),
            store: StoreSettings(uri: to == "sqlite" ? nil : to, environment: environment.filter { $0.key != "TRAIL_STORE" }))
        try await moved.ledger.checkpointIfBehind()
        var verified: VerificationReport?
        if verify {
            let verifyBar = TerminalProgress(label: "verify", enabled: !options.json)
            verified = try await moved.verifier.verify(progress: { phase, done, total in verifyBar.update(done, total, phase: phase) })
            try await moved.ledger.record(verified!, actor: GlobalOptions.osUser)
        }
        if options.json {
            Output.printJSON(MigrateStoreOutput(migration: report, verify: verified))
        } else {
            print("the home's metadata is now in \(report.to) (\(report.rows) rows of \(report.tables) tables, \(report.events) events, every leaf byte for byte; the \(report.from) copy is left as it was)")
            if let verified { print(verified.verdict) }
        }
        if let verified, !verified.ok { throw ExitCode(1) }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var total: Int64 = 0
        func add(_ value: Int64) -> Int64 {
            lock.lock()
            defer { lock.unlock() }
            total += value
            return total
        }
    }

    struct MigrateStoreOutput: Encodable {
        var migration: StoreCopyReport
        var verify: VerificationReport?
    }

    struct MigrateOutput: Encodable {
        var migration: BlobMigrationReport
        var verify: VerificationReport?
    }
}
