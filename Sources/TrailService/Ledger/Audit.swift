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

    /// Verifies every line: the checkpoint with `key`, each event's leaf, the tree's root at the
    /// checkpoint's size, and (when given) that `saved` is a prefix of this log.
    public static func verify(lines: [Substring], key: NoteVerifier, saved: Checkpoint?) -> ExportAudit {
        var audit = ExportAudit(origin: key.name, size: 0, events: 0, savedSize: saved?.size, findings: [])
        guard let first = lines.first, let (_, _, note) = try? header(first) else {
            audit.findings.append("the export has no valid header")
            return audit
        }
        guard let checkpoint = try? Checkpoint.open(note, verifier: key) else {
            audit.findings.append("the export's checkpoint does not verify with the trusted log key")
            return audit
        }
        audit.size = checkpoint.size
        if let saved, saved.size > checkpoint.size {
            audit.findings.append(
                "the log was cut back: a saved checkpoint has size \(saved.size), the server's has \(checkpoint.size) (the last \(saved.size - checkpoint.size) events are gone)")
        }
        var range = CompactRange()
        for line in lines.dropFirst() where !line.isEmpty {
            guard let event = try? JSONValue.parse(Array(line.utf8)), event["type"]?.stringValue == "event", let index = event["index"]?.intValue,
                let body = event["body"]?.stringValue
            else {
                audit.findings.append("line \(audit.events + 2) is not an event")
                break
            }
            guard index == audit.events else {
                audit.findings.append("event \(audit.events) is missing (found \(index)): the log has a gap")
                break
            }
            let leaf = Merkle.leafHash(Array(body.utf8))
            if event["leaf_hash"]?.stringValue != Data(leaf).base64EncodedString() {
                audit.findings.append("event \(index): its leaf hash is not SHA-256(0x00 ‖ body)")
            }
            range.append(leaf)
            audit.events += 1
            if let saved, range.size == saved.size, range.root != saved.root {
                audit.findings.append(
                    "the log was rewritten: its first \(saved.size) events do not have the saved checkpoint's root (the server's history differs from the one saved)")
            }
        }
        if UInt64(audit.events) != checkpoint.size {
            audit.findings.append("the export holds \(audit.events) events but its checkpoint signs \(checkpoint.size)")
        } else if range.root != checkpoint.root {
            audit.findings.append("the events do not hash to the signed root of size \(checkpoint.size)")
        }
        if let saved, saved.size == 0, saved.root != Merkle.emptyRoot { audit.findings.append("the saved checkpoint of size 0 is not the empty tree") }
        return audit
    }
}
