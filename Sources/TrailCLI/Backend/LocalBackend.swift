import Foundation
import TrailArtifacts
import TrailCore
import TrailService

/// The embedded default: calls the services on the home folder directly, acting as the OS user.
struct LocalBackend: TrailBackend {
    let home: TrailHome
    let actor: Actor
    var tracking: TrackingService { home.tracking }

    func finish() async throws { try await home.ledger.checkpointIfBehind() }

    func createExperiment(name: String, tags: [Tag]) async throws -> Experiment {
        try await tracking.createExperiment(name: name, tags: tags, actor: actor)
    }

    func experiments(view: ViewType) async throws -> [Experiment] {
        var all: [Experiment] = []
        var token: String?
        repeat {
            let page = try await tracking.experiments(view: view, maxResults: 1000, pageToken: token)
            all += page.items
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func experiment(_ idOrName: String) async throws -> Experiment {
        if let id = parseExperimentReference(idOrName), let found = try? await tracking.experiment(id: id) { return found }
        return try await tracking.experiment(named: idOrName)
    }

    func deleteExperiment(_ id: ExperimentID) async throws { try await tracking.deleteExperiment(id, actor: actor) }
    func restoreExperiment(_ id: ExperimentID) async throws { try await tracking.restoreExperiment(id, actor: actor) }
    func renameExperiment(_ id: ExperimentID, to name: String) async throws { try await tracking.renameExperiment(id, to: name, actor: actor) }
    func setExperimentTag(_ id: ExperimentID, key: String, value: String) async throws {
        try await tracking.setExperimentTag(id, key: key, value: value, actor: actor)
    }

    func createRun(_ request: NativeAPI.CreateRun) async throws -> Run {
        try await tracking.createRun(
            experimentID: request.experimentID, name: request.runName, userID: request.userID, startTimeMillis: request.startTime,
            tags: request.tags ?? [], actor: actor)
    }

    func run(_ id: RunID) async throws -> Run { try await tracking.run(id) }

    func updateRun(_ id: RunID, _ request: NativeAPI.UpdateRun) async throws -> RunInfo {
        try await tracking.updateRun(id, status: request.status, endTimeMillis: request.endTime, name: request.runName, actor: actor)
    }

    func deleteRun(_ id: RunID) async throws { try await tracking.deleteRun(id, actor: actor) }
    func restoreRun(_ id: RunID) async throws { try await tracking.restoreRun(id, actor: actor) }

    func logBatch(_ id: RunID, _ batch: NativeAPI.LogBatch) async throws {
        try await tracking.logBatch(id, metrics: batch.metrics ?? [], params: batch.params ?? [], tags: batch.tags ?? [], actor: actor)
    }

    func setTag(_ id: RunID, key: String, value: String?) async throws { try await tracking.setTag(id, key: key, value: value, actor: actor) }
    func tagHistory(_ id: RunID) async throws -> [TagChange] { try await tracking.tagHistory(id) }
    func logInputs(_ id: RunID, _ inputs: [DatasetInput]) async throws { try await tracking.logInputs(id, inputs, actor: actor) }

    func searchRuns(_ request: NativeAPI.SearchRuns) async throws -> Page<Run> {
        try await tracking.searchRuns(
            experimentIDs: request.experimentIDs, filter: request.filter ?? "", orderBy: request.orderBy ?? [],
            view: request.runViewType ?? .activeOnly, maxResults: request.maxResults ?? 1000, pageToken: request.pageToken)
    }

    func metricHistory(_ id: RunID, key: String) async throws -> [Metric] {
        var all: [Metric] = []
        var token: String?
        repeat {
            let page = try await tracking.metricHistory(id, key: key, pageToken: token)
            all += page.items
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func uploadArtifact(_ id: RunID, path: ArtifactPath, file: URL, progress: Progress?) async throws -> ArtifactEntry {
        let upload = try await tracking.beginArtifactUpload(id, path: path)
        do {
            try FileChunks.forEachChunk(of: file) { chunk in
                try upload.write(chunk)
                progress?.advance(by: chunk.count)
            }
        } catch {
            upload.abort()
            throw error
        }
        return try await tracking.finishArtifactUpload(upload, actor: actor)
    }

    func artifacts(_ id: RunID, prefix: String?) async throws -> [ArtifactEntry] { try await tracking.artifacts(id, prefix: prefix) }

    func downloadArtifact(_ id: RunID, path: ArtifactPath, to destination: URL, progress: Progress?) async throws -> ArtifactEntry {
        let (entry, reader) = try await tracking.openArtifact(id, path: path, actor: actor)
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
}
