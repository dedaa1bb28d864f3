import Foundation
import TrailCore
import TrailLedger

/// What an auditor keeps on their own machine, in their config folder (`$TRAIL_CONFIG`, else
/// `$XDG_CONFIG_HOME/modeltrail`, else `~/.config/modeltrail`): the log key pinned per origin
/// (first use stores it; a different key later is refused) and the checkpoints they saved.
public struct AuditorStore: Sendable {
    public let directory: URL

    public init(directory: URL = AuditorStore.defaultDirectory()) {
        self.directory = directory
    }

    public static func defaultDirectory() -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["TRAIL_CONFIG"], !path.isEmpty { return URL(fileURLWithPath: path) }
        if let path = environment["XDG_CONFIG_HOME"], !path.isEmpty { return URL(fileURLWithPath: path).appendingPathComponent("modeltrail") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/modeltrail")
    }

    func folder(_ origin: String) -> URL {
        directory.appendingPathComponent("logs").appendingPathComponent(String(Digest.of(Array(origin.utf8)).hex.prefix(32)))
    }

    public func pinnedKey(origin: String) -> String? {
        (try? String(contentsOf: folder(origin).appendingPathComponent("log.vkey"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The key to trust for `origin`: `explicit` if given (pinned from then on), else the pinned
    /// one; `offered` (what the server says) is pinned on first use and must match afterwards.
    public func trust(origin: String, offered: String, explicit: String?) throws -> (verifier: NoteVerifier, newlyPinned: Bool) {
        let pinned = pinnedKey(origin: origin)
        let chosen = explicit ?? pinned ?? offered
        guard offered == chosen else {
            if explicit == nil, let pinned {
                throw TrailError(
                    .permissionDenied,
                    "the log key for \(origin) changed: pinned \(pinned), the server now offers \(offered); refusing (if the change is legitimate, pass --log-key with the new key)",
                    field: "log-key")
            }
            throw TrailError(.permissionDenied, "the server's log key \(offered) is not the trusted \(chosen); refusing", field: "log-key")
        }
        let verifier: NoteVerifier
        do { verifier = try NoteVerifier(vkey: chosen) } catch { throw TrailError.invalid("log-key", "'\(chosen.prefix(120))' is not a log verifier key") }
        guard verifier.name == origin else { throw TrailError.invalid("log-key", "the key is for \(verifier.name), not \(origin)") }
        // Pin on first use, or re-pin what the auditor named explicitly.
        guard pinned != chosen else { return (verifier, false) }
        try FileManager.default.createDirectory(at: folder(origin), withIntermediateDirectories: true)
        try Data((chosen + "\n").utf8).write(to: folder(origin).appendingPathComponent("log.vkey"), options: .atomic)
        return (verifier, true)
    }

    /// Saves a signed checkpoint note (verified first) and returns where.
    @discardableResult
    public func save(note: String, verifier: NoteVerifier) throws -> URL {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.open(note, verifier: verifier) } catch {
            throw TrailError(.permissionDenied, "the checkpoint does not verify with the trusted log key", field: "checkpoint")
        }
        let dir = folder(checkpoint.origin).appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(String(format: "%020llu.note", checkpoint.size))
        try Data(note.utf8).write(to: url, options: .atomic)
        return url
    }

    /// The largest saved checkpoint of `origin` that verifies with `verifier`.
    public func newestSaved(origin: String, verifier: NoteVerifier) -> (checkpoint: Checkpoint, url: URL)? {
        let dir = folder(origin).appendingPathComponent("checkpoints")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".note") }.sorted()
        for file in files.reversed() {
            let url = dir.appendingPathComponent(file)
            if let note = try? String(contentsOf: url, encoding: .utf8), let checkpoint = try? Checkpoint.open(note, verifier: verifier) {
                return (checkpoint, url)
            }
        }
        return nil
    }
}

/// The client-side check of an export (`GET /api/v1/ledger/export`): nothing is taken from the
/// server but bytes; the key is the auditor's.
public struct ExportAudit: Sendable, Encodable {
    public var origin: String
    public var size: UInt64
    public var events: Int64
    public var savedSize: UInt64?
    public var findings: [String]
    public var ok: Bool { findings.isEmpty }
    public var verdict: String {
        ok
            ? "VERIFIED on this machine: \(events) events, the signed checkpoint of size \(size)"
                + (savedSize.map { ", consistent with the saved checkpoint of size \($0)" } ?? "")
            : "FAILED: \(findings.count) finding\(findings.count == 1 ? "" : "s") (checkpoint of size \(size))"
    }

