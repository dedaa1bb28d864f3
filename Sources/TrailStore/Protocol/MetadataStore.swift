import TrailCore
import TrailLedger

// What every backend reads, one protocol per concern. Reads never write; each is one
// read-only transaction (SQLite: a reader connection's snapshot of the WAL).

/// Experiments, runs, metrics, params, tags, dataset inputs, artifacts and logged models, and the events that wrote them.
public protocol TrackingReads: Sendable {
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
    /// Artifacts of a run or a logged model, by path.
    func artifacts(owner: ArtifactOwner) async throws -> [ArtifactEntry]
    func artifact(owner: ArtifactOwner, path: ArtifactPath) async throws -> ArtifactEntry?
    func loggedModel(id: String) async throws -> LoggedModel?
    /// Logged models of the experiments, newest first.
    func loggedModels(experimentIDs: [ExperimentID]) async throws -> [LoggedModel]
    func runModelLinks(run: RunID) async throws -> [RunModelLink]
    /// Every digest any run refers to (for blob reconciliation).
    func referencedDigests() async throws -> Set<Digest>
    /// The ledger events that wrote the facts lineage shows: for each metric key of a run, the
    /// event that wrote its latest point (as `latest_metrics` defines it); for each dataset
    /// input (name, digest, context), the event that logged it.
    func metricEvents(run: RunID) async throws -> [String: Int64]
    func datasetInputEvents(run: RunID) async throws -> [DatasetInputKey: Int64]
    /// The event that wrote the run's current state (status, end time, name, lifecycle).
    func runStateEvent(run: RunID) async throws -> Int64?
    /// Who wrote what a model version stands on: the actor ids of every event that wrote facts
    /// about the owner (run or logged model): its creation, metrics, params, tags, inputs,
    /// files and state changes (not reads, not refusals).
    func contributors(owner: ArtifactOwner) async throws -> Set<String>
    /// Runs that consumed a dataset digest.
    func runs(datasetDigest: String) async throws -> [RunID]
}

/// Registered models, versions, aliases and stages, policies, approvals, trusted keys and attestations.
public protocol RegistryReads: Sendable {
    /// Current tags of a registered model (`version` nil) or of one version.
    func registryTags(name: String, version: Int64?) async throws -> [Tag]
    func allRegisteredModels() async throws -> [RegisteredModel]
    func allModelVersions() async throws -> [ModelVersion]
    /// Current tags of every registered model (version 0) and version, by name and version.
    func allRegistryTags() async throws -> [String: [Int64: [Tag]]]
    func registeredModel(name: String) async throws -> RegisteredModel?
    /// Registered models ordered by name.
    func registeredModels(maxResults: Int, offset: Int) async throws -> Page<RegisteredModel>
    func modelVersion(name: String, version: Int64) async throws -> ModelVersion?
    /// All versions of a model, newest first.
    func modelVersions(name: String) async throws -> [ModelVersion]
    /// Every alias and stage change of a model, oldest first.
    func registryHistory(name: String) async throws -> [RegistryChange]
    /// The policy in force for (name, target): its version and document. Targets match
    /// case-insensitively (`@Production` is `@production`).
    func policy(name: String, target: String) async throws -> (version: Int64, document: String)?
    /// The event that created version `version` of `name`.
    func modelVersionCreationEvent(name: String, version: Int64) async throws -> Int64?
    /// The event that stored version `version` of the policy for (name, target).
    func policyEvent(name: String, target: String, version: Int64) async throws -> Int64?
    /// The documents of every policy in force, over all models and targets.
    func policiesInForce() async throws -> [String]
    /// Approvals and rejections of a version, oldest first.
    func approvals(name: String, version: Int64) async throws -> [Approval]
    /// Every trusted key, as its latest row says (revoked ones included).
    func trustedKeys() async throws -> [TrustedKey]
    /// Attestations of a version, oldest first.
    func attestations(name: String, version: Int64) async throws -> [Attestation]
}

