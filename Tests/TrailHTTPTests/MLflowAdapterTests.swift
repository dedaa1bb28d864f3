import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TrailCore
@testable import TrailHTTP
import TrailService
import TrailStore

/// A local-only server (requests without credentials act as `local`) for the MLflow adapter.
func makeMLflowApp() async throws -> (some ApplicationProtocol, TrailHome) {
    let home = try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-mlflow-\(UUID().uuidString)"), store: try await StoreSettings.testing())
    let router = TrailApplication.router(
        home: home, config: TrailServerConfig(port: 0, localActor: .user("local"), localOnly: true), logger: Logger(label: "test"))
    return (Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))), home)
}

/// Sends an MLflow request and returns status and the decoded JSON object.
func call(
    _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ body: JSONValue? = nil, raw: ByteBuffer? = nil
) async throws -> (HTTPResponse.Status, JSONValue) {
    let buffer = raw ?? body.map { ByteBuffer(bytes: $0.canonicalBytes) } ?? ByteBuffer()
    return try await client.execute(uri: path, method: method, headers: [.contentType: "application/json"], body: buffer) { response in
        let bytes = Array(response.body.readableBytesView)
        return (response.status, bytes.isEmpty ? .object([:]) : ((try? JSONValue.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))))
    }
}

@Suite("MLflow REST adapter")
struct MLflowAdapterTests {
    @Test func queryStringsDecodePlusAsSpaceAndRepeatKeys() throws {
        let fields = MLflowInput.parseQuery("filter=name+LIKE+%27Compat%25%27+AND+tag.%60a+b%60+%21%3D+%27true%27&order_by=a&order_by=b+DESC&k%2By=v")
        #expect(fields["filter"] == .string("name LIKE 'Compat%' AND tag.`a b` != 'true'"))
        #expect(fields["order_by"] == .array(["a", "b DESC"]))
        #expect(fields["k+y"] == .string("v"), "keys are decoded too")
    }

