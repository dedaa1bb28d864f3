import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import TrailArtifacts
import TrailCore

/// Moves a home's blobs between its folder and an S3-compatible bucket (`trail migrate`),
/// without touching a ledger leaf: every blob is copied through a reader that refuses altered
/// bytes and a writer that names what it stored by its SHA-256, so the target holds exactly the
/// bytes the ledger refers to. Then every referenced digest is checked on the target, the move
/// is recorded as one `blobs.migrate` event, and the home's record switches to the target. The
/// source is left as it was (nothing is deleted); remove it once the target is backed up.
public struct BlobMigrationReport: Sendable, Encodable {
    public var from: String
    public var to: String
    public var blobs: Int
    public var copied: Int
    public var alreadyThere: Int
    public var bytes: Int64
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case from, to, blobs, copied, bytes, seconds
        case alreadyThere = "already_there"
    }
}

extension TrailHome {
    /// True when the blob reads back whole and hashes to its name (the readers check as they go).
    static func intact(_ store: any BlobStore, _ digest: Digest) async -> Bool {
        guard let reader = try? await store.open(digest) else { return false }
        defer { reader.close() }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            guard let count = try? buffer.withUnsafeMutableBytes({ try reader.read(into: $0) }) else { return false }
            if count == 0 { return true }
        }
    }

    /// Copies every blob to `target` (`BlobSettings` naming an S3 bucket, or nil for the folder)
    /// and switches the home to it. Run with the server stopped.
    public func migrateBlobs(
        to target: BlobSettings?, actor: Actor, progress: (@Sendable (_ done: Int, _ total: Int, _ bytes: Int64) -> Void)? = nil
    ) async throws -> BlobMigrationReport {
        try ServerLock.ensureNoServer(home: url, for: "moving its blobs")
        let started = Date()
        let source = tracking.blobs
        let destination: any BlobStore
        let location: S3Location?
        if let target {
            guard target.uri != nil else { throw TrailError.invalid("to", "name the target bucket: --to s3://BUCKET/PREFIX") }
            (destination, location) = try target.openTarget(home: url)
        } else {
            destination = try FileBlobStore(root: url.appendingPathComponent("blobs"))
            location = nil
        }
        guard destination.location != source.location else {
            throw TrailError.invalid("to", "the home's blobs are already in \(source.location)")
        }
        let digests = try await source.allDigests()
        var copied = 0
        var alreadyThere = 0
        var bytes: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for (done, digest) in digests.enumerated() {
            progress?(done, digests.count, bytes)
            if try await destination.contains(digest) {
                // Already there is not proof: the bytes there must hash to their name, or the
                // home would switch to a bad copy.
                guard await Self.intact(destination, digest) else {
                    throw TrailError(
                        .dataLoss,
                        "the target \(destination.location) already holds other bytes under blob \(digest); nothing was switched: remove that copy and run migrate again")
                }
                alreadyThere += 1
                continue
            }
            let reader = try await source.open(digest)
            defer { reader.close() }
            let writer = try destination.makeWriter()
            do {
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                    if count == 0 { break }
                    try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                }
                let (written, size) = try writer.seal()
                guard written == digest else {
                    throw TrailError(.dataLoss, "blob \(digest) read back as \(written); nothing was switched")
                }
                try await writer.publish()
                bytes += size
                copied += 1
            } catch {
                writer.abort()
                throw error
            }
        }
        progress?(digests.count, digests.count, bytes)
        // Every blob a record refers to must be on the target before the home switches.
        let present = Set(try await destination.allDigests())
        let missing = try await tracking.store.referencedDigests().subtracting(present)
        guard missing.isEmpty else {
            throw TrailError(
                .dataLoss,
                "\(missing.count) referenced blob(s) are not on the target (first: \(missing.sorted()[0])); they are missing from the source too: run 'trail ledger verify'")
        }
        let report = BlobMigrationReport(
            from: source.location, to: destination.location, blobs: digests.count, copied: copied, alreadyThere: alreadyThere, bytes: bytes,
            seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
        try await ledger.recordAccess(
            action: "blobs.migrate", subject: Subject(type: "blobs", id: location?.uri ?? "folder"),
            facts: [
                "from": .string(report.from), "to": .string(report.to), "blobs": .int(Int64(report.blobs)), "copied": .int(Int64(copied)),
                "bytes": .int(bytes),
            ], actor: actor)
        try BlobSettings.switchRecord(home: url, to: location)
        return report
    }
}

/// The home's server lock (`HOME/server.lock`, flock): `trail server` holds it while it runs,
/// so that what must not run beside a server (`trail migrate`) can tell, and a second server on
/// the same home refuses to start.
public enum ServerLock {
    /// Takes the lock for the life of the process; refused when another process holds it.
    public static func hold(home url: URL) throws {
        let descriptor = try open(url)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw TrailError(.invalidState, "a trail server is already running on the home \(url.path)", field: "home")
        }
        // Kept open (and locked) until the process exits; the kernel releases it even on kill -9.
    }

    /// Refuses when a server holds the lock.
    public static func ensureNoServer(home url: URL, for command: String) throws {
        let descriptor = try open(url)
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            throw TrailError(.invalidState, "a trail server is running on the home \(url.path); stop it before \(command)", field: "home")
        }
        flock(descriptor, LOCK_UN)
    }

    static func open(_ url: URL) throws -> Int32 {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let descriptor = Glibc.open(url.appendingPathComponent("server.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TrailError.internalError("cannot open the home's server lock (errno \(errno))") }
        return descriptor
    }
}
