import Foundation

/// A key that seals stored values (AES-GCM): a raw prediction input, or the values of one
/// sensitive param or tag key of one run. Destroying it erases what it sealed.
public struct SealKey: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// One prediction's raw input; scope is the model's name.
        case rawInput = "raw_input"
        /// The values of one sensitive key of one run; scope is the run id.
        case runValue = "run_value"
    }

    public var keyID: String
    public var kind: Kind
    public var scope: String
    /// Nil once the key was destroyed.
    public var bytes: [UInt8]?
    public var creationTimeMillis: Int64

    public init(keyID: String, kind: Kind, scope: String, bytes: [UInt8]?, creationTimeMillis: Int64) {
        self.keyID = keyID
        self.kind = kind
        self.scope = scope
        self.bytes = bytes
        self.creationTimeMillis = creationTimeMillis
    }

    /// The key of one prediction's raw input.
    public static func inputKeyID(prediction: String) -> String { "in:" + prediction }

    /// The key of one sensitive key's values in one run.
    public static func runValueKeyID(run: RunID, key: String) -> String { "rv:\(run.value):\(key)" }
}

/// A destroyed key, as recorded.
public struct SealKeyShred: Sendable, Hashable, Codable {
    public var keyID: String
    public var kind: SealKey.Kind
    public var scope: String
    public var creationTimeMillis: Int64
    public var shreddedTimeMillis: Int64
    public var eventIndex: Int64

    public init(keyID: String, kind: SealKey.Kind, scope: String, creationTimeMillis: Int64, shreddedTimeMillis: Int64, eventIndex: Int64) {
        self.keyID = keyID
        self.kind = kind
        self.scope = scope
        self.creationTimeMillis = creationTimeMillis
        self.shreddedTimeMillis = shreddedTimeMillis
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", kind, scope, creationTimeMillis = "created_time", shreddedTimeMillis = "shredded_time", eventIndex = "event_index"
    }
}

/// A legal hold: while active, nothing it covers is erased or removed by retention.
public struct LegalHold: Sendable, Hashable, Codable {
    public enum SubjectType: String, Sendable, Codable, CaseIterable {
        /// A registered model: its versions' source runs and its predictions.
        case model
        /// One run.
        case run
        /// A dataset digest: every run that read it.
        case dataset
    }

    public var holdID: String
    public var subjectType: SubjectType
    public var subjectID: String
    public var reason: String
    public var actor: String
    public var creationTimeMillis: Int64
    public var releasedTimeMillis: Int64?
    public var releaseReason: String?
    public var eventIndex: Int64

    public init(
        holdID: String, subjectType: SubjectType, subjectID: String, reason: String, actor: String, creationTimeMillis: Int64,
        releasedTimeMillis: Int64? = nil, releaseReason: String? = nil, eventIndex: Int64 = 0
    ) {
        self.holdID = holdID
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.reason = reason
        self.actor = actor
        self.creationTimeMillis = creationTimeMillis
        self.releasedTimeMillis = releasedTimeMillis
        self.releaseReason = releaseReason
        self.eventIndex = eventIndex
    }

    public var isActive: Bool { releasedTimeMillis == nil }

    enum CodingKeys: String, CodingKey {
        case holdID = "hold_id", subjectType = "subject_type", subjectID = "subject_id", reason, actor, creationTimeMillis = "created_time"
        case releasedTimeMillis = "released_time", releaseReason = "release_reason", eventIndex = "event_index"
    }
}

/// What retention removes, per kind.
public enum RetentionKind: String, Sendable, Codable, CaseIterable {
    /// Raw prediction inputs (kept only by deployments started with `--keep-inputs`): their
    /// keys are destroyed; the prediction records and their input digests stay.
    case rawInputs = "raw_inputs"
    /// Prediction records (and their outputs and any sealed input): the rows of each group
    /// commit whose predictions are all older than the window are removed; the event, its
    /// write digest and its Merkle leaf stay, and the removal is recorded (`retired_writes`).
    case predictionRecords = "prediction_records"
    /// Served-input histograms (drift counts), per group commit, the same way.
    case servedHistograms = "served_histograms"
    /// The stored files (blobs) of runs deleted longer ago than the window, unless another
    /// live run, a registered version, a logged model or an attestation still refers to the
    /// same bytes; the artifact rows stay, and each removed blob is recorded (`retired_blobs`).
    case deletedRunArtifacts = "deleted_run_artifacts"
}

/// The rows one event wrote to one table, removed by retention. The event (with the digest
/// and count of those rows) stays in the log, so `ledger verify` accepts their absence by
/// this record, which is itself covered by the write digest of the retention event.
public struct RetiredWrite: Sendable, Hashable, Codable {
    /// The tables whose rows retention may remove.
    public static let tables: Set<String> = ["predictions", "prediction_outputs", "served_feature_counts"]

    public var table: String
    public var writtenEvent: Int64
    public var rows: Int64
    public var digest: String
    public var eventIndex: Int64

    public init(table: String, writtenEvent: Int64, rows: Int64, digest: String, eventIndex: Int64 = 0) {
        self.table = table
        self.writtenEvent = writtenEvent
        self.rows = rows
        self.digest = digest
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey { case table, writtenEvent = "written_event", rows, digest, eventIndex = "event_index" }
}

/// How long one kind is kept.
public struct RetentionSetting: Sendable, Hashable, Codable {
    public var kind: RetentionKind
    public var days: Int64
    public var timeMillis: Int64
    public var actor: String
    public var eventIndex: Int64

    public init(kind: RetentionKind, days: Int64, timeMillis: Int64, actor: String, eventIndex: Int64 = 0) {
        self.kind = kind
        self.days = days
        self.timeMillis = timeMillis
        self.actor = actor
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey { case kind, days, timeMillis = "time", actor, eventIndex = "event_index" }
}
