import Foundation
import TrailCore
import TrailLedger
import TrailStore

/// Reading and proving the ledger: checkpoints, events, inclusion and consistency proofs,
/// export. Appending happens only in the store's write path.
public struct LedgerService: Sendable {
    public let store: any MetadataStore
    public let signer: NoteSigner
    public let clock: any TrailClock

    public init(store: any MetadataStore, signer: NoteSigner, clock: any TrailClock = SystemClock()) {
        self.store = store
        self.signer = signer
        self.clock = clock
    }

    public var origin: String { signer.name }
    /// The log's public key as a C2SP verifier key.
    public var verifierKey: String { signer.verifier.vkey }

    /// Signs and stores a checkpoint of the current tree if the latest one is older. Called
    /// after commits: by the server at most once a second, by the CLI after each command.
    @discardableResult
    public func checkpointIfBehind() async throws -> StoredCheckpoint? {
        let size = UInt64(try await store.eventCount())
        if let latest = try await store.latestCheckpoint(), latest.size >= size { return latest }
        let root = try await self.root(size: size)
        let note = try signer.sign(Checkpoint(origin: origin, size: size, root: root).text)
        var attempt = 0
        while true {
            // The checkpoint's stored time and its place after the previous one are signed in
            // its record; another process storing a checkpoint first means re-reading.
            let previous = try await store.latestCheckpointRecord()
            if let previous, previous.size >= size { return try await store.latestCheckpoint() }
            let checkpoint = StoredCheckpoint(size: size, root: root, timeMillis: clock.nowMillis(), note: note)
            let record = CheckpointRecord(size: size, record: try signer.sign(Self.recordText(checkpoint, previous: previous)))
            do {
                try await store.insertCheckpoint(checkpoint, record: record, previous: previous)
                return try await store.checkpoint(size: size) ?? checkpoint
            } catch let error as TrailError where error.isConcurrentChange && attempt < 20 {
                attempt += 1
            }
        }
    }

    /// The text a checkpoint's record signs.
    public static func recordText(_ checkpoint: StoredCheckpoint, previous: CheckpointRecord?) -> String {
        "modeltrail-checkpoint-record/v1\nsize \(checkpoint.size)\ntime \(checkpoint.timeMillis)\nnote \(Digest.of(Array(checkpoint.note.utf8)).hex)\nprev \(previous.map { Digest.of(Array($0.record.utf8)).hex } ?? "none")\n"
    }

    public func latestCheckpoint() async throws -> StoredCheckpoint {
        if let latest = try await store.latestCheckpoint() { return latest }
        return try await checkpointIfBehind()!
    }

    /// Runs a pure Merkle computation over stored nodes with one batched read: a first pass
    /// learns which nodes it needs (the addresses do not depend on the hashes), a second
    /// computes with them. O(log n) nodes either way.
    func withNodes<T>(_ body: ((NodeAddress) throws -> TreeHash) throws -> T) async throws -> T {
        var needed: [NodeAddress] = []
        _ = try? body { address in
            needed.append(address)
            return Merkle.emptyRoot
        }
        let nodes = try await store.merkleNodes(needed)
        do {
            return try body { address in
                guard let hash = nodes[address] else { throw MerkleError.missingNode(address) }
                return hash
            }
        } catch MerkleError.missingNode(let address) {
            throw TrailError(.dataLoss, "the ledger's Merkle tree is missing node \(address.level)/\(address.index); run 'trail ledger verify'")
        }
    }

    /// The inclusion path of leaf `index` in the tree of `size` leaves (no checkpoint needed).
    public func inclusionPath(index: UInt64, size: UInt64) async throws -> [TreeHash] {
        try await withNodes { try Merkle.inclusionProof(index: index, size: size, stored: $0) }
    }

    /// The consistency path from `first` to `second` leaves (no checkpoints needed).
    public func consistencyPath(first: UInt64, second: UInt64) async throws -> [TreeHash] {
        try await withNodes { try Merkle.consistencyProof(first: first, second: second, stored: $0) }
    }

