import Foundation
import TrailArtifacts
import TrailCore
import TrailLedger
import TrailStore

/// One thing verification found wrong, with where it is.
public struct VerificationFinding: Sendable, Codable, Hashable {
    /// `event`, `merkle-node`, `checkpoint`, `row`, `state`, `blob-missing`, `blob-corrupted`, `blob-orphaned`, `blob-stray`.
    public var kind: String
    /// Where: e.g. `ledger_events idx 12`, `metrics rows of event 40`, `blob sha256:…`.
    public var location: String
    public var message: String
}

/// The outcome of `trail ledger verify`.
public struct VerificationReport: Sendable, Codable {
    public var ok: Bool
    public var events: Int64
    public var checkpoints: Int
    public var rowsChecked: Int64
    public var blobs: Int
    public var findings: [VerificationFinding]
    public var seconds: Double
    /// Seconds per phase: `events` (leaves, tree, bodies and the rows each wrote, pipelined),
    /// `state`, `blobs`.
    public var phaseSeconds: [String: Double]
    /// Where the blobs were checked (`folder /path`, `s3://bucket/prefix at endpoint`).
    public var blobStore: String?
    /// Sealed values erased by destroying their keys, per kind (`raw_input`, `run_value`): their
    /// rows and digests are intact (and checked above); their contents are unreadable.
    public var shredded: [String: Int64] = [:]
    /// What retention removed, as recorded: rows per table whose events keep their digests, and
    /// `blobs` removed from the artifact store. Each absence is accepted by its record only.
    public var retired: [String: Int64] = [:]

    enum CodingKeys: String, CodingKey {
        case ok, events, checkpoints, rowsChecked = "rows_checked", blobs, findings, seconds, phaseSeconds = "phase_seconds"
        case blobStore = "blob_store", shredded, retired
    }

    public init(
        ok: Bool, events: Int64, checkpoints: Int, rowsChecked: Int64, blobs: Int, findings: [VerificationFinding], seconds: Double,
        phaseSeconds: [String: Double], blobStore: String?, shredded: [String: Int64] = [:], retired: [String: Int64] = [:]
    ) {
        self.ok = ok
        self.events = events
        self.checkpoints = checkpoints
        self.rowsChecked = rowsChecked
        self.blobs = blobs
        self.findings = findings
        self.seconds = seconds
        self.phaseSeconds = phaseSeconds
        self.blobStore = blobStore
        self.shredded = shredded
        self.retired = retired
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ok = try c.decode(Bool.self, forKey: .ok)
        events = try c.decode(Int64.self, forKey: .events)
        checkpoints = try c.decode(Int.self, forKey: .checkpoints)
        rowsChecked = try c.decode(Int64.self, forKey: .rowsChecked)
        blobs = try c.decode(Int.self, forKey: .blobs)
        findings = try c.decode([VerificationFinding].self, forKey: .findings)
        seconds = try c.decode(Double.self, forKey: .seconds)
        phaseSeconds = try c.decode([String: Double].self, forKey: .phaseSeconds)
        blobStore = try c.decodeIfPresent(String.self, forKey: .blobStore)
        shredded = try c.decodeIfPresent([String: Int64].self, forKey: .shredded) ?? [:]
        retired = try c.decodeIfPresent([String: Int64].self, forKey: .retired) ?? [:]
    }

    /// "; 3 sealed values shredded (raw_input 2, run_value 1)", or nothing.
    var shreddedSummary: String {
        let total = shredded.values.reduce(0, &+)
        guard total > 0 else { return "" }
        return "; \(total) sealed value\(total == 1 ? "" : "s") shredded ("
            + shredded.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "), rows intact"
    }

    /// "; removed by retention as recorded: predictions 120, blobs 3", or nothing.
    var retiredSummary: String {
        let removed = retired.filter { $0.value > 0 }
        guard !removed.isEmpty else { return "" }
        return "; removed by retention as recorded: " + removed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// The one-line verdict.
    public var verdict: String {
        ok
            ? "VERIFIED: \(events) events, \(checkpoints) signed checkpoints, \(rowsChecked) rows and \(blobs) blobs match the ledger" + shreddedSummary + retiredSummary
            : "FAILED: \(findings.count) finding\(findings.count == 1 ? "" : "s") in \(events) events, \(checkpoints) checkpoints, \(rowsChecked) rows, \(blobs) blobs"
                + shreddedSummary + retiredSummary
    }
}

/// Checks the whole record against the ledger; see `docs/ledger.md` for what each step proves.
public struct LedgerVerifier: Sendable {
    public let store: any MetadataStore
    public let blobs: any BlobStore
    public let verifier: NoteVerifier

