import Foundation
import TrailArtifacts
import TrailCore
import TrailService

/// The embedded default: the services on the home folder, acting as the OS user.
extension LocalClient: TrailBackend {
    public func finish() async throws { _ = try await home.ledger.checkpointIfBehind() }

    func experiments(view: ViewType) async throws -> [Experiment] {
        var all: [Experiment] = []
        var token: String?
        repeat {
            let page = try await home.tracking.experiments(view: view, maxResults: 1000, pageToken: token)
            all += page.items
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func deleteExperiment(_ id: ExperimentID) async throws { try await home.tracking.deleteExperiment(id, actor: actor) }
    func restoreExperiment(_ id: ExperimentID) async throws { try await home.tracking.restoreExperiment(id, actor: actor) }
    func renameExperiment(_ id: ExperimentID, to name: String) async throws { try await home.tracking.renameExperiment(id, to: name, actor: actor) }
    func setExperimentTag(_ id: ExperimentID, key: String, value: String) async throws {
        try await home.tracking.setExperimentTag(id, key: key, value: value, actor: actor)
    }

    func deleteRun(_ id: RunID) async throws { try await home.tracking.deleteRun(id, actor: actor) }
    func restoreRun(_ id: RunID) async throws { try await home.tracking.restoreRun(id, actor: actor) }
    func tagHistory(_ id: RunID) async throws -> [TagChange] { try await home.tracking.tagHistory(id, reader: reader) }

    func searchRuns(_ request: NativeAPI.SearchRuns) async throws -> Page<Run> {
        try await home.tracking.searchRuns(
            experimentIDs: request.experimentIDs, filter: request.filter ?? "", orderBy: request.orderBy ?? [],
            view: request.runViewType ?? .activeOnly, maxResults: request.maxResults ?? 1000, pageToken: request.pageToken, reader: reader)
    }

    func metricHistory(_ id: RunID, key: String) async throws -> [Metric] {
        var all: [Metric] = []
        var token: String?
        repeat {
            let page = try await home.tracking.metricHistory(id, key: key, pageToken: token)
            all += page.items
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func uploadArtifact(_ id: RunID, path: ArtifactPath, file: URL, progress: Progress?) async throws -> ArtifactEntry {
        let upload = try await home.tracking.beginArtifactUpload(id, path: path)
        do {
            try FileChunks.forEachChunk(of: file) { chunk in
                try upload.write(chunk)
                progress?.advance(by: chunk.count)
            }
        } catch {
            upload.abort()
            throw error
        }
        return try await home.tracking.finishArtifactUpload(upload, actor: actor)
    }

    func artifacts(_ id: RunID, prefix: String?) async throws -> [ArtifactEntry] { try await home.tracking.artifacts(id, prefix: prefix) }

    func downloadArtifact(_ id: RunID, path: ArtifactPath, to destination: URL, progress: Progress?) async throws -> ArtifactEntry {
        let (entry, reader) = try await home.tracking.openArtifact(id, path: path, actor: actor)
        defer { reader.close() }
        let sink = try VerifyingFileSink(destination: destination, expected: entry.digest)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if count == 0 { break }
            try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            progress?.advance(by: count)
        }
        try sink.finish()
        return entry
    }

    func exportLedger(write: @escaping @Sendable ([UInt8]) throws -> Void, progress: (@Sendable (Int64, Int64) -> Void)?) async throws -> Int64 {
        let checkpoint = try await home.ledger.export(actor: actor, write: { try write(Array(($0 + "\n").utf8)) }, progress: progress)
        return Int64(clamping: checkpoint.size)
    }
}
