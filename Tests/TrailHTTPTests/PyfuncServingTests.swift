import Foundation
import Testing
import TrailCore
import TrailService
import TrailStore

/// MLflow models behind `trail serve`'s front end, with real Python workers (`TRAIL_TEST_PYTHON`:
/// an interpreter with mlflow and scikit-learn; `.ci/run` points it at the compat suite's venv).
let pyfuncTestPython: String? = {
    guard let path = ProcessInfo.processInfo.environment["TRAIL_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: path) else { return nil }
    return path
}()

@Suite("Serving MLflow models with Python workers", .serialized, .enabled(if: pyfuncTestPython != nil))
struct PyfuncServingTests {
    static let python = pyfuncTestPython

    /// Three MLflow models saved by MLflow itself: a signed scikit-learn classifier, the same
    /// without a signature, and one whose requirements name a package that does not exist.
    static let models: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trail-pyfunc-models-\(UUID().uuidString.prefix(8))")
        let script = """
            import sys, mlflow, pandas as pd
            from mlflow.models import infer_signature
            from sklearn.linear_model import LogisticRegression
            X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [5.0, 3.0, 4.0, 1.0, 2.0, 0.0], "c": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
            y = [0, 0, 0, 1, 1, 1]
            m = LogisticRegression().fit(X, y)
            out = sys.argv[1]
            mlflow.sklearn.save_model(m, out + "/signed", signature=infer_signature(X, m.predict(X)))
            mlflow.sklearn.save_model(m, out + "/unsigned")
            mlflow.sklearn.save_model(m, out + "/needs", signature=infer_signature(X, m.predict(X)), extra_pip_requirements=["modeltrail-no-such-package==9.9"])
            class Slow(mlflow.pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    import time
                    if (model_input["a"] == 999).any():
                        time.sleep(600)
                    return model_input["a"] * 2
            mlflow.pyfunc.save_model(out + "/slow", python_model=Slow(), signature=infer_signature(X, X["a"] * 2))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = ["-c", script, folder.path]
        process.standardOutput = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
        return folder
    }()

    static func setUp(_ model: String) async throws -> (TrailHome, ServingService) {
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-pyfunc-\(UUID().uuidString)"), store: try await StoreSettings.testing())
        let run = try await home.tracking.createRun(experimentID: nil, actor: .user("carol"))
        let source = models.appendingPathComponent(model)
        let files = try #require(FileManager.default.subpathsOfDirectory(atPath: source.path).filter { path in
            var directory: ObjCBool = false
            return FileManager.default.fileExists(atPath: source.appendingPathComponent(path).path, isDirectory: &directory) && !directory.boolValue
        })
        for file in files {
            let bytes = Array(try Data(contentsOf: source.appendingPathComponent(file)))
            _ = try await home.tracking.putArtifact(run.info.runID, path: try ArtifactPath(validating: "model/" + file, field: "path"), bytes: bytes, actor: .user("carol"))
        }
        _ = try await home.registry.registerVersion(name: "pf", runID: run.info.runID, path: "model", actor: .user("carol"))
        try await home.registry.setAlias(name: "pf", alias: "live", version: 1, actor: .user("carol"))
        return (home, ServingService(tracking: home.tracking, registry: home.registry))
    }

    static func configuration(_ home: TrailHome, workers: Int = 1, allowUnsigned: Bool = false) -> ModelServer.Configuration {
        .init(
            name: "pf", reference: "live", cache: home.url.appendingPathComponent("serving"),
            workers: .init(python: python!, workers: workers, timeout: 30), allowUnsigned: allowUnsigned)
    }

    static func body(_ rows: [[Double]]) -> [UInt8] {
        JSONValue.object(["dataframe_split": ["columns": ["a", "b", "c"], "data": .array(rows.map { .array($0.map(JSONValue.double)) })]]).canonicalBytes
    }

    @Test func scoresValidatesBatchesAndLogsEveryRow() async throws {
        let (home, serving) = try await Self.setUp("signed")
        let (server, _) = try await ModelServer.start(serving: serving, configuration: Self.configuration(home))
        let answer = try await server.invoke(contentType: "application/json", body: Self.body([[0, 5, 1], [5, 0, 0]]))
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self) == #"{"predictions": [0, 1]}"#)
        #expect(answer.predictionIDs.count == 2)
        let record = try #require(try await home.tracking.store.prediction(id: answer.predictionIDs[1])?.record)
        #expect(record.outcome == "ok" && record.output == "1" && record.prediction == 1)
        // Refused in Swift, before any worker: named columns, a 422, a refused record.
        let bad = JSONValue.object(["dataframe_records": [["a": 1.0, "b": "x", "d": 1.0]]]).canonicalBytes
        let refused = try await server.invoke(contentType: "application/json", body: bad)
        #expect(refused.status == 422)
        let problems = try JSONValue.parse(refused.body)
        #expect(problems["missing"] == ["c"])
        #expect(problems["extra"] == ["d"])
        #expect(problems["invalid"]?["b"] != nil)
        #expect(try await home.tracking.store.prediction(id: refused.predictionIDs[0])?.record.outcome == "refused")
        // Concurrent requests are batched into few worker calls and each gets its own answer.
        let answers = try await withThrowingTaskGroup(of: (Int, ModelServer.Invocation).self) { group in
            for i in 0..<40 {
                group.addTask { (i, try await server.invoke(contentType: "application/json", body: Self.body([[Double(i % 6), Double(5 - i % 6), 0]]))) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (i, answer) in answers {
            #expect(answer.status == 200)
            #expect(String(decoding: answer.body, as: UTF8.self) == (i % 6 >= 3 ? #"{"predictions": [1]}"# : #"{"predictions": [0]}"#), "request \(i)")
        }
        try await server.stop()
        try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report)")
    }

    @Test func aKilledWorkerIsReplacedAndItsRequestsAreLoggedAsFailed() async throws {
        let (home, serving) = try await Self.setUp("signed")
        let (server, _) = try await ModelServer.start(serving: serving, configuration: Self.configuration(home, workers: 1))
        let pool = try #require(server.workers)
        let pid = try #require(await pool.workerPIDs.first)
        kill(pid, SIGKILL)
        // The next request finds the worker gone: a 503 with its prediction id, logged as failed.
        let failed = try await server.invoke(contentType: "application/json", body: Self.body([[0, 5, 1]]))
        if failed.status == 503 {
            let record = try #require(try await home.tracking.store.prediction(id: failed.predictionIDs[0])?.record)
            #expect(record.outcome == "failed")
        }
        // A replacement takes its place.
        var answer = failed
        for _ in 0..<120 where answer.status != 200 {
            try await Task.sleep(nanoseconds: 500_000_000)
            answer = try await server.invoke(contentType: "application/json", body: Self.body([[0, 5, 1]]))
        }
        #expect(answer.status == 200)
        #expect(await pool.failures >= 1)
        #expect(await pool.workerPIDs.first != pid)
        try await server.stop()
    }

    @Test func aHungWorkerTimesOutIsReplacedAndItsRequestFails() async throws {
        let (home, serving) = try await Self.setUp("slow")
        var configuration = Self.configuration(home)
        configuration.workers.timeout = 2
        let (server, _) = try await ModelServer.start(serving: serving, configuration: configuration)
        let ok = try await server.invoke(contentType: "application/json", body: Self.body([[1, 2, 3]]))
        #expect(ok.status == 200)
        #expect(String(decoding: ok.body, as: UTF8.self) == #"{"predictions": [{"a": 2.0}]}"#, "a named Series, as MLflow writes it")
        let hung = try await server.invoke(contentType: "application/json", body: Self.body([[999, 0, 0]]))
        #expect(hung.status == 503)
        #expect(String(decoding: hung.body, as: UTF8.self).contains("did not answer within 2"))
        let record = try #require(try await home.tracking.store.prediction(id: hung.predictionIDs[0])?.record)
        #expect(record.outcome == "failed" && record.error?.contains("did not answer") == true)
        var again = hung
        for _ in 0..<120 where again.status != 200 {
            try await Task.sleep(nanoseconds: 500_000_000)
            again = try await server.invoke(contentType: "application/json", body: Self.body([[3, 0, 0]]))
        }
        #expect(again.status == 200)
        try await server.stop()
    }

    @Test func anAliasMoveLoadsFreshWorkersAndDrainsTheOldOnes() async throws {
        let (home, serving) = try await Self.setUp("signed")
        // Version 2: the same model plus a note, so another root digest.
        let run = try await home.tracking.createRun(experimentID: nil, actor: .user("carol"))
        for file in try FileManager.default.subpathsOfDirectory(atPath: Self.models.appendingPathComponent("signed").path) {
            let url = Self.models.appendingPathComponent("signed").appendingPathComponent(file)
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &directory), !directory.boolValue else { continue }
            _ = try await home.tracking.putArtifact(
                run.info.runID, path: try ArtifactPath(validating: "model/" + file, field: "path"), bytes: Array(try Data(contentsOf: url)), actor: .user("carol"))
        }
        _ = try await home.tracking.putArtifact(
            run.info.runID, path: try ArtifactPath(validating: "model/NOTE.txt", field: "path"), bytes: Array("v2".utf8), actor: .user("carol"))
        _ = try await home.registry.registerVersion(name: "pf", runID: run.info.runID, path: "model", actor: .user("carol"))
        let (server, _) = try await ModelServer.start(serving: serving, configuration: Self.configuration(home))
        let old = try #require(server.workers)
        try await home.registry.setAlias(name: "pf", alias: "live", version: 2, actor: .user("carol"))
        guard case .switched(let from, let to, _) = try await server.follow() else {
            Issue.record("no switch")
            return
        }
        #expect(from == 1 && to == 2)
        #expect(await old.liveWorkers == 0, "the old workers ended")
        let answer = try await server.invoke(contentType: "application/json", body: Self.body([[5, 0, 0]]))
        #expect(answer.status == 200 && answer.modelVersion == 2)
        try await server.stop()
    }

    @Test func whenNoWorkerCanBeStartedRequestsFailInsteadOfWaiting() async throws {
        let (home, serving) = try await Self.setUp("signed")
        // The interpreter is a wrapper that stops working after the start.
        let wrapper = home.url.appendingPathComponent("python-wrapper")
        try Data("#!/bin/sh\nexec \"\(Self.python!)\" \"$@\"\n".utf8).write(to: wrapper)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        var configuration = Self.configuration(home)
        configuration.workers.python = wrapper.path
        let (server, _) = try await ModelServer.start(serving: serving, configuration: configuration)
        try Data("#!/bin/sh\nexit 3\n".utf8).write(to: wrapper)
        let pool = try #require(server.workers)
        kill(try #require(await pool.workerPIDs.first), SIGKILL)
        // Answered (503), not left waiting for a worker that cannot start.
        var statuses: [Int] = []
        for _ in 0..<3 {
            statuses.append(try await server.invoke(contentType: "application/json", body: Self.body([[0, 5, 1]])).status)
        }
        #expect(statuses.allSatisfy { $0 == 503 }, "\(statuses)")
        try await server.stop()
    }

    @Test func anUnsignedModelNeedsAllowUnsignedAndItIsRecorded() async throws {
        let (home, serving) = try await Self.setUp("unsigned")
        await #expect(throws: TrailError.self) { _ = try await ModelServer.start(serving: serving, configuration: Self.configuration(home)) }
        let (server, event) = try await ModelServer.start(serving: serving, configuration: Self.configuration(home, allowUnsigned: true))
        let recorded = try #require(try await home.tracking.store.events(from: event, to: event + 1).first)
        let facts = try JSONValue.parse(recorded.body)["facts"]
        #expect(facts?["unsigned"] == .bool(true))
        #expect(facts?["format"] == "mlflow_pyfunc")
        let answer = try await server.invoke(contentType: "application/json", body: Self.body([[5, 0, 0]]))
        #expect(answer.status == 200)
        try await server.stop()
    }

    @Test func missingRequirementsAreNamedAtStart() async throws {
        let (home, serving) = try await Self.setUp("needs")
        do {
            _ = try await ModelServer.start(serving: serving, configuration: Self.configuration(home))
            Issue.record("a model with missing requirements started")
        } catch let error as TrailError {
            #expect(error.message.contains("modeltrail-no-such-package"))
            #expect(error.field == "python")
        }
    }

    @Test func theMaterialisedModelIsReadOnlyAndAnAlteredCopyIsReplaced() async throws {
        let (home, serving) = try await Self.setUp("signed")
        let loaded = try await serving.load(name: "pf", reference: "live", cache: home.url.appendingPathComponent("serving"))
        let folder = try #require(loaded.pyfunc?.directory)
        let mlmodel = folder.appendingPathComponent("MLmodel")
        let permissions = try FileManager.default.attributesOfItem(atPath: mlmodel.path)[.posixPermissions] as? Int
        #expect(permissions == 0o444)
        // Tampered with on disk: the next load moves it aside and writes the checked bytes again.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: mlmodel.path)
        try Data("flavors: {}\n".utf8).write(to: mlmodel)
        let again = try await serving.load(name: "pf", reference: "live", cache: home.url.appendingPathComponent("serving"))
        let bytes = Array(try Data(contentsOf: try #require(again.pyfunc?.directory).appendingPathComponent("MLmodel")))
        #expect(loaded.version.manifest.files.first { $0.path == "MLmodel" }?.digest == Digest.of(bytes))
    }
}

@Suite("The pyfunc worker program")
struct PyfuncWorkerProgramTests {
    @Test func theShippedProgramIsTheSourceFile() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/TrailService/Serving/Pyfunc/pyfunc_worker.py")
        let source = try String(contentsOf: file, encoding: .utf8)
        #expect(source == PyfuncWorkerProgram.source, "run python3 Sources/TrailService/Serving/Pyfunc/generate.py")
    }

    @Test func mlmodelIsReadForItsFlavorAndSignature() throws {
        let text = """
            artifact_path: model
            flavors:
              python_function:
                env:
                  conda: conda.yaml
                loader_module: mlflow.sklearn
                model_path: model.skops
                predict_fn: predict_proba
                python_version: 3.11.7
              sklearn:
                pickled_model: model.skops
            mlflow_version: 3.17.2
            signature:
              inputs: '[{"type": "double", "name": "mean radius", "required": true}, {"type":
                "double", "name": "mean texture", "required": true}]'
              outputs: '[{"type": "long", "required": true}]'
              params: null
            """
        let described = try #require(PyfuncModel.describe(mlmodel: Array(text.utf8)))
        #expect(described.loaderModule == "mlflow.sklearn")
        #expect(described.predictFunction == "predict_proba")
        #expect(described.pythonVersion == "3.11.7")
        #expect(described.signed)
        #expect(PyfuncModel.describe(mlmodel: Array("flavors:\n  sklearn:\n    pickled_model: m.pkl\n".utf8)) == nil)
        let unsigned = try #require(PyfuncModel.describe(mlmodel: Array("flavors:\n  python_function:\n    loader_module: x\n".utf8)))
        #expect(!unsigned.signed && unsigned.predictFunction == "predict")
    }
}
