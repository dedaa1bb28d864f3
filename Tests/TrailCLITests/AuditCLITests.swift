import Foundation
import Testing

/// An auditor verifies a server's ledger on their own machine: a pinned key, a saved
/// checkpoint, and a log that the operator cut back and re-signed is caught.
@Suite("trail ledger verify --server (the auditor's check)", .serialized)
struct AuditCLITests {
    typealias CLI = CLIEndToEndTests

    /// Runs `trail` as an auditor with their own config folder (and no server home).
    static func auditor(_ arguments: [String], config: URL) throws -> CLI.Result {
        try CLI.trail(arguments, home: CLI.temporaryHome(), environment: ["TRAIL_CONFIG": config.path])
    }

    static func sqlite(_ database: String, _ sql: String) throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        shell.arguments = [database, sql]
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
    }

    @Test func aCutAndReSignedLogFailsAgainstTheSavedCheckpoint() throws {
        let home = CLI.temporaryHome()
        let config = CLI.temporaryHome()
        for name in ["a", "b", "c"] { #expect(try CLI.trail(["experiments", "create", name], home: home).status == 0) }
        let port = CLI.freePort()
        var server = try LedgerCLITests.startServer(home: home, port: port)
        let url = "http://127.0.0.1:\(port)"
        let saved = try Self.auditor(["ledger", "checkpoint", "--save", "--server", url, "--json"], config: config)
        #expect(saved.status == 0, "\(saved.stdout)\(saved.stderr)")
        let sizeText = try #require(try saved.json()["size"] as? String)
        let savedSize = try #require(Int(sizeText))
        for name in ["d", "e"] { #expect(try CLI.trail(["experiments", "create", name, "--server", url], home: CLI.temporaryHome()).status == 0) }
        let honest = try Self.auditor(["ledger", "verify", "--server", url, "--json"], config: config)
        #expect(honest.status == 0, "\(honest.stdout)\(honest.stderr)")
        #expect(try honest.json()["saved_size"] as? Int == savedSize)
        // A key the auditor did not pin is refused loudly.
        let otherKey = "other.example/log+" + "00000000+" + Data([1] + [UInt8](repeating: 7, count: 32)).base64EncodedString()
        let wrongKey = try Self.auditor(["ledger", "verify", "--server", url, "--log-key", otherKey], config: config)
        #expect(wrongKey.status != 0)
        server.terminate()
        server.waitUntilExit()

        // The operator cuts the log below the saved checkpoint and signs a new one with the real key.
        let cut = savedSize - 1
        let database = home.appendingPathComponent("trail.sqlite").path
        try Self.sqlite(
            database,
            """
            DROP TRIGGER ledger_events_no_delete; DROP TRIGGER merkle_nodes_no_delete; DROP TRIGGER checkpoints_no_delete;
            DROP TRIGGER checkpoint_records_no_delete;
            DELETE FROM ledger_events WHERE idx >= \(cut); DELETE FROM merkle_nodes WHERE ((idx + 1) << level) > \(cut);
            DELETE FROM checkpoints WHERE size >= \(cut); DELETE FROM checkpoint_records WHERE size >= \(cut);
            """)
        server = try LedgerCLITests.startServer(home: home, port: port)
        defer { server.terminate() }
        let caught = try Self.auditor(["ledger", "verify", "--server", url], config: config)
        #expect(caught.status == 1, "\(caught.stdout)\(caught.stderr)")
        #expect(caught.stdout.contains("cut back: a saved checkpoint has size \(savedSize)"), "\(caught.stdout)")
    }
}
