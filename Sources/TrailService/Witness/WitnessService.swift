import Foundation
import TrailCore
import TrailLedger

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A witness (C2SP `tlog-witness`): its own key, the logs it follows, and a durable record per
/// log of the checkpoint it last cosigned. Lives in a folder of its own:
/// `witness.key` (the Ed25519 seed, mode 0600), `witness.json` (name and logs) and
/// `state.json` (the records). A cosignature is answered only after the new record is on disk
/// (temp file, fsync, rename, directory fsync), and check and update run under one lock (an
/// in-process actor and an exclusive `flock` on the folder), so no crash, `kill -9` or
/// concurrent request can roll a record back.
public actor WitnessService {
    public struct Configuration: Codable, Sendable {
        public var name: String
        /// Origin → the log's verifier keys (0x01).
        public var logs: [String: [String]]
    }

    public let directory: URL
    public let signer: CosignatureSigner
    public private(set) var configuration: Configuration
    private var records: [String: WitnessRecord]
    private let lockDescriptor: Int32

    /// Opens (creating if needed) the witness in `directory`. `name` and `logs` are required the
    /// first time; later they must agree with what is stored (logs may be added).
    public init(directory: URL, name: String?, logs: [String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lock = Glibc.open(directory.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw TrailError.internalError("cannot open the witness lock") }
        lockDescriptor = lock
        let keyURL = directory.appendingPathComponent("witness.key")
        let configURL = directory.appendingPathComponent("witness.json")
        var configuration: Configuration
        if let data = try? Data(contentsOf: configURL) {
            configuration = try JSONDecoder().decode(Configuration.self, from: data)
            if let name, name != configuration.name {
                throw TrailError.invalid("name", "this witness is '\(configuration.name)'; a witness never changes its name (make a new one)")
            }
        } else {
            guard let name else { throw TrailError.invalid("name", "a new witness needs --name (e.g. witness.example.org/w1)") }
            configuration = Configuration(name: name, logs: [:])
        }
        for vkey in logs {
            let verifier: NoteVerifier
            do { verifier = try NoteVerifier(vkey: vkey) } catch { throw TrailError.invalid("log", "'\(vkey.prefix(120))' is not a log verifier key (0x01)") }
            var keys = configuration.logs[verifier.name] ?? []
            if !keys.contains(vkey) { keys.append(vkey) }
            configuration.logs[verifier.name] = keys
        }
        let seed: [UInt8]
        if let data = try? Data(contentsOf: keyURL) {
            guard data.count == 32 else { throw TrailError(.dataLoss, "witness.key is not a 32-byte seed") }
            seed = Array(data)
        } else {
            var generator = SystemRandomNumberGenerator()
            seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Self.durablyWrite(Data(seed), to: keyURL, mode: 0o600)
        }
        signer = try CosignatureSigner(name: configuration.name, seed: seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try Self.durablyWrite(try encoder.encode(configuration), to: configURL, mode: 0o644)
        self.configuration = configuration
        records = try Self.load(directory)
        for (origin, keys) in configuration.logs {
            if var record = records[origin] { record.logVKeys = keys; records[origin] = record } else { records[origin] = WitnessRecord(origin: origin, logVKeys: keys) }
        }
    }

    deinit { Glibc.close(lockDescriptor) }

    public var vkey: String { signer.verifier.vkey }

    static func load(_ directory: URL) throws -> [String: WitnessRecord] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("state.json")) else { return [:] }
        let list = try JSONDecoder().decode([WitnessRecord].self, from: data)
        return Dictionary(list.map { ($0.origin, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Writes `data` to a temp file, fsyncs it, renames it over `url` and fsyncs the folder.
    static func durablyWrite(_ data: Data, to url: URL, mode: mode_t) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        let fd = Glibc.open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw TrailError.internalError("cannot write \(url.lastPathComponent)") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else {
            Glibc.close(fd)
            throw TrailError.internalError("cannot write \(url.lastPathComponent)")
        }
        Glibc.close(fd)
        guard rename(temporary.path, url.path) == 0 else { throw TrailError.internalError("cannot replace \(url.lastPathComponent)") }
        let dir = Glibc.open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            Glibc.close(dir)
        }
    }

    /// `POST /add-checkpoint`: decides under the lock, persists a new record before answering.
    public func addCheckpoint(_ body: [UInt8], now: Date = Date()) -> WitnessAnswer {
        guard flock(lockDescriptor, LOCK_EX) == 0 else { return WitnessAnswer(status: 503, body: "the witness state is locked\n") }
        defer { flock(lockDescriptor, LOCK_UN) }
        // Another process sharing the folder may have moved a record: read the latest first.
        if let stored = try? Self.load(directory) {
            for (origin, record) in stored where records[origin] != nil {
                records[origin]?.size = record.size
                records[origin]?.root = record.root
            }
        }
        let time = UInt64(max(0, now.timeIntervalSince1970.rounded(.down)))
        let (answer, update) = WitnessProtocol.addCheckpoint(body, records: records, signer: signer, time: time)
        guard let update else { return answer }
        var next = records
        next[update.origin] = update
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try Self.durablyWrite(try encoder.encode(next.values.sorted { $0.origin < $1.origin }), to: directory.appendingPathComponent("state.json"), mode: 0o644)
        } catch {
            return WitnessAnswer(status: 503, body: "the witness could not persist its record; not cosigned\n")
        }
        records = next
        return answer
    }

    /// The record for each log, as persisted.
    public func state() -> [WitnessRecord] { records.values.sorted { $0.origin < $1.origin } }
}