    enum CodingKeys: String, CodingKey { case origin, size, events, savedSize = "saved_size", findings, ok, verdict }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(origin, forKey: .origin)
        try c.encode(size, forKey: .size)
        try c.encode(events, forKey: .events)
        try c.encodeIfPresent(savedSize, forKey: .savedSize)
        try c.encode(findings, forKey: .findings)
        try c.encode(ok, forKey: .ok)
        try c.encode(verdict, forKey: .verdict)
    }

    /// Reads the header (origin, the server's key, the checkpoint note) of an export.
    public static func header(_ line: Substring) throws -> (origin: String, verifierKey: String, note: String) {
        guard let header = try? JSONValue.parse(Array(line.utf8)), header["type"]?.stringValue == "header",
            header["format"]?.stringValue == "modeltrail-ledger-export/v1", let origin = header["origin"]?.stringValue,
            let key = header["verifier_key"]?.stringValue, let note = header["checkpoint"]?.stringValue
        else { throw TrailError.invalid("export", "not a modeltrail-ledger-export/v1 export") }
        return (origin, key, note)
    }

    /// Verifies every line of an export held in memory (see `ExportAuditor` for streaming).
    public static func verify(lines: [Substring], key: NoteVerifier, saved: Checkpoint?) -> ExportAudit {
        var auditor = ExportAuditor(key: key, saved: saved)
        for line in lines where !line.isEmpty {
            auditor.feed(Array(line.utf8)[...])
            if auditor.stopped { break }
        }
        return auditor.finish()
    }
}

/// Verifies an export line by line as it streams in, in memory bounded by one block: the
/// checkpoint with the auditor's key, each event's leaf hash, the whole tree against the signed
/// root, every event's inclusion proof, and (when given) that a saved checkpoint is a prefix.
///
/// Every proof is checked in full, sharing the work within aligned blocks of 1,024 events: the
/// block is a node of the tree, so a proof's first ten hashes must be the block's own nodes
/// (recomputed here from the leaves) and the rest must be the block's path to the root, the same
/// for every event of the block and verified once against the signed root. Events of the last,
/// incomplete block are verified one by one.
public struct ExportAuditor: Sendable {
    public private(set) var audit: ExportAudit
    /// Set when the export cannot be read further (no header, a gap, a line that is no event).
    public private(set) var stopped = false
    let key: NoteVerifier
    let saved: Checkpoint?
    var checkpoint: Checkpoint?
    var range = CompactRange()
    var block: [(index: UInt64, leaf: TreeHash, proof: [String])] = []
    var badProofs: Int64 = 0

    static let blockLevels = 10
    static let blockSize = UInt64(1) << blockLevels

    public init(key: NoteVerifier, saved: Checkpoint?) {
        self.key = key
        self.saved = saved
        audit = ExportAudit(origin: key.name, size: 0, events: 0, savedSize: saved?.size, findings: [])
    }

    mutating func fail(_ finding: String) {
        audit.findings.append(finding)
        stopped = true
    }