    public func root(size: UInt64) async throws -> TreeHash {
        try await withNodes { try Merkle.root(size: size, stored: $0) }
    }

    public func event(index: Int64) async throws -> StoredEvent {
        guard index >= 0, index < Int64.max, let event = try await store.events(from: index, to: index + 1).first else {
            throw TrailError.notFound("ledger event", String(index), field: "index")
        }
        return event
    }

    public func event(id: String) async throws -> StoredEvent {
        guard let event = try await store.event(id: id) else { throw TrailError.notFound("ledger event", id, field: "event_id") }
        return event
    }

    public func events(_ query: EventQuery) async throws -> [StoredEvent] {
        guard (1...10_000).contains(query.limit) else { throw TrailError.invalid("limit", "limit must be between 1 and 10000") }
        return try await store.events(matching: query)
    }

    /// A checkpoint to prove against: the one of `size`, or the latest.
    public func checkpoint(size: UInt64?) async throws -> StoredCheckpoint {
        guard let size else { return try await latestCheckpoint() }
        guard let checkpoint = try await store.checkpoint(size: size) else {
            let sizes = try await store.checkpoints().map(\.size)
            let nearby = sizes.sorted { ($0 > size ? $0 - size : size - $0) < ($1 > size ? $1 - size : size - $1) }.prefix(5).sorted()
            throw TrailError(
                .resourceDoesNotExist,
                "no checkpoint of size \(size); stored checkpoints near it have sizes \(nearby.map(String.init).joined(separator: ", "))",
                field: "size")
        }
        return checkpoint
    }

    /// Proves that event `index` is in the tree of the checkpoint (the latest by default).
    public func inclusionProof(index: Int64, checkpointSize: UInt64? = nil) async throws -> InclusionProof {
        guard index >= 0 else { throw TrailError.invalid("index", "index must not be negative") }
        var checkpoint = try await checkpoint(size: checkpointSize)
        if checkpointSize == nil, UInt64(index) >= checkpoint.size, let fresh = try await checkpointIfBehind() { checkpoint = fresh }
        guard index >= 0, UInt64(index) < checkpoint.size else {
            throw TrailError.invalid("index", "event \(index) is not in the checkpoint of size \(checkpoint.size)")
        }
        let event = try await event(index: index)
        let path = try await withNodes { try Merkle.inclusionProof(index: UInt64(index), size: checkpoint.size, stored: $0) }
        return InclusionProof(
            index: UInt64(index), treeSize: checkpoint.size, leafHash: Merkle.leafHash(event.body), path: path, checkpoint: checkpoint.note)
    }

    /// Inclusion proofs of several events against one checkpoint, from one read of the stored
    /// nodes (the leaf hashes are the level-0 nodes). Indices outside the checkpoint are left out.
    public func inclusionProofs(_ indices: [Int64], checkpoint: StoredCheckpoint) async throws -> [Int64: InclusionProof] {
        let wanted = Array(Set(indices.filter { $0 >= 0 && UInt64($0) < checkpoint.size })).sorted()
        guard !wanted.isEmpty else { return [:] }
        return try await withNodes { node in
            var proofs: [Int64: InclusionProof] = [:]
            for index in wanted {
                let path = try Merkle.inclusionProof(index: UInt64(index), size: checkpoint.size, stored: node)
                proofs[index] = InclusionProof(
                    index: UInt64(index), treeSize: checkpoint.size, leafHash: try node(NodeAddress(level: 0, index: UInt64(index))), path: path,
                    checkpoint: checkpoint.note)
            }
            return proofs
        }
    }

    /// Proves that the checkpoint of size `first` is a prefix of the one of size `second`.
    public func consistencyProof(first: UInt64, second: UInt64) async throws -> ConsistencyProof {
        let older = try await checkpoint(size: first)
        let newer = try await checkpoint(size: second)
        guard first > 0, first <= second else { throw TrailError.invalid("first", "need 0 < first ≤ second") }
        let path = try await withNodes { try Merkle.consistencyProof(first: first, second: second, stored: $0) }
        return ConsistencyProof(first: first, second: second, path: path, firstCheckpoint: older.note, secondCheckpoint: newer.note)
    }

