import Foundation
import Testing
import TrailArtifacts
import TrailCore
@testable import TrailService

/// A home whose blobs live in S3 (moto on loopback, signatures checked; `compat/moto.sh`):
/// the location is recorded once, `ledger verify` checks the bucket the way it checks the
/// folder (missing, corrupted, orphaned), and another bucket is refused.
@Suite("A home with S3 blobs", .enabled(if: ProcessInfo.processInfo.environment["TRAIL_TEST_S3_ENDPOINT"] != nil, "set by compat/moto.sh"))
struct S3HomeTests {
    static let environment = ProcessInfo.processInfo.environment

    static func settings(_ uri: String?, secret: String? = nil) -> BlobSettings {
        BlobSettings(
            uri: uri, endpoint: environment["TRAIL_TEST_S3_ENDPOINT"], region: "us-east-1",
            environment: [
                "AWS_ACCESS_KEY_ID": environment["TRAIL_TEST_S3_ACCESS_KEY_ID"] ?? "",
                "AWS_SECRET_ACCESS_KEY": secret ?? environment["TRAIL_TEST_S3_SECRET_ACCESS_KEY"] ?? "",
            ])
    }

    @Test func verifyChecksTheBucketAsItChecksTheFolder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-s3-home-\(UUID().uuidString)")
        let bucket = Self.environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test"
        let uri = "s3://\(bucket)/home-\(UUID().uuidString.lowercased())"
        let home = try await TrailHome.open(directory, blobs: Self.settings(uri))
        #expect(home.tracking.blobs.location.hasPrefix(uri))
        try await populate(home, seed: 7, runs: 3)
        let clean = try await home.verifier.verify()
        #expect(clean.ok, "\(clean.findings)")
        #expect(clean.blobs == 3)
        // Nothing went to the folder.
        #expect(try FileBlobStore(root: directory.appendingPathComponent("blobs")).isEmpty())

        // Re-opened without the flag, the home finds its bucket from its record.
        let again = try await TrailHome.open(directory, blobs: Self.settings(nil))
        let digests = try await again.tracking.blobs.allDigests()
        #expect(digests.count == 3)
        // Another bucket or prefix is refused, naming the option.
        let other = await #expect(throws: TrailError.self) { _ = try await TrailHome.open(directory, blobs: Self.settings("s3://\(bucket)/elsewhere")) }
        #expect(other?.field == "blobs")

