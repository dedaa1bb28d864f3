import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TrailStore

#if canImport(Glibc)
    import Glibc
#endif

/// Several `trail server` processes on one PostgreSQL database write one ledger: a sequencer in
/// the database (an advisory lock inside each write's transaction) keeps it gapless with one
/// Merkle tree, whichever replica writes or signs a checkpoint.
@Suite("Replicas: one ledger across servers", .enabled(if: ProcessInfo.processInfo.environment["TRAIL_TEST_POSTGRES"] != nil))
struct ReplicaTests {
    typealias CLI = CLIEndToEndTests

    static func startServer(home: URL, port: Int, store: String) throws -> Process {
        let server = Process()
        server.executableURL = CLI.binary
        server.arguments = ["server", "--port", String(port), "--local-only"]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        environment["TRAIL_STORE"] = store
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        for _ in 0..<150 {
            Thread.sleep(forTimeInterval: 0.1)
            if !server.isRunning { break }
            if (try? CLI.trail(["experiments", "list"], home: CLI.temporaryHome(), server: "http://127.0.0.1:\(port)"))?.status == 0 { break }
        }
        return server
    }

    static func post(_ client: HTTPClient, _ url: String, _ body: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// 3 replicas, 32 concurrent writers spread over them, one replica killed with SIGKILL
    /// mid-load: no acknowledged write is lost, the ledger has no gap, and it verifies.
    @Test func threeReplicasWriteOneLedgerAndAKilledOneLosesNothingAcknowledged() async throws {
        let server = try PostgresLocation(try #require(ProcessInfo.processInfo.environment["TRAIL_TEST_POSTGRES"]))
        let database = "trail_replicas_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))"
        try await server.createDatabase(database)
        let password = server.password.map { ":\($0)" } ?? ""
        let store = "postgres://\(server.user)\(password)@\(server.host):\(server.port)/\(database)?sslmode=disable"

        // The first home makes the log key and the privacy salt; every replica has the same ones.
        let homes = (0..<3).map { _ in CLI.temporaryHome() }
        let first = try CLI.trail(["experiments", "list"], home: homes[0], environment: ["TRAIL_STORE": store])
        #expect(first.status == 0, "\(first.stderr)")
        for home in homes.dropFirst() {
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: homes[0].appendingPathComponent("keys"), to: home.appendingPathComponent("keys"))
        }
        let ports = (0..<3).map { _ in CLI.freePort() }
        var servers: [Process] = []
        for (home, port) in zip(homes, ports) { servers.append(try Self.startServer(home: home, port: port, store: store)) }
        defer { for server in servers where server.isRunning { server.terminate() } }
        #expect(servers.allSatisfy { $0.isRunning }, "every replica started")

        let client = HTTPClient.shared
        let urls = ports.map { "http://127.0.0.1:\($0)/api/2.0/mlflow" }
        // One run per writer, created through the replica it starts on.
        var runs: [String] = []
        for writer in 0..<32 {
            let created = try await Self.post(client, "\(urls[writer % 3])/runs/create", #"{"experiment_id": "0", "run_name": "w\#(writer)"}"#)
            #expect(created.status == 200, "\(created.body)")
            let json = try JSONSerialization.jsonObject(with: Data(created.body.utf8)) as? [String: Any]
            runs.append(try #require(((json?["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"] as? String))
        }

        let acknowledged = AcknowledgedKeys()
        let victim = servers[2].processIdentifier
        let killed = ports[2]
        let runIDs = runs
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    var replica = writer % 3
                    for point in 0..<40 {
                        let key = "w\(writer)_\(point)"
                        let body = #"{"run_id": "\#(runIDs[writer])", "key": "\#(key)", "value": \#(point), "timestamp": \#(1000 + point), "step": \#(point)}"#
                        // A write that was not answered 200 is not acknowledged; the writer moves on to the next replica.
                        if let result = try? await Self.post(client, "\(urls[replica])/runs/log-metric", body), result.status == 200 {
                            acknowledged.add("\(runIDs[writer])/\(key)")
                        } else {
                            replica = (replica + 1) % 3
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(1500))
                kill(victim, SIGKILL)
            }
            try await group.waitForAll()
        }
        servers[2].waitUntilExit()
        #expect(servers[2].terminationReason == .uncaughtSignal, "replica on port \(killed) was killed mid-load")
        #expect(servers[0].isRunning && servers[1].isRunning)

        let keys = acknowledged.keys
        #expect(keys.count > 32 * 20, "most writes were acknowledged (\(keys.count))")
        // Every acknowledged point is in the record, read back through a surviving replica.
        var stored = Set<String>()
        for run in runs {
            var request = HTTPClientRequest(url: "\(urls[1])/runs/get?run_id=\(run)")
            request.method = .GET
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 24)
            let json = try JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any]
            let metrics = ((json?["run"] as? [String: Any])?["data"] as? [String: Any])?["metrics"] as? [[String: Any]] ?? []
            for metric in metrics { if let key = metric["key"] as? String { stored.insert("\(run)/\(key)") } }
        }
        #expect(Set(keys).isSubset(of: stored), "lost: \(Set(keys).subtracting(stored).sorted().prefix(10))")

        // One gapless ledger with one tree: verify reads it all (every leaf, node, checkpoint,
        // whichever replica signed it), from a home that did not serve at all.
        let auditor = CLI.temporaryHome()
        try FileManager.default.createDirectory(at: auditor, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: homes[0].appendingPathComponent("keys"), to: auditor.appendingPathComponent("keys"))
        let verified = try CLI.trail(["ledger", "verify", "--json"], home: auditor, environment: ["TRAIL_STORE": store])
        #expect(verified.status == 0, "\(verified.stdout.prefix(2000))\(verified.stderr)")
        let report = try verified.json()
        #expect((report["events"] as? Int ?? 0) >= 32 + keys.count, "\(verified.stdout.prefix(500))")
    }