    /// One line of the export, without its newline.
    public mutating func feed(_ line: ArraySlice<UInt8>) {
        guard !stopped, !line.isEmpty else { return }
        guard let checkpoint else {
            guard let (_, _, note) = try? ExportAudit.header(Substring(decoding: line, as: UTF8.self)) else {
                return fail("the export has no valid header")
            }
            guard let opened = try? Checkpoint.open(note, verifier: key) else {
                return fail("the export's checkpoint does not verify with the trusted log key")
            }
            checkpoint = opened
            audit.size = opened.size
            if let saved, saved.size > opened.size {
                audit.findings.append(
                    "the log was cut back: a saved checkpoint has size \(saved.size), the server's has \(opened.size) (the last \(saved.size - opened.size) events are gone)")
            }
            return
        }
        guard let event = ExportLine.parse(line) else { return fail("line \(audit.events + 2) is not an event") }
        guard event.index == audit.events else {
            return fail("event \(audit.events) is missing (found \(event.index)): the log has a gap")
        }
        let leaf = Merkle.leafHash(event.body)
        if event.leafHash != Data(leaf).base64EncodedString() {
            audit.findings.append("event \(event.index): its leaf hash is not SHA-256(0x00 ‖ body)")
        }
        range.append(leaf)
        audit.events += 1
        if let saved, range.size == saved.size, range.root != saved.root {
            audit.findings.append(
                "the log was rewritten: its first \(saved.size) events do not have the saved checkpoint's root (the server's history differs from the one saved)")
        }
        block.append((UInt64(event.index), leaf, event.proof))
        if block.count == Int(Self.blockSize) { checkBlock(checkpoint) }
    }

    /// Checks the inclusion proofs of the buffered block.
    mutating func checkBlock(_ checkpoint: Checkpoint) {
        defer { block.removeAll(keepingCapacity: true) }
        guard let first = block.first else { return }
        let complete = block.count == Int(Self.blockSize) && first.index % Self.blockSize == 0 && first.index + Self.blockSize <= checkpoint.size
        guard complete else {
            for entry in block { checkOne(entry, checkpoint) }
            return
        }
        // The block's subtree, level by level, as base64 (what the proofs carry).
        var level = block.map(\.leaf)
        var encoded: [[String]] = []
        for _ in 0..<Self.blockLevels {
            encoded.append(level.map { Data($0).base64EncodedString() })
            level = stride(from: 0, to: level.count, by: 2).map { Merkle.nodeHash(level[$0], level[$0 + 1]) }
        }
        // The reference: the first event whose proof verifies in full (normally the first).
        var referenceOffset = 0
        while referenceOffset < block.count, !checkOne(block[referenceOffset], checkpoint) { referenceOffset += 1 }
        guard referenceOffset < block.count else { return }
        let reference = block[referenceOffset]
        let outer = reference.proof.dropFirst(Self.blockLevels)
        for (offset, entry) in block.enumerated().dropFirst(referenceOffset + 1) {
            var holds = entry.proof.count == reference.proof.count && entry.proof.dropFirst(Self.blockLevels).elementsEqual(outer)
            if holds {
                for l in 0..<Self.blockLevels where entry.proof[l] != encoded[l][(offset >> l) ^ 1] {
                    holds = false
                    break
                }
            }
            if !holds { proofFails(entry.index) }
        }
    }

    /// Verifies one proof in full; a failure is a finding.
    @discardableResult
    mutating func checkOne(_ entry: (index: UInt64, leaf: TreeHash, proof: [String]), _ checkpoint: Checkpoint) -> Bool {
        let path = entry.proof.compactMap { Data(base64Encoded: $0).map { Array($0) } }
        if path.count != entry.proof.count
            || !Merkle.verifyInclusion(index: entry.index, size: checkpoint.size, leaf: entry.leaf, path: path, root: checkpoint.root)
        {
            proofFails(entry.index)
            return false
        }
        return true
    }

    mutating func proofFails(_ index: UInt64) {
        badProofs += 1
        if badProofs <= 20 {
            audit.findings.append("event \(index): its inclusion proof does not lead to the signed root")
        } else if badProofs == 21 {
            audit.findings.append("more events whose inclusion proofs do not verify (counting stops here)")
        }
    }

