import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import TrailCore
import TrailLedger
import TrailService
import TrailStore

#if canImport(Glibc)
    import Glibc
#endif

/// `trail-bench --audit-events N [--remote-events M]`: verification at audit scale.
///
/// Builds a home whose ledger holds N events (the home's own first events, then synthetic
/// `artifact.get` events with real bodies, leaves and Merkle nodes written straight into the
/// tables the write path fills), signs a checkpoint, then times the release `trail` binary
/// next to this one as an auditor runs it:
/// - `trail ledger verify` on the home (a child process: its own wall time and peak RSS);
/// - `trail ledger verify --server URL` against `trail server` on a second home of M events:
///   the export streamed and checked on the client (leaves, tree, every inclusion proof).
enum AuditBench {
    static func run(events: Int, remoteEvents: Int) async throws -> [String: JSONValue] {
        let trail = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("trail")
        guard FileManager.default.isExecutableFile(atPath: trail.path) else {
            throw TrailError.internalError("build the trail binary next to trail-bench first: swift build -c release --product trail")
        }
        var results: [String: JSONValue] = [:]
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trail-audit-bench-\(UUID().uuidString)")
        let keep = ProcessInfo.processInfo.environment["TRAIL_BENCH_KEEP"] == "1"
        defer { if !keep { try? FileManager.default.removeItem(at: root) } else { FileHandle.standardError.write(Data("bench: kept \(root.path)\n".utf8)) } }

        // Local verify over `events` events.
        let local = root.appendingPathComponent("local")
        var start = Date()
        try await build(local, events: events)
        results["audit_build_seconds"] = .double(round1(Date().timeIntervalSince(start)))
        let verify = try child(trail, ["ledger", "verify", "--json"], environment: ["TRAIL_HOME": local.path])
        let report = try JSONValue.parse(Array(verify.stdout.utf8))
        guard report["ok"] == .bool(true) else { throw TrailError.internalError("verify failed: \(verify.stdout.prefix(2000))") }
        let verified = report["events"]?.intValue ?? 0
        results["local_verify_events"] = .int(verified)
        results["local_verify_seconds"] = .double(round3(verify.seconds))
        results["local_verify_events_per_second"] = .double((Double(verified) / verify.seconds).rounded())
        results["local_verify_peak_rss_mib"] = .int(verify.peakRSSKiB / 1024)
        results["local_verify_phase_seconds"] = report["phase_seconds"] ?? .null
        if !keep { try? FileManager.default.removeItem(at: local) }

        // Remote, client-side verify of the export over `remoteEvents` events.
        let remote = root.appendingPathComponent("remote")
        try await build(remote, events: remoteEvents)
        let port = Int.random(in: 40000...50000)
        let server = Process()
        server.executableURL = trail
        server.arguments = ["server", "--local-only", "--port", String(port)]
        server.environment = ProcessInfo.processInfo.environment.merging(["TRAIL_HOME": remote.path]) { _, new in new }
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() }
        for _ in 0..<200 {
            if let response = try? await client.execute(HTTPClientRequest(url: url + "/health"), timeout: .seconds(1)), response.status == .ok { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // The server alone: how fast it streams the export (bytes counted, nothing checked).
        start = Date()
        let response = try await client.execute(HTTPClientRequest(url: url + "/api/v1/ledger/export"), timeout: .hours(2))
        var exportBytes: Int64 = 0
        for try await part in response.body { exportBytes += Int64(part.readableBytes) }
        let serveSeconds = Date().timeIntervalSince(start)
        results["export_bytes"] = .int(exportBytes)
        results["export_serve_mb_per_second"] = .double(round1(Double(exportBytes) / 1e6 / serveSeconds))
        // The auditor: streamed, checked line by line on the client.
        let config = root.appendingPathComponent("auditor")
        let audit = try child(trail, ["ledger", "verify", "--server", url, "--json"], environment: ["TRAIL_CONFIG": config.path, "TRAIL_HOME": config.path])
        let audited = try JSONValue.parse(Array(audit.stdout.utf8))
        guard audited["ok"] == .bool(true) else { throw TrailError.internalError("remote verify failed: \(audit.stdout.prefix(2000))") }
        results["remote_verify_events"] = audited["events"] ?? .null
        results["remote_verify_seconds"] = .double(round3(audit.seconds))
        results["remote_verify_mb_per_second"] = .double(round1(Double(exportBytes) / 1e6 / audit.seconds))
        results["remote_verify_client_cpu_seconds"] = .double(round3(audit.cpuSeconds))
        results["remote_verify_client_mb_per_cpu_second"] = .double(round1(Double(exportBytes) / 1e6 / audit.cpuSeconds))
        results["remote_verify_client_peak_rss_mib"] = .int(audit.peakRSSKiB / 1024)
        return results
    }

    struct ChildResult {
        var stdout: String
        var seconds: Double
        var cpuSeconds: Double
        var peakRSSKiB: Int64
    }

    /// Runs a child to completion and reads its wall time, CPU time and peak RSS (wait4).
    static func child(_ executable: URL, _ arguments: [String], environment: [String: String]) throws -> ChildResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["TRAIL_SERVER": ""]) { a, _ in a }) { _, new in new }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("trail-bench-out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.standardError
        let start = Date()
        try process.run()
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(process.processIdentifier, &status, 0, &usage)
        let seconds = Date().timeIntervalSince(start)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return ChildResult(
            stdout: (try? String(contentsOf: output, encoding: .utf8)) ?? "", seconds: seconds, cpuSeconds: cpu, peakRSSKiB: Int64(usage.ru_maxrss))
    }

    /// A home whose log holds `events` events: its own first ones, then synthetic
    /// `artifact.get` events (real bodies, leaves and Merkle nodes), then a signed checkpoint.
    static func build(_ directory: URL, events: Int) async throws {
        let home = try await TrailHome.open(directory)
        let existing = try await home.tracking.store.eventCount()
        var lastAtLevel: [Int: TreeHash] = [:]
        var size: UInt64 = 0
        for event in try await home.tracking.store.events(from: 0, to: existing) {
            for (address, hash) in Merkle.nodesCompleted(byAppending: Merkle.leafHash(event.body), at: size, stored: { lastAtLevel[$0.level]! }) {
                lastAtLevel[address.level] = hash
            }
            size += 1
        }
        try writeSynthetic(directory.appendingPathComponent("trail.sqlite").path, from: existing, to: Int64(events), size: size, lastAtLevel: lastAtLevel)
        _ = try await home.ledger.checkpointIfBehind()
    }

    /// Appends synthetic `artifact.get` events `from..<to` with their Merkle nodes, in
    /// transactions of 100,000 (synchronous GRDB: a bench tool, not a server path).
    static func writeSynthetic(_ path: String, from existing: Int64, to total: Int64, size start: UInt64, lastAtLevel start2: [Int: TreeHash]) throws {
        var size = start
        var lastAtLevel = start2
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        let digest = Digest.of(Array("bench".utf8))
        var index = existing
        let started = Date()
        while index < total {
            let end = min(index + 100_000, total)
            try queue.inTransaction { db in
                let insertEvent = try db.makeStatement(
                    sql: """
                        INSERT INTO ledger_events (idx, event_id, action, actor_type, actor_id, subject_type, subject_id, time, body)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                let insertNode = try db.makeStatement(sql: "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)")
                for i in index..<end {
                    let eventID = String(format: "e%031llx", i)
                    let draft = EventDraft(
                        action: "artifact.get", actor: .user("auditor-\(i % 7)"), timeMillis: 1_780_000_000_000 + i,
                        subject: Subject(type: "run", id: String(format: "%032llx", i / 1000)),
                        facts: ["path": .string("model/part-\(i % 100).bin"), "digest": .string(digest.description), "size_bytes": .int(i % 100_000)],
                        artifactDigests: [digest])
                    let body = LedgerEvent(index: i, eventID: eventID, draft: draft).canonicalBytes
                    try insertEvent.execute(arguments: [
                        i, eventID, draft.action, draft.actor.type.rawValue, draft.actor.id, draft.subject.type, draft.subject.id, draft.timeMillis, Data(body),
                    ])
                    for (address, hash) in Merkle.nodesCompleted(byAppending: Merkle.leafHash(body), at: size, stored: { lastAtLevel[$0.level]! }) {
                        lastAtLevel[address.level] = hash
                        try insertNode.execute(arguments: [address.level, Int64(address.index), Data(hash)])
                    }
                    size += 1
                }
                return .commit
            }
            index = end
            if index % 1_000_000 == 0 || index == total {
                FileHandle.standardError.write(
                    Data("bench: \(index) events written (\(Int(Double(index - existing) / Date().timeIntervalSince(started))) events/s)\n".utf8))
            }
        }
    }

    static func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
    static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