    @Test func errorsUseMLflowsEnvelopeCodesAndStatuses() async throws {
        let (app, _) = try await makeMLflowApp()
        try await app.test(.router) { client in
            var (status, body) = try await call(client, .post, "/api/2.0/mlflow/experiments/create", ["name": "dup"])
            #expect(status == .ok && body["experiment_id"]?.stringValue == "1")
            (status, body) = try await call(client, .post, "/api/2.0/mlflow/experiments/create", ["name": "dup"])
            #expect(status == .badRequest && body["error_code"] == "RESOURCE_ALREADY_EXISTS", "400, not 409: the client keys on the code")
            (status, body) = try await call(client, .get, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=nope")
            #expect(status == .notFound && body["error_code"] == "RESOURCE_DOES_NOT_EXIST")
            (status, body) = try await call(client, .post, "/api/2.0/mlflow/runs/search", ["experiment_ids": ["0"], "filter": "metrics.a = 'x'"])
            #expect(status == .badRequest && body["error_code"] == "INVALID_PARAMETER_VALUE" && body["field"] == "filter")
            (status, body) = try await call(client, .post, "/api/2.0/mlflow/runs/create", raw: ByteBuffer(string: "{not json"))
            #expect(status == .badRequest && body["error_code"] == "BAD_REQUEST")
            (status, body) = try await call(client, .get, "/api/2.0/mlflow/no-such-endpoint")
            #expect(status == .notFound && body["error_code"] == "ENDPOINT_NOT_FOUND", "drives the client's POST→GET fall-backs")
            (status, body) = try await call(client, .post, "/api/2.0/mlflow/runs/log-metric", ["run_id": "0123456789abcdef0123456789abcdef", "key": "k"])
            #expect(status == .badRequest && body["field"] == "value", "the missing field is named")
        }
    }

    @Test func metricsNaNAsStringsAndRepeatedPointsAreNoOps() async throws {
        let (app, home) = try await makeMLflowApp()
        try await app.test(.router) { client in
            let (_, created) = try await call(client, .post, "/api/2.0/mlflow/runs/create", ["experiment_id": "0", "start_time": "1000"])
            let run = try #require(created["run"]?["info"]?["run_id"]?.stringValue)
            let point: JSONValue = ["run_id": .string(run), "run_uuid": .string(run), "key": "loss", "value": "NaN", "timestamp": 5, "step": 1]
            let before = try await home.tracking.store.eventCount()
            #expect(try await call(client, .post, "/api/2.0/mlflow/runs/log-metric", point).0 == .ok)
            #expect(try await call(client, .post, "/api/2.0/mlflow/runs/log-metric", point).0 == .ok)
            #expect(try await home.tracking.store.eventCount() == before + 1, "the retried point appends nothing")
            let (_, history) = try await call(client, .get, "/api/2.0/mlflow/metrics/get-history?run_id=\(run)&metric_key=loss&max_results=25000")
            #expect(history["metrics"] == .array([["key": "loss", "value": "NaN", "timestamp": 5, "step": 1]]))
            #expect(history["next_page_token"] == nil, "no token on the last page, or the client loops forever")
        }
    }

    @Test func loggedModelFilesBecomeADigestManifestAndUnsafeSourcesAreRefused() async throws {
        let (app, home) = try await makeMLflowApp()
        try await app.test(.router) { client in
            let (_, created) = try await call(client, .post, "/api/2.0/mlflow/runs/create", ["experiment_id": "0"])
            let run = try #require(created["run"]?["info"]?["run_id"]?.stringValue)
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/0/\(run)/artifacts/a/b.txt", method: .put, body: ByteBuffer(string: "bb")) {
                response in #expect(response.status == .ok)
            }
            let (_, runFiles) = try await call(client, .get, "/api/2.0/mlflow/artifacts/list?run_id=\(run)&path=a%2F")
            #expect(runFiles["files"] == .array([["path": "a/b.txt", "is_dir": false, "file_size": 2]]), "the tracking listing names paths from the run root")
            #expect(runFiles["root_uri"] == .string("mlflow-artifacts:/0/\(run)/artifacts"))
            let (wrong, _) = try await call(client, .get, "/api/2.0/mlflow-artifacts/artifacts/7/\(run)/artifacts/a/b.txt")
            #expect(wrong == .badRequest, "the experiment in the path must be the run's")
            let (_, made) = try await call(
                client, .post, "/api/2.0/mlflow/logged-models", ["experiment_id": "0", "name": "model", "source_run_id": .string(run)])
            let model = try #require(made["model"]?["info"]?["model_id"]?.stringValue)
            #expect(made["model"]?["info"]?["artifact_uri"] == .string("mlflow-artifacts:/0/models/\(model)/artifacts"))
            #expect(made["model"]?["info"]?["status"] == "LOGGED_MODEL_PENDING")
            let bytes = Array("flavors: {}\n".utf8)
            try await client.execute(
                uri: "/api/2.0/mlflow-artifacts/artifacts/0/models/\(model)/artifacts/MLmodel", method: .put, body: ByteBuffer(bytes: bytes)
            ) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/0/models/\(model)/artifacts/MLmodel", method: .put, body: ByteBuffer(string: "other")) {
                response in #expect(response.status == .conflict, "never overwritten")
            }
            var (status, listing) = try await call(client, .get, "/api/2.0/mlflow-artifacts/artifacts?path=0%2Fmodels%2F\(model)%2Fartifacts")
            #expect(listing["files"] == .array([["path": "MLmodel", "is_dir": false, "file_size": .int(Int64(bytes.count))]]))
            (status, listing) = try await call(client, .get, "/api/2.0/mlflow-artifacts/artifacts?path=0%2Fmodels%2F\(model)%2Fartifacts%2FMLmodel")
            #expect(status == .ok && listing == .object([:]), "a file lists as {} so the client downloads it")
            _ = try await call(client, .patch, "/api/2.0/mlflow/logged-models/\(model)", ["model_id": .string(model), "status": "LOGGED_MODEL_READY"])
            _ = try await call(client, .post, "/api/2.0/mlflow/registered-models/create", ["name": "m"])
            let (_, version) = try await call(
                client, .post, "/api/2.0/mlflow/model-versions/create", ["name": "m", "source": .string("models:/\(model)"), "model_id": .string(model)])
            #expect(version["model_version"]?["status"] == "READY" && version["model_version"]?["version"] == "1")
            #expect(version["model_version"]?["run_id"] == .string(run), "the run comes from the logged model")
            let stored = try await home.registry.version("m", 1)
            #expect(stored.manifest.files == [ManifestFile(path: "MLmodel", digest: Digest.of(bytes), sizeBytes: Int64(bytes.count))])
            let (_, uri) = try await call(client, .get, "/api/2.0/mlflow/model-versions/get-download-uri?name=m&version=1")
            #expect(uri["artifact_uri"] == .string("mlflow-artifacts:/0/models/\(model)/artifacts"))
            for source in ["/etc", "file:///etc/passwd", "s3://bucket/model", "runs:/\(run)/../x", "mlflow-artifacts:/0/models/../../etc"] {
                let (status, body) = try await call(client, .post, "/api/2.0/mlflow/model-versions/create", ["name": "m", "source": .string(source)])
                #expect(status == .badRequest && body["error_code"] == "INVALID_PARAMETER_VALUE", "\(source) is refused")
            }
            let refused = try await home.ledger.events(EventQuery(action: "registry.refused", limit: 100))
            #expect(refused.count == 5, "every refused registration is recorded")
            #expect(try await home.registry.versions("m").count == 1)
        }
    }

    @Test func aliasesThroughMLflowPassTheGate() async throws {
        let (app, home) = try await makeMLflowApp()
        let run = try await home.tracking.createRun(experimentID: nil, actor: .user("local"))
        _ = try await home.tracking.putArtifact(run.info.runID, path: try ArtifactPath(validating: "model/model.json"), bytes: Array("{}".utf8), actor: .user("local"))
        _ = try await home.registry.registerVersion(name: "gated", runID: run.info.runID, path: "model", actor: .user("local"))
        _ = try await home.registry.setPolicy(name: "gated", target: "@production", document: Array(#"{"approvals": 1}"#.utf8), actor: .user("root"))
        try await app.test(.router) { client in
            let (status, body) = try await call(client, .post, "/api/2.0/mlflow/registered-models/alias", ["name": "gated", "alias": "production", "version": "1"])
            #expect(status == .forbidden && body["error_code"] == "PERMISSION_DENIED")
            #expect(body["message"]?.stringValue?.contains("approval") == true, "the unmet requirement is named")
            let ok = try await call(client, .post, "/api/2.0/mlflow/registered-models/alias", ["name": "gated", "alias": "candidate", "version": "1"])
            #expect(ok.0 == .ok, "an unprotected alias moves")
            let (_, stage) = try await call(client, .post, "/api/2.0/mlflow/model-versions/transition-stage", ["name": "gated", "version": "1", "stage": "bogus", "archive_existing_versions": false])
            #expect(stage["error_code"] == "INVALID_PARAMETER_VALUE")
            _ = try await home.registry.setPolicy(name: "gated", target: "Production", document: Array(#"{"approvals": 2}"#.utf8), actor: .user("root"))
            let (refused, why) = try await call(
                client, .post, "/api/2.0/mlflow/model-versions/transition-stage", ["name": "gated", "version": "1", "stage": "production", "archive_existing_versions": true])
            #expect(refused == .forbidden && why["error_code"] == "PERMISSION_DENIED", "a protected stage is gated too")
            let (staged, moved) = try await call(
                client, .post, "/api/2.0/mlflow/model-versions/transition-stage", ["name": "gated", "version": "1", "stage": "staging", "archive_existing_versions": false])
            #expect(staged == .ok && moved["model_version"]?["current_stage"] == "Staging")
        }
        #expect(try await home.ledger.events(EventQuery(action: "promotion.refused", limit: 10)).count == 2)
        #expect(try await home.registry.model("gated").aliases == ["candidate": 1])
    }

    @Test func legacyLogModelKeepsTheHistoryTag() async throws {
        let (app, home) = try await makeMLflowApp()
        try await app.test(.router) { client in
            let (_, created) = try await call(client, .post, "/api/2.0/mlflow/runs/create", ["experiment_id": "0"])
            let run = try #require(created["run"]?["info"]?["run_id"]?.stringValue)
            let model: JSONValue = ["artifact_path": "model", "flavors": ["spark": [:]], "utc_time_created": "2026-01-01", "run_id": .string(run)]
            for _ in 0..<2 {
                #expect(try await call(client, .post, "/api/2.0/mlflow/runs/log-model", ["run_id": .string(run), "model_json": .string(model.canonicalString)]).0 == .ok)
            }
            let (status, body) = try await call(client, .post, "/api/2.0/mlflow/runs/log-model", ["run_id": .string(run), "model_json": "{}"])
            #expect(status == .badRequest && body["field"] == "model_json")
            let tag = try await home.tracking.run(try RunID(parsing: run)).tags.first { $0.key == "mlflow.log-model.history" }?.value
            #expect(tag == JSONValue.array([model, model]).canonicalString)
        }
    }

    @Test func registrySearchesFollowMLflowsGrammar() async throws {
        let search = try EntitySearch(parsing: "name LIKE 'Comp%' AND tag.`mlflow.prompt.is_prompt` != 'true'", kind: .registeredModels)
        #expect(search.matches(EntitySearch.Record(strings: ["name": "CompatModel"], numbers: [:])), "a model without the prompt tag matches != 'true'")
        #expect(!search.matches(EntitySearch.Record(strings: ["name": "compatModel"], numbers: [:])), "LIKE is case-sensitive")
        #expect(!search.matches(EntitySearch.Record(strings: ["name": "CompatModel"], numbers: [:], tags: ["mlflow.prompt.is_prompt": "true"])))
        #expect(try EntitySearch(parsing: "name ILIKE '%MODEL'", kind: .registeredModels).matches(EntitySearch.Record(strings: ["name": "compatmodel"], numbers: [:])))
        #expect(throws: TrailError.self) { try EntitySearch(parsing: "creation_timestamp > 5", kind: .registeredModels) }
        #expect(throws: TrailError.self) { try EntitySearch(parsing: "version = 1", kind: .modelVersions) }
        #expect(try EntitySearch(parsing: "version_number >= 2 AND run_id IN ('a', 'b')", kind: .modelVersions).matches(
            EntitySearch.Record(strings: ["run_id": "b"], numbers: ["version_number": 2])))
        #expect(EntitySearch.like("abcabc", "%b_a%c", caseSensitive: true))
    }
}


@Suite("MLflow adapter: one request, one event")
struct MLflowOneEventTests {
    @Test func logInputsWithModelLinksIsOneEvent() async throws {
        let (app, home) = try await makeApp()
        let run = try await home.tracking.createRun(experimentID: nil, actor: .user("server-user")).info.runID
        let model = try await home.tracking.createLoggedModel(experimentID: .defaultExperiment, name: "m", sourceRunID: nil, actor: .user("server-user"))
        let before = try await home.tracking.store.eventCount()
        try await app.test(.router) { client in
            let (status, body) = try await call(
                client, .post, "/api/2.0/mlflow/runs/log-inputs",
                [
                    "run_id": .string(run.value),
                    "datasets": [["dataset": ["name": "d", "digest": "abc123", "source_type": "local", "source": "d.csv"]]],
                    "models": [["model_id": .string(model.modelID)]],
                ])
            #expect(status == .ok, "\(body)")
        }
        let events = try await home.tracking.store.events(from: before, to: before + 10)
        #expect(events.map(\.action) == ["inputs.log"])
        let facts = try JSONValue.parse(events[0].body)["facts"]
        #expect(facts?["models"] != nil && facts?["datasets"] != nil)
        #expect(try await home.tracking.store.runModelLinks(run: run).map(\.modelID) == [model.modelID])
        #expect(try await home.tracking.run(run).inputs.map(\.name) == ["d"])
    }
}