    /// Records an access to the record (a download, an export) as an event of its own.
    public func recordAccess(action: String, subject: Subject, facts: JSONValue, actor: Actor) async throws {
        _ = try await store.record(
            EventDraft(action: action, actor: actor, timeMillis: clock.nowMillis(), subject: subject, facts: facts))
    }

    static let exportBlock: Int64 = 1024

    /// Writes the ledger as JSON lines for an auditor who verifies offline: a header with the
    /// public key and the checkpoint, then every event with its canonical body and inclusion
    /// proof against that checkpoint. The export itself is recorded as `ledger.export`.
    public func export(actor: Actor, write: (String) async throws -> Void, progress: ((Int64, Int64) -> Void)? = nil) async throws -> StoredCheckpoint {
        try await exportLines(actor: actor, write: { try await write(String(decoding: $0, as: UTF8.self)) }, progress: progress)
    }

    /// `export`, one line's bytes at a time (no newline): the server streams these.
    public func exportLines(actor: Actor, write: ([UInt8]) async throws -> Void, progress: ((Int64, Int64) -> Void)? = nil) async throws
        -> StoredCheckpoint
    {
        var checkpoint = try await checkpointIfBehind()
        if checkpoint == nil { checkpoint = try await latestCheckpoint() }
        guard let checkpoint else { throw TrailError.internalError("no checkpoint to export against") }
        let header: JSONValue = [
            "type": "header", "format": "modeltrail-ledger-export/v1", "origin": .string(origin), "verifier_key": .string(verifierKey),
            "checkpoint": .string(checkpoint.note),
        ]
        try await write(header.canonicalBytes)
        let size = Int64(checkpoint.size)
        var start: Int64 = 0
        var line: [UInt8] = []
        while start < size {
            // Blocks of 1,024 events: their proofs share most nodes, fetched in one read.
            let end = min(start + Self.exportBlock, size)
            let events = try await store.events(from: start, to: end)
            let paths = try await withNodes { stored in
                try events.map { try Merkle.inclusionProof(index: UInt64($0.index), size: checkpoint.size, stored: stored) }
            }
            for (event, path) in zip(events, paths) {
                line.removeAll(keepingCapacity: true)
                Self.exportLine(event, path: path, into: &line)
                try await write(line)
            }
            progress?(end, size)
            start = end
        }
        try await recordAccess(
            action: "ledger.export", subject: Subject(type: "ledger", id: origin), facts: ["checkpoint_size": .int(size)], actor: actor)
        return checkpoint
    }
}

