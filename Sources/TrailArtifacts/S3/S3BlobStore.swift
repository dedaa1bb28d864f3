import Foundation
import TrailCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Blobs in an S3-compatible server under `prefix/sha256/<2 hex>/<64 hex>`.
///
/// A write spools to a local file while hashing (the key needs the digest), then uploads it:
/// HEAD first (already stored: done), else a PUT with `If-None-Match: *` (412 means another
/// writer stored the same bytes), or a multipart upload for large blobs, completed with the
/// same condition. Nothing is ever overwritten. A read downloads to a local file while hashing
/// and hands the bytes out only after they matched the digest and length.
public struct S3BlobStore: BlobStore {
    public let client: S3Client
    /// Local folder for spooled writes and verified downloads.
    public let spool: String
    /// Blobs of this size and larger go up in parts.
    public var multipartThreshold: Int64 = 64 << 20
    /// The smallest part (S3 refuses parts under 5 MiB except the last).
    public var minimumPartSize: Int64 = 16 << 20

    public init(client: S3Client, spool: URL) throws {
        self.client = client
        self.spool = spool.path
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        BlobSpool.sweep(directory: spool.path)
    }

    public var location: String { "\(client.location.uri) at \(client.location.endpoint)" }

    public func makeWriter() throws -> any BlobWriter {
        S3BlobWriter(store: self, spool: try BlobSpool(directory: spool))
    }

    /// The part size for a blob of `size` bytes: at least the minimum, and large enough for
    /// S3's 10,000-part limit, rounded up to a MiB.
    public func partSize(for size: Int64) -> Int64 {
        let needed = (size + 9_999) / 10_000
        let mib: Int64 = 1 << 20
        return max(minimumPartSize, (needed + mib - 1) / mib * mib)
    }

    func upload(path: String, digest: Digest, sizeBytes: Int64) async throws {
        let key = client.location.key(of: digest)
        if let stored = try await client.head(key) {
            // A HEAD hit proves nothing about the bytes: what is there must hash to the key, or
            // the upload is refused (nothing is overwritten; the object must be removed by hand).
            guard stored == sizeBytes, try await holds(digest) else {
                throw TrailError(
                    .dataLoss,
                    "S3 object \(key) already exists with other bytes than blob \(digest) (\(stored) bytes); it has been altered: remove it, then upload again ('trail ledger verify' lists every such object)")
            }
            return
        }
        if sizeBytes >= multipartThreshold {
            try await client.multipartUpload(key, path: path, size: sizeBytes, partSize: partSize(for: sizeBytes))
        } else {
            try await client.putIfAbsent(key, body: .file(path: path, offset: 0, length: sizeBytes), sha256Hex: digest.hex)
        }
    }

    /// True when the object under the digest's key hashes to it (downloaded and hashed, then
    /// discarded).
    func holds(_ digest: Digest) async throws -> Bool {
        do {
            let reader = try await open(digest, expectedBytes: nil)
            reader.close()
            return true
        } catch let error as TrailError where error.code == .dataLoss || error.code == .resourceDoesNotExist {
            return false
        }
    }

    public func open(_ digest: Digest, expectedBytes: Int64?) async throws -> any BlobReader {
        let path = spool + "/get-" + UUID().uuidString
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TrailError.internalError("cannot create a download file (errno \(errno))") }
        defer {
            close(descriptor)
            unlink(path)
        }
        guard let (size, actual) = try await client.download(client.location.key(of: digest), into: descriptor, expectedBytes: expectedBytes) else {
            throw TrailError.notFound("blob", digest.description)
        }
        guard actual == digest else {
            throw TrailError(.dataLoss, "blob \(digest) in \(client.location.uri) does not match its digest (read \(actual), \(size) bytes); it has been altered")
        }
        // The reader re-checks the bytes as it hands them out; the name goes with the defer,
        // the open descriptor keeps the content until the reader closes.
        return try FileBlobReader(path: path, digest: digest)
    }

    public func check() async throws {
        let reply = try await client.call(.GET, key: nil, query: [("list-type", "2"), ("max-keys", "1"), ("prefix", client.location.keyBase)])
        guard reply.status == 200 else { throw client.failure(reply, "listing \(client.location.uri)") }
        // Parts of uploads a killed process left behind: freed once they are a day old (a
        // younger one may belong to an upload in progress elsewhere). Best effort.
        _ = try? await sweepUnfinishedUploads()
    }

    /// Aborts the multipart uploads under this store's keys started more than `olderThan`
    /// seconds ago; returns how many.
    @discardableResult
    public func sweepUnfinishedUploads(olderThan seconds: TimeInterval = 86_400) async throws -> Int {
        let cutoff = Date().addingTimeInterval(-seconds)
        var aborted = 0
        for upload in try await client.unfinishedUploads(prefix: client.location.keyBase) where (upload.initiated ?? .distantPast) <= cutoff {
            try await client.abortUpload(upload.key, uploadID: upload.uploadID)
            aborted += 1
        }
        return aborted
    }

    public func contains(_ digest: Digest) async throws -> Bool {
        try await client.head(client.location.key(of: digest)) != nil
    }

    public func remove(_ digest: Digest) async throws {
        try await client.delete(client.location.key(of: digest))
    }

    public func allDigests() async throws -> [Digest] { try await listing().digests }

    public func strays() async throws -> [String] { try await listing().strays }

    /// The keys under the blob prefix: blobs (`sha256/<2 hex>/<64 hex>`, lower case, in their
    /// own two-hex directory), and every other key.
    func listing() async throws -> (digests: [Digest], strays: [String]) {
        let base = client.location.keyBase
        var digests: [Digest] = []
        var strays: [String] = []
        for key in try await client.list(prefix: base) {
            let rest = key.dropFirst(base.count).split(separator: "/", omittingEmptySubsequences: false)
            if rest.count == 2, let digest = try? Digest(hex: String(rest[1])), digest.hex == rest[1], digest.hex.hasPrefix(rest[0]), rest[0].count == 2 {
                digests.append(digest)
            } else {
                strays.append(key)
            }
        }
        return (digests.sorted(), strays.sorted())
    }
}

final class S3BlobWriter: BlobWriter {
    let store: S3BlobStore
    let spool: BlobSpool
    var sealedSize: Int64 = 0

    init(store: S3BlobStore, spool: BlobSpool) {
        self.store = store
        self.spool = spool
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try spool.write(bytes) }

    /// No fsync: the local file is a spool; durability is the upload's, before `publish` returns.
    func seal() throws -> (digest: Digest, sizeBytes: Int64) {
        let sealed = try spool.seal(durably: false)
        sealedSize = sealed.sizeBytes
        return sealed
    }

    func publish() async throws {
        let digest = try spool.takeSealed()
        defer { spool.discard() }
        try await store.upload(path: spool.path, digest: digest, sizeBytes: sealedSize)
    }

    func abort() { spool.discard() }
}
