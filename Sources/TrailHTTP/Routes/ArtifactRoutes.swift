import Foundation
import HTTPTypes
import Hummingbird
import TrailArtifacts
import TrailCore
import TrailService

/// Streaming artifact upload and download: `PUT|GET /api/v1/runs/{run_id}/artifacts/{path}`
/// and the listing `GET /api/v1/runs/{run_id}/artifacts?prefix=`.
///
/// The logical path is taken from the raw request path (the router would silently collapse
/// `//`), percent-decoded exactly once and validated before any byte is written.
struct ArtifactRoutes {
    let tracking: TrackingService
    let config: TrailServerConfig

    static let chunkBytes = 1 << 20

    func add(to api: SecuredRoutes) {
        api.get("runs/:run_id/artifacts", .read) { request, context in
            let runID = try NativeRoutes.runID(context)
            let entries = try await tracking.artifacts(runID, prefix: request.uri.queryParameters.get("prefix"))
            return try JSONResponse.make(NativeAPI.ArtifactList(artifacts: entries))
        }
        api.put("runs/:run_id/artifacts/**", .write) { request, context in
            let runID = try NativeRoutes.runID(context)
            let path = try Self.artifactPath(request, runID: runID)
            let entry = try await Self.receive(
                request, owner: .run(runID), path: path, tracking: tracking, maxBytes: config.maxArtifactBytes, actor: context.actor)
            return try JSONResponse.make(NativeAPI.ArtifactBody(artifact: entry))
        }
        api.get("runs/:run_id/artifacts/**", .read) { request, context in
            let runID = try NativeRoutes.runID(context)
            let path = try Self.artifactPath(request, runID: runID)
            let (entry, reader) = try await tracking.openArtifact(runID, path: path, actor: context.actor)
            return Self.stream(entry, reader)
        }
    }

    /// Streams a request body into the blob store and maps `path` to it (both APIs upload so).
    static func receive(
        _ request: Request, owner: ArtifactOwner, path: ArtifactPath, tracking: TrackingService, maxBytes: Int64, actor: Actor
    ) async throws -> ArtifactEntry {
        let upload = try await tracking.beginArtifactUpload(owner, path: path, maxBytes: maxBytes)
        do {
            for try await buffer in request.body {
                try buffer.withUnsafeReadableBytes { try upload.write($0) }
            }
        } catch {
            upload.abort()
            throw error
        }
        return try await tracking.finishArtifactUpload(upload, actor: actor)
    }

    /// A download response streaming the blob in 1 MiB chunks, with its digest as ETag.
    static func stream(_ entry: ArtifactEntry, _ reader: any BlobReader) -> Response {
        let body = ResponseBody(contentLength: Int(entry.sizeBytes)) { writer in
            defer { reader.close() }
            while true {
                var buffer = ByteBufferAllocator().buffer(capacity: Self.chunkBytes)
                let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.chunkBytes) { pointer in
                    try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: pointer[0..<Self.chunkBytes]))
                }
                if count == 0 { break }
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/octet-stream", .eTag: "\"\(entry.digest)\"", HTTPField.Name("X-Content-SHA256")!: entry.digest.hex,
            ],
            body: body)
    }

    /// The logical path after `/artifacts/`, from the raw URI path.
    static func artifactPath(_ request: Request, runID: RunID) throws -> ArtifactPath {
        if let query = request.uri.query, !query.isEmpty {
            throw TrailError.invalid("path", "artifact paths take no query string; percent-encode '?' if it is part of the name")
        }
        let raw = request.uri.path
        let marker = "/runs/\(runID.value)/artifacts/"
        guard let range = raw.range(of: marker) else { throw TrailError.invalid("path", "artifact path is missing") }
        return try ArtifactPath(urlEncoded: String(raw[range.upperBound...]))
    }
}
