import TrailCore

/// The metadata store every backend implements. Services talk only to this protocol.
///
/// Writes go through exactly one method, `apply(_:)`, which checks the batch's preconditions,
/// applies its changes and appends its one ledger event in a single transaction, and returns
/// only once the transaction is durable. There is no other way to write.
public protocol MetadataStore: Sendable {
    /// Applies `batch` atomically. Throws `TrailError` (and changes nothing) when a
    /// precondition or an immutability rule fails.
    func apply(_ batch: WriteBatch) async throws -> WriteReceipt

    func experiment(id: ExperimentID) async throws -> Experiment?
    /// The experiment with this name (an active one is preferred over a deleted one).
    func experiment(named name: String) async throws -> Experiment?
    /// Experiments ordered by creation time (newest first), then id.
    func experiments(view: ViewType, maxResults: Int, offset: Int) async throws -> Page<Experiment>
    func experimentTagHistory(id: ExperimentID) async throws -> [TagChange]

    /// The run with its params, latest metrics, current tags and dataset inputs.
    func run(id: RunID) async throws -> Run?
    func searchRuns(_ query: RunQuery) async throws -> Page<Run>
    /// Every point logged for `key`, ordered by timestamp, step, value.
    func metricHistory(run: RunID, key: String, maxResults: Int, offset: Int) async throws -> Page<Metric>
    func runTagHistory(run: RunID) async throws -> [TagChange]

    func artifacts(run: RunID) async throws -> [ArtifactEntry]
    func artifact(run: RunID, path: ArtifactPath) async throws -> ArtifactEntry?
    /// Every digest any run refers to (for blob reconciliation).
    func referencedDigests() async throws -> Set<Digest>

    /// Number of events in the ledger.
    func eventCount() async throws -> Int64
    /// Events `[from, to)` in index order.
    func events(from: Int64, to: Int64) async throws -> [StoredEvent]
}
