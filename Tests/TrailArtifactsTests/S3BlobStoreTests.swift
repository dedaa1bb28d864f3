import Foundation
import NIOHTTP1
import Testing
import TrailArtifacts
import TrailCore

/// The S3 blob store against a real S3 server on loopback (moto, started by `.ci/run` through
/// `compat/moto.sh` with signature checking on). Each test works under a prefix of its own.
enum S3TestServer {
    static let environment = ProcessInfo.processInfo.environment
    static var available: Bool { environment["TRAIL_TEST_S3_ENDPOINT"] != nil }

    static func location(prefix: String = "t-\(UUID().uuidString.lowercased())") throws -> S3Location {
        try S3Location.parse(
            "s3://\(environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/\(prefix)", endpoint: environment["TRAIL_TEST_S3_ENDPOINT"], region: "us-east-1")
    }

    static func credentials(secretSuffix: String = "") -> S3Credentials {
        S3Credentials(
            accessKeyID: environment["TRAIL_TEST_S3_ACCESS_KEY_ID"] ?? "", secretAccessKey: (environment["TRAIL_TEST_S3_SECRET_ACCESS_KEY"] ?? "") + secretSuffix)
    }

    static func store(_ location: S3Location? = nil, secretSuffix: String = "") throws -> S3BlobStore {
        let client = S3Client(location: try location ?? Self.location(), credentials: credentials(secretSuffix: secretSuffix))
        return try S3BlobStore(client: client, spool: FileManager.default.temporaryDirectory.appendingPathComponent("trail-s3-spool-\(UUID().uuidString)"))
    }
}

@Suite("S3 blob store (moto on loopback, signatures checked)", .enabled(if: S3TestServer.available, "set by compat/moto.sh (.ci/run starts it)"))
struct S3BlobStoreTests {
    @Test func storesUnderTheContentAddressedKeyAndReadsBack() async throws {
        let store = try S3TestServer.store()
        try await store.check()
        let bytes = Array("hello, S3".utf8)
        let (digest, size) = try await store.put(bytes)
        #expect(digest == Digest.of(bytes))
        #expect(size == Int64(bytes.count))
        #expect(try await store.get(digest) == bytes)
        #expect(try await store.contains(digest))
        #expect(try await store.allDigests() == [digest])
        let keys = try await store.client.list(prefix: store.client.location.prefix + "/")
        #expect(keys == ["\(store.client.location.prefix)/sha256/\(digest.hex.prefix(2))/\(digest.hex)"])
        #expect(try await store.contains(Digest.of([1])) == false)
        let missing = await #expect(throws: TrailError.self) { _ = try await store.open(Digest.of([1])) }
        #expect(missing?.code == .resourceDoesNotExist)
    }

    @Test func theSameBytesTwiceAndAnExistingKeyAreNeverOverwritten() async throws {
        let store = try S3TestServer.store()
        let (digest, _) = try await store.put([1, 2, 3])
        _ = try await store.put([1, 2, 3])
        #expect(try await store.allDigests() == [digest])
        // If-None-Match: * — a second PUT under the key is refused by the server (412).
        let key = store.client.location.key(of: digest)
        let stored = try await store.client.putIfAbsent(key, body: .bytes([9, 9, 9]), sha256Hex: Digest.of([9, 9, 9]).hex)
        #expect(stored == false)
        #expect(try await store.get(digest) == [1, 2, 3])
    }

    /// Retention's one delete: the blob goes, removing it again is no error, others stay.
    @Test func removeDeletesOneBlobAndIsIdempotent() async throws {
        let store = try S3TestServer.store()
        let (gone, _) = try await store.put([4, 5, 6])
        let (kept, _) = try await store.put([7, 8, 9])
        try await store.remove(gone)
        try await store.remove(gone)
        #expect(try await store.contains(gone) == false)
        #expect(try await store.allDigests() == [kept])
        let missing = await #expect(throws: TrailError.self) { _ = try await store.open(gone) }
        #expect(missing?.code == .resourceDoesNotExist)
    }

    @Test func bytesAlteredInTheBucketAreNeverHandedOut() async throws {
        let store = try S3TestServer.store()
        let real = Digest.of(Array("the real bytes".utf8))
        // Someone with bucket access writes other bytes under the real digest's key.
        let forged = Array("forged bytes".utf8)
        try await store.client.putIfAbsent(store.client.location.key(of: real), body: .bytes(forged), sha256Hex: Digest.of(forged).hex)
        let error = await #expect(throws: TrailError.self) { _ = try await store.open(real) }
        #expect(error?.code == .dataLoss)
        // And a write of the real bytes does not paper over it: the size differs, so it is refused.
        let overwrite = await #expect(throws: TrailError.self) { _ = try await store.put(Array("the real bytes".utf8)) }
        #expect(overwrite?.code == .dataLoss)
        // Nor when the squatter matched the size: a HEAD hit is not proof, the bytes are checked.
        let other = Array("other bytes!!!".utf8)
        #expect(other.count == Array("the real bytes".utf8).count)
        let next = Digest.of(Array("another real".utf8))
        let squat = Array("another fake".utf8)
        try await store.client.putIfAbsent(store.client.location.key(of: next), body: .bytes(squat), sha256Hex: Digest.of(squat).hex)
        let squatted = await #expect(throws: TrailError.self) { _ = try await store.put(Array("another real".utf8)) }
        #expect(squatted?.code == .dataLoss)
    }

