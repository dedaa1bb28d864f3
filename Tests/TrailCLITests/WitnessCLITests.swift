import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TrailLedger

/// `trail witness` as a process: cosigns a log's checkpoints, refuses forks and rollbacks, and
/// keeps its record across `kill -9`.
@Suite("trail witness end to end", .serialized)
struct WitnessCLITests {
    typealias CLI = CLIEndToEndTests

    static var steps: [String: String] {
        get throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("TrailLedgerTests/Vectors/witness_vectors.json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            let steps = try #require((json["add_checkpoint"] as? [String: Any])?["steps"] as? [[String: Any]])
            return Dictionary(uniqueKeysWithValues: steps.map { ($0["step"] as! String, ($0["request"] as! [String: Any])["body"] as! String) })
        }
    }

    static let logVKey = "example.com/test-log+fc8658e2+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"

    /// Starts the witness; returns the process and its verifier key.
    static func start(_ dir: URL, port: Int, name: String?) throws -> (Process, String) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["witness", "--dir", dir.path, "--log", logVKey, "--port", String(port), "--json"] + (name.map { ["--name", $0] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        Thread.sleep(forTimeInterval: 0.7)
        return (process, try #require(json["vkey"] as? String))
    }

    static func post(_ body: String, port: Int) async throws -> (Int, String, String?) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/add-checkpoint")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes), response.headers.first(name: "Content-Type"))
    }

    @Test func cosignsExtensionsRefusesForksAndRollbacksAndSurvivesKill9() async throws {
        let steps = try Self.steps
        let dir = CLI.temporaryHome()
        let port = CLI.freePort()
        var (witness, vkey) = try Self.start(dir, port: port, name: "test.example/w1")
        defer { witness.terminate() }
        let verifier = try CosignatureVerifier(vkey: vkey)
        let first = try #require(steps["first_contact"])
        let (status, line, _) = try await Self.post(first, port: port)
        #expect(status == 200, "\(line)")
        let note = String(first[first.range(of: "\n\n")!.upperBound...])
        #expect(try Cosignature.cosigners(of: note + line, among: [verifier]).count == 1, "the cosignature verifies with the witness's key")

        // kill -9 right after the 200: the record was on disk before the answer.
        kill(witness.processIdentifier, SIGKILL)
        witness.waitUntilExit()
        (witness, vkey) = try Self.start(dir, port: port, name: nil)
        #expect(try CosignatureVerifier(vkey: vkey) == verifier, "same key after a restart")
        let (stale, size, type) = try await Self.post(first, port: port)
        #expect(stale == 409 && size == "3\n" && type == "text/x.tlog.size", "\(stale) \(size)")

        let (extended, _, _) = try await Self.post(try #require(steps["extend_3_to_7"]), port: port)
        #expect(extended == 200)
        // A log cut back and re-signed with its real key, or forked: never cosigned.
        for (step, expected) in [("rollback_old_is_recorded", 400), ("rollback_old_is_new", 409), ("fork_with_valid_fork_proof", 422), ("same_size_other_root", 422)] {
            let (answer, body, _) = try await Self.post(try #require(steps[step]), port: port)
            #expect(answer == expected, "\(step): \(body)")
        }
        kill(witness.processIdentifier, SIGKILL)
        witness.waitUntilExit()
        let shown = try CLI.trail(["witness", "--dir", dir.path, "--show"], home: CLI.temporaryHome())
        #expect(shown.stdout.contains("example.com/test-log: size 7"), "\(shown.stdout)\(shown.stderr)")
    }

    /// The whole path between processes: `trail server --witness URL=VKEY` sends its checkpoints to
    /// a running `trail witness`, and `trail ledger verify --witness VKEY` checks the quorum.
    @Test func aServerGetsItsCheckpointsWitnessed() throws {
        let home = CLI.temporaryHome()
        #expect(try CLI.trail(["experiments", "create", "witnessed"], home: home).status == 0)
        let key = try CLI.trail(["ledger", "public-key", "--json"], home: home)
        let logVKey = try #require(try key.json()["verifier_key"] as? String, "\(key.stdout)\(key.stderr)")
        let witnessPort = CLI.freePort()
        let dir = CLI.temporaryHome()
        let witness = Process()
        witness.executableURL = CLI.binary
        witness.arguments = ["witness", "--dir", dir.path, "--name", "test.example/w2", "--log", logVKey, "--port", String(witnessPort), "--json"]
        let out = Pipe()
        witness.standardOutput = out
        witness.standardError = FileHandle.nullDevice
        try witness.run()
        defer { witness.terminate() }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let vkey = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["vkey"] as? String, "\(line)")
        Thread.sleep(forTimeInterval: 0.5)
        let serverPort = CLI.freePort()
        let server = Process()
        server.executableURL = CLI.binary
        server.arguments = ["server", "--port", String(serverPort), "--local-only", "--witness", "http://127.0.0.1:\(witnessPort)/add-checkpoint=\(vkey)"]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        var witnessed = false
        for _ in 0..<40 where !witnessed {
            Thread.sleep(forTimeInterval: 0.25)
            let shown = try CLI.trail(["witness", "--dir", dir.path, "--show"], home: CLI.temporaryHome())
            witnessed = shown.stdout.contains(": size ") && !shown.stdout.contains(": size 0")
        }
        #expect(witnessed, "the witness never cosigned")
        let verified = try CLI.trail(["ledger", "verify", "--witness", vkey], home: home)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("cosigned by test.example/w2"), "\(verified.stdout)")
    }
}
