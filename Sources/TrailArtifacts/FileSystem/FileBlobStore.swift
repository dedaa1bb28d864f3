import Foundation
import TrailCore

import struct Crypto.SHA256

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Blobs as files under `root/sha256/<first two hex>/<hex>`, written to `root/tmp` first,
/// fsynced, then renamed into place (and the directory fsynced), so a crash leaves either the
/// whole blob or none of it. File names come from digests only, never from client input.
public struct FileBlobStore: BlobStore {
    public let root: URL

    public init(root: URL) throws {
        self.root = root
        for directory in ["sha256", "tmp"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        BlobSpool.sweep(directory: root.appendingPathComponent("tmp").path)
    }

    func path(of digest: Digest) -> String {
        root.appendingPathComponent("sha256").appendingPathComponent(String(digest.hex.prefix(2)))
            .appendingPathComponent(digest.hex).path
    }

    public func makeWriter() throws -> any BlobWriter {
        try FileBlobWriter(store: self)
    }

    public func open(_ digest: Digest) throws -> any BlobReader {
        try FileBlobReader(path: path(of: digest), digest: digest)
    }

    /// The size is checked by the reader, which hashes every byte it hands out.
    public func open(_ digest: Digest, expectedBytes: Int64?) throws -> any BlobReader { try open(digest) }

    public func contains(_ digest: Digest) -> Bool {
        access(path(of: digest), F_OK) == 0
    }

    public func remove(_ digest: Digest) throws {
        let file = path(of: digest)
        guard unlink(file) == 0 || errno == ENOENT else { throw TrailError.internalError("cannot remove blob \(digest) (errno \(errno))") }
        // The removal made durable: the directory entry is gone after a crash too.
        let directory = Glibc.open((file as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            Glibc.close(directory)
        }
    }

    public var location: String { "folder \(root.path)" }

    public func check() throws {
        guard access(root.appendingPathComponent("sha256").path, W_OK) == 0 else {
            throw TrailError.internalError("the blob folder \(root.path) is not writable")
        }
    }

    /// True when the folder holds no blob.
    public func isEmpty() -> Bool {
        let base = root.appendingPathComponent("sha256").path
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
            if !((try? FileManager.default.contentsOfDirectory(atPath: base + "/" + prefix)) ?? []).isEmpty { return false }
        }
        return true
    }

    public func allDigests() throws -> [Digest] { try listing().digests }

    public func strays() throws -> [String] { try listing().strays }

    /// The blobs under `sha256/`, and everything else there (a file that is not named by a
    /// digest, or sits in another digest's directory), by path below the root.
    func listing() throws -> (digests: [Digest], strays: [String]) {
        let base = root.appendingPathComponent("sha256")
        var digests: [Digest] = []
        var strays: [String] = []
        for prefix in try FileManager.default.contentsOfDirectory(atPath: base.path).sorted() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: base.appendingPathComponent(prefix).path, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                strays.append("sha256/\(prefix)")
                continue
            }
            for name in try FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent(prefix).path).sorted() {
                if let digest = try? Digest(hex: name), digest.hex == name, digest.hex.hasPrefix(prefix) {
                    digests.append(digest)
                } else {
                    strays.append("sha256/\(prefix)/\(name)")
                }
            }
        }
        return (digests.sorted(), strays)
    }
}

final class FileBlobWriter: BlobWriter {
    let store: FileBlobStore
    let spool: BlobSpool

    init(store: FileBlobStore) throws {
        self.store = store
        spool = try BlobSpool(directory: store.root.appendingPathComponent("tmp").path)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try spool.write(bytes) }

    func seal() throws -> (digest: Digest, sizeBytes: Int64) { try spool.seal(durably: true) }

    func publish() throws {
        let digest = try spool.takeSealed()
        defer { spool.discard() }
        if store.contains(digest) { return }  // same bytes already stored: never overwrite
        let finalPath = store.path(of: digest)
        let directory = (finalPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // link(2) fails if the target exists, so a concurrent writer of the same bytes is never
        // overwritten; either way the content under the name is the same.
        if link(spool.path, finalPath) != 0, errno != EEXIST {
            throw TrailError.internalError("cannot move a blob into place (errno \(errno))")
        }
        let directoryDescriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            Glibc.close(directoryDescriptor)
        }
    }

    func abort() { spool.discard() }
}

/// A blob being written: a temporary file and the running SHA-256 of its bytes. Shared by the
/// folder and S3 writers (the S3 writer uploads the sealed file).
final class BlobSpool {
    let path: String
    var descriptor: Int32
    var hasher = SHA256()
    var sizeBytes: Int64 = 0
    var sealed: Digest?
    var discarded = false

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/" + UUID().uuidString
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TrailError.internalError("cannot create a temporary blob file (errno \(errno))") }
    }

    deinit { discard() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor >= 0 else { throw TrailError.internalError("blob writer is closed") }
        hasher.update(bufferPointer: bytes)
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw TrailError.internalError("cannot write a blob (errno \(errno))")
            }
            offset += written
        }
        sizeBytes += Int64(bytes.count)
    }

    func seal(durably: Bool) throws -> (digest: Digest, sizeBytes: Int64) {
        guard descriptor >= 0 else { throw TrailError.internalError("blob writer is closed") }
        if durably { guard fsync(descriptor) == 0 else { throw TrailError.internalError("cannot fsync a blob (errno \(errno))") } }
        Glibc.close(descriptor)
        descriptor = -1
        let digest = Digest(hasher.finalize())
        sealed = digest
        return (digest, sizeBytes)
    }

    /// The sealed digest, once: a second publish is refused.
    func takeSealed() throws -> Digest {
        guard let digest = sealed else { throw TrailError.internalError("blob writer was not sealed") }
        sealed = nil
        return digest
    }

    /// Removes spool files left by a process that died mid-write (older than a day, so that a
    /// write in progress in another process on the same home is never touched).
    static func sweep(directory: String, olderThan seconds: TimeInterval = 86_400) {
        let cutoff = Date().addingTimeInterval(-seconds)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff {
                unlink(path)
            }
        }
    }

    /// Removes the temporary file (idempotent).
    func discard() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
        if !discarded {
            discarded = true
            unlink(path)
        }
    }
}

/// Used by one task at a time (a download), so its mutable state needs no lock. Opens the
/// blob without following a symbolic link, only as a regular file, and hashes what it reads:
/// bytes that are not the blob's digest end the read with `DATA_LOSS` instead of completing.
final class FileBlobReader: BlobReader, @unchecked Sendable {
    var descriptor: Int32
    let sizeBytes: Int64
    let digest: Digest
    var hasher = SHA256()
    var readSoFar: Int64 = 0

    init(path: String, digest: Digest) throws {
        self.digest = digest
        descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            if errno == ELOOP { throw TrailError(.dataLoss, "blob \(digest) has been replaced by a symbolic link; refusing to read it") }
            throw TrailError.notFound("blob", digest.description)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(descriptor)
            descriptor = -1
            throw TrailError(.dataLoss, "blob \(digest) is not a regular file; refusing to read it")
        }
        sizeBytes = Int64(info.st_size)
    }

    deinit { close() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress!, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw TrailError.internalError("cannot read a blob (errno \(errno))")
            }
            if count > 0 {
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                readSoFar += Int64(count)
            } else {
                let actual = Digest(hasher.finalize())
                hasher = SHA256()
                guard actual == digest, readSoFar == sizeBytes else {
                    throw TrailError(.dataLoss, "blob \(digest) does not match its digest on disk (read \(actual)); it has been altered")
                }
            }
            return count
        }
    }

    func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