    @Test func aWrongSecretIsRefusedBySignatureChecking() async throws {
        let store = try S3TestServer.store(secretSuffix: "x")
        let error = await #expect(throws: TrailError.self) { try await store.check() }
        #expect(error?.message.contains("SignatureDoesNotMatch") == true)
        // A HEAD answer has no body, so only its status tells: 403, with the credentials to check.
        let write = await #expect(throws: TrailError.self) { _ = try await store.put([4, 5, 6]) }
        #expect(write?.message.contains("403") == true && write?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
    }

    /// A process killed mid-upload leaves a multipart upload with stored parts: the sweep finds
    /// it under the store's keys and aborts it once it is old enough.
    @Test func unfinishedUploadsAreSwept() async throws {
        let store = try S3TestServer.store()
        let key = store.client.location.key(of: Digest.of([7, 7, 7]))
        let created = try await store.client.call(.POST, key: key, query: [("uploads", "")], headers: [("Content-Type", "application/octet-stream")])
        #expect(created.status == 200)
        let found = try await store.client.unfinishedUploads(prefix: store.client.location.keyBase)
        #expect(found.map(\.key) == [key])
        // (moto reports a fixed start time, 2010-11-10T20:48:33.000Z, so every upload is old here.)
        #expect(found.first?.initiated != nil)
        #expect(try await store.sweepUnfinishedUploads(olderThan: -60) == 1)
        #expect(try await store.client.unfinishedUploads(prefix: store.client.location.keyBase).isEmpty)
        #expect(try await store.sweepUnfinishedUploads(olderThan: -60) == 0)
    }

    @Test func largeBlobsGoUpInPartsAndComeBackVerified() async throws {
        var store = try S3TestServer.store()
        store.multipartThreshold = 6 << 20
        store.minimumPartSize = 5 << 20
        let writer = try store.makeWriter()
        var generator = SplitMix(seed: 42)
        var hasher = StreamingSHA256()
        for _ in 0..<13 {
            let chunk = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            try chunk.withUnsafeBytes {
                try writer.write($0)
                hasher.update($0)
            }
        }
        let (digest, size) = try await writer.commit()
        #expect(digest == hasher.finalize())
        #expect(size == 13 << 20)
        #expect(store.partSize(for: size) == 5 << 20)
        let reader = try await store.open(digest)
        defer { reader.close() }
        #expect(reader.sizeBytes == size)
        var again = StreamingSHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if count == 0 { break }
            buffer.withUnsafeBytes { again.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        #expect(again.finalize() == digest)
        // S3's 10,000-part limit sets the part size of very large blobs.
        #expect(store.partSize(for: 200 << 30) == 21 << 20)
    }
}

@Suite("S3 locations")
struct S3LocationTests {
    @Test func parsesAndRefusesNamingTheOption() throws {
        let location = try S3Location.parse("s3://my-bucket/team/a/", endpoint: "http://127.0.0.1:9000/", region: nil)
        #expect(location.bucket == "my-bucket" && location.prefix == "team/a" && location.region == "us-east-1")
        #expect(location.endpoint == "http://127.0.0.1:9000")
        #expect(location.key(of: Digest.of([1])) == "team/a/sha256/\(Digest.of([1]).hex.prefix(2))/\(Digest.of([1]).hex)")
        #expect(try S3Location.parse("s3://bucket", endpoint: nil, region: "eu-west-1").endpoint == "https://s3.eu-west-1.amazonaws.com")
        // IPv6 endpoints: the Host header (which the signature covers) has one pair of brackets.
        #expect(try S3Location.parse("s3://bucket", endpoint: "http://[::1]:9000", region: nil).hostHeader == "[::1]:9000")
        #expect(try S3Location.parse("s3://bucket", endpoint: "https://minio.internal:443", region: nil).hostHeader == "minio.internal")
        #expect(try S3Location.parse("s3://bucket", endpoint: "http://127.0.0.1:9000", region: nil).hostHeader == "127.0.0.1:9000")
        for (uri, endpoint, field) in [
            ("http://bucket/x", nil, "blobs"), ("s3://Bucket/x", nil, "blobs"), ("s3://b/x", nil, "blobs"), ("s3://bucket/../x", nil, "blobs"),
            ("s3://bucket/a//b", nil, "blobs"), ("s3://bucket/a b", nil, "blobs"), ("s3://bucket/x", "ftp://h", "s3-endpoint"),
            ("s3://bucket/x", "http://h/path", "s3-endpoint"), ("s3://bucket/x", "http://127.0.0.1:65536", "s3-endpoint"),
            ("s3://bucket/x", "http://127.0.0.1:0", "s3-endpoint"), ("s3://bucket/x", "http://127.0.0.1:", "s3-endpoint"),
            ("s3://bucket/x", "http://127.0.0.1:9000#frag", "s3-endpoint"), ("s3://bucket/x", "http://u:p@127.0.0.1:9000", "s3-endpoint"),
            ("s3://bucket..x/y", nil, "blobs"), ("s3://192.168.1.1/y", nil, "blobs"), ("s3://bucket/" + String(repeating: "a/", count: 451), nil, "blobs"),
        ] as [(String, String?, String)] {
            let error = #expect(throws: TrailError.self) { _ = try S3Location.parse(uri, endpoint: endpoint, region: nil) }
            #expect(error?.field == field, "\(uri)")
        }
    }
}

/// Deterministic bytes for the tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
