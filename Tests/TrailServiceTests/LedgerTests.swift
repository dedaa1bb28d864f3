import Foundation
import GRDB
import Testing
import TrailCore
import TrailLedger
@testable import TrailService
import TrailStore

/// Fills a home with a seeded, random but realistic log: experiments, runs, params, metric
/// batches, tags set and deleted, dataset inputs, artifacts, a deletion, downloads.
func populate(_ home: TrailHome, seed: UInt64, runs: Int = 4) async throws {
    var random = SeededRandom(seed: seed)
    let tracking = home.tracking
    let experiment = try await tracking.createExperiment(name: "exp-\(seed)", tags: [TrailCore.Tag(key: "team", value: "risk")], actor: alice)
    for r in 0..<runs {
        let run = try await tracking.createRun(experimentID: experiment.id, name: "run-\(r)", actor: alice).info.runID
        try await tracking.logBatch(
            run,
            metrics: (0..<Int(random.next() % 50 + 1)).map {
                Metric(key: "m\($0 % 3)", value: Double(random.next() % 1000) / 7, timestampMillis: Int64($0), step: Int64($0))
            },
            params: [Param(key: "C", value: String(random.next() % 10)), Param(key: "seed", value: String(seed))], actor: alice)
        try await tracking.setTag(run, key: "stage", value: "dev", actor: alice)
        if random.next() % 2 == 0 { try await tracking.setTag(run, key: "stage", value: nil, actor: alice) }
        let bytes = (0..<Int(random.next() % 4000 + 10)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        try await tracking.putArtifact(run, path: try ArtifactPath(validating: "model/m\(r).bin"), bytes: bytes, actor: alice)
        try await tracking.logInputs(
            run, [DatasetInput(name: "d", digest: Digest.of(bytes).description, source: "mem", context: "training")], actor: alice)
        _ = try await tracking.updateRun(run, status: .finished, actor: alice)
        try await home.ledger.checkpointIfBehind()
    }
    let victim = try await tracking.createRun(experimentID: experiment.id, actor: alice).info.runID
    try await tracking.deleteRun(victim, actor: alice)
    try await home.ledger.checkpointIfBehind()
}

struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 17
    }
}

/// Raw access to the home's database, as an attacker with the `sqlite3` shell has it.
/// Tamper tests edit the SQLite file directly; on the PostgreSQL run of the suite
/// (`TRAIL_TEST_BACKEND=postgres`) they do not apply (the database's own append-only triggers
/// and grants are tested in TrailStoreTests).
let homesAreSQLite = ProcessInfo.processInfo.environment["TRAIL_TEST_BACKEND"] != "postgres"

func tamper(_ home: TrailHome, _ body: (Database) throws -> Void) throws {
    let queue = try DatabaseQueue(path: home.url.appendingPathComponent("trail.sqlite").path)
    try queue.writeWithoutTransaction { db in
        for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
            try db.execute(sql: "DROP TRIGGER \(table)")
        }
        try body(db)
    }
}