    public init(store: any MetadataStore, blobs: any BlobStore, verifier: NoteVerifier) {
        self.store = store
        self.blobs = blobs
        self.verifier = verifier
    }

    public typealias Progress = @Sendable (_ phase: String, _ done: Int64, _ total: Int64) -> Void

    public func verify(batchSize: Int64 = 10_000, progress: Progress? = nil) async throws -> VerificationReport {
        let started = Date()
        var findings: [VerificationFinding] = []
        func find(_ kind: String, _ location: String, _ message: String) {
            findings.append(VerificationFinding(kind: kind, location: location, message: message))
        }
        // One read-only transaction for what must agree with itself while a live server goes on
        // writing: the log's size, its checkpoints, their records and cosignatures, and the rows
        // beyond the size. (Events below the size never change, nor do their rows, but for rows
        // retention removes, with a record; they are read in parallel batches outside it.)
        let head = try await store.readOnly()
        let size = try await head.eventCount()
        // Retirements committed before this moment: their rows must be gone. Rows found missing
        // are checked against the retirements read at the end (a retention may commit meanwhile).
        let retiredBefore = try await head.retiredWrites()

        // Checkpoints: every signature, and each must be within the log.
        var checkpointRoots: [UInt64: TreeHash] = [:]
        let checkpoints = try await head.checkpoints()
        for stored in checkpoints {
            let location = "checkpoint of size \(stored.size)"
            guard let parsed = try? Checkpoint.open(stored.note, verifier: verifier) else {
                find("checkpoint", location, "signature or format does not verify with the log's public key")
                continue
            }
            if parsed.size != stored.size || parsed.root != stored.root {
                find("checkpoint", location, "stored size or root differs from the signed note")
            }
            if parsed.size > UInt64(size) { find("checkpoint", location, "signs \(parsed.size) events but the log holds \(size)") }
            checkpointRoots[parsed.size] = parsed.root
        }
        // Checkpoint records: each checkpoint stored since records began has one, signed, that
        // states its stored time and note and follows the previous record. A changed time, a
        // changed note or a deleted checkpoint that a later one follows is found here.
        let (records, since) = try await head.checkpointRecords()
        let recordBySize = Dictionary(records.map { ($0.size, $0) }, uniquingKeysWith: { a, _ in a })
        var previous: CheckpointRecord?
        for record in records {
            let location = "checkpoint record of size \(record.size)"
            guard let stored = checkpoints.first(where: { $0.size == record.size }) else {
                find("checkpoint", location, "its checkpoint row is missing (deleted)")
                previous = record
                continue
            }
            guard let text = try? SignedNote.open(record.record, verifier: verifier) else {
                find("checkpoint", location, "signature or format does not verify with the log's public key")
                previous = record
                continue
            }
            if text != LedgerService.recordText(stored, previous: previous) {
                let claimsPrevious = previous.map { text.contains("prev \(Digest.of(Array($0.record.utf8)).hex)\n") } ?? text.hasSuffix("prev none\n")
                find(
                    "checkpoint", location,
                    claimsPrevious
                        ? "the stored time or note differs from the signed record"
                        : "the record does not follow the previous stored record: a checkpoint between them was deleted")
            }
            previous = record
        }
        // Witnesses' cosignatures: each stored line verifies, with its witness's key, over the
        // checkpoint it is stored with.
        for (size, witness, line) in try await head.allCosignatures() {
            let location = "cosignature of size \(size) by \(witness.split(separator: "+").first ?? "")"
            guard let stored = checkpoints.first(where: { $0.size == size }) else {
                find("checkpoint", location, "its checkpoint is missing")
                continue
            }
            guard let verifier = try? CosignatureVerifier(vkey: witness),
                (try? Cosignature.cosigners(of: stored.note + line, among: [verifier]))?.isEmpty == false
            else {
                find("checkpoint", location, "does not verify over the stored checkpoint")
                continue
            }
        }
        for stored in checkpoints where Int64(clamping: stored.size) > since && recordBySize[stored.size] == nil {
            find("checkpoint", "checkpoint of size \(stored.size)", "has no signed record (stored outside the ledger's write path)")
        }

        // Events: leaves, the tree, checkpoint roots, indexed columns, and the rows each wrote.
        var treeSize: UInt64 = 0
        var rowsChecked: Int64 = 0
        var missing: [MissingWrite] = []
        let tables = store.recordedTables
        var start: Int64 = 0
        var phaseSeconds: [String: Double] = ["events": 0, "state": 0, "blobs": 0]
        var clock = Date()
        func lap(_ phase: String) {
            phaseSeconds[phase, default: 0] += Date().timeIntervalSince(clock)
            clock = Date()
        }
        if let root = checkpointRoots[0], root != Merkle.emptyRoot { find("checkpoint", "checkpoint of size 0", "root is not the empty tree's") }
        // The next batch is read while this one is checked; each batch's bodies are checked on
        // every core, then its leaves are folded into the tree in order.
        // Everything about a batch but the tree fold (reading events, checking bodies, the rows
        // each event wrote, the stored tree nodes it completes) runs ahead, on every core, while
        // the previous batch is folded into the tree here, in order.
        func prefetch(_ from: Int64) -> Task<PreparedBatch, any Error> {
            let to = min(from + batchSize, size)
            return Task { [store] in try await Self.prepare(store: store, tables: tables, from: from, to: to, retired: retiredBefore) }
        }
        // Two batches in flight: one being read while the other's bodies are checked.
        var pending: [Task<PreparedBatch, any Error>] = []
        var next: Int64 = 0
        func fill() {
            while pending.count < 2, next < size {
                pending.append(prefetch(next))
                next = min(next + batchSize, size)
            }
        }
        fill()
        var frontier = [TreeHash?](repeating: nil, count: 64)
        while start < size {
            let end = min(start + batchSize, size)
            let batch = try await pending.removeFirst().value
            fill()
            findings += batch.findings
            rowsChecked += batch.rowsChecked
            missing += batch.missing
            var expectedIndex = start
            for (eventIndex, leaf) in zip(batch.indexes, batch.leaves) {
                if eventIndex != expectedIndex { find("event", "ledger_events idx \(expectedIndex)", "missing: the log has a gap") }
                expectedIndex = eventIndex + 1
                // Append the leaf: each node it completes is compared with the stored one.
                var hash = leaf
                var index = treeSize
                var level = 0
                while true {
                    let stored = batch.nodes[level]?[index]
                    if stored != hash {
                        if level == 0, stored != nil {
                            find("event", "ledger_events idx \(index)", "body does not hash to the leaf stored in the tree: the event was altered")
                        } else {
                            find(
                                "merkle-node", "merkle_nodes level \(level) index \(index)",
                                stored == nil ? "missing" : "differs from the hash recomputed from the events")
                        }
                    }
                    guard index & 1 == 1, let left = frontier[level] else {
                        frontier[level] = hash
                        break
                    }
                    frontier[level] = hash
                    hash = Merkle.nodeHash(left, hash)
                    index >>= 1
                    level += 1
                }
                treeSize += 1
                if let root = checkpointRoots[treeSize], root != Self.root(size: treeSize, frontier: frontier) {
                    find("checkpoint", "checkpoint of size \(treeSize)", "signed root differs from the root recomputed from the events")
                }
            }
            if expectedIndex != end { find("event", "ledger_events idx \(expectedIndex)", "missing: the log has a gap") }
            lap("events")
            progress?("events", end, size)
            start = end
        }
        if treeSize > 0, checkpoints.isEmpty { find("checkpoint", "checkpoints", "the log has events but no signed checkpoint") }
        // Rows an event recorded that are gone: accepted only when a retirement records exactly
        // that write (its count and digest, from the event itself).
        var retired: [String: Int64] = [:]
        let retiredNow = missing.isEmpty ? retiredBefore : try await store.retiredWrites()
        for gone in missing {
            let location = "\(gone.table) rows written by event \(gone.event)"
            guard let retirement = retiredNow[gone.table]?[gone.event] else {
                find("row", location, "the event recorded \(gone.rows) row(s); the table holds 0")
                continue
            }
            if retirement.rows != Int64(gone.rows) || retirement.digest != gone.digest {
                find("row", location, "removed by retention (event \(retirement.eventIndex)), but the record of it differs from what the event wrote")
            } else {
                retired[gone.table, default: 0] &+= retirement.rows
            }
        }
        for table in tables {
            let beyond = try await head.recordedRows(table: table, events: size..<Int64.max)
            for (index, rows) in beyond {
                find("row", "\(table) rows with event_index \(index)", "\(rows.count) row(s) name an event the log does not hold")
            }
        }

        // Entity state and projections against the facts.
        progress?("state", 0, 1)
        for message in try await store.derivedStateMismatches() {
            let parts = message.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            find("state", parts[0], parts.count > 1 ? parts[1] : message)
        }

        lap("state")
        // Blobs: every referenced blob present and intact; unreferenced blobs listed.
        // A blob is published just before the transaction that maps it commits, so on a live
        // server: what the head references was published before the head, hence is listed now
        // (no false "missing"); a listed blob the head does not reference may be an upload
        // since, so it is an orphan only if the store still does not reference it a moment later.
        let referenced = try await head.referencedDigests()
        let present = Set(try await blobs.allDigests())
        var unreferenced = present.subtracting(referenced)
        if !unreferenced.isEmpty {
            unreferenced.subtract(try await store.referencedDigests())
            if !unreferenced.isEmpty {
                try await Task.sleep(for: .seconds(1))
                unreferenced.subtract(try await store.referencedDigests())
            }
        }
        var checked: Int64 = 0
        for digest in present.sorted() {
            // The reader itself refuses altered bytes and symbolic links (DATA_LOSS): a finding.
            let actual: Digest?
            do { actual = try await rehash(digest) } catch let error as TrailError where error.code == .dataLoss { actual = nil }
            if actual != digest { find("blob-corrupted", "blob \(digest)", "bytes no longer hash to their name") }
            if unreferenced.contains(digest) { find("blob-orphaned", "blob \(digest)", "no artifact or attestation refers to it") }
            checked += 1
            progress?("blobs", checked, Int64(present.count))
        }
        // Blobs retention removed: absent by record, unless referenced again since (then stored).
        let retiredBlobs = try await head.retiredBlobs()
        let revived = try await head.digestsReferencedSince(retiredBlobs.mapValues { $0 &+ 1 })
        for digest in referenced.subtracting(present).sorted() {
            if retiredBlobs[digest] != nil, !revived.contains(digest) {
                retired["blobs", default: 0] &+= 1
                continue
            }
            find("blob-missing", "blob \(digest)", "an artifact refers to it but it is not stored")
        }
        for (digest, event) in retiredBlobs.sorted(by: { $0.key.description < $1.key.description })
        where present.contains(digest) && !revived.contains(digest) {
            find("blob-retired-kept", "blob \(digest)", "recorded as removed by retention (event \(event)), but still stored: `trail retention apply` removes it")
        }
        for name in try await blobs.strays() {
            find("blob-stray", name, "lies among the blobs but is not one (its name is not its digest, or not in its digest's place)")
        }

        lap("blobs")
        // Erased values: each recorded destruction must have destroyed its key.
        let shredded = try await head.sealKeyShredCounts()
        for keyID in try await head.shreddedKeysStillStored() {
            find("seal-key-kept", "sealing key \(keyID)", "recorded as destroyed, but its bytes are still stored: the value it seals is not erased")
        }
        return VerificationReport(
            ok: findings.isEmpty, events: size, checkpoints: checkpoints.count, rowsChecked: rowsChecked, blobs: present.count, findings: findings,
            seconds: Date().timeIntervalSince(started), phaseSeconds: phaseSeconds.mapValues { ($0 * 1000).rounded() / 1000 },
            blobStore: blobs.location, shredded: Dictionary(uniqueKeysWithValues: shredded.map { ($0.key.rawValue, $0.value) }), retired: retired)
    }

