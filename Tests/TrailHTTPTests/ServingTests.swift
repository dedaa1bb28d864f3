import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailCore
import TrailHTTP
import TrailService
import TrailStore

@Suite("Serving: traceable predictions")
struct ServingTests {
    static let environment = TrainingEnvironment(
        gitCommit: "0123456789abcdef0123456789abcdef01234567", gitRemote: "none", gitBranch: "main", gitDirty: false, gitDiffSHA256: nil,
        swiftToolchain: "Swift", os: "Linux", cpu: "test", trailBinarySHA256: "sha256:test", dependencyLockSHA256: "absent")

    /// A home with `bc` versions 1 and 2 trained from the bundled data, version 1 at @live.
    static func setUp() async throws -> (TrailHome, ServingService) {
        let home = try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-serve-\(UUID().uuidString)"), store: try await StoreSettings.testing())
        for c in [1.0, 0.5] {
            _ = try await home.pipeline(as: .user("carol")).train(
                TrainingConfig(dataPath: "bundled:breast_cancer.csv", c: c, registerAs: "bc"), environment: environment)
        }
        try await home.registry.setAlias(name: "bc", alias: "live", version: 1, actor: .user("carol"))
        return (home, ServingService(tracking: home.tracking, registry: home.registry))
    }

    static func row(_ home: TrailHome) throws -> [String: JSONValue] {
        let (bytes, _) = try TrainingPipeline.loadData("bundled:breast_cancer.csv")
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        let names = lines[0].split(separator: ",").map(String.init)
        let values = lines[1].split(separator: ",").map { Double($0)! }
        var row: [String: JSONValue] = [:]
        for (name, value) in zip(names, values) where name != "target" { row[name] = .double(value) }
        return row
    }

