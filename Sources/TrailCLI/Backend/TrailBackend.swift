import Foundation
import TrailCore

/// TrailCLI: the `trail` commands. Each command talks to a `TrailBackend`: the local home
/// (service calls, no server needed) or a remote server (`--server URL`) over the native API.
protocol TrailBackend: Sendable {
    /// Called after a command's work: local mode signs a checkpoint over what it appended.
    func finish() async throws

    func createExperiment(name: String, tags: [Tag]) async throws -> Experiment
    func experiments(view: ViewType) async throws -> [Experiment]
    /// By decimal id or, failing that, by name.
    func experiment(_ idOrName: String) async throws -> Experiment
    func deleteExperiment(_ id: ExperimentID) async throws
    func restoreExperiment(_ id: ExperimentID) async throws
    func renameExperiment(_ id: ExperimentID, to name: String) async throws
    func setExperimentTag(_ id: ExperimentID, key: String, value: String) async throws

    func createRun(_ request: NativeAPI.CreateRun) async throws -> Run
    func run(_ id: RunID) async throws -> Run
    func updateRun(_ id: RunID, _ request: NativeAPI.UpdateRun) async throws -> RunInfo
    func deleteRun(_ id: RunID) async throws
    func restoreRun(_ id: RunID) async throws
    func logBatch(_ id: RunID, _ batch: NativeAPI.LogBatch) async throws
    func setTag(_ id: RunID, key: String, value: String?) async throws
    func tagHistory(_ id: RunID) async throws -> [TagChange]
    func logInputs(_ id: RunID, _ inputs: [DatasetInput]) async throws
    func searchRuns(_ request: NativeAPI.SearchRuns) async throws -> Page<Run>
    func metricHistory(_ id: RunID, key: String) async throws -> [Metric]

    /// Streams `file` to the run's artifact `path`.
    func uploadArtifact(_ id: RunID, path: ArtifactPath, file: URL, progress: Progress?) async throws -> ArtifactEntry
    func artifacts(_ id: RunID, prefix: String?) async throws -> [ArtifactEntry]
    /// Streams the artifact to `destination`, checking its sha256 on the way.
    func downloadArtifact(_ id: RunID, path: ArtifactPath, to destination: URL, progress: Progress?) async throws -> ArtifactEntry
}

/// Lets a local or remote experiment argument be a decimal id or a name.
func parseExperimentReference(_ text: String) -> ExperimentID? {
    try? ExperimentID(parsing: text)
}
