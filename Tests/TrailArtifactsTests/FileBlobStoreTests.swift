import Foundation
import Testing
import TrailArtifacts
import TrailCore

@Suite("File blob store")
struct FileBlobStoreTests {
    static func makeStore() throws -> FileBlobStore {
        try FileBlobStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("trail-blobs-\(UUID().uuidString)"))
    }

    @Test func storesUnderTheSHA256OfTheBytes() async throws {
        let store = try Self.makeStore()
        let bytes = Array("hello".utf8)
        let (digest, size) = try await store.put(bytes)
        #expect(digest.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(size == 5)
        #expect(try await store.get(digest) == bytes)
        #expect(try store.allDigests() == [digest])
    }

    @Test func theSameBytesTwiceStoreOneBlobAndNeverOverwrite() async throws {
        let store = try Self.makeStore()
        let (first, _) = try await store.put([1, 2, 3])
        let path = store.root.appendingPathComponent("sha256/\(first.hex.prefix(2))/\(first.hex)").path
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        let (second, _) = try await store.put([1, 2, 3])
        #expect(first == second)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)
        #expect(try store.allDigests().count == 1)
    }

    /// Retention's one delete: the blob goes, removing it again is no error, others stay.
    @Test func removeDeletesOneBlobAndIsIdempotent() async throws {
        let store = try Self.makeStore()
        let (gone, _) = try await store.put([4, 5, 6])
        let (kept, _) = try await store.put([7, 8, 9])
        try store.remove(gone)
        try store.remove(gone)
        #expect(store.contains(gone) == false)
        #expect(try store.allDigests() == [kept])
        #expect(throws: TrailError.self) { _ = try store.open(gone) }
    }

    @Test func streamsLargeBlobsInChunks() async throws {
        let store = try Self.makeStore()
        let writer = try store.makeWriter()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var reference = Crypto()
        for i in 0..<48 {
            for j in stride(from: 0, to: chunk.count, by: 4096) { chunk[j] = UInt8(truncatingIfNeeded: i &* 31 &+ j) }
            try chunk.withUnsafeBytes { try writer.write($0) }
            reference.update(chunk)
        }
        let (digest, size) = try await writer.commit()
        #expect(size == 48 << 20)
        #expect(digest == reference.digest)
        let reader = try await store.open(digest)
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if count == 0 { break }
            total += count
        }
        #expect(total == 48 << 20)
    }

    @Test func abortedAndRefusedWritesLeaveNothing() throws {
        let store = try Self.makeStore()
        let writer = try store.makeWriter()
        try [UInt8](repeating: 7, count: 1000).withUnsafeBytes { try writer.write($0) }
        _ = try writer.seal()
        writer.abort()
        #expect(try store.allDigests().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent("tmp").path).isEmpty)
    }

    @Test func missingBlobIsNotFound() throws {
        let store = try Self.makeStore()
        let error = #expect(throws: TrailError.self) { _ = try store.open(Digest.of([9])) }
        #expect(error?.code == .resourceDoesNotExist)
    }
}

/// A running SHA-256 over the same chunks, via the core digest of the concatenation.
struct Crypto {
    var bytes: [UInt8] = []
    mutating func update(_ chunk: [UInt8]) { bytes += chunk }
    var digest: Digest { Digest.of(bytes) }
}