    @Test func predictValidatesLogsAndTracesBackToTheDataset() async throws {
        let (home, serving) = try await Self.setUp()
        let loaded = try await serving.load(name: "bc", reference: "live")
        #expect(loaded.version.version == 1)
        await #expect(throws: TrailError.self) { _ = try await serving.load(name: "bc", reference: "2") }  // not admitted; --pinned needed
        let deployment = Deployment(
            deploymentID: "dtest", modelName: "bc", reference: "live", modelVersion: 1, configDigest: Digest.of([1]), binaryDigest: "sha256:test",
            host: "test", action: "start", timeMillis: home.tracking.clock.nowMillis())
        _ = try await serving.record(deployment, actor: .service("serve"))
        let server = ModelServer(serving: serving, model: loaded, configuration: .init(name: "bc", reference: "live"), deploymentID: "dtest")
        let app = Application(router: ServingApplication.router(server: server, logger: Logger(label: "test")))
        let row = try Self.row(home)
        let predictionID = try await app.test(.router) { client -> String in
            let id = try await client.execute(uri: "/predict", method: .post, body: ByteBuffer(bytes: JSONValue.object(row).canonicalBytes)) {
                response -> String in
                #expect(response.status == .ok)
                let body = try JSONValue.parse(Array(response.body.readableBytesView))
                let predictionID = body["prediction_id"]?.stringValue ?? ""
                #expect(response.headers[HTTPField.Name("X-Prediction-Id")!] == predictionID)
                #expect(response.headers[HTTPField.Name("X-Model-Version")!] == "1")
                #expect(body["positive_class"] == .string("benign"))
                #expect(body["prediction_label"] == .string("malignant"), "row 1 of the data set is malignant")
                for key in ["model_name", "model_version", "deployment_id", "probability_positive_class", "prediction", "threshold"] {
                    #expect(body[key] != nil, "\(key)")
                }
                return predictionID
            }
            var bad = row
            bad.removeValue(forKey: "mean_radius")
            bad["extra_one"] = .double(1)
            bad["worst_area"] = .string("big")
            try await client.execute(uri: "/predict", method: .post, body: ByteBuffer(bytes: JSONValue.object(bad).canonicalBytes)) { response in
                #expect(response.status == .unprocessableContent)
                let body = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(body["missing"] == .array(["mean_radius"]))
                #expect(body["extra"] == .array(["extra_one"]))
                #expect(body["invalid"]?["worst_area"] != nil)
            }
            let batch = JSONValue.object(["inputs": .array([.object(row), .object(row)])])
            try await client.execute(uri: "/predict", method: .post, body: ByteBuffer(bytes: batch.canonicalBytes)) { response in
                #expect(response.status == .ok)
                guard case .array(let items)? = try JSONValue.parse(Array(response.body.readableBytesView))["predictions"] else {
                    Issue.record("no predictions list")
                    return
                }
                #expect(items.count == 2)
            }
            for path in ["/health", "/model-info", "/openapi.json", "/docs"] {
                try await client.execute(uri: path, method: .get) { response in #expect(response.status == .ok, "\(path)") }
            }
            return id
        }
        // Logged before the answer: the prediction is in the store, under a proven batch event.
        let trace = try await home.lineage.prediction(id: predictionID)
        #expect(trace.prediction.modelVersion == 1)
        #expect(trace.prediction.inputDigest == ServingService.inputDigest(row))
        let proven = trace.links.filter { $0.eventIndex != nil }.map(\.proven)
        #expect(!proven.isEmpty && !proven.contains(false))
        #expect(trace.links.contains { $0.kind == "deployment" })
        let (bytes, _) = try TrainingPipeline.loadData("bundled:breast_cancer.csv")
        #expect(trace.model.dataSHA256 == Digest.of(bytes).description, "equal to sha256sum of the CSV")
        #expect(trace.model.gitCommit == Self.environment.gitCommit)
        // Refused requests are logged too.
        let refused = try await home.ledger.events(EventQuery(action: "predictions.batch"))
        #expect(refused.contains { String(decoding: $0.body, as: UTF8.self).contains("\"refused\":1") })
        // Re-scoring needs the input (not kept): given, it reproduces; altered, it differs.
        #expect(try await serving.rescore(predictionID: predictionID, input: row, actor: .user("auditor")).outcome == "REPRODUCED")
        var altered = row
        altered["mean_radius"] = .double(99)
        #expect(try await serving.rescore(predictionID: predictionID, input: altered, actor: .user("auditor")).outcome == "DIFFERS")
        // Drift over the served inputs; the impact query finds the deployment and its predictions.
        let drift = try await serving.drift(name: "bc", reference: "live", windowMillis: 3_600_000, actor: .user("auditor"))
        #expect(drift.served == 3)
        let impact = try await home.lineage.dataset(digest: Digest.of(bytes).description)
        #expect(impact.totalPredictions == 3)
        #expect(impact.runs.flatMap(\.deployments).contains("dtest"))
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok)
    }

    @Test func theNativeModelSpeaksMLflowsScoringProtocol() async throws {
        let (home, serving) = try await Self.setUp()
        let (server, _) = try await ModelServer.start(serving: serving, configuration: .init(name: "bc", reference: "live"))
        let app = Application(router: ServingApplication.router(server: server, logger: Logger(label: "test")))
        let row = try Self.row(home)
        let names = row.keys.sorted()
        let split: JSONValue = ["dataframe_split": ["columns": .array(names.map(JSONValue.string)), "data": [.array(names.map { row[$0]! })]]]
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/invocations", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: split.canonicalBytes)
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"predictions": [0]}"#, "MLflow's shape; row 1 is malignant (0)")
                #expect(response.headers[HTTPField.Name("X-Prediction-Id")!]?.hasPrefix("p") == true)
            }
            let csv = names.map { "\"\($0)\"" }.joined(separator: ",") + "\n" + names.map { row[$0]!.canonicalString }.joined(separator: ",") + "\n"
            try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"], body: ByteBuffer(string: csv)) {
                response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"predictions": [0]}"#)
            }
            try await client.execute(uri: "/invocations", method: .post, body: ByteBuffer(bytes: split.canonicalBytes)) { response in
                let body = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(response.status == .unsupportedMediaType, "no Content-Type")
                #expect(body["field"] == "Content-Type")
            }
            var bad = row
            bad["mean_radius"] = "big"
            try await client.execute(
                uri: "/invocations", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(bytes: JSONValue.object(["dataframe_records": [.object(bad)]]).canonicalBytes)
            ) { response in
                let body = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(response.status == .unprocessableContent)
                #expect(body["invalid"]?["mean_radius"] != nil)
            }
            try await client.execute(uri: "/ping", method: .get) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/version", method: .get) { response in #expect(String(buffer: response.body) == "3.17.2") }
        }
        try await server.stop()
    }

    @Test func refusesToServeTamperedModelFiles() async throws {
        let (home, serving) = try await Self.setUp()
        let version = try await home.registry.version("bc", 1)
        let file = try #require(version.manifest.files.first { $0.path == "model.json" })
        let hex = file.digest.hex
        let path = home.url.appendingPathComponent("blobs/sha256/\(hex.prefix(2))/\(hex)")
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path.path)
        try Data("{\"tampered\":true}".utf8).write(to: path)
        let error = await #expect(throws: TrailError.self) { _ = try await serving.load(name: "bc", reference: "live") }
        #expect(error?.code == .dataLoss)
    }
}

