import TrailArtifacts
import TrailCore
import TrailStore

/// An artifact upload that has passed every check and is receiving bytes.
///
/// Made by `TrackingService.beginArtifactUpload`, which validates the path and the run before
/// any byte touches the disk; feed it with `write`, then `finishArtifactUpload`.
public final class ArtifactUpload {
    public let owner: ArtifactOwner
    public let path: ArtifactPath
    let writer: any BlobWriter
    let maxBytes: Int64
    var received: Int64 = 0

    init(owner: ArtifactOwner, path: ArtifactPath, writer: any BlobWriter, maxBytes: Int64) {
        self.owner = owner
        self.path = path
        self.writer = writer
        self.maxBytes = maxBytes
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        received += Int64(bytes.count)
        guard received <= maxBytes else {
            writer.abort()
            throw TrailError(.requestTooLarge, "artifact is larger than the configured limit of \(maxBytes) bytes", field: "body")
        }
        try writer.write(bytes)
    }

    public func abort() { writer.abort() }
}

extension TrackingService {
    /// Checks the run (exists, active) and the logical path, then opens a streaming blob write.
    public func beginArtifactUpload(_ id: RunID, path: ArtifactPath, maxBytes: Int64 = 64 << 30) async throws -> ArtifactUpload {
        try await beginArtifactUpload(.run(id), path: path, maxBytes: maxBytes)
    }

    /// Checks the owner (exists, active), then opens a streaming blob write.
    public func beginArtifactUpload(_ owner: ArtifactOwner, path: ArtifactPath, maxBytes: Int64 = 64 << 30) async throws -> ArtifactUpload {
        try await checkActive(owner)
        return ArtifactUpload(owner: owner, path: path, writer: try blobs.makeWriter(), maxBytes: maxBytes)
    }

    func checkActive(_ owner: ArtifactOwner) async throws {
        switch owner {
        case .run(let id):
            guard try await run(id).info.lifecycleStage == .active else { throw TrailError.invalid("run_id", "run '\(id)' is deleted; restore it first") }
        case .loggedModel(let id):
            guard try await loggedModel(id).lifecycleStage == .active else { throw TrailError.invalid("model_id", "logged model '\(id)' is deleted") }
        }
    }

    static func precondition(_ owner: ArtifactOwner) -> Precondition {
        switch owner {
        case .run(let id): .run(id, mustBeActive: true)
        case .loggedModel(let id): .loggedModel(id, mustBeActive: true)
        }
    }

    /// Commits the blob and maps the path to it. The same path with the same bytes is a no-op;
    /// with other bytes it is refused (`RESOURCE_CONFLICT`) and the mapping stays as it was.
    @discardableResult
    public func finishArtifactUpload(_ upload: ArtifactUpload, actor: Actor) async throws -> ArtifactEntry {
        let (digest, size) = try upload.writer.seal()
        if let existing = try await store.artifact(owner: upload.owner, path: upload.path) {
            upload.writer.abort()
            guard existing.digest == digest else {
                throw TrailError(
                    .resourceConflict,
                    "artifact '\(upload.path)' already exists with other content (\(existing.digest)); artifacts are never overwritten, so log it under a new path",
                    field: "path")
            }
            return existing
        }
        var frozen: [Precondition] = []
        if case .run(let id) = upload.owner {
            do {
                frozen = try await checkNotFrozen(id, artifactPath: upload.path.value, actor: actor)
            } catch {
                upload.writer.abort()
                throw error
            }
        }
        try await upload.writer.publish()
        let now = clock.nowMillis()
        let entry = ArtifactEntry(path: upload.path, digest: digest, sizeBytes: size, createdMillis: now)
        _ = try await store.apply(
            WriteBatch(
                preconditions: [Self.precondition(upload.owner)] + frozen, changes: [.putArtifact(upload.owner, entry)],
                event: EventDraft(
                    action: "artifact.put", actor: actor, timeMillis: now, subject: upload.owner.subject,
                    facts: ["path": .string(upload.path.value), "digest": .string(digest.description), "size_bytes": .int(size)],
                    artifactDigests: [digest])))
        return try await store.artifact(owner: upload.owner, path: upload.path) ?? entry
    }

    /// Stores a small artifact from memory in one call.
    @discardableResult
    public func putArtifact(_ id: RunID, path: ArtifactPath, bytes: [UInt8], actor: Actor) async throws -> ArtifactEntry {
        let upload = try await beginArtifactUpload(id, path: path)
        do {
            try bytes.withUnsafeBytes { try upload.write($0) }
        } catch {
            upload.abort()
            throw error
        }
        return try await finishArtifactUpload(upload, actor: actor)
    }

    public func artifacts(_ id: RunID, prefix: String? = nil) async throws -> [ArtifactEntry] {
        try await artifacts(.run(id), prefix: prefix)
    }

    public func artifacts(_ owner: ArtifactOwner, prefix: String? = nil) async throws -> [ArtifactEntry] {
        if case .loggedModel(let id) = owner { _ = try await loggedModel(id) }
        let all = try await store.artifacts(owner: owner)
        guard let prefix, !prefix.isEmpty else { return all }
        let directory = prefix.hasSuffix("/") ? prefix : prefix + "/"
        return all.filter { $0.path.value == prefix || $0.path.value.hasPrefix(directory) }
    }

    /// Opens an artifact for streaming download; the access is recorded as `artifact.get`.
    public func openArtifact(_ id: RunID, path: ArtifactPath, actor: Actor) async throws -> (ArtifactEntry, any BlobReader) {
        try await openArtifact(.run(id), path: path, actor: actor)
    }

    public func openArtifact(_ owner: ArtifactOwner, path: ArtifactPath, actor: Actor) async throws -> (ArtifactEntry, any BlobReader) {
        guard let entry = try await store.artifact(owner: owner, path: path) else {
            throw TrailError.notFound("artifact", path.value, field: "path")
        }
        do {
            let reader = try await blobs.open(entry.digest, expectedBytes: entry.sizeBytes)
            _ = try await store.record(
                EventDraft(
                        action: "artifact.get", actor: actor, timeMillis: clock.nowMillis(), subject: owner.subject,
                        facts: ["path": .string(path.value), "digest": .string(entry.digest.description)]))
            return (entry, reader)
        } catch let error as TrailError where error.code != .resourceDoesNotExist {
            throw error
        } catch {
            // Removed by retention (the run was deleted longer ago than its window): gone by record.
            if let event = try await store.retiredBlobs()[entry.digest] {
                throw TrailError(
                    .resourceDoesNotExist,
                    "the bytes of artifact '\(path)' (\(entry.digest)) were removed by retention (ledger event \(event)); its record and digest remain",
                    field: "path")
            }
            throw TrailError(
                .dataLoss, "the bytes of artifact '\(path)' (\(entry.digest)) are missing from the blob store; run 'trail ledger verify'")
        }
    }
}
