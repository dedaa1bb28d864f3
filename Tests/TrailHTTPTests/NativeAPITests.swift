import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailCore
import TrailHTTP
import TrailService

/// Builds an app over a fresh home; `maxBodyBytes` small so the 413 path is cheap to reach.
func makeApp(maxBodyBytes: Int = 64 << 10) async throws -> (some ApplicationProtocol, TrailHome) {
    let home = try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-http-\(UUID().uuidString)"), store: try await StoreSettings.testing())
    let config = TrailServerConfig(port: 0, maxBodyBytes: maxBodyBytes, maxArtifactBytes: 8 << 20, localActor: .user("server-user"), localOnly: true)
    let router = TrailApplication.router(home: home, config: config, logger: Logger(label: "test"))
    return (Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))), home)
}

func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
}

extension TestClientProtocol {
    func createRun() async throws -> RunID {
        try await execute(uri: "/api/v1/runs", method: .post, headers: [.contentType: "application/json"], body: json(#"{"experiment_id": "0", "run_name": "r"}"#)) { response in
            try decode(NativeAPI.RunBody.self, response).run.info.runID
        }
    }
}

@Suite("Native HTTP API")
struct NativeAPITests {
    @Test func trackingFlowOverHTTP() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            let experiment = try await client.execute(
                uri: "/api/v1/experiments", method: .post, headers: [.contentType: "application/json"], body: json(#"{"name": "demo", "tags": [{"key": "team", "value": "risk"}]}"#)
            ) { response in
                #expect(response.status == .ok)
                return try decode(NativeAPI.ExperimentBody.self, response).experiment
            }
            #expect(experiment.id == ExperimentID(1))
            let run = try await client.execute(
                uri: "/api/v1/runs", method: .post, headers: [.contentType: "application/json"], body: json(#"{"experiment_id": "1", "run_name": "r1", "user_id": "mallory"}"#)
            ) { try decode(NativeAPI.RunBody.self, $0).run }
            let id = run.info.runID
            try await client.execute(
                uri: "/api/v1/runs/\(id)/batch", method: .post,
                headers: [.contentType: "application/json"], body: json(
                    #"{"metrics": [{"key": "acc", "value": 0.9, "timestamp": 5, "step": 1}, {"key": "acc", "value": "NaN", "timestamp": 6, "step": 0}], "params": [{"key": "C", "value": "1.0"}]}"#
                )
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/runs/\(id)/params", method: .post, headers: [.contentType: "application/json"], body: json(#"{"key": "C", "value": "2.0"}"#)) { response in
                #expect(response.status == .badRequest)
                let error = try decode(NativeAPI.ErrorBody.self, response).error
                #expect(error.code == "INVALID_PARAMETER_VALUE")
                #expect(error.field == "params.C")
            }
            let found = try await client.execute(
                uri: "/api/v1/runs/search", method: .post,
                headers: [.contentType: "application/json"], body: json(#"{"experiment_ids": ["1"], "filter": "metrics.acc > 0.5 and params.C = '1.0'", "order_by": ["metrics.acc DESC"]}"#)
            ) { try decode(NativeAPI.RunList.self, $0) }
            #expect(found.runs.map(\.info.runID) == [id])
            #expect(found.runs[0].metrics.first?.value == 0.9)
            let history = try await client.execute(uri: "/api/v1/runs/\(id)/metrics/acc/history", method: .get) {
                try decode(NativeAPI.MetricHistory.self, $0)
            }
            #expect(history.metrics.count == 2)
            #expect(history.metrics[1].value.isNaN)
            try await client.execute(uri: "/api/v1/runs/\(id)", method: .patch, headers: [.contentType: "application/json"], body: json(#"{"status": "FINISHED"}"#)) { response in
                let info = try decode(NativeAPI.RunInfoBody.self, response).runInfo
                #expect(info.status == .finished)
            }
        }
    }

    @Test func theActorIsTheServerIdentityNotTheBody() async throws {
        let (app, home) = try await makeApp()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/api/v1/runs", method: .post, headers: [.contentType: "application/json"], body: json(#"{"experiment_id": "0", "user_id": "mallory"}"#)
            ) { #expect($0.status == .ok) }
        }
        let events = try await home.tracking.store.events(from: 1, to: 2)
        #expect(events.first?.actor == .user("server-user"))
    }

    @Test(
        "bad input gets a status, a code and the field",
        arguments: [
            ("/api/v1/experiments", "POST", "{not json", 400, "MALFORMED_REQUEST", "body"),
            ("/api/v1/experiments", "POST", #"{"name": 5}"#, 400, "INVALID_PARAMETER_VALUE", "name"),
            ("/api/v1/experiments", "POST", #"{}"#, 400, "INVALID_PARAMETER_VALUE", "name"),
            ("/api/v1/experiments", "POST", #"{"name": "Default"}"#, 409, "RESOURCE_ALREADY_EXISTS", "name"),
            ("/api/v1/experiments/77", "GET", "", 404, "RESOURCE_DOES_NOT_EXIST", "experiment_id"),
            ("/api/v1/experiments/abc", "GET", "", 400, "INVALID_PARAMETER_VALUE", "experiment_id"),
            ("/api/v1/runs/0123456789abcdef0123456789abcdef", "GET", "", 404, "RESOURCE_DOES_NOT_EXIST", "run_id"),
            ("/api/v1/runs/not-a-run", "GET", "", 400, "INVALID_PARAMETER_VALUE", "run_id"),
            ("/api/v1/runs", "POST", #"{"experiment_id": "0", "start_time": "soon"}"#, 400, "INVALID_PARAMETER_VALUE", "start_time"),
            ("/api/v1/runs/search", "POST", #"{"experiment_ids": ["0"], "filter": "metrics.a = 'x'"}"#, 400, "INVALID_PARAMETER_VALUE", "filter"),
            ("/api/v1/runs/search", "POST", #"{"experiment_ids": ["0"], "max_results": 0}"#, 400, "INVALID_PARAMETER_VALUE", "max_results"),
            ("/api/v1/nowhere", "GET", "", 404, "ENDPOINT_NOT_FOUND", nil),
        ] as [(String, String, String, Int, String, String?)])
    func badInput(_ uri: String, _ method: String, _ body: String, _ status: Int, _ code: String, _ field: String?) async throws {
        let (app, home) = try await makeApp()
        let before = try await home.tracking.store.eventCount()
        try await app.test(.router) { client in
            try await client.execute(
                uri: uri, method: method == "GET" ? .get : .post, headers: [.contentType: "application/json"],
                body: body.isEmpty ? nil : json(body)
            ) { response in
                #expect(response.status.code == status)
                let error = try decode(NativeAPI.ErrorBody.self, response).error
                #expect(error.code == code)
                #expect(error.field == field)
                #expect(!error.message.isEmpty)
            }
        }
        #expect(try await home.tracking.store.eventCount() == before)
    }

    @Test func oversizedBodyIs413AndChangesNothing() async throws {
        let (app, home) = try await makeApp(maxBodyBytes: 1024)
        let before = try await home.tracking.store.eventCount()
        try await app.test(.router) { client in
            let name = String(repeating: "x", count: 4096)
            try await client.execute(uri: "/api/v1/experiments", method: .post, headers: [.contentType: "application/json"], body: json(#"{"name": "\#(name)"}"#)) { response in
                #expect(response.status == .contentTooLarge)
                let error = try decode(NativeAPI.ErrorBody.self, response).error
                #expect(error.code == "REQUEST_TOO_LARGE")
            }
        }
        #expect(try await home.tracking.store.eventCount() == before)
    }

    /// MLflow's path-traversal CVE inputs, as raw request paths: refused before any file is touched.
    static let traversalPaths = [
        "../x", "..%2Fx", "%2e%2e/x", "a/../../x", "%2Fetc%2Fpasswd", "/etc/passwd", "%5C..%5Cx", "x%23/../..", "x%3F/../..", "x;/../..",
        "/proc/self/root/x", "%252e%252e/x", "x%00y", "a//b", "a/",
    ]

    @Test("artifact paths that try to leave the run are refused", arguments: traversalPaths)
    func traversalRefused(_ path: String) async throws {
        let (app, home) = try await makeApp()
        try await app.test(.router) { client in
            let id = try await client.createRun()
            try await client.execute(uri: "/api/v1/runs/\(id)/artifacts/\(path)", method: .put, body: ByteBuffer(string: "payload")) { response in
                #expect(response.status == .badRequest)
                let error = try decode(NativeAPI.ErrorBody.self, response).error
                #expect(error.code == "INVALID_PARAMETER_VALUE")
                #expect(error.field == "path")
            }
        }
        #expect(try await home.tracking.blobs.allDigests().isEmpty)
        let tmp = home.url.appendingPathComponent("blobs/tmp")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "no byte was written")
    }

    @Test func queryStringOnArtifactPathIsRefused() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            let id = try await client.createRun()
            try await client.execute(uri: "/api/v1/runs/\(id)/artifacts/x?/../..", method: .put, body: ByteBuffer(string: "p")) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func artifactUploadDownloadOverALiveSocket() async throws {
        let (app, _) = try await makeApp()
        let payload = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        let expected = Digest.of(payload)
        try await app.test(.live) { client in
            let id = try await client.createRun()
            let stored = try await client.execute(
                uri: "/api/v1/runs/\(id)/artifacts/model/roc%20curve.bin", method: .put, body: ByteBuffer(bytes: payload)
            ) { try decode(NativeAPI.ArtifactBody.self, $0).artifact }
            #expect(stored.digest == expected)
            #expect(stored.path.value == "model/roc curve.bin")
            try await client.execute(uri: "/api/v1/runs/\(id)/artifacts/model/roc%20curve.bin", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Digest.of(Array(response.body.readableBytesView)) == expected)
                #expect(response.headers[.eTag] == "\"\(expected)\"")
            }
            try await client.execute(uri: "/api/v1/runs/\(id)/artifacts/model/roc%20curve.bin", method: .put, body: ByteBuffer(string: "other")) {
                #expect($0.status == .conflict)
            }
            let listing = try await client.execute(uri: "/api/v1/runs/\(id)/artifacts?prefix=model", method: .get) {
                try decode(NativeAPI.ArtifactList.self, $0)
            }
            #expect(listing.artifacts.map(\.path.value) == ["model/roc curve.bin"])
            try await client.execute(uri: "/api/v1/runs/\(id)/artifacts/missing.bin", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test func artifactOverTheLimitIs413() async throws {
        let (app, home) = try await makeApp()
        try await app.test(.router) { client in
            let id = try await client.createRun()
            try await client.execute(
                uri: "/api/v1/runs/\(id)/artifacts/huge.bin", method: .put, body: ByteBuffer(repeating: 1, count: (8 << 20) + 1)
            ) { #expect($0.status == .contentTooLarge) }
        }
        #expect(try await home.tracking.blobs.allDigests().isEmpty)
    }

    @Test func healthAnswers() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            for uri in ["/health", "/api/v1/health"] {
                try await client.execute(uri: uri, method: .get) { response in
                    let health = try decode(NativeAPI.Health.self, response)
                    #expect(health.status == "ok")
                }
            }
        }
    }
}

@Suite("Registry HTTP API")
struct RegistryAPITests {
    @Test func registerPromoteAndAskThePast() async throws {
        let (app, home) = try await makeApp()
        let run = try await home.tracking.createRun(experimentID: nil, actor: .user("u")).info.runID
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/w.json"), bytes: [1, 2], actor: .user("u"))
        try await app.test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/api/v1/models/bc/versions", method: .post, headers: [.contentType: "application/json"], body: json(#"{"run_id": "\#(run)", "path": "model"}"#)) {
                    #expect($0.status == .ok)
                }
            }
            try await client.execute(
                uri: "/api/v1/models/bc/aliases", method: .post, headers: [.contentType: "application/json"], body: json(#"{"alias": "production", "version": 2, "reason": "go"}"#)
            ) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/v1/models/bc/aliases", method: .post, headers: [.contentType: "application/json"], body: json(#"{"alias": "production", "version": 9}"#)) {
                response in
                #expect(response.status == .notFound)
                let error = try decode(NativeAPI.ErrorBody.self, response).error
                #expect(error.field == "version")
            }
            try await client.execute(
                uri: "/api/v1/models/bc/versions/2/stage", method: .post, headers: [.contentType: "application/json"], body: json(#"{"stage": "Production", "archive_existing_versions": true}"#)
            ) { response in
                let version = try decode(ModelVersion.self, response)
                #expect(version.stage == .production)
            }
            try await client.execute(uri: "/api/v1/models/bc/at?ref=production&time=\(Int64.max)", method: .get) { response in
                let body = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(body["versions"] == [2])
            }
            try await client.execute(uri: "/api/v1/models/nope", method: .get) { #expect($0.status == .notFound) }
        }
    }
}
