import Foundation
import Hummingbird
import Logging
import NIOCore
import TrailCore
import TrailService
import TrailStore

/// Serving figures that need their own process: the ceiling server for `bench/serve.sh`, and
/// trace latency over a large prediction log.
enum ServingBench {
    /// The machine's ceiling for a prediction endpoint: a Hummingbird handler that decodes 30
    /// numbers and answers a small JSON object, no model, no logging.
    static func ceiling(port: Int) async throws {
        let router = Router()
        router.post("invocations") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let decoded = try JSONDecoder().decode([String: [[String: Double]]].self, from: Data(body.readableBytesView))
            let sum = decoded["dataframe_records"]?.first?.values.reduce(0, +) ?? 0
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"predictions\":[\(sum > 0 ? 1 : 0)]}")))
        }
        var logger = Logger(label: "ceiling")
        logger.logLevel = .critical
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger).runService()
    }

    /// Stores `count` predictions in group commits of 1,000 (a busy server's commits are smaller) (through the service's commit,
    /// i.e. the same rows, Merkle roots and events the server writes), then times
    /// `trail trace prediction` for random ids.
    static func trace(count: Int) async throws -> [String: JSONValue] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-trace-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let home = try await TrailHome.open(directory)
        let environment = TrainingEnvironment(
            gitCommit: "0123456789abcdef0123456789abcdef01234567", gitRemote: "none", gitBranch: "main", gitDirty: false, gitDiffSHA256: nil,
            swiftToolchain: "bench", os: "bench", cpu: "bench", trailBinarySHA256: "bench", dependencyLockSHA256: "bench")
        _ = try await home.pipeline(as: .user("bench")).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: environment)
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, actor: .user("bench"))
        let serving = ServingService(tracking: home.tracking, registry: home.registry)
        let loaded = try await serving.load(name: "bc", reference: "production")
        _ = try await serving.record(
            Deployment(
                deploymentID: "dbench", modelName: "bc", reference: "production", modelVersion: 1, configDigest: Digest.of([0]),
                binaryDigest: "bench", host: "bench", action: "start", timeMillis: home.tracking.clock.nowMillis()), actor: .service("bench"))
        let digest = Digest.of([1])
        let batch = 1_000
        var ids: [String] = []
        let start = Date()
        var written = 0
        while written < count {
            let now = home.tracking.clock.nowMillis()
            let records = (0..<min(batch, count - written)).map { i in
                PredictionRecord(
                    predictionID: String(format: "p%024x", written + i), timeMillis: now, deploymentID: "dbench", modelName: "bc", modelVersion: 1,
                    inputDigest: digest, probability: 0.9, prediction: 1, latencyMicros: 100, outcome: "ok")
            }
            _ = try await serving.commit(records, deployment: "dbench", model: loaded, counts: [:], actor: .service("bench"))
            written += records.count
            if written % 1_000_000 == 0 { FileHandle.standardError.write(Data("bench: \(written) predictions stored\n".utf8)) }
        }
        let writeSeconds = Date().timeIntervalSince(start)
        for _ in 0..<50 { ids.append(String(format: "p%024x", Int.random(in: 0..<count))) }
        var times: [Double] = []
        for id in ids {
            let t = Date()
            let trace = try await home.lineage.prediction(id: id)
            times.append(Date().timeIntervalSince(t) * 1000)
            precondition(trace.links.first?.proven == true)
        }
        times.sort()
        return [
            "trace_predictions_stored": .int(Int64(count)), "trace_store_predictions_per_second": .double((Double(count) / writeSeconds).rounded()),
            "trace_p50_ms": .double(times[times.count / 2]), "trace_p99_ms": .double(times[times.count * 99 / 100]),
        ]
    }
}