    /// The root of the first `size` leaves from the last node completed at each level: those
    /// at the set bits of `size` are its compact range (RFC 9162's right frontier).
    static func root(size: UInt64, frontier: [TreeHash?]) -> TreeHash {
        var acc: TreeHash?
        for level in 0..<64 where size & (UInt64(1) << level) != 0 {
            guard let node = frontier[level] else { return [] }
            acc = acc.map { Merkle.nodeHash(node, $0) } ?? node
        }
        return acc ?? Merkle.emptyRoot
    }

    /// One batch, read and checked ahead of the tree fold.
    struct PreparedBatch: Sendable {
        var indexes: [Int64]
        var leaves: [TreeHash]
        var findings: [VerificationFinding]
        var rowsChecked: Int64
        /// Level → index → stored hash, for every node the batch's leaves complete.
        var nodes: [Int: [UInt64: TreeHash]]
        var missing: [MissingWrite] = []
    }

    /// Rows an event recorded that are not stored (retired, or lost).
    struct MissingWrite: Sendable {
        var table: String
        var event: Int64
        var rows: Int
        var digest: String
    }

    static func prepare(
        store: any MetadataStore, tables: [String], from: Int64, to: Int64, retired: [String: [Int64: RetiredWrite]] = [:]
    ) async throws -> PreparedBatch {
        let events = try await store.events(from: from, to: to)
        async let checkedBodies = checkBodies(events)
        // The nodes completed by appending leaves from..<to: at level l, those whose last leaf
        // is in that range.
        var nodes: [Int: [UInt64: TreeHash]] = [:]
        let low = UInt64(from), high = UInt64(to)
        // Node k of level l covers leaves [k·2^l, (k+1)·2^l) and completes with its last leaf,
        // so the batch completes k in [low >> l, high >> l).
        for level in 0..<63 {
            let kLow = low >> UInt64(level), kHigh = high >> UInt64(level)
            if kHigh == 0 { break }
            guard kHigh > kLow else { continue }
            nodes[level] = try await store.merkleNodes(level: level, range: kLow..<kHigh)
        }
        let checked = await checkedBodies
        var findings = checked.findings
        var rowsChecked: Int64 = 0
        var missing: [MissingWrite] = []
        let recorded = checked.recorded
        for table in tables {
            let rows = try await store.recordedRows(table: table, events: from..<to)
            var indexes = Set(rows.keys)
            for (index, writes) in recorded where writes[table] != nil { indexes.insert(index) }
            for index in indexes.sorted() {
                let actual = rows[index] ?? []
                rowsChecked += Int64(actual.count)
                let location = "\(table) rows written by event \(index)"
                guard let expected = recorded[index]?[table] else {
                    findings.append(
                        VerificationFinding(
                            kind: "row", location: location, message: "\(actual.count) row(s) carry this event index but the event recorded no \(table) rows"))
                    continue
                }
                if let retirement = retired[table]?[index], !actual.isEmpty {
                    findings.append(
                        VerificationFinding(
                            kind: "row", location: location,
                            message: "removed by retention (event \(retirement.eventIndex)), yet \(actual.count) row(s) carry this event index"))
                    continue
                }
                if actual.isEmpty, expected.rows > 0 {
                    missing.append(MissingWrite(table: table, event: index, rows: expected.rows, digest: expected.digest))
                    continue
                }
                if actual.count != expected.rows {
                    findings.append(
                        VerificationFinding(kind: "row", location: location, message: "the event recorded \(expected.rows) row(s); the table holds \(actual.count)"))
                } else if WriteDigest.of(encodedRows: actual).digest.description != expected.digest {
                    findings.append(VerificationFinding(kind: "row", location: location, message: "row contents differ from what the event recorded"))
                }
            }
        }
        return PreparedBatch(
            indexes: events.map(\.index), leaves: checked.leaves, findings: findings, rowsChecked: rowsChecked, nodes: nodes, missing: missing)
    }

