import TrailCore

/// TrailStore: where ModelTrail's records are kept. The `MetadataStore` protocol is the only
/// thing services see; `SQLMetadataStore` is the embedded default. Stores hold no business
/// rules: the service layer decides what a mutation is, the store makes it atomic.

/// A condition the store checks inside the write transaction, before applying any change.
/// Failing one aborts the whole batch with the corresponding `TrailError`.
public enum Precondition: Sendable, Hashable {
    /// The experiment exists (and, if `active`, is not deleted).
    case experiment(ExperimentID, mustBeActive: Bool)
    /// The run exists (and, if `active`, is not deleted).
    case run(RunID, mustBeActive: Bool)
    case registeredModel(String)
    case modelVersion(String, Int64)
    /// The logged model exists (and, if `active`, is not deleted).
    case loggedModel(String, mustBeActive: Bool)
    /// No event about any of `subjects` has been appended at or after ledger index `index`
    /// (refusals excepted): what a decision read before the transaction still holds when it
    /// commits. Failing it throws `TrailError.concurrentChange`, which callers retry.
    case noEventsSince(Int64, subjects: [Subject])
    /// The run has not ended (no end time, not in a terminal status); `field` names the
    /// frozen fact the batch changes.
    case runNotEnded(RunID, field: String)
    /// Each sealing key of `ids` exists and has not been destroyed (`field` names what it seals):
    /// an erasure that committed first wins, and no value is sealed under a destroyed key.
    case sealKeysLive([String], field: String)
    /// No active legal hold is on any of `subjects` (type, id): a hold placed first wins.
    case noActiveHold([Subject])
}