/// Deployments, predictions and what was served.
public protocol ServingReads: Sendable {
    /// Deployment rows, oldest first, for one deployment or (nil) all of a model.
    func deployments(id: String?, modelName: String?) async throws -> [Deployment]
    /// A prediction with its group commit's event index and its position in that commit.
    func prediction(id: String) async throws -> (record: PredictionRecord, eventIndex: Int64, position: Int)?
    /// The predictions of one group commit, in commit order.
    func predictions(eventIndex: Int64) async throws -> [PredictionRecord]
    /// Summed served-input counts per feature of a model version in [from, to).
    func servedFeatureCounts(name: String, version: Int64, fromMillis: Int64, toMillis: Int64) async throws -> [String: [Int]]
    /// Prediction counts of a deployment per time bucket (bucket start → (ok, refused)).
    func predictionCounts(deploymentID: String, modelName: String, modelVersion: Int64, bucketMillis: Int64) async throws -> [(bucket: Int64, ok: Int64, refused: Int64)]
}

/// Users and tokens.
public protocol IdentityReads: Sendable {
    func user(name: String) async throws -> User?
    func users() async throws -> [User]
    func token(id: String) async throws -> TokenInfo?
    /// A token with its user, in one read (every authenticated request asks).
    func credential(tokenID: String) async throws -> (TokenInfo, User)?
    func tokens(user: String?) async throws -> [TokenInfo]
}

/// The ledger: events, Merkle nodes, checkpoints, cosignatures, and what verification reads.
public protocol LedgerReads: Sendable {
    /// Number of events in the ledger.
    func eventCount() async throws -> Int64
    /// Events `[from, to)` in index order.
    func events(from: Int64, to: Int64) async throws -> [StoredEvent]
    func event(id: String) async throws -> StoredEvent?
    /// Events matching `query`, in index order, one page.
    func events(matching query: EventQuery) async throws -> [StoredEvent]
    /// Stored Merkle nodes; addresses that are absent are missing from the result.
    func merkleNodes(_ addresses: [NodeAddress]) async throws -> [NodeAddress: TreeHash]
    func latestCheckpointRecord() async throws -> CheckpointRecord?
    /// The cosignature lines of the checkpoint of `size`, by witness verifier key.
    func cosignatures(size: UInt64) async throws -> [String: String]
    /// The largest checkpoint size `witness` has cosigned here, or nil.
    func lastCosignedSize(witness: String) async throws -> UInt64?
    /// The size of the checkpoint cosigned last by any witness (witnesses cosign growing sizes,
    /// so this is the newest witnessed checkpoint); nil when none was ever cosigned.
    func latestCosignedSize() async throws -> UInt64?
    /// Every stored cosignature: size, witness verifier key, line.
    func allCosignatures() async throws -> [(size: UInt64, witness: String, line: String)]
    /// Every checkpoint record, by size; and the size up to which checkpoints predate records.
    func checkpointRecords() async throws -> (records: [CheckpointRecord], since: Int64)
    func latestCheckpoint() async throws -> StoredCheckpoint?
    func checkpoint(size: UInt64) async throws -> StoredCheckpoint?
    /// Every checkpoint, smallest first.
    func checkpoints() async throws -> [StoredCheckpoint]
    /// For verification: the recorded rows of `table` written by events in `range`, grouped by
    /// event index, each row as the canonical JSON array bytes its event's write digest covers.
    func recordedRows(table: String, events range: Range<Int64>) async throws -> [Int64: [[UInt8]]]
    /// For verification: stored nodes of one level with index in `range`.
    func merkleNodes(level: Int, range: Range<UInt64>) async throws -> [UInt64: TreeHash]
    /// The tables whose rows events record digests of.
    var recordedTables: [String] { get }
    /// For verification: entity rows that differ from their latest recorded state, and derived
    /// projections that differ from the facts they are derived from, one message each.
    func derivedStateMismatches() async throws -> [String]
}