    struct CheckedBodies: Sendable {
        var leaves: [TreeHash] = []
        var recorded: [Int64: [String: (digest: String, rows: Int)]] = [:]
        var findings: [VerificationFinding] = []
    }

    /// Each event's leaf, and its body checked: a canonical JSON object whose fields are the
    /// indexed columns; the rows it says it wrote. Split over every core, results in order.
    static func checkBodies(_ events: [StoredEvent]) async -> CheckedBodies {
        let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let chunk = max(256, (events.count + cores - 1) / cores)
        let parts = await withTaskGroup(of: (Int, CheckedBodies).self) { group in
            for (n, from) in stride(from: 0, to: events.count, by: chunk).enumerated() {
                let range = from..<min(from + chunk, events.count)
                group.addTask { (n, checkBodies(events[range])) }
            }
            var parts: [(Int, CheckedBodies)] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var all = CheckedBodies()
        all.leaves.reserveCapacity(events.count)
        for part in parts {
            all.leaves += part.leaves
            all.findings += part.findings
            all.recorded.merge(part.recorded) { a, _ in a }
        }
        return all
    }

    static func checkBodies(_ events: ArraySlice<StoredEvent>) -> CheckedBodies {
        var out = CheckedBodies()
        out.leaves.reserveCapacity(events.count)
        for event in events {
            out.leaves.append(Merkle.leafHash(event.body))
            // The fast path: one pass that proves the body canonical and compares its fields.
            if let (match, writes) = CanonicalEventFields.check(
                event.body, index: event.index, eventID: event.eventID, action: event.action,
                actorType: event.actorTypeColumn ?? event.actor.type.rawValue, actorID: event.actor.id, subjectType: event.subject.type,
                subjectID: event.subject.id, time: event.timeMillis)
            {
                if !match {
                    out.findings.append(
                        VerificationFinding(kind: "event", location: "ledger_events idx \(event.index)", message: "indexed columns differ from the event body"))
                }
                if !writes.isEmpty { out.recorded[event.index] = writes.mapValues { (digest: $0.digest, rows: $0.rows) } }
                continue
            }
            let location = "ledger_events idx \(event.index)"
            guard let body = try? JSONValue.parse(event.body), case .object = body else {
                out.findings.append(VerificationFinding(kind: "event", location: location, message: "body is not a JSON object"))
                continue
            }
            if body["index"]?.intValue != event.index || body["event_id"]?.stringValue != event.eventID
                || body["action"]?.stringValue != event.action || body["actor"]?["id"]?.stringValue != event.actor.id
                || body["actor"]?["type"]?.stringValue != (event.actorTypeColumn ?? event.actor.type.rawValue)
                || body["subject"]?["type"]?.stringValue != event.subject.type || body["subject"]?["id"]?.stringValue != event.subject.id
                || body["time"]?.intValue != event.timeMillis
            {
                out.findings.append(VerificationFinding(kind: "event", location: location, message: "indexed columns differ from the event body"))
            }
            if body.canonicalBytes != event.body {
                out.findings.append(VerificationFinding(kind: "event", location: location, message: "body is not canonical JSON"))
            }
            var writes: [String: (digest: String, rows: Int)] = [:]
            if case .object(let tables)? = body["digests"]?["writes"] {
                for (table, entry) in tables {
                    writes[table] = (entry["digest"]?.stringValue ?? "", Int(entry["rows"]?.intValue ?? -1))
                }
            }
            out.recorded[event.index] = writes
        }
        return out
    }

    func rehash(_ digest: Digest) async throws -> Digest {
        let reader = try await blobs.open(digest)
        defer { reader.close() }
        var hasher = StreamingSHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hasher.finalize()
    }
}

extension LedgerService {
    /// Records a verification's result as a `ledger.verify` event, then signs a checkpoint.
    public func record(_ report: VerificationReport, actor: Actor) async throws {
        let kinds = Dictionary(grouping: report.findings, by: \.kind).mapValues { JSONValue.int(Int64($0.count)) }
        try await recordAccess(
            action: "ledger.verify", subject: Subject(type: "ledger", id: origin),
            facts: [
                "ok": .bool(report.ok), "events": .int(report.events), "findings": .int(Int64(report.findings.count)),
                "finding_kinds": .object(kinds),
            ], actor: actor)
        try await checkpointIfBehind()
    }
}
