import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing

/// Drives the built `trail` executable the way a user does: local mode on a fresh home, then the
/// same flow against a `trail server` with `--server`.
@Suite("trail CLI end to end", .serialized)
struct CLIEndToEndTests {
    static var binary: URL {
        // The test bundle sits in the same build folder as the executable.
        var url = Bundle.main.bundleURL
        while url.path != "/" {
            let candidate = url.appendingPathComponent("trail")
            if FileManager.default.isExecutableFile(atPath: candidate.path), !candidate.hasDirectoryPath { return candidate }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/trail")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] ?? [:]
        }
    }

    @discardableResult
    static func trail(_ arguments: [String], home: URL, server: String? = nil, environment extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        environment["TRAIL_SERVER"] = server ?? ""
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A loopback port for a test server: below Linux's ephemeral range (32768-60999), where no
    /// outgoing connection of a parallel test can hold it, and free when checked.
    static func freePort() -> Int {
        while true {
            let port = Int.random(in: 10_000...32_000)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return port }
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
    }

    static func temporaryHome() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("trail-cli-\(UUID().uuidString)")
    }

    /// The README's flow: experiment, run, params, metrics, artifact, search, download, same sha256.
    static func flow(home: URL, server: String?) throws {
        func run(_ arguments: [String]) throws -> Result {
            let result = try trail(arguments + ["--json"], home: home, server: server)
            #expect(result.status == 0, "trail \(arguments.joined(separator: " ")) failed: \(result.stderr)\(result.stdout)")
            return result
        }
        _ = try run(["experiments", "create", "cli-demo", "--tag", "team=risk"])
        let created = try run(["runs", "create", "-e", "cli-demo", "--name", "first"]).json()
        let runID = try #require(((created["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"] as? String)
        _ = try run(["runs", "log-param", runID, "C", "1.0"])
        _ = try run(["runs", "log-metric", runID, "acc", "0.93", "--step", "1"])
        let artifact = home.deletingLastPathComponent().appendingPathComponent("artifact-\(UUID().uuidString).json")
        let content = Data(#"{"weights": [1, 2, 3]}"#.utf8)
        try content.write(to: artifact)
        _ = try run(["runs", "log-artifact", runID, artifact.path, "--path", "model/weights.json"])
        let search = try run(["runs", "search", "-e", "cli-demo", "--filter", "params.C = '1.0' and metrics.acc > 0.9"]).json()
        #expect((search["runs"] as? [Any])?.count == 1)
        let output = home.deletingLastPathComponent().appendingPathComponent("download-\(UUID().uuidString).json")
        let downloaded = try run(["artifacts", "download", runID, "model/weights.json", "-o", output.path]).json()
        #expect(try Data(contentsOf: output) == content)
        #expect((downloaded["digest"] as? String)?.hasPrefix("sha256:") == true)
        // A refused change: clear message, non-zero exit, machine-readable with --json.
        let refused = try trail(["runs", "log-param", runID, "C", "2.0", "--json"], home: home, server: server)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("INVALID_PARAMETER_VALUE"))
        let traversal = try trail(["runs", "log-artifact", runID, artifact.path, "--path", "../escape"], home: home, server: server)
        #expect(traversal.status == 1)
        #expect(traversal.stderr.contains("'..' segment"))
    }

    @Test func localMode() throws {
        try Self.flow(home: Self.temporaryHome(), server: nil)
    }

    @Test func remoteModeAgainstARealServer() throws {
        let home = Self.temporaryHome()
        let port = Self.freePort()
        let server = try LedgerCLITests.startServer(home: home, port: port)
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)"
        try Self.flow(home: Self.temporaryHome(), server: url)
    }

    /// The README's first command, then the reproduction promise, as a user types them.
    @Test func demoThenReproduceAndTrace() throws {
        let home = Self.temporaryHome()
        let demo = try Self.trail(["demo", "--json"], home: home)
        #expect(demo.status == 0, "\(demo.stderr)")
        let outcome = try demo.json()
        #expect(outcome["verify_ok"] as? Bool == true)
        let training = try #require(outcome["training"] as? [String: Any])
        let runID = try #require(training["run_id"] as? String)
        let metrics = try #require(training["metrics"] as? [String: Double])
        #expect(metrics["accuracy"]! >= 0.95 && metrics["roc_auc"]! >= 0.98)
        for _ in 0..<2 {
            let again = try Self.trail(["reproduce", runID], home: home)
            #expect(again.status == 0 && again.stdout.hasPrefix("REPRODUCED"), "\(again.stdout)\(again.stderr)")
        }
        let trace = try Self.trail(["trace", "model", "breast_cancer_classifier@production", "--json"], home: home)
        #expect(trace.status == 0)
        let text = try Self.trail(["trace", "model", "breast_cancer_classifier@production"], home: home).stdout
        #expect(text.contains("  model_version #") && !text.contains("model_version#"), "\(text)")
        #expect(try trace.json()["data_sha256"] as? String == training["data_sha256"] as? String)
        let bad = try Self.trail(["train", "--C", "0"], home: home)
        #expect(bad.status == 1 && bad.stderr.contains("C must be a positive number"))
    }

    /// `trail serve` shuts down cleanly on SIGTERM: requests in flight finish, the stop is a
    /// `deployment.stop` event, and nothing is logged as an error.
    @Test(arguments: [SIGTERM, SIGINT])
    func serveStopsCleanlyAndRecordsTheStop(signal: Int32) throws {
        let home = Self.temporaryHome()
        #expect(try Self.trail(["demo", "--json"], home: home).status == 0)
        let port = Self.freePort()
        let serve = Process()
        serve.executableURL = Self.binary
        serve.arguments = ["serve", "breast_cancer_classifier@production", "--port", String(port), "--json"]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        environment["TRAIL_SERVER"] = ""
        serve.environment = environment
        let out = Pipe()
        let err = Pipe()
        serve.standardOutput = out
        serve.standardError = err
        try serve.run()
        // It prints its address once the model is loaded and the start recorded; then it binds.
        let first = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        #expect(first.contains("listening"), "\(first)")
        Thread.sleep(forTimeInterval: 1)
        kill(serve.processIdentifier, signal)
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        _ = out.fileHandleForReading.readDataToEndOfFile()
        serve.waitUntilExit()
        let log = String(decoding: stderr, as: UTF8.self)
        #expect(serve.terminationReason == .exit && serve.terminationStatus == 0, "\(log)")
        #expect(!log.lowercased().contains("error"), "\(log)")
        let events = try Self.trail(["ledger", "events", "--action", "deployment.stop", "--json"], home: home)
        #expect(events.status == 0)
        #expect(events.stdout.contains("deployment.stop"), "\(events.stdout)")
    }
}