@Suite("Ledger: verification, proofs, tamper evidence")
struct LedgerTests {
    /// A scheduled verify on a busy server: writers and the checkpointer go on while it runs,
    /// and it must not mistake what is committed meanwhile for tampering (it reads the log's
    /// head, checkpoints, records, cosignatures and the rows beyond the head in one read-only
    /// transaction).
    @Test func verifyDuringWritesAndCheckpointsFindsNothing() async throws {
        let home = try await makeHome()
        try await populate(home, seed: 3, runs: 2)
        let experiment = try await home.tracking.createExperiment(name: "busy", tags: [], actor: alice)
        let writers = Task {
            var n = 0
            while !Task.isCancelled, n < 400 {
                let run = try await home.tracking.createRun(experimentID: experiment.id, actor: alice).info.runID
                try await home.tracking.logBatch(run, metrics: [Metric(key: "m", value: Double(n), timestampMillis: Int64(n), step: 0)], actor: alice)
                try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "a.txt"), bytes: Array("\(n)".utf8), actor: alice)
                if n % 5 == 0 { try await home.ledger.checkpointIfBehind() }
                n += 1
            }
        }
        var reports: [VerificationReport] = []
        for _ in 0..<6 { reports.append(try await home.verifier.verify(batchSize: 50)) }
        writers.cancel()
        _ = try? await writers.value
        for report in reports { #expect(report.ok, "\(report.findings.prefix(5))") }
        #expect(Set(reports.map(\.events)).count > 1, "the log grew while it was verified")
    }

    /// Whatever lies among the blobs without being one is listed, and does not stop the verify:
    /// a name that is not a digest, a blob in another digest's directory, a file where a
    /// directory belongs.
    @Test func straysAmongTheBlobsAreListed() async throws {
        let home = try await makeHome()
        try await populate(home, seed: 5, runs: 1)
        #expect(try await home.verifier.verify().ok)
        let base = home.url.appendingPathComponent("blobs/sha256")
        let digest = try #require(try await home.tracking.blobs.allDigests().first)
        let misplaced = digest.hex.hasPrefix("00") ? "01" : "00"
        try FileManager.default.createDirectory(at: base.appendingPathComponent(misplaced), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: base.appendingPathComponent("\(digest.hex.prefix(2))/\(digest.hex)"), to: base.appendingPathComponent("\(misplaced)/\(digest.hex)"))
        try Data("x".utf8).write(to: base.appendingPathComponent("\(digest.hex.prefix(2))/not-a-digest"))
        try Data("x".utf8).write(to: base.appendingPathComponent("stray.txt"))
        let report = try await home.verifier.verify()
        #expect(!report.ok)
        let strays = Set(report.findings.filter { $0.kind == "blob-stray" }.map(\.location))
        #expect(strays == ["sha256/\(misplaced)/\(digest.hex)", "sha256/\(digest.hex.prefix(2))/not-a-digest", "sha256/stray.txt"])
        #expect(report.findings.allSatisfy { $0.kind == "blob-stray" }, "\(report.findings)")
    }

    @Test func aFreshLogVerifiesAndEveryEventIsProvable() async throws {
        let home = try await makeHome()
        try await populate(home, seed: 1)
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
        #expect(report.rowsChecked > 0)
        let size = try await home.tracking.store.eventCount()
        let checkpoint = try await home.ledger.latestCheckpoint()
        #expect(checkpoint.size == UInt64(size))
        for index in 0..<size {
            let proof = try await home.ledger.inclusionProof(index: index)
            #expect(proof.verify(with: home.ledger.signer.verifier), "event \(index)")
        }
        let checkpoints = try await home.tracking.store.checkpoints()
        for (older, newer) in zip(checkpoints, checkpoints.dropFirst()) where older.size > 0 {
            let proof = try await home.ledger.consistencyProof(first: older.size, second: newer.size)
            #expect(proof.verify(with: home.ledger.signer.verifier), "\(older.size) → \(newer.size)")
        }
    }

    @Test func theExportIsCheckableOfflineWithOnlyThePublicKey() async throws {
        let home = try await makeHome()
        try await populate(home, seed: 2)
        var lines: [String] = []
        _ = try await home.ledger.export(actor: alice, write: { lines.append($0) })
        // The auditor's side: only the lines and the verifier key printed by `trail ledger public-key`.
        let vkey = home.ledger.verifierKey
        let header = try JSONDecoder().decode(JSONValue.self, from: Data(lines[0].utf8))
        let checkpoint = try Checkpoint.open(header["checkpoint"]!.stringValue!, verifier: try NoteVerifier(vkey: vkey))
        #expect(lines.count == Int(checkpoint.size) + 1)
        for line in lines.dropFirst() {
            let entry = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            let body = Array(entry["body"]!.stringValue!.utf8)
            let path = entry["inclusion_proof"]!.arrayItems.map { Array(Data(base64Encoded: $0.stringValue!)!) }
            let index = UInt64(entry["index"]!.intValue!)
            #expect(Merkle.verifyInclusion(index: index, size: checkpoint.size, leaf: Merkle.leafHash(body), path: path, root: checkpoint.root))
        }
        let exports = try await home.ledger.events(EventQuery(action: "ledger.export"))
        #expect(exports.count == 1, "the export is recorded")
    }

    /// The auditor's streaming check reads every line with its scanner (escapes included),
    /// shares proof work inside blocks of 1,024 events and still catches one wrong hash in any
    /// event's proof: inside a block, in a block's outer path, or in the last, partial block.
    @Test func theStreamingAuditCatchesAnyWrongProofHash() async throws {
        let home = try await makeHome()
        let tracking = home.tracking
        let run = try await tracking.createRun(experimentID: nil, actor: alice).info.runID
        try await tracking.setTag(run, key: "note", value: "quote \" backslash \\ newline \n tab \t é ✓ 𝄞 \u{01}", actor: alice)
        for i in 0..<2100 {
            try await tracking.logBatch(run, metrics: [Metric(key: "m", value: Double(i), timestampMillis: Int64(i), step: Int64(i))], actor: alice)
        }
        var lines: [String] = []
        _ = try await home.ledger.export(actor: alice, write: { lines.append($0) })
        let key = home.ledger.signer.verifier
        let honest = ExportAudit.verify(lines: lines.map { Substring($0) }, key: key, saved: nil)
        #expect(honest.ok, "\(honest.findings)")
        #expect(honest.events == Int64(lines.count - 1) && honest.events > 2048)
        // Every line is the canonical JSON of its value (the hand-written line writer), and has
        // the shape the scanner reads (no fallback), escapes included.
        for line in lines.dropFirst() {
            #expect(try JSONValue.parse(Array(line.utf8)).canonicalString == line)
            let scanned = try #require(ExportLine.scan(Array(line.utf8)[...]), "\(line.prefix(200))")
            let parsed = try JSONValue.parse(Array(line.utf8))
            #expect(scanned.body == Array(parsed["body"]!.stringValue!.utf8))
        }
        for (target, level) in [(1500, 3), (1500, 11), (2090, 0), (1024, 10), (1025, 10), (5, 1)] {
            var tampered = lines
            var entry = try JSONValue.parse(Array(tampered[target + 1].utf8))
            guard case .array(var proof)? = entry["inclusion_proof"], level < proof.count else {
                Issue.record("event \(target) has no proof level \(level)")
                continue
            }
            proof[level] = .string(Data(repeating: 7, count: 32).base64EncodedString())
            if case .object(var members) = entry { members["inclusion_proof"] = .array(proof); entry = .object(members) }
            tampered[target + 1] = entry.canonicalString
            let audit = ExportAudit.verify(lines: tampered.map { Substring($0) }, key: key, saved: nil)
            #expect(audit.findings == ["event \(target): its inclusion proof does not lead to the signed root"], "\(target)/\(level): \(audit.findings)")
        }
    }

    /// Flip one byte anywhere — an event, a stored fact, a blob, a checkpoint — and
    /// verification fails and names where.
    @Test("any single changed byte is detected and located", .enabled(if: homesAreSQLite), arguments: 0..<12)
    func singleByteChangesAreDetected(_ trial: Int) async throws {
        let home = try await makeHome()
        try await populate(home, seed: UInt64(100 + trial), runs: 2)
        var random = SeededRandom(seed: UInt64(trial))
        let expectedLocation: String
        switch trial % 6 {
        case 0:
            let count = try await home.tracking.store.eventCount()
            let index = Int64(random.next() % UInt64(count))
            try tamper(home) { db in
                var body = Array(try Data.fetchOne(db, sql: "SELECT body FROM ledger_events WHERE idx = ?", arguments: [index])!)
                body[Int(random.next() % UInt64(body.count))] ^= 0x20
                try db.execute(sql: "UPDATE ledger_events SET body = ? WHERE idx = ?", arguments: [Data(body), index])
            }
            expectedLocation = "ledger_events idx \(index)"
        case 1:
            try tamper(home) { db in
                let row = try Row.fetchOne(db, sql: "SELECT rowid, value, event_index FROM metrics ORDER BY random() LIMIT 1")!
                let value: Double = row[1]
                try db.execute(sql: "UPDATE metrics SET value = ? WHERE rowid = ?", arguments: [value.nextUp, row[0] as Int64])
            }
            expectedLocation = "metrics rows written by event"
        case 2:
            try tamper(home) { db in try db.execute(sql: "UPDATE params SET value = value || 'x' WHERE key = 'C'") }
            expectedLocation = "params rows written by event"
        case 3:
            let digest = try #require(try await home.tracking.blobs.allDigests().first)
            let file = home.url.appendingPathComponent("blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)")
            var bytes = Array(try Data(contentsOf: file))
            bytes[Int(random.next() % UInt64(bytes.count))] ^= 0x01
            try Data(bytes).write(to: file)
            expectedLocation = "blob \(digest)"
        case 4:
            try tamper(home) { db in
                let row = try Row.fetchOne(db, sql: "SELECT size, note FROM checkpoints WHERE size > 0 ORDER BY random() LIMIT 1")!
                var note = Array((row[1] as String).utf8)
                let position = Int(random.next() % UInt64(note.count - 1))
                note[position] = note[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
                try db.execute(
                    sql: "UPDATE checkpoints SET note = ? WHERE size = ?", arguments: [String(decoding: note, as: UTF8.self), row[0] as Int64])
            }
            expectedLocation = "checkpoint of size"
        default:
            try tamper(home) { db in try db.execute(sql: "UPDATE runs SET status = 'KILLED' WHERE rowid = (SELECT MIN(rowid) FROM runs)") }
            expectedLocation = "runs row"
        }
        let report = try await home.verifier.verify()
        #expect(!report.ok)
        #expect(report.findings.contains { $0.location.hasPrefix(expectedLocation) }, "expected \(expectedLocation) in \(report.findings)")
    }

    @Test(.enabled(if: homesAreSQLite)) func insertedAndDeletedRowsAreDetected() async throws {
        let home = try await makeHome()
        try await populate(home, seed: 7, runs: 1)
        try tamper(home) { db in
            try db.execute(
                sql: "INSERT INTO metrics (run_pk, key, value, is_nan, timestamp, step, event_index) VALUES (1, 'forged', 1.0, 0, 1, 1, 3)")
            try db.execute(sql: "DELETE FROM artifacts")
        }
        let report = try await home.verifier.verify()
        #expect(report.findings.contains { $0.location == "metrics rows written by event 3" })
        #expect(report.findings.contains { $0.location.hasPrefix("artifacts rows written by event") })
        #expect(report.findings.contains { $0.kind == "blob-orphaned" })
    }

    @Test func thirtyTwoConcurrentWritersMakeAGaplessTotallyOrderedLog() async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice).info.runID
        let before = try await home.tracking.store.eventCount()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    for batch in 0..<10 {
                        try await home.tracking.logBatch(
                            run, metrics: [Metric(key: "w\(writer)", value: Double(batch), timestampMillis: Int64(batch), step: Int64(batch))],
                            actor: .service("writer-\(writer)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try await home.tracking.store.events(from: 0, to: 10_000)
        #expect(events.map(\.index) == Array(0..<Int64(events.count)))
        #expect(events.count == Int(before) + 320)
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok)
    }

    @Test func accessesAreRecordedAndKeysAreProtected() async throws {
        let home = try await makeHome()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice).info.runID
        let path = try ArtifactPath(validating: "a.txt")
        try await home.tracking.putArtifact(run, path: path, bytes: [1], actor: alice)
        let (_, reader) = try await home.tracking.openArtifact(run, path: path, actor: .user("auditor"))
        reader.close()
        let gets = try await home.ledger.events(EventQuery(action: "artifact.get"))
        #expect(gets.map(\.actor) == [.user("auditor")])
        let mode = try FileManager.default.attributesOfItem(atPath: home.keyPath.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let reopened = try await TrailHome.open(home.url)
        #expect(reopened.ledger.verifierKey == home.ledger.verifierKey, "the key is created once and kept")
    }
}

