import Foundation
import NIOCore
import TrailCore

import struct Crypto.SHA256

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file in 1 MiB chunks without holding it in memory.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    static let chunkBytes = 1 << 20

    static func forEachChunk(of file: URL, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw TrailError.invalid("file", "cannot open '\(file.path)' for reading") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, chunkBytes) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TrailError.invalid("file", "cannot read '\(file.path)'")
            }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    final class AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let progress: Progress?
        var descriptor: Int32 = -1
        init(path: String, progress: Progress?) {
            self.path = path
            self.progress = progress
        }
        deinit { if descriptor >= 0 { close(descriptor) } }

        func next() async throws -> ByteBuffer? {
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw TrailError.invalid("file", "cannot open '\(path)' for reading") }
            }
            var buffer = ByteBufferAllocator().buffer(capacity: FileChunks.chunkBytes)
            let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: FileChunks.chunkBytes) { pointer -> Int in
                let count = read(descriptor, pointer.baseAddress!, FileChunks.chunkBytes)
                guard count >= 0 else { throw TrailError.invalid("file", "cannot read '\(path)'") }
                return count
            }
            if count == 0 { return nil }
            progress?.advance(by: count)
            return buffer
        }
    }

    let progress: Progress?

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path, progress: progress) }
}

/// Writes a download to a temporary file next to `destination`, hashing as it goes, and moves
/// it into place only when the sha256 matches the expected digest.
final class VerifyingFileSink {
    let destination: URL
    let expected: Digest
    let temporary: URL
    let handle: FileHandle
    var hasher = SHA256()

    init(destination: URL, expected: Digest) throws {
        self.destination = destination
        self.expected = expected
        temporary = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).part")
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw TrailError.invalid("output", "cannot write '\(temporary.path)'")
        }
        handle = try FileHandle(forWritingTo: temporary)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        try handle.write(contentsOf: Data(bytes))
    }

    func finish() throws {
        try handle.synchronize()
        try handle.close()
        let actual = Digest(hasher.finalize())
        guard actual == expected else {
            try? FileManager.default.removeItem(at: temporary)
            throw TrailError(.dataLoss, "downloaded bytes hash to \(actual), not the recorded \(expected); nothing was written")
        }
        _ = try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: temporary, to: destination)
    }
}

/// Byte-count progress for transfers: a `TerminalProgress` in MiB, shown only on a terminal and
/// only for transfers of at least 4 MiB.
final class Progress: @unchecked Sendable {
    let total: Int64
    let bar: TerminalProgress
    let lock = NSLock()
    var done: Int64 = 0

    init?(total: Int64, label: String, json: Bool) {
        guard total >= 4 << 20 else { return nil }
        let bar = TerminalProgress(label: label, enabled: !json, unit: "MiB", scale: 1 << 20)
        guard bar.enabled else { return nil }
        self.total = total
        self.bar = bar
    }

    func advance(by count: Int) {
        lock.lock()
        done += Int64(count)
        let current = done
        lock.unlock()
        bar.update(current, total)
    }
}