extension LedgerService {
    /// One event line of the export, written in canonical key order straight into `out`: the
    /// same bytes as the canonical JSON of `{"type","index","body","leaf_hash","inclusion_proof"}`
    /// (a test checks it), without building that value for each of millions of events.
    static func exportLine(_ event: StoredEvent, path: [TreeHash], into out: inout [UInt8]) {
        guard String(validating: event.body, as: UTF8.self) != nil else {
            // Not UTF-8 (a damaged row): the general writer, as before.
            let value: JSONValue = [
                "type": "event", "index": .int(event.index), "body": .string(String(decoding: event.body, as: UTF8.self)),
                "leaf_hash": .string(Data(Merkle.leafHash(event.body)).base64EncodedString()),
                "inclusion_proof": .array(path.map { .string(Data($0).base64EncodedString()) }),
            ]
            return value.write(into: &out)
        }
        out.append(contentsOf: #"{"body":"#.utf8)
        JSONValue.writeString(utf8: event.body, into: &out)
        out.append(contentsOf: #","inclusion_proof":["#.utf8)
        for (i, hash) in path.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            base64(hash, into: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #"],"index":"#.utf8)
        out.append(contentsOf: String(event.index).utf8)
        out.append(contentsOf: #","leaf_hash":""#.utf8)
        base64(Merkle.leafHash(event.body), into: &out)
        out.append(contentsOf: #"","type":"event"}"#.utf8)
    }

    static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding (what `Data.base64EncodedString()` writes).
    static func base64(_ bytes: [UInt8], into out: inout [UInt8]) {
        let alphabet = base64Alphabet
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(contentsOf: "==".utf8)
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
    }
}

/// An inclusion proof with the signed checkpoint it is against.
public struct InclusionProof: Sendable, Codable {
    public var index: UInt64
    public var treeSize: UInt64
    public var leafHash: TreeHash
    public var path: [TreeHash]
    public var checkpoint: String

    enum CodingKeys: String, CodingKey { case index, treeSize = "tree_size", leafHash = "leaf_hash", path, checkpoint }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(treeSize, forKey: .treeSize)
        try c.encode(Data(leafHash).base64EncodedString(), forKey: .leafHash)
        try c.encode(path.map { Data($0).base64EncodedString() }, forKey: .path)
        try c.encode(checkpoint, forKey: .checkpoint)
    }

    public init(index: UInt64, treeSize: UInt64, leafHash: TreeHash, path: [TreeHash], checkpoint: String) {
        self.index = index
        self.treeSize = treeSize
        self.leafHash = leafHash
        self.path = path
        self.checkpoint = checkpoint
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        index = try c.decode(UInt64.self, forKey: .index)
        treeSize = try c.decode(UInt64.self, forKey: .treeSize)
        leafHash = Array(Data(base64Encoded: try c.decode(String.self, forKey: .leafHash)) ?? Data())
        path = try c.decode([String].self, forKey: .path).map { Array(Data(base64Encoded: $0) ?? Data()) }
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
    }

    /// Checks the proof against its checkpoint, whose signature `verifier` must confirm.
    public func verify(with verifier: NoteVerifier) -> Bool {
        guard let parsed = try? Checkpoint.open(checkpoint, verifier: verifier), parsed.size == treeSize else { return false }
        return Merkle.verifyInclusion(index: index, size: treeSize, leaf: leafHash, path: path, root: parsed.root)
    }
}

/// A consistency proof between two signed checkpoints.
public struct ConsistencyProof: Sendable, Codable {
    public var first: UInt64
    public var second: UInt64
    public var path: [TreeHash]
    public var firstCheckpoint: String
    public var secondCheckpoint: String

    enum CodingKeys: String, CodingKey { case first, second, path, firstCheckpoint = "first_checkpoint", secondCheckpoint = "second_checkpoint" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(first, forKey: .first)
        try c.encode(second, forKey: .second)
        try c.encode(path.map { Data($0).base64EncodedString() }, forKey: .path)
        try c.encode(firstCheckpoint, forKey: .firstCheckpoint)
        try c.encode(secondCheckpoint, forKey: .secondCheckpoint)
    }

    public init(first: UInt64, second: UInt64, path: [TreeHash], firstCheckpoint: String, secondCheckpoint: String) {
        self.first = first
        self.second = second
        self.path = path
        self.firstCheckpoint = firstCheckpoint
        self.secondCheckpoint = secondCheckpoint
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        first = try c.decode(UInt64.self, forKey: .first)
        second = try c.decode(UInt64.self, forKey: .second)
        path = try c.decode([String].self, forKey: .path).map { Array(Data(base64Encoded: $0) ?? Data()) }
        firstCheckpoint = try c.decode(String.self, forKey: .firstCheckpoint)
        secondCheckpoint = try c.decode(String.self, forKey: .secondCheckpoint)
    }

    public func verify(with verifier: NoteVerifier) -> Bool {
        guard let a = try? Checkpoint.open(firstCheckpoint, verifier: verifier), let b = try? Checkpoint.open(secondCheckpoint, verifier: verifier),
            a.size == first, b.size == second
        else { return false }
        return Merkle.verifyConsistency(first: first, second: second, firstRoot: a.root, secondRoot: b.root, path: path)
    }
}

extension StoredEvent {
    /// The event as served to people and scripts: its index, leaf hash and parsed body.
    public var presentation: JSONValue {
        [
            "index": .int(index), "leaf_hash": .string(Data(Merkle.leafHash(body)).base64EncodedString()),
            "event": (try? JSONValue.parse(body)) ?? .null,
        ]
    }
}