    /// The verdict, once the stream has ended.
    public mutating func finish() -> ExportAudit {
        guard let checkpoint else {
            if audit.findings.isEmpty { audit.findings.append("the export has no valid header") }
            return audit
        }
        if !stopped { checkBlock(checkpoint) }
        if UInt64(audit.events) != checkpoint.size {
            audit.findings.append("the export holds \(audit.events) events but its checkpoint signs \(checkpoint.size)")
        } else if range.root != checkpoint.root {
            audit.findings.append("the events do not hash to the signed root of size \(checkpoint.size)")
        }
        if let saved, saved.size == 0, saved.root != Merkle.emptyRoot { audit.findings.append("the saved checkpoint of size 0 is not the empty tree") }
        return audit
    }
}

/// One event line of an export, read by a scanner for its one canonical shape
/// (`{"body":…,"inclusion_proof":[…],"index":N,"leaf_hash":…,"type":"event"}`), falling back to
/// the general JSON parser for anything else.
struct ExportLine {
    var index: Int64
    var body: [UInt8]
    var leafHash: String
    var proof: [String]

    static func parse(_ line: ArraySlice<UInt8>) -> ExportLine? {
        if let fast = scan(line) { return fast }
        guard let event = try? JSONValue.parse(Array(line)), event["type"]?.stringValue == "event", let index = event["index"]?.intValue,
            let body = event["body"]?.stringValue, case .array(let proof)? = event["inclusion_proof"]
        else { return nil }
        return ExportLine(
            index: index, body: Array(body.utf8), leafHash: event["leaf_hash"]?.stringValue ?? "", proof: proof.map { $0.stringValue ?? "" })
    }

    static func scan(_ line: ArraySlice<UInt8>) -> ExportLine? {
        var i = line.startIndex
        let end = line.endIndex
        func expect(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard end - i >= count else { return false }
            let matches = text.withUTF8Buffer { literal in line[i..<(i + count)].elementsEqual(literal) }
            if matches { i += count }
            return matches
        }
        /// A JSON string's contents, unescaped; nil on anything malformed.
        func string() -> [UInt8]? {
            guard i < end, line[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            var out: [UInt8] = []
            var runStart = i
            while i < end {
                let byte = line[i]
                if byte == UInt8(ascii: "\"") {
                    out += line[runStart..<i]
                    i += 1
                    return out
                }
                if byte < 0x20 { return nil }
                if byte == UInt8(ascii: "\\") {
                    out += line[runStart..<i]
                    guard i + 1 < end else { return nil }
                    let escape = line[i + 1]
                    i += 2
                    switch escape {
                    case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard expect("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            return nil
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        out += Array(String(Character(unicode)).utf8)
                    default: return nil
                    }
                    runStart = i
                    continue
                }
                i += 1
            }
            return nil
        }
        func hex4() -> UInt32? {
            guard end - i >= 4 else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = hexDigit(line[i]) else { return nil }
                value = value << 4 | digit
                i += 1
            }
            return value
        }
        guard expect("{\"body\":"), let body = string(), expect(",\"inclusion_proof\":[") else { return nil }
        var proof: [String] = []
        if i < end, line[i] != UInt8(ascii: "]") {
            while true {
                guard let hash = string() else { return nil }
                proof.append(String(decoding: hash, as: UTF8.self))
                if expect(",") { continue }
                break
            }
        }
        guard expect("],\"index\":") else { return nil }
        var index: Int64 = 0
        let digits = i
        while i < end, line[i] >= UInt8(ascii: "0"), line[i] <= UInt8(ascii: "9") {
            let (times, o1) = index.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int64(line[i] - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            index = plus
            i += 1
        }
        guard i > digits, i - digits == 1 || line[digits] != UInt8(ascii: "0") else { return nil }
        guard expect(",\"leaf_hash\":"), let leaf = string(), expect(",\"type\":\"event\"}"), i == end else { return nil }
        return ExportLine(index: index, body: body, leafHash: String(decoding: leaf, as: UTF8.self), proof: proof)
    }

    static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
