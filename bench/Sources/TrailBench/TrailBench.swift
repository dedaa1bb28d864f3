import AsyncHTTPClient
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import TrailCore
import TrailHTTP
import TrailLedger
import TrailService
import TrailStore

/// `swift run -c release trail-bench [--runs N] [--artifact-mib N]`: ModelTrail's throughput and
/// latency figures on this machine, printed as one JSON object. The server runs in this process
/// on a loopback port and is driven through AsyncHTTPClient, so HTTP figures include a real
/// socket, HTTP parsing and JSON.
@main
struct TrailBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        func option(_ name: String, _ fallback: Int) -> Int {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let value = Int(arguments[i + 1]) else { return fallback }
            return value
        }
        if let port = Optional(option("--ceiling-port", 0)), port > 0 { return try await ServingBench.ceiling(port: port) }
        if let count = Optional(option("--trace-predictions", 0)), count > 0 {
            let figures = try await ServingBench.trace(count: count)
            return print(JSONValue.object(figures).canonicalString)
        }
        if let mib = Optional(option("--s3-artifact-mib", 0)), mib > 0 {
            return print(JSONValue.object(try await BlobBench.run(mib: mib)).canonicalString)
        }
        if let events = Optional(option("--audit-events", 0)), events > 0 {
            let figures = try await AuditBench.run(events: events, remoteEvents: option("--remote-events", 1_000_000))
            return print(JSONValue.object(figures).canonicalString)
        }
        let searchRuns = option("--runs", 100_000)
        let proofEvents = option("--proof-events", 10_000_000)
        let artifactMiB = option("--artifact-mib", 256)
        var results0: [String: JSONValue] = [:]
        // `--home PATH` keeps the bench's home there (to move it, e.g. `trail migrate --to
        // postgres://…`); `--reuse-search-runs` then searches the runs a previous bench made in it.
        let keptHome = arguments.firstIndex(of: "--home").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        let reuseSearchRuns = arguments.contains("--reuse-search-runs")
        let directory = keptHome.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("trail-bench-\(UUID().uuidString)")
        defer { if keptHome == nil { try? FileManager.default.removeItem(at: directory) } }
        // `--store postgres://…` runs the same figures with the metadata in PostgreSQL (an empty
        // database); the default is SQLite in the bench's home.
        let storeURI = arguments.firstIndex(of: "--store").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        let home = try await TrailHome.open(directory, store: StoreSettings(uri: storeURI))
        results0["store"] = .string(home.store.location)
        let tracking = home.tracking
        let actor = Actor.user("bench")
        var results: [String: JSONValue] = results0

        func progress(_ text: String) { FileHandle.standardError.write(Data("bench: \(text)\n".utf8)) }

        // 1. Metric ingestion through the service layer, batches of 1,000.
        progress("service-layer ingestion")
        let serviceRun = try await tracking.createRun(experimentID: nil, actor: actor).info.runID
        let batches = 300
        var start = Date()
        for b in 0..<batches {
            try await tracking.logBatch(serviceRun, metrics: metricBatch(b), actor: actor)
        }
        results["service_metrics_per_second"] = .double((Double(batches * 1000) / Date().timeIntervalSince(start)).rounded())

        // The server, in process.
        let port = Int.random(in: 30000...50000)
        let config = TrailServerConfig(port: port, maxBodyBytes: 8 << 20, localActor: actor, localOnly: true)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let app = TrailApplication.make(home: home, config: config, logger: logger)
        let server = Task { try await app.runService() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let base = "http://127.0.0.1:\(port)/api/v1"
        for _ in 0..<100 {
            if (try? await get(client, base + "/health")) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        // 2. Metric ingestion over HTTP, batches of 1,000, 4 concurrent clients.
        progress("HTTP ingestion")
        var httpRuns: [RunID] = []
        for _ in 0..<4 { httpRuns.append(try await tracking.createRun(experimentID: nil, actor: actor).info.runID) }
        let bodies = try (0..<50).map { b in try JSONEncoder().encode(NativeAPI.LogBatch(metrics: metricBatch(b))) }
        start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in httpRuns {
                group.addTask {
                    for body in bodies { try await post(client, base + "/runs/\(run)/batch", body) }
                }
            }
            try await group.waitForAll()
        }
        results["http_metrics_per_second"] = .double((Double(4 * 50 * 1000) / Date().timeIntervalSince(start)).rounded())

        // 3. Single log-metric latency over HTTP, one client, sequential.
        progress("single log-metric latency")
        var latencies: [Double] = []
        for i in 0..<3000 {
            let body = try JSONEncoder().encode(Metric(key: "single", value: Double(i), timestampMillis: Int64(i), step: Int64(i)))
            let t0 = DispatchTime.now().uptimeNanoseconds
            try await post(client, base + "/runs/\(serviceRun)/metrics", body)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        latencies.sort()
        results["log_metric_p50_ms"] = .double(round3(latencies[latencies.count / 2]))
        results["log_metric_p99_ms"] = .double(round3(latencies[latencies.count * 99 / 100]))

        // 4. Run creation over HTTP (4 concurrent clients) and through the service layer.
        progress("run creation")
        let runBody = try JSONEncoder().encode(NativeAPI.CreateRun(experimentID: .defaultExperiment))
        start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { for _ in 0..<500 { try await post(client, base + "/runs", runBody) } } }
            try await group.waitForAll()
        }
        results["http_runs_per_second"] = .double((2000 / Date().timeIntervalSince(start)).rounded())

        // 5. Filtered search over many runs (made through the service layer: one event each).
        let searchExperiment: ExperimentID
        if reuseSearchRuns {
            searchExperiment = try await tracking.experiment(named: "search-bench").id
            progress("searching the runs already in experiment search-bench")
        } else {
            progress("creating \(searchRuns) runs for search")
            searchExperiment = try await tracking.createExperiment(name: "search-bench", tags: [], actor: actor).id
        }
        start = Date()
        for i in 0..<(reuseSearchRuns ? 0 : searchRuns) {
            let run = try await tracking.createRun(experimentID: searchExperiment, startTimeMillis: Int64(i), actor: actor).info.runID
            try await tracking.logBatch(
                run, metrics: [Metric(key: "acc", value: Double(i % 1000) / 1000, timestampMillis: 1)],
                params: [Param(key: "model", value: i % 10 == 0 ? "logreg" : "tree")], actor: actor)
            if i % 10000 == 9999 { progress("  \(i + 1) runs") }
        }
        if !reuseSearchRuns {
            results["service_runs_with_data_per_second"] = .double((Double(searchRuns) / Date().timeIntervalSince(start)).rounded())
        }
        let searchBody = try JSONEncoder().encode(
            NativeAPI.SearchRuns(
                experimentIDs: [searchExperiment], filter: "metrics.acc > 0.95 and params.model = 'logreg'", orderBy: ["metrics.acc DESC"],
                maxResults: 100))
        var searchTimes: [Double] = []
        var found = 0
        for _ in 0..<30 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let data = try await post(client, base + "/runs/search", searchBody)
            searchTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            found = try JSONDecoder().decode(NativeAPI.RunList.self, from: data).runs.count
        }
        searchTimes.sort()
        results["search_runs_total"] = .int(Int64(searchRuns))
        results["search_filtered_p50_ms"] = .double(round3(searchTimes[searchTimes.count / 2]))
        results["search_filtered_max_ms"] = .double(round3(searchTimes.last!))
        results["search_results"] = .int(Int64(found))

        // 5b. The web UI's runs page over the same runs: its first page (50 runs, default
        // columns), unfiltered and with the filter above, and what the page weighs with its
        // CSS and JavaScript.
        progress("UI runs page over \(searchRuns) runs")
        let ui = "http://127.0.0.1:\(port)/ui/experiments/\(searchExperiment)"
        let filtered = ui + "?filter=" + "metrics.acc > 0.95 and params.model = 'logreg'".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            + "&order=" + "metrics.acc DESC".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for (name, url) in [("ui_runs_page", ui), ("ui_runs_page_filtered", filtered)] {
            var times: [Double] = []
            var bytes = 0
            for _ in 0..<30 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                bytes = try await get(client, url).count
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            results["\(name)_p50_ms"] = .double(round3(times[times.count / 2]))
            results["\(name)_max_ms"] = .double(round3(times.last!))
            results["\(name)_html_bytes"] = .int(Int64(bytes))
        }
        var assets = 0
        for file in ["app.css", "app.js", "proof.js"] { assets += try await get(client, "http://127.0.0.1:\(port)/ui/static/\(file)").count }
        results["ui_assets_bytes"] = .int(Int64(assets))

        // 6. Artifact upload and download over HTTP.
        progress("artifact \(artifactMiB) MiB up and down")
        let chunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 >> 3) })
        var upload = HTTPClientRequest(url: base + "/runs/\(serviceRun)/artifacts/bench/blob.bin")
        upload.method = .PUT
        upload.body = .stream(ChunkRepeater(chunk: chunk, count: artifactMiB), length: .known(Int64(artifactMiB << 20)))
        start = Date()
        let uploaded = try await client.execute(upload, timeout: .minutes(10))
        _ = try await uploaded.body.collect(upTo: 1 << 20)
        results["artifact_upload_mib_per_second"] = .double((Double(artifactMiB) / Date().timeIntervalSince(start)).rounded())
        start = Date()
        let download = try await client.execute(HTTPClientRequest(url: base + "/runs/\(serviceRun)/artifacts/bench/blob.bin"), timeout: .minutes(10))
        var received = 0
        for try await part in download.body { received += part.readableBytes }
        results["artifact_download_mib_per_second"] = .double((Double(received >> 20) / Date().timeIntervalSince(start)).rounded())

        try await client.shutdown()
        server.cancel()

        // 7. Ledger: 32 concurrent writers, then verification of the whole bench log.
        progress("32 concurrent writers")
        let writersRun = try await tracking.createRun(experimentID: nil, actor: actor).info.runID
        let sizeBefore = try await tracking.store.eventCount()
        start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    for batch in 0..<100 {
                        try await tracking.logBatch(
                            writersRun, metrics: [Metric(key: "w\(writer)", value: Double(batch), timestampMillis: Int64(batch), step: Int64(batch))],
                            actor: .service("writer-\(writer)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        results["ledger_32_writers_events_per_second"] = .double((3200 / Date().timeIntervalSince(start)).rounded())
        let indexes = try await tracking.store.events(from: sizeBefore, to: sizeBefore + 3200).map(\.index)
        results["ledger_32_writers_gapless"] = .bool(indexes == Array(sizeBefore..<(sizeBefore + 3200)))
        try await home.ledger.checkpointIfBehind()
        progress("ledger verify")
        start = Date()
        let report = try await home.verifier.verify()
        let verifySeconds = Date().timeIntervalSince(start)
        results["ledger_verify_ok"] = .bool(report.ok)
        results["ledger_verify_events"] = .int(report.events)
        results["ledger_verify_rows"] = .int(report.rowsChecked)
        results["ledger_verify_events_per_second"] = .double((Double(report.events) / verifySeconds).rounded())
        results["ledger_verify_phase_seconds"] = .object(report.phaseSeconds.mapValues { JSONValue.double($0) })

        // 8. Proofs over a large tree: a synthetic log of `proofEvents` leaves in its own file.
        if proofEvents > 0 {
            progress("building a \(proofEvents)-leaf tree for proof timings")
            let proofStore = try SQLMetadataStore(path: directory.appendingPathComponent("proofs.sqlite").path)
            try buildTree(leaves: UInt64(proofEvents), path: directory.appendingPathComponent("proofs.sqlite").path)
            let proofLedger = LedgerService(store: proofStore, signer: home.ledger.signer)
            var inclusion: [Double] = []
            var consistency: [Double] = []
            var generator = SystemRandomNumberGenerator()
            let size = UInt64(proofEvents)
            let root = try await proofLedger.root(size: size)
            for _ in 0..<200 {
                let index = UInt64.random(in: 0..<size, using: &generator)
                var t0 = DispatchTime.now().uptimeNanoseconds
                let path = try await proofLedger.inclusionPath(index: index, size: size)
                inclusion.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                guard Merkle.verifyInclusion(index: index, size: size, leaf: syntheticLeaf(index), path: path, root: root) else {
                    throw TrailError.internalError("inclusion proof did not verify")
                }
                let first = UInt64.random(in: 1..<size, using: &generator)
                t0 = DispatchTime.now().uptimeNanoseconds
                _ = try await proofLedger.consistencyPath(first: first, second: size)
                consistency.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            inclusion.sort()
            consistency.sort()
            results["proof_tree_events"] = .int(Int64(proofEvents))
            results["inclusion_proof_p50_ms"] = .double(round3(inclusion[inclusion.count / 2]))
            results["inclusion_proof_p99_ms"] = .double(round3(inclusion[inclusion.count * 99 / 100]))
            results["consistency_proof_p50_ms"] = .double(round3(consistency[consistency.count / 2]))
            results["consistency_proof_p99_ms"] = .double(round3(consistency[consistency.count * 99 / 100]))
        }

        results["peak_rss_mib"] = .int(Int64(peakRSSKiB() / 1024))
        results["note"] = .string("server and client share this process; peak_rss_mib covers both")
        print(JSONValue.object(results).canonicalString)
    }

    static func syntheticLeaf(_ index: UInt64) -> TreeHash {
        Merkle.leafHash(Array("event-\(index)".utf8))
    }

    /// Writes the Merkle nodes of a `leaves`-leaf log straight into `merkle_nodes` (the same
    /// rows the write path stores), in transactions of 100,000 leaves.
    static func buildTree(leaves: UInt64, path: String) throws {
        let queue = try DatabaseQueue(path: path)
        var lastAtLevel: [Int: TreeHash] = [:]
        var next: UInt64 = 0
        while next < leaves {
            let end = min(next + 100_000, leaves)
            try queue.write { db in
                let insert = try db.makeStatement(sql: "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)")
                for index in next..<end {
                    for (address, hash) in Merkle.nodesCompleted(byAppending: syntheticLeaf(index), at: index, stored: { lastAtLevel[$0.level]! }) {
                        lastAtLevel[address.level] = hash
                        try insert.execute(arguments: [address.level, Int64(address.index), Data(hash)])
                    }
                }
            }
            next = end
        }
    }

    static func metricBatch(_ b: Int) -> [Metric] {
        (0..<1000).map { i in Metric(key: "m\(i % 10)", value: Double(i) * 0.001, timestampMillis: Int64(b * 1000 + i), step: Int64(b * 100 + i / 10))
        }
    }

    static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    @discardableResult
    static func post(_ client: HTTPClient, _ url: String, _ body: Data) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else { throw TrailError(.internalError, "HTTP \(response.status.code): \(String(buffer: bytes))") }
        return Data(bytes.readableBytesView)
    }

    static func get(_ client: HTTPClient, _ url: String) async throws -> Data {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        return Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
    }

    static func peakRSSKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}

/// The same 1 MiB chunk `count` times, as an upload body.
struct ChunkRepeater: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunk: ByteBuffer
    let count: Int
    struct AsyncIterator: AsyncIteratorProtocol {
        let chunk: ByteBuffer
        var remaining: Int
        mutating func next() async -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            return chunk
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunk: chunk, remaining: count) }
}