        // Someone with bucket access: replaces one blob, deletes another, adds one nobody refers to.
        let store = try #require(again.tracking.blobs as? S3BlobStore)
        let forged = Array("forged".utf8)
        try await store.client.delete(store.client.location.key(of: digests[0]))
        try await store.client.putIfAbsent(store.client.location.key(of: digests[0]), body: .bytes(forged), sha256Hex: Digest.of(forged).hex)
        try await store.client.delete(store.client.location.key(of: digests[1]))
        let (orphan, _) = try await store.put(Array("nobody refers to me".utf8))
        let junk = store.client.location.keyBase + "zz/not-a-digest"
        try await store.client.putIfAbsent(junk, body: .bytes([1]), sha256Hex: Digest.of([1]).hex)
        let report = try await again.verifier.verify()
        #expect(!report.ok)
        let found = Set(report.findings.map { "\($0.kind) \($0.location)" })
        #expect(found.contains("blob-corrupted blob \(digests[0])"))
        #expect(found.contains("blob-missing blob \(digests[1])"))
        #expect(found.contains("blob-orphaned blob \(orphan)"))
        #expect(found.contains("blob-stray \(junk)"))
    }

    @Test func aWrongSecretStopsTheStoreAtItsCheck() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-s3-home-\(UUID().uuidString)")
        let uri = "s3://\(Self.environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/home-\(UUID().uuidString.lowercased())"
        // The first use checks the bucket before recording it: a wrong secret ties nothing.
        let error = await #expect(throws: TrailError.self) { _ = try await TrailHome.open(directory, blobs: Self.settings(uri, secret: "not-the-secret")) }
        #expect(error?.message.contains("SignatureDoesNotMatch") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("blobs.json").path))
        let wrongBucket = await #expect(throws: TrailError.self) {
            _ = try await TrailHome.open(directory, blobs: Self.settings("s3://no-such-bucket-\(UUID().uuidString.prefix(8).lowercased())/x"))
        }
        #expect(wrongBucket?.message.contains("NoSuchBucket") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("blobs.json").path))
        // The right settings then record it.
        _ = try await TrailHome.open(directory, blobs: Self.settings(uri))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("blobs.json").path))
        // Without credentials at all, the home does not open.
        let missing = await #expect(throws: TrailError.self) {
            _ = try await TrailHome.open(directory, blobs: BlobSettings(uri: uri, endpoint: Self.environment["TRAIL_TEST_S3_ENDPOINT"], environment: [:]))
        }
        #expect(missing?.field == "s3-credentials")
    }

    @Test func migrateMovesTheBlobsBothWaysKeepingEveryLeaf() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-s3-home-\(UUID().uuidString)")
        let home = try await TrailHome.open(directory, blobs: BlobSettings(environment: [:]))
        try await populate(home, seed: 11, runs: 3)
        let size = try await home.tracking.store.eventCount()
        let leaves = try await home.tracking.store.events(from: 0, to: size)
        let uri = "s3://\(Self.environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/migrated-\(UUID().uuidString.lowercased())"

        let there = try await home.migrateBlobs(to: Self.settings(uri), actor: .user("ops"))
        #expect(there.blobs == 3 && there.copied == 3 && there.alreadyThere == 0)
        let moved = try await TrailHome.open(directory, blobs: Self.settings(nil))
        #expect(moved.tracking.blobs is S3BlobStore)
        let report = try await moved.verifier.verify()
        #expect(report.ok, "\(report.findings)")
        #expect(report.blobs == 3)
        // Every earlier leaf byte for byte; the move itself is one more event.
        #expect(try await moved.tracking.store.events(from: 0, to: size) == leaves)
        let last = try #require(try await moved.tracking.store.events(from: size, to: size + 1).first)
        #expect(String(decoding: last.body, as: UTF8.self).contains("blobs.migrate"))
        // Once there, a second move to the same bucket is refused naming the option.
        let again = await #expect(throws: TrailError.self) { _ = try await moved.migrateBlobs(to: Self.settings(uri), actor: .user("ops")) }
        #expect(again?.field == "to")

        // And back: the folder still held the bytes (nothing is deleted), so nothing is copied.
        let back = try await moved.migrateBlobs(to: nil, actor: .user("ops"))
        #expect(back.copied == 0 && back.alreadyThere == 3)
        let folder = try await TrailHome.open(directory, blobs: BlobSettings(environment: [:]))
        #expect(folder.tracking.blobs is FileBlobStore)
        #expect(try await folder.verifier.verify().ok)
    }


    @Test func migrateRefusesABadCopyOnTheTargetAndAServerBeside() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-s3-home-\(UUID().uuidString)")
        let home = try await TrailHome.open(directory, blobs: BlobSettings(environment: [:]))
        try await populate(home, seed: 12, runs: 2)
        let uri = "s3://\(Self.environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/bad-copy-\(UUID().uuidString.lowercased())"
        _ = try await home.migrateBlobs(to: Self.settings(uri), actor: .user("ops"))
        let moved = try await TrailHome.open(directory, blobs: Self.settings(nil))
        // The folder copy left behind goes bad; moving back must not switch to it.
        let folder = try FileBlobStore(root: directory.appendingPathComponent("blobs"))
        let digest = try #require(try folder.allDigests().first)
        let path = directory.appendingPathComponent("blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)")
        try Data("altered".utf8).write(to: path)
        let refused = await #expect(throws: TrailError.self) { _ = try await moved.migrateBlobs(to: nil, actor: .user("ops")) }
        #expect(refused?.code == .dataLoss)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("blobs.json").path), "the home still points at the bucket")
        // The environment's AWS_* never re-points a home that recorded its bucket.
        var environment = Self.settings(nil).environment
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"
        environment["AWS_REGION"] = "eu-west-1"
        let again = try await TrailHome.open(directory, blobs: BlobSettings(environment: environment))
        #expect(again.tracking.blobs.location.hasSuffix(Self.environment["TRAIL_TEST_S3_ENDPOINT"] ?? "?"))
        #expect(try await again.verifier.verify().ok)
        // A server on the home: migrate refuses to run beside it.
        try ServerLock.hold(home: directory)
        let busy = await #expect(throws: TrailError.self) { _ = try await again.migrateBlobs(to: nil, actor: .user("ops")) }
        #expect(busy?.field == "home")
    }

    /// Three tries bounded by a 5 s connect timeout each, then TEMPORARILY_UNAVAILABLE (503).
    @Test func anUnreachableBlobStoreIsTemporarilyUnavailable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-s3-home-\(UUID().uuidString)")
        let settings = BlobSettings(
            uri: "s3://modeltrail-test/down", endpoint: "http://127.0.0.1:1", region: "us-east-1",
            environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"])
        let error = await #expect(throws: TrailError.self) { _ = try await TrailHome.open(directory, blobs: settings) }
        #expect(error?.code == .temporarilyUnavailable)
        #expect(error?.message.contains("127.0.0.1:1") == true)
    }
}

@Suite("The home's blob location record")
struct BlobRecordTests {
    /// A hand-edited `blobs.json` is checked like a flag: no path in the endpoint, no odd bucket.
    @Test func aHostileRecordIsRefused() async throws {
        for record in [
            #"{"bucket":"../x","endpoint":"http://127.0.0.1:9000","prefix":"","region":"us-east-1"}"#,
            #"{"bucket":"bucket","endpoint":"http://127.0.0.1:9000/evil","prefix":"","region":"us-east-1"}"#,
            #"{"bucket":"bucket","endpoint":"http://127.0.0.1:9000","prefix":"a/../b","region":"us-east-1"}"#,
            #"{"bucket":"bucket","endpoint":"http://127.0.0.1:9000/","prefix":"","region":"us-east-1"}"#,
            #"not json"#,
        ] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-record-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(record.utf8).write(to: directory.appendingPathComponent("blobs.json"))
            let error = await #expect(throws: TrailError.self) {
                _ = try await TrailHome.open(directory, blobs: BlobSettings(environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"]))
            }
            #expect(error?.message.contains("not a valid blob location record") == true, "\(record)")
        }
    }
}