/// Sealing keys, legal holds and retention settings (issue #18).
public protocol PrivacyReads: Sendable {
    /// The keys of `ids` that exist (destroyed ones with nil bytes).
    func sealKeys(ids: [String]) async throws -> [String: SealKey]
    /// The recorded destruction of each of `ids` that was destroyed.
    func sealKeyShreds(ids: [String]) async throws -> [String: SealKeyShred]
    /// How many keys of each kind were destroyed.
    func sealKeyShredCounts() async throws -> [SealKey.Kind: Int64]
    /// Keys recorded as destroyed whose bytes are still stored (at most 100): each is a lie.
    func shreddedKeysStillStored() async throws -> [String]
    /// Live raw-input keys created before `beforeMillis`, oldest first, at most `limit`, with
    /// the prediction each seals and its input digest; scopes (model names) in `excluding`
    /// are left out.
    func liveInputKeys(beforeMillis: Int64, excluding: Set<String>, limit: Int) async throws
        -> [(key: SealKey, predictionID: String, inputDigest: String)]
    /// Every legal hold, oldest first.
    func legalHolds() async throws -> [LegalHold]
    /// The retention setting of every kind that has one.
    func retentionSettings() async throws -> [RetentionSetting]
    /// Events whose rows in `table` (`predictions` or `served_feature_counts`) all have a time
    /// before `beforeMillis` and none a model in `excludingModels`, oldest first, at most
    /// `limit`, with the prediction ids they hold (for `predictions`).
    func retirableEvents(table: String, beforeMillis: Int64, excludingModels: Set<String>, limit: Int) async throws
        -> [(event: Int64, predictionIDs: [String], models: [String])]
    /// Every retired write, by table and the event that wrote its rows.
    func retiredWrites() async throws -> [String: [Int64: RetiredWrite]]
    /// Each retired blob with the last event that retired it.
    func retiredBlobs() async throws -> [Digest: Int64]
    /// Referenced digests with a reference (artifact, logged model file, attestation) written
    /// at or after event `since[digest]`: a blob retired then referenced again must be stored.
    func digestsReferencedSince(_ since: [Digest: Int64]) async throws -> Set<Digest>
    /// The blobs only runs deleted before `beforeMillis` refer to: no live (or more recently
    /// deleted) run, no run with a registered version, no logged model, no attestation and no OpenLineage event
    /// refers to the same bytes. Each with the runs that refer to it.
    func deletedRunBlobs(beforeMillis: Int64) async throws -> [Digest: Set<String>]
}

/// OpenLineage events accepted from other systems (issue #19).
public protocol LineageReads: Sendable {
    /// Stored events matching `query`, newest first, with their datasets.
    func openLineageEvents(matching query: OpenLineageQuery) async throws -> [OpenLineageRecord]
    /// Every distinct (job, role, dataset) the stored events name (at most 100,000).
    func openLineageEdges() async throws -> [OpenLineageEdge]
    /// ModelTrail's own edges: each active run's dataset inputs and registered versions (at most 100,000).
    func runDatasetEdges() async throws -> [RunDatasetEdge]
    /// Where delivery to `receiver` stands (a new cursor at 0 if it has none).
    func openLineageCursor(receiver: String) async throws -> OpenLineageCursor
    /// Every receiver's cursor.
    func openLineageCursors() async throws -> [OpenLineageCursor]
    /// Recorded predictions per (model, version, outcome), for monitoring.
    func predictionCounts() async throws -> [(model: String, version: Int64, outcome: String, count: Int64)]
}

/// Every read of the store (the read-only side, as Trillian's `ReadOnlyLogTreeTX`).
public protocol MetadataReads: TrackingReads, RegistryReads, ServingReads, IdentityReads, LedgerReads, PrivacyReads, LineageReads {}