@Suite("Serving follows what the registry says")
struct ModelServerTests {
    static let carol = Actor.user("carol")

    @Test func aStageIsFollowedAndAnArchivedVersionIsNotServed() async throws {
        let (home, serving) = try await ServingTests.setUp()
        let registry = home.registry
        _ = try await registry.transitionStage(name: "bc", version: 1, stage: .staging, actor: Self.carol)
        let (server, _) = try await ModelServer.start(serving: serving, configuration: .init(name: "bc", reference: "Staging"))
        #expect(server.model.version.version == 1)
        #expect(try await server.follow() == .unchanged)
        // Staging version 2, archiving version 1: the server follows the stage.
        _ = try await registry.transitionStage(name: "bc", version: 2, stage: .staging, archiveExisting: true, actor: Self.carol)
        guard case .switched(let from, let to, _) = try await server.follow() else {
            Issue.record("the server did not follow the stage")
            return
        }
        #expect(from == 1 && to == 2)
        let row = try ServingTests.row(home)
        let answer = try await server.predict(JSONValue.object(row).canonicalBytes)
        #expect(answer.status == 200 && answer.modelVersion == 2)
        let trace = try await home.lineage.prediction(id: try #require(answer.predictionIDs.first))
        let promotion = try #require(trace.links.first { $0.kind == "promotion" }, "a stage-served prediction traces to its stage move")
        #expect(promotion.summary.contains("@Staging → version 2"))
        #expect(try await server.info["model_stage"] == .string("Staging"))
        // Archived: the deployment withdraws and answers 503; starting on it is refused.
        _ = try await registry.transitionStage(name: "bc", version: 2, stage: .archived, actor: Self.carol)
        guard case .withdrawn(let version, _, _) = try await server.follow() else {
            Issue.record("an archived version stayed in service")
            return
        }
        #expect(version == 2)
        #expect(try await server.predict(JSONValue.object(row).canonicalBytes).status == 503)
        try await registry.setAlias(name: "bc", alias: "old", version: 2, actor: Self.carol)
        let refused = await #expect(throws: TrailError.self) {
            _ = try await ModelServer.start(serving: serving, configuration: .init(name: "bc", reference: "old"))
        }
        #expect(refused?.code == .invalidState)
        // Back in a stage: served again.
        _ = try await registry.transitionStage(name: "bc", version: 1, stage: .staging, actor: Self.carol)
        guard case .switched(_, let back, _) = try await server.follow() else {
            Issue.record("the server did not come back")
            return
        }
        #expect(back == 1)
        // A stop drains and records, once.
        #expect(try await server.stop() != nil)
        #expect(try await server.stop() == nil)
        let actions = try await home.tracking.store.deployments(id: server.deploymentID, modelName: nil).map(\.action)
        #expect(actions == ["start", "switch", "withdraw", "switch", "stop"])
    }
}

