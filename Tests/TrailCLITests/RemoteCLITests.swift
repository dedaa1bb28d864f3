import Foundation
import Testing

/// Every `trail` subcommand against a live `trail server` that requires tokens, from "machines"
/// that hold no home folder: each user has their own empty home and config folder, and acts
/// only through their token. The server decides who may do what.
@Suite("trail CLI, every command remotely with tokens", .serialized)
struct RemoteCLITests {
    typealias CLI = CLIEndToEndTests

    /// One person at their own machine: a token, an empty home and a config folder of their own.
    struct Person {
        let token: String
        let home = CLI.temporaryHome()
        let config = CLI.temporaryHome()
        let url: String

        @discardableResult
        func trail(_ arguments: [String], expect status: Int32? = 0, sourceLocation: SourceLocation = #_sourceLocation) throws -> CLI.Result {
            let result = try CLI.trail(arguments, home: home, server: url, environment: ["TRAIL_TOKEN": token, "TRAIL_CONFIG": config.path])
            if let status {
                #expect(
                    result.status == status, "trail \(arguments.joined(separator: " ")) → \(result.status): \(result.stdout)\(result.stderr)",
                    sourceLocation: sourceLocation)
            }
            return result
        }

        func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            try trail(arguments + ["--json"], sourceLocation: sourceLocation).json()
        }
    }

    /// Creates a user and a token on the server's home (the operator's bootstrap).
    static func bootstrap(_ home: URL, _ name: String, roles: [String]) throws -> String {
        #expect(try CLI.trail(["users", "create", name] + roles.flatMap { ["--role", $0] }, home: home).status == 0)
        let created = try CLI.trail(["tokens", "create", name, "--json"], home: home)
        return try #require(try created.json()["token"] as? String)
    }

    static func startServer(home: URL, port: Int, token: String) throws -> Process {
        let server = Process()
        server.executableURL = CLI.binary
        server.arguments = ["server", "--port", String(port)]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        for _ in 0..<100 {
            Thread.sleep(forTimeInterval: 0.1)
            let probe = try? CLI.trail(
                ["experiments", "list"], home: CLI.temporaryHome(), server: "http://127.0.0.1:\(port)", environment: ["TRAIL_TOKEN": token])
            if probe?.status == 0 { break }
        }
        return server
    }

    static func post(_ url: String, _ body: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-H", "Content-Type: application/json", "-d", body, url]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// The tracking commands with a token (the end-to-end flow covers them on a local-only server).
    @Test func trackingCommandsWorkRemotelyWithATokenAndTheLedgerNamesItsUser() throws {
        let home = CLI.temporaryHome()
        let adminToken = try Self.bootstrap(home, "ada", roles: ["admin"])
        let engineerToken = try Self.bootstrap(home, "eve", roles: ["contributor"])
        let viewerToken = try Self.bootstrap(home, "val", roles: ["viewer"])
        let port = CLI.freePort()
        let server = try Self.startServer(home: home, port: port, token: adminToken)
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)"
        let eve = Person(token: engineerToken, url: url)
        let val = Person(token: viewerToken, url: url)
        try eve.trail(["experiments", "create", "remote-exp", "--tag", "team=risk"])
        #expect(try eve.trail(["experiments", "list"]).stdout.contains("remote-exp"))
        let experiment = try eve.json(["experiments", "get", "remote-exp"])
        let experimentID = try #require((experiment["experiment"] as? [String: Any])?["experiment_id"] as? String ?? experiment["experiment_id"] as? String)
        try eve.trail(["experiments", "set-tag", experimentID, "owner", "eve"])
        try eve.trail(["experiments", "rename", experimentID, "remote-exp-2"])
        try eve.trail(["experiments", "delete", experimentID])
        try eve.trail(["experiments", "restore", experimentID])
        try val.trail(["experiments", "create", "nope"], expect: 1)  // viewers read only
        let created = try eve.json(["runs", "create", "-e", "remote-exp-2", "--name", "r1"])
        let runID = try #require(((created["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"] as? String)
        let batch = eve.config.appendingPathComponent("batch.json")
        try FileManager.default.createDirectory(at: eve.config, withIntermediateDirectories: true)
        try Data(#"{"metrics": [{"key": "loss", "value": 0.5, "timestamp": 1, "step": 1}], "params": [{"key": "lr", "value": "0.1"}]}"#.utf8).write(to: batch)
        try eve.trail(["runs", "log-batch", runID, batch.path])
        try eve.trail(["runs", "log-metric", runID, "loss", "0.25", "--step", "2"])
        #expect(try eve.trail(["runs", "metric-history", runID, "loss"]).stdout.contains("0.25"))
        try eve.trail(["runs", "set-tag", runID, "stage", "dev"])
        try eve.trail(["runs", "delete-tag", runID, "stage"])
        #expect(try eve.trail(["runs", "tag-history", runID]).stdout.contains("stage"))
        let csv = eve.config.appendingPathComponent("data.csv")
        try Data("a,b,target\n1,2,0\n3,4,1\n".utf8).write(to: csv)
        try eve.trail(["runs", "log-input", runID, csv.path, "--context", "training"])
        try eve.trail(["runs", "log-artifact", runID, csv.path, "--path", "data/data.csv"])
        #expect(try eve.trail(["artifacts", "list", runID]).stdout.contains("data/data.csv"))
        try eve.trail(["runs", "end", runID])
        try eve.trail(["runs", "delete", runID])
        try eve.trail(["runs", "restore", runID])
        #expect(try eve.trail(["runs", "get", runID]).stdout.contains("lr"))
        // The ledger names the token's user as the actor of every one of these changes.
        let events = try val.json(["ledger", "events", "--subject", "run:\(runID)", "--limit", "100"])["events"] as? [[String: Any]] ?? []
        #expect(events.count >= 8)
        #expect(events.allSatisfy { (($0["event"] as? [String: Any])?["actor"] as? [String: Any])?["id"] as? String == "eve" })
    }

    @Test func everyCommandWorksRemotelyAsTheTokensUser() throws {
        let home = CLI.temporaryHome()
        let adminToken = try Self.bootstrap(home, "ada", roles: ["admin"])
        let engineerToken = try Self.bootstrap(home, "eve", roles: ["contributor"])
        let port = CLI.freePort()
        let server = try Self.startServer(home: home, port: port, token: adminToken)
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)"
        let ada = Person(token: adminToken, url: url)
        let eve = Person(token: engineerToken, url: url)

        // users and tokens: admins only, remotely.
        try ada.trail(["users", "create", "pat", "--role", "approver"])
        try ada.trail(["users", "create", "quinn", "--role", "approver"])
        try ada.trail(["users", "create", "vic", "--role", "viewer"])
        try ada.trail(["users", "roles", "vic", "--role", "viewer", "--role", "approver"])
        let users = try ada.trail(["users", "list"]).stdout
        #expect(users.contains("pat") && users.contains("viewer,approver"), "\(users)")
        let denied = try eve.trail(["users", "list"], expect: 1)
        #expect(denied.stderr.contains("PERMISSION_DENIED") || denied.stderr.contains("admin"), "\(denied.stderr)")
        let pat = Person(token: try #require(try ada.json(["tokens", "create", "pat"])["token"] as? String), url: url)
        let quinn = Person(token: try #require(try ada.json(["tokens", "create", "quinn", "--expires-days", "1"])["token"] as? String), url: url)
        let spare = try ada.json(["tokens", "create", "vic"])
        let spareID = try #require(spare["token_id"] as? String)
        #expect(try ada.trail(["tokens", "list", "--user", "vic"]).stdout.contains(spareID))
        try ada.trail(["tokens", "revoke", spareID])
        let revoked = Person(token: try #require(spare["token"] as? String), url: url)
        try revoked.trail(["models", "list"], expect: 1)

        // train on the client, everything logged to the server; steps and reproduce remotely.
        let trained = try eve.json(["train", "--register", "bc", "--experiment", "remote"])
        let runID = try #require(trained["run_id"] as? String)
        let dataDigest = try #require(trained["data_sha256"] as? String)
        #expect((trained["registered"] as? [String: Any])?["version"] as? Int == 1)
        let run = try eve.json(["runs", "get", runID])
        #expect(((run["run"] as? [String: Any])?["info"] as? [String: Any])?["user_id"] as? String == "eve")
        let steps = try eve.trail(["steps", runID]).stdout
        #expect(steps.contains("load_data") && steps.contains("package"), "\(steps)")
        let model = try eve.json(["steps", runID, "train", "model"])
        #expect(model["coefficients"] != nil || !model.isEmpty)
        let rebuilt = try eve.trail(["reproduce", runID])
        #expect(rebuilt.stdout.hasPrefix("REPRODUCED"), "\(rebuilt.stdout)")
        #expect(try ada.json(["ledger", "events", "--action", "run.reproduce"])["events"].map { ($0 as? [Any])?.count ?? 0 } == 1)

        // the registry, remotely: the gate decides as the token's user.
        try eve.trail(["models", "create", "other", "--description", "second"])
        #expect(try eve.trail(["models", "list"]).stdout.contains("other"))
        try eve.trail(["models", "register", "bc", "--run", runID])
        #expect(try eve.trail(["models", "get", "bc"]).stdout.contains("ROOT DIGEST"))
        let v1 = try eve.json(["models", "get", "bc", "1"])
        let root = try #require((v1["manifest"] as? [String: Any])?["root"] as? String)
        try eve.trail(["models", "stage", "bc", "1", "Staging", "--reason", "candidate"])
        try eve.trail(["models", "alias", "bc", "staging", "1", "--reason", "candidate"])
        #expect(try eve.trail(["models", "get", "bc@staging"]).stdout.contains("version 1"))
        let policy = home.deletingLastPathComponent().appendingPathComponent("policy-\(UUID().uuidString).json")
        try Data(#"{"approvals": 2, "attestations": ["https://slsa.dev/provenance/v1"]}"#.utf8).write(to: policy)
        try eve.trail(["models", "policy", "bc", "--to", "@production", "--file", policy.path], expect: 1)  // admins only
        try ada.trail(["models", "policy", "bc", "--to", "@production", "--file", policy.path])
        #expect(try eve.trail(["models", "policy", "bc", "--to", "@production"]).stdout.contains("policy v1"))
        let check = try eve.trail(["models", "check", "bc", "1", "--to", "@production"], expect: 1)
        #expect(check.stdout.contains("REFUSED"), "\(check.stdout)")
        let refused = try eve.trail(["models", "alias", "bc", "production", "1"], expect: 1)
        #expect(refused.stderr.contains("PERMISSION_DENIED") || refused.stderr.contains("approval"), "\(refused.stderr)")

        // keys (admins) and attestations (the engineer signs on their machine; verified on arrival).
        let keyFile = eve.config.appendingPathComponent("signer.key")
        try FileManager.default.createDirectory(at: eve.config, withIntermediateDirectories: true)
        let generated = try eve.json(["keys", "generate", "--out", keyFile.path])
        let publicKey = try #require(generated["public_key"] as? String)
        try eve.trail(["keys", "trust", "eve-ci", "--public-key", publicKey, "--predicate-type", "https://slsa.dev/provenance/v1"], expect: 1)
        let trusted = try ada.json(["keys", "trust", "eve-ci", "--public-key", publicKey, "--predicate-type", "https://slsa.dev/provenance/v1"])
        let keyID = try #require(trusted["keyid"] as? String)
        #expect(try eve.trail(["keys", "list"]).stdout.contains(keyID))
        let statement = home.deletingLastPathComponent().appendingPathComponent("statement-\(UUID().uuidString).json")
        let hex = String(root.dropFirst("sha256:".count))
        try Data(
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"bc/1","digest":{"sha256":"\#(hex)"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"x"}}}"#
                .utf8
        ).write(to: statement)
        try eve.trail(["attest", "bc", "1", "--predicate-type", "https://slsa.dev/provenance/v1", "--file", statement.path, "--key", keyFile.path])
        #expect(try eve.trail(["models", "attestations", "bc", "1"]).stdout.contains("https://slsa.dev/provenance/v1"))

        // approvals act as the token's user: the engineer cannot approve (role), approvers can.
        try eve.trail(["approve", "bc", "1", "--to", "@production"], expect: 1)
        try pat.trail(["approve", "bc", "1", "--to", "@production", "--digest", root, "--comment", "evidence read"])
        let vic = Person(token: try #require(try ada.json(["tokens", "create", "vic"])["token"] as? String), url: url)
        try vic.trail(["reject", "bc", "2", "--to", "Production", "--comment", "not this one"])
        #expect(try eve.trail(["models", "approvals", "bc", "2"]).stdout.contains("reject"))
        try quinn.trail(["approve", "bc", "1", "--to", "@production"])
        let approvals = try eve.trail(["models", "approvals", "bc", "1", "--json"]).stdout
        #expect(approvals.contains("\"approver\" : \"pat\"") && approvals.contains("\"approver\" : \"quinn\""), "\(approvals)")
        try eve.trail(["models", "alias", "bc", "production", "1", "--reason", "approved"])
        #expect(try eve.trail(["models", "history", "bc"]).stdout.contains("@production"))
        let at = try eve.json(["models", "at", "bc@production", "--time", String(Int64(Date().timeIntervalSince1970 * 1000) + 60_000)])
        #expect(at["versions"] as? [Int] == [1])
        try eve.trail(["models", "alias", "bc", "staging", "--delete"])
        try eve.trail(["models", "alias", "bc", "production", "--delete", "--emergency", "--reason", "drill"], expect: 1)  // admins only
        try ada.trail(["keys", "revoke", keyID])

        // trace, lineage, drift and steps: the same text and JSON remotely as locally.
        let tracePort = CLI.freePort()
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["serve", "bc@production", "--port", String(tracePort), "--keep-inputs"]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        environment["TRAIL_SERVER"] = ""
        serve.environment = environment
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate() }
        let example = try eve.json(["steps", runID, "load_data", "dataset"])
        #expect(example["sha256"] as? String == dataDigest)
        let exampleFile = eve.config.appendingPathComponent("row.json")
        try eve.trail(["artifacts", "download", runID, "input_example.json", "-o", exampleFile.path])
        let row = try JSONSerialization.jsonObject(with: try Data(contentsOf: exampleFile))
        var prediction: [String: Any] = [:]
        let input = String(decoding: try JSONSerialization.data(withJSONObject: ["features": row]), as: UTF8.self)
        for _ in 0..<100 {
            Thread.sleep(forTimeInterval: 0.1)
            if let answer = try? Self.post("http://127.0.0.1:\(tracePort)/predict", input), answer["prediction_id"] != nil {
                prediction = answer
                break
            }
        }
        let predictionID = try #require(prediction["prediction_id"] as? String)
        Thread.sleep(forTimeInterval: 1.5)  // the group commit
        let rescored = try eve.trail(["reproduce", "prediction", predictionID])
        #expect(rescored.stdout.hasPrefix("REPRODUCED"), "\(rescored.stdout)")
        for arguments in [
            ["trace", "model", "bc@production"], ["trace", "prediction", predictionID], ["lineage", "dataset", dataDigest], ["steps", runID],
            ["steps", runID, "evaluate", "metrics"],
        ] {
            let remote = try eve.trail(arguments)
            let local = try CLI.trail(arguments, home: home)
            #expect(local.status == 0 && remote.stdout == local.stdout, "\(arguments): remote\n\(remote.stdout)\nlocal\n\(local.stdout)")
            let remoteJSON = try eve.trail(arguments + ["--json"])
            let localJSON = try CLI.trail(arguments + ["--json"], home: home)
            #expect(remoteJSON.stdout == localJSON.stdout, "\(arguments) --json differ")
        }
        let trace = try eve.trail(["trace", "prediction", predictionID]).stdout
        #expect(trace.contains("✓ proven") && !trace.contains("NOT PROVEN"), "\(trace)")
        let drift = try eve.trail(["drift", "bc@production", "--window", "1h", "--min-rows", "1"])
        #expect(drift.stdout.contains("bc@production version 1"), "\(drift.stdout)")

        // the ledger, remotely: read, prove, export, verify here and (admins) on the server.
        let checkpoint = try eve.json(["ledger", "checkpoint"])
        let size = try #require(Int(checkpoint["size"] as? String ?? ""))
        #expect(try eve.trail(["ledger", "public-key"]).stdout.hasPrefix(String((checkpoint["note"] as? String ?? "").prefix { $0 != "\n" })))
        #expect(try eve.trail(["ledger", "event", "0"]).stdout.hasPrefix("#0 "))
        #expect(try eve.trail(["ledger", "events", "--actor", "pat"]).stdout.contains("approval"))
        #expect(try eve.trail(["ledger", "prove", "3"]).stdout.contains("PROVEN"))
        #expect(try eve.trail(["ledger", "consistency", "2", String(size)]).stdout.contains("PROVEN"))
        let export = eve.config.appendingPathComponent("export.jsonl")
        try eve.trail(["ledger", "export", "-o", export.path])
        #expect(try String(contentsOf: export, encoding: .utf8).split(separator: "\n").count >= size + 1)
        try eve.trail(["ledger", "checkpoint", "--save"])
        #expect(try eve.trail(["ledger", "verify"]).stdout.contains("VERIFIED"))
        try eve.trail(["ledger", "verify", "--on-server"], expect: 1)  // admins only
        #expect(try ada.trail(["ledger", "verify", "--on-server"]).stdout.contains("VERIFIED"))

        // the demo tells the whole story against the server, as the admin.
        let demo = try ada.trail(["demo"])
        #expect(demo.stdout.contains("breast_cancer_classifier@production = version 1"), "\(demo.stdout)\(demo.stderr)")
        #expect(!demo.stdout.contains("NOT PROVEN"))

        // nobody's machine grew a home folder: everything went to the server.
        for person in [ada, eve, pat, quinn, vic] { #expect(!FileManager.default.fileExists(atPath: person.home.path)) }
        #expect(try CLI.trail(["ledger", "verify"], home: home).stdout.contains("VERIFIED"))
    }
}
