import Foundation
import TrailCore
import TrailService

/// TrailCLI: the `trail` commands. Each command talks to a `TrailBackend`: the local home
/// (`LocalClient`: service calls, no server needed) or a remote server (`--server URL`,
/// `RemoteBackend`) over the native API. Both are the same `TrailClient`, which the training
/// pipeline and the demo also use, plus the listing and streaming calls only commands need.
protocol TrailBackend: TrailClient {
    /// Called after a command's work: local mode signs a checkpoint over what it appended.
    func finish() async throws

    func experiments(view: ViewType) async throws -> [Experiment]
    func deleteExperiment(_ id: ExperimentID) async throws
    func restoreExperiment(_ id: ExperimentID) async throws
    func renameExperiment(_ id: ExperimentID, to name: String) async throws
    func setExperimentTag(_ id: ExperimentID, key: String, value: String) async throws

    func deleteRun(_ id: RunID) async throws
    func restoreRun(_ id: RunID) async throws
    func tagHistory(_ id: RunID) async throws -> [TagChange]
    func searchRuns(_ request: NativeAPI.SearchRuns) async throws -> Page<Run>
    func metricHistory(_ id: RunID, key: String) async throws -> [Metric]

    /// Streams `file` to the run's artifact `path`.
    func uploadArtifact(_ id: RunID, path: ArtifactPath, file: URL, progress: Progress?) async throws -> ArtifactEntry
    func artifacts(_ id: RunID, prefix: String?) async throws -> [ArtifactEntry]
    /// Streams the artifact to `destination`, checking its sha256 on the way.
    func downloadArtifact(_ id: RunID, path: ArtifactPath, to destination: URL, progress: Progress?) async throws -> ArtifactEntry

    /// Streams the ledger export (JSON lines) to `write`; returns the number of events.
    func exportLedger(write: @escaping @Sendable ([UInt8]) throws -> Void, progress: (@Sendable (Int64, Int64) -> Void)?) async throws -> Int64
}

/// Lets a local or remote experiment argument be a decimal id or a name.
func parseExperimentReference(_ text: String) -> ExperimentID? {
    try? ExperimentID(parsing: text)
}
