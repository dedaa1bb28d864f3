import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("trail ledger end to end", .serialized)
struct LedgerCLITests {
    typealias CLI = CLIEndToEndTests

    static func startServer(home: URL, port: Int) throws -> Process {
        let server = Process()
        server.executableURL = CLI.binary
        server.arguments = ["server", "--port", String(port), "--local-only"]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        for _ in 0..<100 {
            Thread.sleep(forTimeInterval: 0.1)
            if !server.isRunning { break }  // it could not start (the port taken): the test's calls say so at once
            if (try? CLI.trail(["experiments", "list"], home: CLI.temporaryHome(), server: "http://127.0.0.1:\(port)"))?.status == 0 { break }
        }
        return server
    }

    @Test func verifyPassesOnACLIBuiltStoreAndNamesASQLiteShellEdit() throws {
        let home = CLI.temporaryHome()
        try CLI.flow(home: home, server: nil)
        let verified = try CLI.trail(["ledger", "verify"], home: home)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("VERIFIED"))
        let database = home.appendingPathComponent("trail.sqlite").path
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        shell.arguments = [database, "DROP TRIGGER params_no_update; UPDATE params SET value = '9.9' WHERE key = 'C';"]
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        let failed = try CLI.trail(["ledger", "verify", "--json"], home: home)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("params rows written by event"))
        #expect(try CLI.trail(["ledger", "public-key"], home: home).stdout.contains("+"))
        #expect(try CLI.trail(["ledger", "prove", "2"], home: home).stdout.contains("PROVEN"))
    }

    /// A server killed with SIGKILL in the middle of a stream of batches: the log verifies and
    /// holds every write that was acknowledged.
    @Test func killMinus9LosesNothingAcknowledged() throws {
        let home = CLI.temporaryHome()
        let port = CLI.freePort()
        let server = try Self.startServer(home: home, port: port)
        let url = "http://127.0.0.1:\(port)"
        let created = try CLI.trail(["runs", "create", "--json"], home: home, server: url)
        let runID = try #require(((try created.json()["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"] as? String)
        let directory = home.deletingLastPathComponent()
        let acknowledged = AcknowledgedKeys()
        // A real thread: blocking process calls must not starve Swift's cooperative pool.
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { finished.signal() }
            for batch in 0..<400 {
                let file = directory.appendingPathComponent("batch-\(UUID().uuidString).json")
                let metrics = (0..<200).map { #"{"key": "b\#(batch)", "value": \#($0), "timestamp": \#($0), "step": \#($0)}"# }
                try? Data(#"{"metrics": [\#(metrics.joined(separator: ","))]}"#.utf8).write(to: file)
                guard let result = try? CLI.trail(["runs", "log-batch", runID, file.path], home: directory, server: url) else { break }
                if result.status == 0 { acknowledged.add("b\(batch)") } else { break }
            }
        }
        Thread.sleep(forTimeInterval: 1.5)
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        finished.wait()
        let keys = acknowledged.keys
        #expect(keys.count > 0, "some batches were acknowledged before the kill")
        let verified = try CLI.trail(["ledger", "verify"], home: home)
        #expect(verified.status == 0, "\(verified.stdout)")
        let run = try CLI.trail(["runs", "get", runID, "--json"], home: home).json()
        let stored = Set(((run["run"] as? [String: Any])?["metrics"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String })
        #expect(Set(keys).isSubset(of: stored), "lost: \(Set(keys).subtracting(stored))")
    }
}

final class AcknowledgedKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ key: String) {
        lock.lock()
        list.append(key)
        lock.unlock()
    }
    var keys: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
