import Foundation

/// What a witness remembers per log (keyed by origin): the log's trusted verifier keys and the
/// checkpoint it last cosigned (size and root). Nothing else.
public struct WitnessRecord: Sendable, Hashable, Codable {
    public var origin: String
    public var logVKeys: [String]
    public var size: UInt64
    public var root: TreeHash

    public init(origin: String, logVKeys: [String], size: UInt64 = 0, root: TreeHash = Merkle.emptyRoot) {
        self.origin = origin
        self.logVKeys = logVKeys
        self.size = size
        self.root = root
    }

    enum CodingKeys: String, CodingKey { case origin, logVKeys = "log_vkeys", size, root = "root_b64" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        origin = try c.decode(String.self, forKey: .origin)
        logVKeys = try c.decode([String].self, forKey: .logVKeys)
        size = try c.decode(UInt64.self, forKey: .size)
        guard let root = Data(base64Encoded: try c.decode(String.self, forKey: .root)), root.count == 32 else {
            throw DecodingError.dataCorruptedError(forKey: .root, in: c, debugDescription: "a root is 32 bytes of base64")
        }
        self.root = Array(root)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(origin, forKey: .origin)
        try c.encode(logVKeys, forKey: .logVKeys)
        try c.encode(size, forKey: .size)
        try c.encode(Data(root).base64EncodedString(), forKey: .root)
    }
}

/// An `add-checkpoint` answer: status, content type (only the 409 has one), body.
public struct WitnessAnswer: Error, Sendable, Hashable {
    public var status: Int
    public var contentType: String?
    public var body: String

    public init(status: Int, contentType: String? = nil, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// The C2SP `tlog-witness` `add-checkpoint` decision, as a pure function of the records, the
/// request and the time: the caller persists the new record (fsync) **before** sending a 200,
/// and runs check and update atomically per origin.
public enum WitnessProtocol {
    public static let maxProofLines = 63

    /// A parsed request: the old size, the consistency proof, the signed checkpoint note.
    public struct Request: Sendable {
        public var old: UInt64
        public var proof: [TreeHash]
        public var note: String
        public var noteText: String
        public var checkpoint: Checkpoint
    }

    /// Parses the body (400 on anything malformed).
    public static func parse(_ body: [UInt8]) -> Result<Request, WitnessAnswer> {
        func bad(_ why: String) -> Result<Request, WitnessAnswer> { .failure(WitnessAnswer(status: 400, body: why + "\n")) }
        guard let text = String(validating: body, as: UTF8.self) else { return bad("the body is not UTF-8") }
        guard let end = text.range(of: "\n\n") else { return bad("no empty line after the header") }
        let header = text[..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
        let note = String(text[end.upperBound...])
        guard let first = header.first, first.hasPrefix("old "), let old = UInt64(first.dropFirst(4)), String(old) == first.dropFirst(4) else {
            return bad("the first line must be 'old <size>'")
        }
        let proofLines = header.dropFirst()
        guard proofLines.count <= maxProofLines else { return bad("at most \(maxProofLines) proof lines") }
        var proof: [TreeHash] = []
        for line in proofLines {
            guard line.utf8.count == 44, let hash = Data(base64Encoded: String(line)), hash.count == 32 else {
                return bad("a proof line is the base64 of 32 bytes")
            }
            proof.append(Array(hash))
        }
        let split: (text: String, lines: [(name: String, payload: [UInt8])])
        do { split = try Cosignature.split(note) } catch { return bad("malformed note: \(error)") }
        guard let checkpoint = try? Checkpoint(text: split.text) else { return bad("malformed checkpoint") }
        return .success(Request(old: old, proof: proof, note: note, noteText: split.text, checkpoint: checkpoint))
    }

    /// Decides `body` against `records`; on 200 returns the record to persist before answering.
    public static func addCheckpoint(_ body: [UInt8], records: [String: WitnessRecord], signer: CosignatureSigner, time: UInt64) -> (
        answer: WitnessAnswer, update: WitnessRecord?
    ) {
        let request: Request
        switch parse(body) {
        case .failure(let answer): return (answer, nil)
        case .success(let parsed): request = parsed
        }
        let checkpoint = request.checkpoint
        guard let record = records[checkpoint.origin] else {
            return (WitnessAnswer(status: 404, body: "unknown log origin\n"), nil)
        }
        // A trusted key's signature must verify; a trusted key's line that fails rejects.
        var signed = false
        for vkey in record.logVKeys {
            guard let verifier = try? NoteVerifier(vkey: vkey) else { continue }
            do {
                _ = try SignedNote.open(request.note, verifier: verifier)
                signed = true
            } catch NoteError.unknownSigner {
                continue
            } catch {
                return (WitnessAnswer(status: 403, body: "a signature by a trusted log key does not verify\n"), nil)
            }
        }
        guard signed else { return (WitnessAnswer(status: 403, body: "no signature by a trusted log key\n"), nil) }
        if request.old > checkpoint.size { return (WitnessAnswer(status: 400, body: "old size is larger than the checkpoint\n"), nil) }
        if request.old != record.size {
            return (WitnessAnswer(status: 409, contentType: "text/x.tlog.size", body: "\(record.size)\n"), nil)
        }
        if checkpoint.size == 0, checkpoint.root != Merkle.emptyRoot {
            return (WitnessAnswer(status: 422, body: "a size-0 checkpoint must carry the empty tree's root\n"), nil)
        }
        if request.old == 0, !request.proof.isEmpty {
            return (WitnessAnswer(status: 422, body: "old 0 takes an empty proof\n"), nil)
        }
        if request.old == checkpoint.size, request.old > 0, checkpoint.root != record.root || !request.proof.isEmpty {
            return (WitnessAnswer(status: 422, body: "same size, another root: the log forked\n"), nil)
        }
        if request.old > 0, request.old < checkpoint.size,
            !Merkle.verifyConsistency(first: request.old, second: checkpoint.size, firstRoot: record.root, secondRoot: checkpoint.root, path: request.proof)
        {
            return (WitnessAnswer(status: 422, body: "the consistency proof does not verify\n"), nil)
        }
        guard let line = try? signer.cosign(checkpointText: request.noteText, time: time) else {
            return (WitnessAnswer(status: 500, body: "cannot cosign\n"), nil)
        }
        var update = record
        update.size = checkpoint.size
        update.root = checkpoint.root
        return (WitnessAnswer(status: 200, body: line), update)
    }
}
