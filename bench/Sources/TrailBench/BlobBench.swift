import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import TrailArtifacts
import TrailCore
import TrailHTTP
import TrailService

/// `trail-bench --s3-artifact-mib N`: one N MiB artifact up and down through an in-process
/// `trail server`, with the blobs in the home's folder and then in S3, side by side. The S3
/// server comes from `TRAIL_TEST_S3_ENDPOINT`, `_BUCKET`, `_ACCESS_KEY_ID`, `_SECRET_ACCESS_KEY`
/// (`bash compat/moto.sh start && . /tmp/modeltrail-moto.env`).
enum BlobBench {
    static func run(mib: Int) async throws -> [String: JSONValue] {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["TRAIL_TEST_S3_ENDPOINT"] else {
            throw TrailError.invalid("TRAIL_TEST_S3_ENDPOINT", "start an S3 server first: bash compat/moto.sh start && . /tmp/modeltrail-moto.env")
        }
        let s3 = BlobSettings(
            uri: "s3://\(environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/bench-\(UUID().uuidString.lowercased())", endpoint: endpoint,
            region: "us-east-1",
            environment: [
                "AWS_ACCESS_KEY_ID": environment["TRAIL_TEST_S3_ACCESS_KEY_ID"] ?? "",
                "AWS_SECRET_ACCESS_KEY": environment["TRAIL_TEST_S3_SECRET_ACCESS_KEY"] ?? "",
            ])
        var results: [String: JSONValue] = ["artifact_mib": .int(Int64(mib)), "s3_endpoint": .string(endpoint)]
        for (label, settings) in [("folder", BlobSettings(environment: [:])), ("s3", s3)] {
            FileHandle.standardError.write(Data("bench: \(mib) MiB up and down, blobs in \(label)\n".utf8))
            let (up, down) = try await roundTrip(mib: mib, settings: settings)
            results["\(label)_upload_mib_per_second"] = .double(up)
            results["\(label)_download_mib_per_second"] = .double(down)
        }
        return results
    }

    static func roundTrip(mib: Int, settings: BlobSettings) async throws -> (Double, Double) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-bench-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let home = try await TrailHome.open(directory, blobs: settings)
        let actor = Actor.user("bench")
        let run = try await home.tracking.createRun(experimentID: nil, actor: actor).info.runID
        let port = Int.random(in: 30000...50000)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let app = TrailApplication.make(
            home: home, config: TrailServerConfig(port: port, maxBodyBytes: 8 << 20, localActor: actor, localOnly: true), logger: logger)
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let url = "http://127.0.0.1:\(port)/api/v1/runs/\(run)/artifacts/bench/blob.bin"
        for _ in 0..<100 {
            if (try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(1))) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let chunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 >> 3) })
        var upload = HTTPClientRequest(url: url)
        upload.method = .PUT
        upload.body = .stream(ChunkRepeater(chunk: chunk, count: mib), length: .known(Int64(mib) << 20))
        var start = Date()
        let uploaded = try await client.execute(upload, timeout: .minutes(30))
        let reply = try await uploaded.body.collect(upTo: 1 << 20)
        guard uploaded.status == .ok else { throw TrailError.internalError("upload failed: \(String(buffer: reply))") }
        let up = Double(mib) / Date().timeIntervalSince(start)
        start = Date()
        let download = try await client.execute(HTTPClientRequest(url: url), timeout: .minutes(30))
        var received = 0
        for try await part in download.body { received += part.readableBytes }
        let down = Double(received >> 20) / Date().timeIntervalSince(start)
        try await client.shutdown()
        return ((up * 10).rounded() / 10, (down * 10).rounded() / 10)
    }
}