/// One change to the record. Fact rows (params, metric points, tag changes, dataset inputs,
/// artifact mappings) are only ever inserted; entity rows (experiments, runs) carry state that
/// changes, and every change is an event.
public enum Change: Sendable, Hashable {
    /// Creates an experiment; the store allocates the next decimal id and fills in the event's
    /// subject id. A taken name fails with `RESOURCE_ALREADY_EXISTS`.
    case createExperiment(name: String, tags: [Tag], timeMillis: Int64)
    case setExperimentLifecycle(ExperimentID, LifecycleStage, timeMillis: Int64)
    case renameExperiment(ExperimentID, name: String, timeMillis: Int64)
    case changeExperimentTags(ExperimentID, [TagChange])
    case createRun(RunInfo, tags: [TagChange])
    /// Sets the fields that are not nil.
    case updateRun(RunID, status: RunStatus?, endTimeMillis: Int64?, name: String?)
    case setRunLifecycle(RunID, LifecycleStage)
    /// Immutable insert: a key already logged with the same value is a no-op; with another
    /// value the batch fails with `INVALID_PARAMETER_VALUE`.
    case insertParams(RunID, [Param])
    case insertMetrics(RunID, [Metric])
    case changeRunTags(RunID, [TagChange])
    /// Idempotent per (name, digest, context).
    case insertDatasetInputs(RunID, [DatasetInput])
    /// Immutable insert: the same path with the same digest is a no-op; with another digest
    /// the batch fails with `RESOURCE_CONFLICT`.
    case putArtifact(ArtifactOwner, ArtifactEntry)
    /// Creates a logged model with its params and tags.
    case createLoggedModel(LoggedModel)
    /// Changes a logged model's status or lifecycle (nil leaves it as it is).
    case updateLoggedModel(String, status: LoggedModel.Status?, lifecycle: LifecycleStage?, timeMillis: Int64)
    case changeLoggedModelTags(String, [TagChange])
    /// Params of a logged model are immutable like a run's: same value again is a no-op.
    case insertLoggedModelParams(String, [Param])
    /// Metric points linked to a logged model; an exactly repeated point is a no-op.
    case insertLoggedModelMetrics(String, [LoggedModel.LinkedMetric])
    /// Records that a run consumed or produced logged models (idempotent per link).
    case linkRunModels(RunID, [RunModelLink])
    /// Sets or deletes tags of a registered model (`version` nil) or of one version.
    case changeRegistryTags(name: String, version: Int64?, [TagChange])
    /// Sets the description of a registered model (`version` nil) or of one version.
    case describeRegistryEntry(name: String, version: Int64?, description: String, timeMillis: Int64)
    /// A taken name fails with `RESOURCE_ALREADY_EXISTS`.
    case createRegisteredModel(name: String, description: String, timeMillis: Int64)
    /// The store allocates the next version number (max + 1; numbers are never reused).
    /// Its `tags` are the version's first tag changes.
    case createModelVersion(name: String, runID: RunID?, source: String, manifest: ModelManifest, description: String, tags: [TagChange], timeMillis: Int64)
    /// Points `alias` at `version`, or removes it when `version` is nil; recorded in the history.
    case setAlias(name: String, alias: String, version: Int64?, reason: String, timeMillis: Int64)
    /// Moves a version to `stage`; with `archiveExisting`, other versions in that stage move to
    /// Archived in the same change. Each move is recorded in the history.
    case setStage(name: String, version: Int64, stage: ModelStage, archiveExisting: Bool, reason: String, timeMillis: Int64)
    /// A taken name fails with `RESOURCE_ALREADY_EXISTS`.
    case createUser(name: String, roles: Set<Role>, timeMillis: Int64)
    /// Sets the fields that are not nil.
    case updateUser(name: String, roles: Set<Role>?, disabled: Bool?)
    case createToken(TokenInfo)
    case revokeToken(id: String, timeMillis: Int64)
    /// Stores the next version of the policy for (name, target).
    case setPolicy(name: String, target: String, document: String, timeMillis: Int64)
    case recordApproval(
        name: String, version: Int64, target: String, approver: String, rootDigest: Digest, decision: String, comment: String, timeMillis: Int64)
    /// Trusts a key for predicate types, or (with `revoked`) withdraws that trust: a new row.
    case setTrustedKey(keyID: String, name: String, publicKeyHex: String, predicateTypes: [String], revoked: Bool, timeMillis: Int64)
    /// Records a verified attestation (its `eventIndex` is filled in by the store).
    case recordAttestation(Attestation)
    /// A deployment started, switched version or stopped (`eventIndex` filled in by the store).
    case recordDeployment(Deployment)
    /// One group commit of predictions with their drift counts.
    case recordPredictions(PredictionBatch)
    /// Stores new sealing keys (a prediction's raw input key, in its group commit).
    case createSealKeys([SealKey])
    /// Destroys the live keys of `ids` (their sealed values become unreadable) and records each.
    case shredSealKeys([String], timeMillis: Int64)
    /// Places a legal hold.
    case placeLegalHold(LegalHold)
    /// Releases an active legal hold.
    case releaseLegalHold(id: String, reason: String, timeMillis: Int64)
    /// Sets how long one kind is kept.
    case setRetention(RetentionSetting)
    /// Removes the rows each write names, after checking they are still exactly the rows its
    /// event recorded (count and digest), and records each removal in `retired_writes`.
    case retireWrites([RetiredWrite], timeMillis: Int64)
    /// Records blobs about to be removed from the artifact store (`retired_blobs`).
    case retireBlobs([Digest], timeMillis: Int64)
    /// One accepted OpenLineage event (its bytes already stored as the blob `body`).
    case recordOpenLineage(OpenLineageEvent, body: Digest, bodyBytes: Int64, receivedMillis: Int64)
    /// Registers a webhook endpoint; its secret is stored outside the record.
    case createWebhook(WebhookEndpoint, secret: String)
    /// Removes an active endpoint: its secret is destroyed and its undelivered messages cancelled.
    case removeWebhook(id: String, timeMillis: Int64)
    /// Allows a network (`removedTimeMillis` nil) or withdraws the allowance.
    case setWebhookAllowance(WebhookAllowance)
}

/// Everything one mutation does: checked, applied and recorded in one transaction.
/// The part of the store a change belongs to; each backend applies each concern's changes in
/// a file of its own, inside the batch's one transaction.
public enum StoreConcern: String, Sendable, CaseIterable {
    case tracking, registry, identity, serving, privacy, lineage, integrations
}