/// The metadata store every backend implements: every read, and the writes. Services talk only
/// to this protocol (or to the narrower read protocols they need).
///
/// Writes go through exactly one method, `apply(_:)`, which checks the batch's preconditions,
/// applies its changes and appends its one ledger event in a single read-write transaction, and
/// returns only once the transaction is durable. Checkpoints and cosignatures are signatures
/// over the ledger, stored beside it (append-only too). There is no other way to write.
public protocol MetadataStore: MetadataReads {
    /// Saves a delivery cursor (operational state outside the record).
    func saveOpenLineageCursor(_ cursor: OpenLineageCursor) async throws
    /// A read-only transaction (Trillian's `ReadOnlyLogTreeTX`): every read through the returned
    /// view sees one state of the store, whatever commits meanwhile.
    func readOnly() async throws -> any MetadataReads
    /// Applies `batch` atomically. Throws `TrailError` (and changes nothing) when a
    /// precondition or an immutability rule fails.
    func apply(_ batch: WriteBatch) async throws -> WriteReceipt
    /// Checkpoints are signatures over the ledger, not events in it; they are append-only too.
    /// Stores a checkpoint and its record in one transaction, if the newest record is still
    /// `previous` (else `TrailError.concurrentChange`); a checkpoint of that size already
    /// stored makes it a no-op.
    func insertCheckpoint(_ checkpoint: StoredCheckpoint, record: CheckpointRecord, previous: CheckpointRecord?) async throws
    /// Stores a witness's cosignature line of the checkpoint of `size` (once per witness and size).
    func insertCosignature(size: UInt64, witness: String, line: String, timeMillis: Int64) async throws
    /// Key material is not a fact: stores `key` unless a key of its id exists, and returns the
    /// key stored under that id (which may be an earlier, or a destroyed, one).
    func ensureSealKey(_ key: SealKey) async throws -> SealKey
}

/// A signed checkpoint as stored.
/// The signed record of a checkpoint row: the note's text is
/// `modeltrail-checkpoint-record/v1`, `size N`, `time T`, `note <sha256 hex of the checkpoint
/// note>`, `prev <sha256 hex of the previous record, or none>`, signed with the log's key.
public struct CheckpointRecord: Sendable, Hashable {
    public var size: UInt64
    public var record: String
    public init(size: UInt64, record: String) {
        self.size = size
        self.record = record
    }
}

/// A dataset input's identity within a run.
public struct DatasetInputKey: Sendable, Hashable {
    public var name: String
    public var digest: String
    public var context: String
    public init(name: String, digest: String, context: String) {
        self.name = name
        self.digest = digest
        self.context = context
    }
}

public struct StoredCheckpoint: Sendable, Hashable {
    public var size: UInt64
    public var root: TreeHash
    public var timeMillis: Int64
    public var note: String

    public init(size: UInt64, root: TreeHash, timeMillis: Int64, note: String) {
        self.size = size
        self.root = root
        self.timeMillis = timeMillis
        self.note = note
    }
}

/// A filter over ledger events; nil fields match everything.
public struct EventQuery: Sendable, Hashable {
    public var subjectType: String?
    public var subjectID: String?
    public var actorID: String?
    public var action: String?
    public var fromTimeMillis: Int64?
    public var toTimeMillis: Int64?
    /// Return events with index ≥ this (for paging).
    public var fromIndex: Int64
    public var limit: Int

    public init(
        subjectType: String? = nil, subjectID: String? = nil, actorID: String? = nil, action: String? = nil, fromTimeMillis: Int64? = nil,
        toTimeMillis: Int64? = nil, fromIndex: Int64 = 0, limit: Int = 100
    ) {
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.actorID = actorID
        self.action = action
        self.fromTimeMillis = fromTimeMillis
        self.toTimeMillis = toTimeMillis
        self.fromIndex = fromIndex
        self.limit = limit
    }
}

extension MetadataStore {
    /// Appends an event that stands on its own: a refusal, an access, a verdict (nothing else
    /// is written). Returns its ledger index.
    @discardableResult
    public func record(_ event: EventDraft) async throws -> Int64? {
        try await apply(WriteBatch(changes: [], event: event, recordWhenUnchanged: true)).eventIndex
    }
}