    /// `trail migrate` moves the demo's home into PostgreSQL and back; each time the full verify
    /// passes on the target (every old checkpoint against the copied tree: the same roots).
    @Test func theDemoHomeRoundTripsThroughPostgreSQL() async throws {
        let server = try PostgresLocation(try #require(ProcessInfo.processInfo.environment["TRAIL_TEST_POSTGRES"]))
        let database = "trail_demo_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))"
        try await server.createDatabase(database)
        let password = server.password.map { ":\($0)" } ?? ""
        let store = "postgres://\(server.user)\(password)@\(server.host):\(server.port)/\(database)?sslmode=disable"
        let home = CLI.temporaryHome()
        #expect(try CLI.trail(["demo", "--json"], home: home).status == 0)
        let before = try CLI.trail(["ledger", "verify", "--json"], home: home).json()
        let events = try #require(before["events"] as? Int)

        let there = try CLI.trail(["migrate", "--to", store, "--json"], home: home)
        #expect(there.status == 0, "\(there.stdout)\(there.stderr)")
        let moved = try there.json()
        // Every event so far, the verify's own record of itself included.
        #expect((moved["migration"] as? [String: Any])?["events"] as? Int == events + 1)
        #expect((moved["verify"] as? [String: Any])?["ok"] as? Bool == true, "\(there.stdout.prefix(1500))")
        #expect((moved["verify"] as? [String: Any])?["checkpoints"] as? Int ?? 0 >= before["checkpoints"] as? Int ?? 1)
        // The home now reads PostgreSQL without the flag (the password from PGPASSWORD).
        let trace = try CLI.trail(["trace", "model", "breast_cancer_classifier@production", "--json"], home: home, environment: ["PGPASSWORD": server.password ?? ""])
        #expect(trace.status == 0, "\(trace.stderr)")

        try FileManager.default.moveItem(at: home.appendingPathComponent("trail.sqlite"), to: home.appendingPathComponent("trail.sqlite.before"))
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.moveItem(at: home.appendingPathComponent("trail.sqlite\(suffix)"), to: home.appendingPathComponent("trail.sqlite.before\(suffix)"))
        }
        let back = try CLI.trail(["migrate", "--to", "sqlite", "--json"], home: home, environment: ["PGPASSWORD": server.password ?? ""])
        #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
        #expect((try back.json()["verify"] as? [String: Any])?["ok"] as? Bool == true)
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("store.json").path))
        let after = try CLI.trail(["ledger", "verify", "--json"], home: home).json()
        #expect(after["ok"] as? Bool == true && (after["events"] as? Int ?? 0) > events)
    }

    /// Two `trail serve` replicas on one database (and one bucket for the model files) share one
    /// prediction log: each answer is traced, from a third home, to its deployment and data.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRAIL_TEST_S3_ENDPOINT"] != nil, "the replicas read the model from S3"))
    func serveReplicasShareOnePredictionLog() async throws {
        let environment = ProcessInfo.processInfo.environment
        let server = try PostgresLocation(try #require(environment["TRAIL_TEST_POSTGRES"]))
        let database = "trail_serve_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))"
        try await server.createDatabase(database)
        let password = server.password.map { ":\($0)" } ?? ""
        let shared = [
            "TRAIL_STORE": "postgres://\(server.user)\(password)@\(server.host):\(server.port)/\(database)?sslmode=disable",
            "TRAIL_BLOBS": "s3://\(environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/serve-\(UUID().uuidString.lowercased())",
            "AWS_ACCESS_KEY_ID": environment["TRAIL_TEST_S3_ACCESS_KEY_ID"] ?? "",
            "AWS_SECRET_ACCESS_KEY": environment["TRAIL_TEST_S3_SECRET_ACCESS_KEY"] ?? "",
            "AWS_ENDPOINT_URL_S3": environment["TRAIL_TEST_S3_ENDPOINT"] ?? "",
        ]
        let homes = (0..<3).map { _ in CLI.temporaryHome() }
        let demo = try CLI.trail(["demo", "--json"], home: homes[0], environment: shared)
        #expect(demo.status == 0, "\(demo.stderr)")
        for home in homes.dropFirst() {
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: homes[0].appendingPathComponent("keys"), to: home.appendingPathComponent("keys"))
        }
        // A row of the data set, as the serving API takes it.
        let lines = try String(contentsOfFile: "data/breast_cancer.csv", encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let values = lines[1].split(separator: ",").map(String.init)
        let row = zip(header, values).filter { $0.0 != "target" }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")

        var serves: [Process] = []
        defer { for serve in serves where serve.isRunning { serve.terminate() } }
        var predictions: [String] = []
        for home in homes.prefix(2) {
            let port = CLI.freePort()
            let serve = Process()
            serve.executableURL = CLI.binary
            serve.arguments = ["serve", "breast_cancer_classifier@production", "--port", String(port)]
            var processEnvironment = environment
            processEnvironment["TRAIL_HOME"] = home.path
            processEnvironment["TRAIL_SERVER"] = ""
            processEnvironment.merge(shared) { _, new in new }
            serve.environment = processEnvironment
            serve.standardOutput = FileHandle.nullDevice
            serve.standardError = FileHandle.nullDevice
            try serve.run()
            serves.append(serve)
            var answer: (status: Int, body: String) = (0, "")
            for _ in 0..<150 where serve.isRunning {
                if let result = try? await Self.post(HTTPClient.shared, "http://127.0.0.1:\(port)/predict", "{\(row)}") {
                    answer = result
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(answer.status == 200, "replica on \(home.lastPathComponent): \(answer.body)")
            let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
            if let id = json?["prediction_id"] as? String { predictions.append(id) }
        }
        for serve in serves { serve.terminate() }
        for serve in serves { serve.waitUntilExit() }
        #expect(predictions.count == 2)
        // Traced from a home that served nothing: both replicas' predictions are in the one log.
        for id in predictions {
            let trace = try CLI.trail(["trace", "prediction", id, "--json"], home: homes[2], environment: shared)
            #expect(trace.status == 0, "\(trace.stdout)\(trace.stderr)")
            #expect(trace.stdout.contains("breast_cancer_classifier"))
        }
        let verified = try CLI.trail(["ledger", "verify", "--json"], home: homes[2], environment: shared)
        #expect(verified.status == 0, "\(verified.stdout.prefix(1500))")
    }
}
