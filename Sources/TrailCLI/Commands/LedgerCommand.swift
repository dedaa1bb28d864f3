import ArgumentParser
import Foundation
import TrailCore
import TrailLedger
import TrailService
import TrailStore

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Read, prove, export and verify the append-only signed ledger (of the home, or of --server).",
        subcommands: [Checkpoint.self, PublicKey.self, Event.self, Events.self, Prove.self, Consistency.self, Export.self, Verify.self])

    /// The key proofs are checked with: the home's own key locally; remotely the log key the
    /// user pinned for this server (first use pins the one it offers, a changed one is refused).
    static func proofKey(_ client: any TrailBackend) async throws -> NoteVerifier {
        if let local = client as? LocalClient { return local.home.ledger.signer.verifier }
        guard let remote = client as? RemoteBackend else { throw TrailError.internalError("unknown backend") }
        return try await remote.pinnedVerifier()
    }

    /// One event line from its presentation (index, leaf hash, parsed body), the same locally and remotely.
    static func printEvent(_ event: JSONValue) {
        let body = event["event"]
        let actor = "\(body?["actor"]?["type"]?.stringValue ?? "?"):\(body?["actor"]?["id"]?.stringValue ?? "?")"
        let subject = "\(body?["subject"]?["type"]?.stringValue ?? "?"):\(body?["subject"]?["id"]?.stringValue ?? "?")"
        print(
            "#\(event["index"]?.intValue ?? -1)  \(Output.date(body?["time"]?.intValue ?? 0))  \(body?["action"]?.stringValue ?? "?")  \(actor)  \(subject)")
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the latest signed checkpoint (signing a new one if the log grew); --save keeps it for later audits.")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Verify it with the pinned log key and keep it in your config folder: later verifies prove the log extends it.")
        var save = false
        @Option(name: .customLong("log-key"), help: "Trust (and pin) this log key instead of the one pinned or offered.") var logKey: String?

        func run() async throws {
            try await runReporting(options) {
                if save {
                    let (origin, offered, note): (String, String, String)
                    let checkpoint = try await options.backend().checkpoint()
                    let text = checkpoint.note
                    guard let parsed = try? TrailLedger.Checkpoint(text: String(text[..<(text.range(of: "\n\n")?.lowerBound ?? text.endIndex)]) + "\n")
                    else { throw TrailError.internalError("the checkpoint cannot be read") }
                    (origin, offered, note) = (parsed.origin, checkpoint.verifierKey, text)
                    let store = AuditorStore()
                    let (verifier, newly) = try store.trust(origin: origin, offered: offered, explicit: logKey)
                    let url = try store.save(note: note, verifier: verifier)
                    let size = try TrailLedger.Checkpoint.open(note, verifier: verifier).size
                    if options.json { return Output.printJSON(["saved": url.path, "size": String(size), "pinned_key": verifier.vkey]) }
                    if newly { print("pinned the log key \(verifier.vkey) (first use)") }
                    print("saved the checkpoint of size \(size) in \(url.path)")
                    return
                }
                let checkpoint = try await options.backend().checkpoint()
                if options.json {
                    return Output.printJSON(["size": String(checkpoint.size), "note": checkpoint.note, "verifier_key": checkpoint.verifierKey])
                }
                print(checkpoint.note, terminator: "")
            }
        }
    }

    struct PublicKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public-key", abstract: "Print the log's public key as a C2SP verifier key.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let checkpoint = try await options.backend().checkpoint()
                let origin = String(checkpoint.note.prefix { $0 != "\n" })
                if options.json { return Output.printJSON(["origin": origin, "verifier_key": checkpoint.verifierKey]) }
                print(checkpoint.verifierKey)
            }
        }
    }

    struct Event: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one event by index or by event id.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Ledger index or event id.") var reference: String

        func run() async throws {
            try await runReporting(options) {
                let event = try await options.backend().ledgerEvent(reference)
                if options.json { return Output.printJSON(event) }
                LedgerCommand.printEvent(event)
                print((event["event"] ?? .null).canonicalString)
            }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List events by subject, actor, action and time range, paged.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Subject as TYPE or TYPE:ID, e.g. run:0123….") var subject: String?
        @Option(help: "Actor id.") var actor: String?
        @Option(help: "Action, e.g. metrics.log.") var action: String?
        @Option(help: "From this time (ms since the epoch, inclusive).") var since: Int64?
        @Option(help: "Before this time (ms since the epoch).") var until: Int64?
        @Option(help: "Start at this ledger index (paging).") var from: Int64 = 0
        @Option(help: "Page size.") var limit: Int = 100

        func run() async throws {
            try await runReporting(options) {
                let parts = subject?.split(separator: ":", maxSplits: 1).map(String.init)
                let events = try await options.backend().ledgerEvents(
                    EventQuery(
                        subjectType: parts?.first, subjectID: parts.flatMap { $0.count > 1 ? $0[1] : nil }, actorID: actor, action: action,
                        fromTimeMillis: since, toTimeMillis: until, fromIndex: from, limit: limit))
                let next = events.count == limit ? events.last.flatMap { $0["index"]?.intValue }.map { $0 + 1 } : nil
                if options.json {
                    return Output.printJSON(JSONValue.object(["events": .array(events), "next_from": next.map(JSONValue.int) ?? .null]))
                }
                for event in events { LedgerCommand.printEvent(event) }
                if let next { print("more: --from \(next)") }
            }
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Inclusion proof of an event against a signed checkpoint.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Ledger index of the event.") var index: Int64
        @Option(help: "Size of the checkpoint to prove against (default: the latest).") var size: UInt64?

        func run() async throws {
            try await runReporting(options) {
                let client = try await options.backend()
                let proof = try await client.inclusionProof(index: index, size: size)
                let key = try await LedgerCommand.proofKey(client)
                let valid = proof.index == UInt64(clamping: index) && proof.verify(with: key)
                if options.json { return Output.printJSON(proof) }
                print("event \(proof.index) in the tree of \(proof.treeSize): \(valid ? "PROVEN" : "NOT PROVEN")")
                print("leaf hash  \(Data(proof.leafHash).base64EncodedString())")
                for (i, hash) in proof.path.enumerated() { print("path[\(i)]    \(Data(hash).base64EncodedString())") }
                print(proof.checkpoint, terminator: "")
                if !valid { throw ExitCode(1) }
            }
        }
    }

    struct Consistency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Consistency proof between two stored checkpoints.")
        @OptionGroup var options: GlobalOptions
        @Argument var first: UInt64
        @Argument var second: UInt64

        func run() async throws {
            try await runReporting(options) {
                let client = try await options.backend()
                let proof = try await client.consistencyProof(first: first, second: second)
                let key = try await LedgerCommand.proofKey(client)
                let valid = proof.first == first && proof.second == second && proof.verify(with: key)
                if options.json { return Output.printJSON(proof) }
                print("checkpoint \(first) is a prefix of checkpoint \(second): \(valid ? "PROVEN" : "NOT PROVEN")")
                for (i, hash) in proof.path.enumerated() { print("path[\(i)]  \(Data(hash).base64EncodedString())") }
                if !valid { throw ExitCode(1) }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the ledger as JSON lines (header with key and checkpoint, then every event with its inclusion proof).")
        @OptionGroup var options: GlobalOptions
        @Option(name: [.short, .long], help: "Output file (default: standard output).") var output: String?

        func run() async throws {
            try await runReporting(options) {
                let client = try await options.backend()
                let handle: FileHandle
                if let output {
                    FileManager.default.createFile(atPath: output, contents: nil)
                    handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
                } else {
                    handle = FileHandle.standardOutput
                }
                let bar = output == nil ? nil : TerminalProgress(label: "export", enabled: !options.json)
                let events = try await client.exportLedger(write: { handle.write(Data($0)) }, progress: { bar?.update($0, $1) })
                try handle.synchronize()
                if let output {
                    if options.json { return Output.printJSON(["file": output, "events": String(events)]) }
                    print("exported \(events) events to \(output)")
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the whole record: leaves, tree, signed checkpoints, every stored row against its event, every blob.",
            discussion: "Exits 1 on any finding. The result is recorded in the ledger as a ledger.verify event.")
        @OptionGroup var options: GlobalOptions
        @Option(name: .customLong("witness"), help: "A witness verifier key (0x04) whose cosignature counts; repeatable.") var witnesses: [String] = []
        @Option(help: "How many of the given witnesses must have cosigned the latest checkpoint (default: all given).") var quorum: Int?
        @Option(name: .customLong("log-key"), help: "With --server: trust (and pin) this log key instead of the one pinned or offered.")
        var logKey: String?
        @Option(help: "With --server: prove the log extends this saved checkpoint note instead of the newest one you saved.")
        var since: String?
        @Flag(
            name: .customLong("on-server"),
            help: "With --server: have the server run the full verify on its own data (rows, blobs; admins) instead of checking the export here.")
        var onServer = false

        func run() async throws {
            try await runReporting(options) {
                let client = try await options.backend()
                if let remote = client as? RemoteBackend {
                    if onServer {
                        return try show(try await remote.verifyLedger(progress: nil))
                    }
                    try await verifyRemotely(remote)
                    return
                }
                guard let local = client as? LocalClient else { throw TrailError.internalError("unknown backend") }
                let home = local.home
                let verifiers = try witnesses.map { vkey in
                    do { return try CosignatureVerifier(vkey: vkey) } catch { throw TrailError.invalid("witness", "'\(vkey.prefix(120))' is not a witness verifier key (0x04)") }
                }
                if !verifiers.isEmpty {
                    // Before anything is appended: the checkpoint as the witnesses saw it.
                    let (size, cosigners) = try await home.ledger.verifyWitnessed(witnesses: verifiers, quorum: quorum ?? verifiers.count)
                    if !options.json { print("witnessed: checkpoint of size \(size) cosigned by \(cosigners.joined(separator: ", "))") }
                }
                let bar = TerminalProgress(label: "verify", enabled: !options.json)
                try show(try await local.verifyLedger(progress: { phase, done, total in bar.update(done, total, phase: phase) }))
            }
        }

        func show(_ report: VerificationReport) throws {
            if options.json {
                Output.printJSON(report)
            } else {
                for finding in report.findings { print("  \(finding.kind)  \(finding.location): \(finding.message)") }
                if let store = report.blobStore { print("blobs checked in \(store)") }
                print(report.verdict)
            }
            if !report.ok { throw ExitCode(1) }
        }

        /// The auditor's verify: the export is checked here, with the pinned key, against the
        /// newest saved checkpoint (or `--since`); the server is trusted for nothing but bytes.
        func verifyRemotely(_ remote: RemoteBackend) async throws {
            let session = RemoteAudit(logKey: logKey, since: since, bar: TerminalProgress(label: "verify", enabled: !options.json, unit: "events"))
            _ = try await remote.exportLedger(write: { try session.receive($0) }, progress: nil)
            var (audit, verifier, newly) = try session.finish()
            if !witnesses.isEmpty {
                let verifiers = try witnesses.map { vkey in
                    do { return try CosignatureVerifier(vkey: vkey) } catch { throw TrailError.invalid("witness", "'\(vkey.prefix(120))' is not a witness verifier key (0x04)") }
                }
                let body = try JSONValue.parse(try await remote.bytes("/ledger/checkpoint"))
                do {
                    let (checkpoint, cosigners) = try Cosignature.verifyQuorum(
                        note: body["cosigned_note"]?.stringValue ?? "", log: verifier, witnesses: verifiers, quorum: quorum ?? verifiers.count)
                    if checkpoint.size < audit.size {
                        audit.findings.append("the newest witnessed checkpoint has size \(checkpoint.size), the export \(audit.size)")
                    } else if !options.json {
                        print("witnessed: checkpoint of size \(checkpoint.size) cosigned by \(cosigners.joined(separator: ", "))")
                    }
                } catch {
                    audit.findings.append("witnesses: \(error)")
                }
            }
            if options.json {
                Output.printJSON(audit)
            } else {
                if newly { print("pinned the log key \(verifier.vkey) (first use)") }
                for finding in audit.findings { print("  ✗ \(finding)") }
                print(audit.verdict)
            }
            if !audit.ok { throw ExitCode(1) }
        }
    }
}

/// The auditor's side of a streamed export: the header pins (or checks) the log key, then
/// every line goes to an `ExportAuditor`; nothing but the current block is held.
final class RemoteAudit: @unchecked Sendable {
    let logKey: String?
    let since: String?
    let lock = NSLock()
    var pending: [UInt8] = []
    var auditor: ExportAuditor?
    var verifier: NoteVerifier?
    var newlyPinned = false
    let bar: TerminalProgress

    init(logKey: String?, since: String?, bar: TerminalProgress) {
        self.logKey = logKey
        self.since = since
        self.bar = bar
    }

    func receive(_ bytes: [UInt8]) throws {
        lock.lock()
        defer { lock.unlock() }
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            if pending.isEmpty {
                try line(bytes[start..<i])
            } else {
                pending += bytes[start..<i]
                try line(pending[...])
                pending.removeAll(keepingCapacity: true)
            }
            start = i + 1
        }
        pending += bytes[start...]
        guard pending.count <= 64 << 20 else { throw TrailError(.dataLoss, "the export has a line over 64 MiB") }
    }

    func line(_ line: ArraySlice<UInt8>) throws {
        if auditor == nil {
            let (origin, offered, _) = try ExportAudit.header(Substring(decoding: line, as: UTF8.self))
            let store = AuditorStore()
            let (verifier, newly) = try store.trust(origin: origin, offered: offered, explicit: logKey)
            var saved: TrailLedger.Checkpoint?
            if let since {
                let note = try String(contentsOfFile: since, encoding: .utf8)
                do { saved = try TrailLedger.Checkpoint.open(note, verifier: verifier) } catch {
                    throw TrailError.invalid("since", "\(since) is not a checkpoint signed by the trusted log key")
                }
            } else {
                saved = store.newestSaved(origin: origin, verifier: verifier)?.checkpoint
            }
            (self.verifier, newlyPinned) = (verifier, newly)
            auditor = ExportAuditor(key: verifier, saved: saved)
        }
        auditor!.feed(line)
        let audit = auditor!.audit
        if audit.events % 8192 == 0 || UInt64(audit.events) == audit.size { bar.update(audit.events, Int64(clamping: audit.size)) }
    }

    func finish() throws -> (ExportAudit, NoteVerifier, Bool) {
        lock.lock()
        defer { lock.unlock() }
        if !pending.isEmpty { try line(pending[...]) }
        guard var auditor, let verifier else { throw TrailError.internalError("the server sent an empty export") }
        return (auditor.finish(), verifier, newlyPinned)
    }
}

/// A progress bar on standard error, shown only when it is a terminal and not in `--json` mode.
final class TerminalProgress: @unchecked Sendable {
    let label: String
    let enabled: Bool
    let unit: String
    let scale: Int64
    let lock = NSLock()
    var last = Date.distantPast

    init(label: String, enabled: Bool, unit: String = "", scale: Int64 = 1) {
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
        self.unit = unit
        self.scale = scale
    }

    func update(_ done: Int64, _ total: Int64, phase: String? = nil) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(last) > 0.1 || done >= total else { return }
        last = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int(fraction * 30)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 30 - filled)
        let label = phase.map { "\(self.label) \($0)" } ?? self.label
        let counts = "\(done / scale)/\(total / scale)\(unit.isEmpty ? "" : " " + unit)"
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))% \(counts)   ".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