@Suite("Dataset impact counts per model version")
struct DatasetImpactTests {
    @Test func predictionsOfOtherVersionsAfterASwitchAreNotCounted() async throws {
        let home = try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-impact-\(UUID().uuidString)"), store: try await StoreSettings.testing())
        // Version 1 from the bundled data; version 2 from another data set (a copy with one row fewer).
        _ = try await home.pipeline(as: .user("carol")).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: ServingTests.environment)
        let (bytes, _) = try TrainingPipeline.loadData("bundled:breast_cancer.csv")
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("other-\(UUID().uuidString).csv")
        try Data((lines.prefix(1) + lines.dropFirst(2)).joined(separator: "\n").utf8).write(to: other)
        _ = try await home.pipeline(as: .user("carol")).train(TrainingConfig(dataPath: other.path, registerAs: "bc"), environment: ServingTests.environment)
        try await home.registry.setAlias(name: "bc", alias: "live", version: 1, actor: .user("carol"))
        let serving = ServingService(tracking: home.tracking, registry: home.registry)
        let (server, _) = try await ModelServer.start(serving: serving, configuration: .init(name: "bc", reference: "live"))
        let row = JSONValue.object(try ServingTests.row(home)).canonicalBytes
        for _ in 0..<3 { #expect(try await server.predict(row).status == 200) }
        try await home.registry.setAlias(name: "bc", alias: "live", version: 2, actor: .user("carol"))
        _ = try await server.follow()
        for _ in 0..<5 { #expect(try await server.predict(row).modelVersion == 2) }
        let first = try #require(try await home.registry.version("bc", 1).runID)
        let data = try #require(try await home.tracking.run(first).inputs.first?.digest)
        let impact = try await home.lineage.dataset(digest: data)
        #expect(impact.totalPredictions == 3, "only version 1's predictions depend on its data")
        #expect(impact.predictionsByWindow.allSatisfy { $0.modelVersion == "bc/1" })
        let secondRun = try #require(try await home.registry.version("bc", 2).runID)
        let second = try #require(try await home.tracking.run(secondRun).inputs.first?.digest)
        #expect(try await home.lineage.dataset(digest: second).totalPredictions == 5)
    }
}

@Suite("Tracing a refused request")
struct RefusedTraceTests {
    @Test func theTraceOfARefusedRequestCarriesItsError() async throws {
        let (home, serving) = try await ServingTests.setUp()
        let (server, _) = try await ModelServer.start(serving: serving, configuration: .init(name: "bc", reference: "live"))
        let answer = try await server.predict(Array(#"{"radius": 1}"#.utf8))
        #expect(answer.status == 422)
        let trace = try await home.lineage.prediction(id: try #require(answer.predictionIDs.first))
        let link = try #require(trace.links.first { $0.kind == "prediction" })
        #expect(link.summary.contains("refused (") && link.summary.contains("missing"), "\(link.summary)")
    }
}

@Suite("Serving accepts MLflow's bodies")
struct MLflowBodyTests {
    @Test func dataframeSplitIsABatch() async throws {
        let (home, serving) = try await ServingTests.setUp()
        let (server, _) = try await ModelServer.start(serving: serving, configuration: .init(name: "bc", reference: "live"))
        let row = try ServingTests.row(home)
        let names = row.keys.sorted()
        let body: JSONValue = [
            "dataframe_split": ["columns": .array(names.map(JSONValue.string)), "data": [.array(names.map { row[$0]! }), .array(names.map { row[$0]! })]]
        ]
        let answer = try await server.predict(body.canonicalBytes)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.predictionIDs.count == 2)
        let single = try await server.predict(JSONValue.object(row).canonicalBytes)
        guard case .array(let predictions)? = answer.body["predictions"] else {
            Issue.record("no predictions")
            return
        }
        #expect(predictions[0]["probability_positive_class"] == single.body["probability_positive_class"])
    }
}
