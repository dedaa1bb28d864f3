import Foundation
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
    /// Copies every blob to `target` (`BlobSettings` naming an S3 bucket, or nil for the folder)
    /// and switches the home to it. Run with the server stopped.
    public func migrateBlobs(
        to target: BlobSettings?, actor: Actor, progress: (@Sendable (_ done: Int, _ total: Int, _ bytes: Int64) -> Void)? = nil
    ) async throws -> BlobMigrationReport {
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
