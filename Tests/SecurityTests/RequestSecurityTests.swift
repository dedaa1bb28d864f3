import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailCore
import TrailStore

@testable import TrailArtifacts
@testable import TrailHTTP
@testable import TrailService

/// Issue #12: no request can crash the server or poison the ledger, and a browser cannot act
/// through a local-only server.
@Suite("Security: hostile requests")
struct RequestSecurityTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    // 9. Integers a client controls trapped the process.
    @Test func noClientIntegerTraps() async throws {
        let home = try await SecurityFixtures.home()
        _ = try await home.registry.createModel(name: "m", actor: .user("owner"))
        let app = SecurityFixtures.app(home, localOnly: true)
        let hugeToken = Data(#"{"offset": 9223372036854775807}"#.utf8).base64EncodedString()
        let negativeToken = Data(#"{"offset": -1}"#.utf8).base64EncodedString()
        try await app.test(.router) { client in
            for (uri, status) in [
                ("/api/v1/ledger/proofs/inclusion?index=-1", HTTPResponse.Status.badRequest),
                ("/api/v1/ledger/proofs/inclusion?index=1&size=-1", .badRequest),
                ("/api/v1/ledger/proofs/inclusion?index=9223372036854775807", .badRequest),
                ("/api/v1/ledger/proofs/consistency?first=-1&second=-1", .badRequest),
                ("/api/v1/ledger/events/9223372036854775807", .notFound),
                ("/api/v1/ledger/events/-9223372036854775808", .notFound),
                ("/api/v1/ledger/events?from=9223372036854775807&limit=10", .ok),
                ("/api/v1/ledger/events?from=-1", .badRequest),
                ("/api/v1/ledger/events?limit=9223372036854775807", .badRequest),
                ("/api/v1/models/m/at?ref=production&time=9223372036854775807", .ok),
                ("/api/v1/models?page_token=\(hugeToken)", .badRequest),
                ("/api/2.0/mlflow/registered-models/search?page_token=\(hugeToken)", .badRequest),
                ("/api/2.0/mlflow/model-versions/search?page_token=\(hugeToken)", .badRequest),
                ("/api/2.0/mlflow/experiments/search?page_token=\(hugeToken)", .badRequest),
                ("/api/2.0/mlflow/experiments/search?page_token=\(negativeToken)", .badRequest),
                ("/api/2.0/mlflow/experiments/search?max_results=9223372036854775807", .badRequest),
                ("/api/2.0/mlflow/metrics/get-history?run_id=x&metric_key=m&max_results=9223372036854775807", .badRequest),
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == status, "\(uri): \(String(buffer: response.body))")
                }
            }
            for uri in ["/api/2.0/mlflow/logged-models/search", "/api/2.0/mlflow/runs/search"] {
                try await client.execute(
                    uri: uri, method: .post, headers: Self.json,
                    body: ByteBuffer(string: #"{"experiment_ids": ["0"], "page_token": "\#(hugeToken)", "max_results": 9223372036854775807}"#)
                ) { response in
                    #expect(response.status == .badRequest, "\(uri): \(String(buffer: response.body))")
                }
            }
        }
        // A policy's time to live, stored or sent, never traps a later check.
        let ttl = await #expect(throws: TrailError.self) {
            _ = try await home.registry.setPolicy(name: "m", target: "@production", document: Array(#"{"approval_ttl_hours": 3000000000000}"#.utf8), actor: .user("owner"))
        }
        #expect(ttl?.field == "policy.approval_ttl_hours")
        let old = Approval(
            name: "m", version: 1, target: "@production", approver: "ann", rootDigest: Digest.of([1]), decision: "approve", comment: "", timeMillis: .max - 5,
            eventIndex: 0)
        #expect(!RegistryService.expired(old, policy: PromotionPolicy(approvalTTLHours: Int.max), now: .max))
        // Tokens: the service and the CLI refuse absurd lifetimes instead of trapping.
        _ = try await home.identity.createUser(name: "ann", roles: [.approver], actor: .user("owner"))
        await #expect(throws: TrailError.self) { _ = try await home.identity.createToken(user: "ann", expiresInSeconds: .max, actor: .user("owner")) }
        let cli = try SecurityFixtures.trail(["tokens", "create", "ann", "--expires-days", "200000000000000"], home: home.url)
        #expect(!cli.signaled, "\(cli.stderr)")
        #expect(cli.status != 0)
        #expect(cli.stderr.contains("expires-days"))
        let drift = try SecurityFixtures.trail(["drift", "m@production", "--window", "9223372036854775807d"], home: home.url)
        #expect(!drift.signaled, "\(drift.stderr)")
    }

    // 10. A non-finite score was stored as NULL and hashed as NaN: `ledger verify` failed forever.
    @Test func aNonFiniteScoreIsRefusedAndTheLedgerStillVerifies() async throws {
        let (home, serving) = try await SecurityFixtures.servedHome()
        let loaded = try await serving.load(name: "bc", reference: "live")
        let server = ModelServer(serving: serving, model: loaded, configuration: .init(name: "bc", reference: "live"), deploymentID: "dtest")
        let app = Application(router: ServingApplication.router(server: server, logger: Logger(label: "test")))
        var huge = try SecurityFixtures.row()
        for key in huge.keys { huge[key] = .double(1e308) }
        let row = huge
        let good = try SecurityFixtures.row()
        try await app.test(.router) { client in
            for body in [JSONValue.object(row), ["inputs": [.object(good), .object(row)]]] {
                try await client.execute(uri: "/predict", method: .post, body: ByteBuffer(bytes: body.canonicalBytes)) { response in
                    #expect(response.status == .unprocessableContent, "\(String(buffer: response.body))")
                    #expect(String(buffer: response.body).contains("finite"))
                }
            }
        }
        // Nor can a non-finite score reach the store by any other path.
        let store = home.tracking.store
        await #expect(throws: TrailError.self) {
            _ = try await store.apply(
                WriteBatch(
                    changes: [
                        .recordPredictions(
                            PredictionBatch(
                                deploymentID: "dtest", modelName: "bc", modelVersion: 1,
                                records: [
                                    PredictionRecord(
                                        predictionID: "pnan", timeMillis: 1, deploymentID: "dtest", modelName: "bc", modelVersion: 1, inputDigest: Digest.of([1]),
                                        probability: .nan, prediction: 1, latencyMicros: 1, outcome: "ok")
                                ], featureCounts: [:], merkleRootHex: ""))
                    ], event: EventDraft(action: "predictions.log", actor: .service("serve"), timeMillis: 1, subject: Subject(type: "deployment", id: "dtest"))))
        }
        try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
    }

    // 11. Each refused request stored its full path: 200 requests with 60 kB paths added 12 MB.
    @Test func refusalsAreBoundedSummaries() async throws {
        let home = try await SecurityFixtures.home()
        let app = SecurityFixtures.app(home, localOnly: false)
        let before = try await home.tracking.store.eventCount()
        let long = String(repeating: "a", count: 60_000)
        let startMinute = Int64(Date().timeIntervalSince1970 * 1000) / 60_000
        try await app.test(.router) { client in
            for _ in 0..<200 {
                try await client.execute(uri: "/api/v1/runs/\(long)", method: .get) { #expect($0.status == .unauthorized) }
            }
        }
        let events = try await home.tracking.store.events(from: before, to: before + 1000)
        #expect(!events.isEmpty)
        // The limit is per clock minute: a slow machine that spans several minutes may record
        // up to the limit in each of them, never more.
        let minutes = Int64(Date().timeIntervalSince1970 * 1000) / 60_000 - startMinute + 1
        #expect(Int64(events.count) <= Int64(home.identity.deniedLimiter.perSourcePerMinute) * minutes)
        #expect(events.count < 200)
        #expect(events.allSatisfy { $0.body.count < 2000 }, "\(events.map(\.body.count).max() ?? 0)")
        let facts = try JSONValue.parse(events[0].body)["facts"]
        #expect(facts?["path_bytes"]?.intValue == Int64("/api/v1/runs/".utf8.count + 60_000))
        #expect(facts?["path_sha256"]?.stringValue?.hasPrefix("sha256:") == true)
        // Once the minute turns, the next refusal says how many were suppressed before it.
        let limiter = DeniedLimiter(perSourcePerMinute: 2)
        #expect(limiter.admit("x", nowMillis: 0) == 0)
        #expect(limiter.admit("x", nowMillis: 1) == 0)
        #expect(limiter.admit("x", nowMillis: 2) == nil)
        #expect(limiter.admit("x", nowMillis: 3) == nil)
        #expect(limiter.admit("y", nowMillis: 4) == 0)
        #expect(limiter.admit("x", nowMillis: 60_000) == 2)
    }

    // 12. A web page could drive a local-only server as its owner.
    @Test func aBrowserCannotActThroughALocalOnlyServer() async throws {
        let home = try await SecurityFixtures.home()
        _ = try await home.registry.createModel(name: "m", actor: .user("owner"))
        let app = SecurityFixtures.app(home, localOnly: true)
        let body = ByteBuffer(string: #"{"name": "evil"}"#)
        try await app.test(.router) { client in
            for headers: HTTPFields in [
                [.contentType: "text/plain"], [:], [.contentType: "application/x-www-form-urlencoded"],
                [.contentType: "application/json", .origin: "http://evil.example"], [.contentType: "application/json", .origin: "null"],
                [.contentType: "application/json", HTTPField.Name("Sec-Fetch-Site")!: "cross-site"],
            ] {
                try await client.execute(uri: "/api/v1/models", method: .post, headers: headers, body: body) { response in
                    #expect([.badRequest, .forbidden].contains(response.status), "\(headers): \(String(buffer: response.body))")
                }
                try await client.execute(uri: "/api/2.0/mlflow/registered-models/create", method: .post, headers: headers, body: body) { response in
                    #expect([.badRequest, .forbidden].contains(response.status), "\(headers): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/api/v1/models", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"name": "fine"}"#)) {
                #expect($0.status == .ok)
            }
        }
        #expect(try await home.registry.models().items.map(\.name) == ["fine", "m"])
        // DNS rebinding: a loopback server answers only to its loopback names.
        let boundary = BrowserBoundaryMiddleware(host: "127.0.0.1", port: 5050)
        for good in ["127.0.0.1:5050", "localhost:5050", "[::1]:5050", "127.0.0.2:5050"] { #expect(boundary.allowedHost(good), "\(good)") }
        for bad in ["evil.example:5050", "evil.example", "127.0.0.1.evil.example:5050", "127.0.0.1:5051", "[::1]x", "localhost", "127.1:5050"] {
            #expect(!boundary.allowedHost(bad), "\(bad)")
        }
        // --local-only binds only to loopback.
        for host in ["0.0.0.0", "10.1.2.3", "example.com", "::"] {
            #expect(throws: TrailError.self) { try TrailServerConfig(host: host, localActor: .user("o"), localOnly: true).validate() }
        }
        try TrailServerConfig(host: "127.0.0.1", localActor: .user("o"), localOnly: true).validate()
        try TrailServerConfig(host: "0.0.0.0", localActor: .user("o"), localOnly: false).validate()
    }

    // 14 (remote mode's attack pass). A NUL in a path or a JSON string changed one record while
    // the ledger named another (SQLite compares text up to a NUL), leaving the log failing
    // verification; the last admin could demote themself; a client's reproduction report was
    // recorded whatever it claimed.
    @Test func nulsTheLastAdminAndReportedReproductions() async throws {
        let (home, serving) = try await SecurityFixtures.servedHome()
        _ = try await home.identity.createUser(name: "bob", roles: [.viewer], actor: .user("root"))
        _ = try await home.identity.createUser(name: "ada", roles: [.admin], actor: .user("root"))
        let app = SecurityFixtures.app(home, localOnly: true)
        let before = try await home.tracking.store.eventCount()
        try await app.test(.router) { client in
            for (uri, body) in [
                ("/api/v1/users/bob%00evil/roles", #"{"roles": ["admin"]}"#), ("/api/v1/tokens", #"{"user": "bob\u0000evil"}"#),
                ("/api/v1/models/bc%00x/drift", #"{"reference": "live", "window_ms": 3600000}"#), ("/api/v1/users/bob/roles?x=%00", #"{"roles": ["admin"]}"#),
                ("/api/2.0/mlflow/registered-models/create", #"{"name": "m\u0000x"}"#),
            ] {
                try await client.execute(uri: uri, method: .post, headers: Self.json, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(uri): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/api/v1/predictions/p%00x", method: .get) { #expect($0.status == .badRequest) }
        }
        #expect(try await home.tracking.store.eventCount() == before, "a refused NUL changes nothing")
        #expect(try await home.identity.user("bob").roles == [.viewer])
        // The last admin keeps the role.
        await #expect(throws: TrailError.self) { _ = try await home.identity.setRoles(name: "ada", roles: [.viewer], actor: .user("ada")) }
        // Reported re-scorings and rebuilds must be consistent with the record.
        let run = try #require(try await home.registry.version("bc", 1).runID)
        let tags = Dictionary(try await home.tracking.run(run).tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        let model = try #require(tags["model_sha256"]), data = try #require(tags["data_sha256"])
        let zero = "sha256:" + String(repeating: "0", count: 64)
        for fake in [
            ReproductionReport(runID: run, outcome: "REPRODUCED", differences: [], rebuildRunID: nil, expectedModelSHA256: zero, actualModelSHA256: zero, dataSHA256: zero),
            ReproductionReport(runID: run, outcome: "REPRODUCED", differences: [], rebuildRunID: nil, expectedModelSHA256: model, actualModelSHA256: zero, dataSHA256: data),
            ReproductionReport(runID: run, outcome: "DIFFERS", differences: [], rebuildRunID: nil, expectedModelSHA256: model, actualModelSHA256: nil, dataSHA256: data),
            ReproductionReport(runID: run, outcome: "REPRODUCED", differences: [], rebuildRunID: run, expectedModelSHA256: model, actualModelSHA256: model, dataSHA256: data),
            ReproductionReport(runID: run, outcome: "DIFFERS", differences: ["x"], rebuildRunID: nil, expectedModelSHA256: "nothex", actualModelSHA256: nil, dataSHA256: data),
        ] {
            await #expect(throws: TrailError.self) { _ = try await home.tracking.recordReproduction(fake, actor: .user("eve")) }
        }
        let honest = ReproductionReport(
            runID: run, outcome: "DIFFERS", differences: ["data changed"], rebuildRunID: nil, expectedModelSHA256: model, actualModelSHA256: nil, dataSHA256: data)
        #expect(try await home.tracking.recordReproduction(honest, actor: .user("eve")) != nil)
        _ = try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
        _ = serving
    }

    // 13. A 10,000-term filter answered 500; `user_id` named another author in lineage; a blob
    // replaced by a symlink was streamed; searching needed `write`.
    @Test func smallerHoles() async throws {
        let home = try await SecurityFixtures.home()
        let app = SecurityFixtures.app(home, localOnly: true)
        let filter = (0..<10_000).map { "params.p\($0) = 'x'" }.joined(separator: " and ")
        try await app.test(.router) { client in
            let body = try JSONValue.object(["experiment_ids": ["0"], "filter": .string(filter)]).canonicalBytes
            try await client.execute(uri: "/api/2.0/mlflow/runs/search", method: .post, headers: Self.json, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .badRequest, "\(response.status)")
            }
            try await client.execute(uri: "/api/v1/runs/search", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"filter": "\#(filter)"}"#)) {
                response in
                #expect(response.status == .badRequest, "\(response.status)")
            }
        }
        // Reading is `read`.
        let viewer = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: .user("owner"))
        let (secret, _) = try await home.identity.createToken(user: viewer.name, actor: .user("owner"))
        try await SecurityFixtures.app(home, localOnly: false).test(.router) { client in
            try await client.execute(
                uri: "/api/v1/runs/search", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(secret)"],
                body: ByteBuffer(string: #"{"experiment_ids": ["0"]}"#)
            ) { #expect($0.status == .ok, "\(String(buffer: $0.body))") }
        }
        // Lineage names the authenticated creator, not the client's user_id.
        let (served, _) = try await SecurityFixtures.servedHome()
        let mallory = try await served.tracking.createRun(experimentID: nil, userID: "somebody-else", actor: .user("mallory"))
        try await served.tracking.putArtifact(mallory.info.runID, path: try ArtifactPath(validating: "m/model.json"), bytes: [1], actor: .user("mallory"))
        _ = try await served.registry.registerVersion(name: "bc", runID: mallory.info.runID, path: "m", actor: .user("mallory"))
        let lineage = try await served.lineage.model(name: "bc", reference: "2")
        let link = try #require(lineage.links.first { $0.kind == "run" })
        #expect(link.summary.contains("by mallory"), "\(link.summary)")
        #expect(!link.summary.contains("by somebody-else"))
        // A shortened or malformed digest is refused rather than answered "no impact".
        for bad in ["sha256:432ff316", "foo", "sha256:zz"] {
            await #expect(throws: TrailError.self) { _ = try await served.lineage.dataset(digest: bad) }
        }
        // A blob replaced by a symbolic link, or altered in place, is not streamed as the artifact.
        let blobs = try FileBlobStore(root: SecurityFixtures.directory("blobs"))
        let (digest, _) = try await blobs.put(Array("the real bytes".utf8))
        let path = blobs.path(of: digest)
        let elsewhere = SecurityFixtures.directory("secret")
        try Data("/etc/shadow-like".utf8).write(to: elsewhere)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere.path)
        let linked = await #expect(throws: TrailError.self) { _ = try await blobs.get(digest) }
        #expect(linked?.code == .dataLoss)
        try FileManager.default.removeItem(atPath: path)
        try Data("the fake bytes".utf8).write(to: URL(fileURLWithPath: path))
        let altered = await #expect(throws: TrailError.self) { _ = try await blobs.get(digest) }
        #expect(altered?.code == .dataLoss)
    }

    // 14. `ledger verify` missed a changed actor_type, a deleted checkpoint and a changed checkpoint time.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRAIL_TEST_BACKEND"] != "postgres", "edits the SQLite file directly"))
    func verifyCoversEveryIndexedColumnAndEveryCheckpoint() async throws {
        let home = try await SecurityFixtures.home()
        for i in 0..<4 {
            _ = try await home.tracking.createExperiment(name: "e\(i)", tags: [], actor: .user("ann"))
            try await home.ledger.checkpointIfBehind()
        }
        #expect(try await home.verifier.verify().ok)
        let checkpoints = try await home.tracking.store.checkpoints()
        #expect(checkpoints.count >= 4)
        let sizes = checkpoints.map(\.size)

        try SecurityFixtures.tamper(home) { try $0.execute(sql: "UPDATE ledger_events SET actor_type = 'robot' WHERE idx = 1") }
        var report = try await home.verifier.verify()
        #expect(report.findings.contains { $0.location == "ledger_events idx 1" }, "\(report.findings)")
        try SecurityFixtures.tamper(home) { try $0.execute(sql: "UPDATE ledger_events SET actor_type = 'user' WHERE idx = 1") }
        #expect(try await home.verifier.verify().ok)

        try SecurityFixtures.tamper(home) { try $0.execute(sql: "UPDATE checkpoints SET time = time + 1 WHERE size = ?", arguments: [Int64(sizes[1])]) }
        report = try await home.verifier.verify()
        #expect(report.findings.contains { $0.kind == "checkpoint" && $0.location.contains("size \(sizes[1])") }, "\(report.findings)")
        try SecurityFixtures.tamper(home) { try $0.execute(sql: "UPDATE checkpoints SET time = time - 1 WHERE size = ?", arguments: [Int64(sizes[1])]) }
        #expect(try await home.verifier.verify().ok)

        // Deleting a checkpoint (with its record, or without) is found from the one that follows it.
        try SecurityFixtures.tamper(home) {
            try $0.execute(sql: "DELETE FROM checkpoints WHERE size = ?", arguments: [Int64(sizes[1])])
            try $0.execute(sql: "DELETE FROM checkpoint_records WHERE size = ?", arguments: [Int64(sizes[1])])
        }
        report = try await home.verifier.verify()
        #expect(report.findings.contains { $0.kind == "checkpoint" && $0.location.contains("size \(sizes[2])") }, "\(report.findings)")
        try SecurityFixtures.tamper(home) { try $0.execute(sql: "DELETE FROM checkpoints WHERE size = ?", arguments: [Int64(sizes[2])]) }
        report = try await home.verifier.verify()
        #expect(report.findings.contains { $0.message.contains("deleted") }, "\(report.findings)")
    }
}

/// The OpenAPI description that the fuzzer reads must describe every native route, and only those.
@Suite("Security: the published API description")
struct OpenAPIDescriptionTests {
    @Test func everyNativeRouteHasAnOperationAndEveryOperationARoute() async throws {
        let home = try await SecurityFixtures.home()
        let config = TrailServerConfig(port: 0, localActor: .user("owner"))
        let router = TrailApplication.router(home: home, config: config, logger: Logger(label: "openapi"))
        let document = try JSONValue.parse(Array(OpenAPIDocument.json.utf8))
        guard case .object(let paths)? = document["paths"] else {
            Issue.record("no paths")
            return
        }
        var described = Set<String>()
        for (path, item) in paths {
            guard case .object(let operations) = item else { continue }
            for method in operations.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                described.insert("\(method.uppercased()) \(path)")
            }
        }
        var routed = Set<String>()
        for route in router.routes where "\(route.path)".hasPrefix("/api/v1/") {
            let path = "\(route.path)".split(separator: "/").map { segment -> String in
                if segment == "**" { return "{path}" }
                if segment.hasPrefix(":") { return "{\(segment.dropFirst())}" }
                return String(segment)
            }.joined(separator: "/")
            routed.insert("\(route.method) /\(path)")
        }
        #expect(routed.subtracting(described).isEmpty, "routes without an operation: \(routed.subtracting(described).sorted())")
        #expect(described.subtracting(routed).isEmpty, "operations without a route: \(described.subtracting(routed).sorted())")
        #expect(routed.count >= 50)
    }
}