extension JSONValue {
    var arrayItems: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}

@Suite("Ledger privacy")
struct LedgerPrivacyTests {
    @Test func sensitiveValuesAppearOnlyAsSaltedDigests() async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trail-privacy-\(UUID().uuidString)")
        let home = try await TrailHome.open(url, sensitiveKeys: ["patient_id", "db_password"], store: try await StoreSettings.testing())
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice).info.runID
        try await home.tracking.logBatch(
            run, params: [Param(key: "db_password", value: "hunter2"), Param(key: "C", value: "1.0")],
            tags: [TrailCore.Tag(key: "patient_id", value: "P-12345")], actor: alice)
        try await home.tracking.setTag(run, key: "patient_id", value: "P-67890", actor: alice)
        let bodies = try await home.tracking.store.events(from: 0, to: 100).map { String(decoding: $0.body, as: UTF8.self) }
        for secret in ["hunter2", "P-12345", "P-67890"] { #expect(!bodies.contains { $0.contains(secret) }, "\(secret) leaked") }
        #expect(bodies.contains { $0.contains("hmac-sha256:") })
        #expect(bodies.contains { $0.contains("\"1.0\"") }, "values of other keys stay readable")
        #expect(try await home.tracking.run(run, reader: .privileged).params.contains(Param(key: "db_password", value: "hunter2")), "the data itself is kept")
        #expect(try await home.tracking.run(run).params.contains(Param(key: "db_password", value: Sealer.masked)), "masked for readers without a role")
        let salt =
            try FileManager.default.attributesOfItem(atPath: url.appendingPathComponent("keys/ledger.salt").path)[.posixPermissions] as? NSNumber
        #expect(salt?.intValue == 0o600)
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok)
    }
}
