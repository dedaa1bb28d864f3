import TrailCore

/// TrailArtifacts: blobs named by the SHA-256 of their bytes. A blob, once written, is never
/// overwritten or changed; writing the same bytes again stores nothing new. This module knows
/// nothing about runs or models: the mapping from a run's logical path to a digest is metadata.

/// A content-addressed blob store.
public protocol BlobStore: Sendable {
    /// Starts a streaming write. Feed bytes to the writer, then `commit()` it to learn the digest.
    func makeWriter() throws -> any BlobWriter
    /// Opens a blob for streaming reads; throws `RESOURCE_DOES_NOT_EXIST` if absent. A reader
    /// never hands out bytes that do not hash to the digest (`DATA_LOSS` instead). With
    /// `expectedBytes` (the size the record holds), a store that must fetch the blob first stops
    /// as soon as it sees another size, instead of fetching whatever was put in its place.
    func open(_ digest: Digest, expectedBytes: Int64?) async throws -> any BlobReader
    func contains(_ digest: Digest) async throws -> Bool
    /// Removes a blob (absent already is fine). Only retention calls it, after a committed
    /// event recorded the removal (`retired_blobs`); nothing else ever deletes a blob.
    func remove(_ digest: Digest) async throws
    /// Every stored digest, for reconciliation against the metadata.
    func allDigests() async throws -> [Digest]
    /// What lies where blobs are kept but is not a blob (a name that is not a digest, or a
    /// digest in another digest's place): `ledger verify` lists each.
    func strays() async throws -> [String]
    /// Where the blobs are, for messages (`folder /path`, `s3://bucket/prefix at endpoint`).
    var location: String { get }
    /// Checks that the store answers with these credentials (a server calls it at start-up).
    func check() async throws
}

/// A write in progress. Bytes are hashed as they arrive; nothing is visible under the digest
/// until `publish()` has moved the durable file into place. The two steps let a caller refuse
/// the content (after learning its digest from `seal()`) without ever storing it.
public protocol BlobWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Makes the bytes durable in a temporary file and returns their digest and size.
    func seal() throws -> (digest: Digest, sizeBytes: Int64)
    /// Moves the sealed blob into place under its digest (durably: when it returns, the
    /// blob survives a crash). Idempotent per content; never overwrites.
    func publish() async throws
    /// Discards the write, sealed or not, unless it was published.
    func abort()
}

extension BlobWriter {
    /// `seal()` then `publish()`.
    public func commit() async throws -> (digest: Digest, sizeBytes: Int64) {
        let sealed = try seal()
        try await publish()
        return sealed
    }
}

/// A streaming read of one blob. Sendable so a response body can carry it to the task that
/// writes the bytes out; a reader is still used by one task at a time.
public protocol BlobReader: AnyObject, Sendable {
    var sizeBytes: Int64 { get }
    /// Fills `buffer` from the current position; returns the number of bytes read, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    func close()
}

extension BlobStore {
    public func open(_ digest: Digest) async throws -> any BlobReader { try await open(digest, expectedBytes: nil) }

    /// Stores `bytes` in one call (for small blobs).
    public func put(_ bytes: [UInt8]) async throws -> (digest: Digest, sizeBytes: Int64) {
        let writer = try makeWriter()
        do {
            try bytes.withUnsafeBytes { try writer.write($0) }
            return try await writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    /// Reads a whole blob (for small blobs).
    public func get(_ digest: Digest, expectedBytes: Int64? = nil) async throws -> [UInt8] {
        let reader = try await open(digest, expectedBytes: expectedBytes)
        defer { reader.close() }
        return try reader.readAll()
    }
}

extension BlobReader {
    /// Reads the rest of the blob into memory (for small blobs).
    public func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Int(sizeBytes))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if count == 0 { break }
            out.append(contentsOf: chunk[0..<count])
        }
        return out
    }
}