extension Change {
    public var concern: StoreConcern {
        switch self {
        case .createExperiment, .setExperimentLifecycle, .renameExperiment, .changeExperimentTags, .createRun, .updateRun, .setRunLifecycle,
            .insertParams, .insertMetrics, .changeRunTags, .insertDatasetInputs, .putArtifact, .createLoggedModel, .updateLoggedModel,
            .changeLoggedModelTags, .insertLoggedModelParams, .insertLoggedModelMetrics, .linkRunModels:
            .tracking
        case .changeRegistryTags, .describeRegistryEntry, .createRegisteredModel, .createModelVersion, .setAlias, .setStage, .setPolicy,
            .recordApproval, .setTrustedKey, .recordAttestation:
            .registry
        case .createUser, .updateUser, .createToken, .revokeToken:
            .identity
        case .recordDeployment, .recordPredictions:
            .serving
        case .createSealKeys, .shredSealKeys, .placeLegalHold, .releaseLegalHold, .setRetention, .retireWrites, .retireBlobs:
            .privacy
        case .recordOpenLineage:
            .lineage
        case .createWebhook, .removeWebhook, .setWebhookAllowance:
            .integrations
        }
    }
}

public struct WriteBatch: Sendable {
    public var preconditions: [Precondition]
    public var changes: [Change]
    public var event: EventDraft
    /// Record the event even when no change wrote a row: access events (a download, an
    /// export, a verification result) are records of their own.
    public var recordWhenUnchanged: Bool

    public init(preconditions: [Precondition] = [], changes: [Change], event: EventDraft, recordWhenUnchanged: Bool = false) {
        self.preconditions = preconditions
        self.changes = changes
        self.event = event
        self.recordWhenUnchanged = recordWhenUnchanged
    }
}

/// What a committed batch produced.
public struct WriteReceipt: Sendable, Hashable {
    /// The ledger index of the batch's event; nil when every change was a no-op (nothing was
    /// written, so nothing was recorded).
    public var eventIndex: Int64?
    /// The id allocated by a `createExperiment` change.
    public var experimentID: ExperimentID?
    /// The number allocated by a `createModelVersion` change.
    public var modelVersion: Int64?

    public init(eventIndex: Int64?, experimentID: ExperimentID? = nil, modelVersion: Int64? = nil) {
        self.eventIndex = eventIndex
        self.experimentID = experimentID
        self.modelVersion = modelVersion
    }
}

/// A run search, compiled by the store to SQL with bound parameters only.
public struct RunQuery: Sendable, Hashable {
    public var experimentIDs: [ExperimentID]
    public var filter: RunFilter
    public var orderBy: [RunOrder]
    public var view: ViewType
    public var maxResults: Int
    public var offset: Int

    public init(
        experimentIDs: [ExperimentID], filter: RunFilter = RunFilter(clauses: []), orderBy: [RunOrder] = [],
        view: ViewType = .activeOnly, maxResults: Int = 1000, offset: Int = 0
    ) {
        self.experimentIDs = experimentIDs
        self.filter = filter
        self.orderBy = orderBy
        self.view = view
        self.maxResults = maxResults
        self.offset = offset
    }
}

/// A ledger event as stored: its index, its canonical bytes and the indexed columns.
public struct StoredEvent: Sendable, Hashable {
    public var index: Int64
    public var eventID: String
    public var action: String
    public var actor: Actor
    public var subject: Subject
    public var timeMillis: Int64
    public var body: [UInt8]
    /// The `actor_type` column exactly as stored (an unknown value reads as `user` in `actor`).
    public var actorTypeColumn: String?

    public init(
        index: Int64, eventID: String, action: String, actor: Actor, subject: Subject, timeMillis: Int64, body: [UInt8], actorTypeColumn: String? = nil
    ) {
        self.actorTypeColumn = actorTypeColumn
        self.index = index
        self.eventID = eventID
        self.action = action
        self.actor = actor
        self.subject = subject
        self.timeMillis = timeMillis
        self.body = body
    }
}
