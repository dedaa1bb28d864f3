import Foundation
import TrailCore

/// One model version's audit document, for an auditor who has nothing else: what the version
/// is, what produced it, what the gate checked, who decided, where it ran, and whether the
/// record still verifies. `AuditReportBuilder` gathers it from the services; the renderers
/// (`html()`, `markdown()`, `json()`) are pure functions of it.
///
/// The JSON form is a stable, versioned schema (`docs/report.md`): keys are snake_case, times
/// are milliseconds since the epoch (UTC), digests are `sha256:<hex>`. Fields are only ever
/// added within a schema version; a removal or a change of meaning bumps `schema_version`.
/// Every list a client could make long is capped, with the count of what was left out.
public struct AuditReport: Sendable, Codable, Hashable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var generatedAt: Int64
    /// Who asked for the report (the authenticated actor; the OS user locally).
    public var generatedBy: Actor
    public var subject: SubjectSection
    public var identity: IdentitySection
    public var lineage: LineageSection
    /// Nil when the version has no source run in the record (e.g. registered from a logged model).
    public var training: TrainingSection?
    public var policies: [PolicySection]
    public var approvals: ListSection<ApprovalEntry>
    public var attestations: ListSection<AttestationEntry>
    public var promotions: PromotionSection
    public var deployments: DeploymentSection
    public var drift: ListSection<DriftEntry>
    public var integrity: IntegritySection
    public var modelCard: TextDocument?

    public init(
        schemaVersion: Int = AuditReport.currentSchemaVersion, generatedAt: Int64, generatedBy: Actor, subject: SubjectSection,
        identity: IdentitySection, lineage: LineageSection, training: TrainingSection?, policies: [PolicySection],
        approvals: ListSection<ApprovalEntry>, attestations: ListSection<AttestationEntry>, promotions: PromotionSection,
        deployments: DeploymentSection, drift: ListSection<DriftEntry>, integrity: IntegritySection, modelCard: TextDocument?
    ) {
        self.schemaVersion = schemaVersion
        self.generatedAt = generatedAt
        self.generatedBy = generatedBy
        self.subject = subject
        self.identity = identity
        self.lineage = lineage
        self.training = training
        self.policies = policies
        self.approvals = approvals
        self.attestations = attestations
        self.promotions = promotions
        self.deployments = deployments
        self.drift = drift
        self.integrity = integrity
        self.modelCard = modelCard
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", generatedAt = "generated_at", generatedBy = "generated_by", subject, identity, lineage, training
        case policies, approvals, attestations, promotions, deployments, drift, integrity, modelCard = "model_card"
    }

    /// A capped list: at most the cap's items (the newest, for histories), and how many more
    /// the record holds.
    public struct ListSection<Item: Sendable & Codable & Hashable>: Sendable, Codable, Hashable {
        public var items: [Item]
        public var total: Int
        public var omitted: Int

        public init(items: [Item], total: Int) {
            self.items = items
            self.total = max(total, items.count)
            omitted = self.total - items.count
        }

        /// The first `cap` of `all` (or the last `cap`, `newest: true`), with the count left out.
        public init(_ all: [Item], cap: Int, newest: Bool = false) {
            self.init(items: Array(newest ? all.suffix(cap) : all.prefix(cap)), total: all.count)
        }

        enum CodingKeys: String, CodingKey { case items, total, omitted }
    }

    /// A key and its value (a param, a tag).
    public struct Pair: Sendable, Codable, Hashable {
        public var key: String
        public var value: String
    }

    /// A file by digest.
    public struct FileEntry: Sendable, Codable, Hashable {
        public var path: String
        public var sha256: String
        public var sizeBytes: Int64
        enum CodingKeys: String, CodingKey { case path, sha256, sizeBytes = "size_bytes" }
    }

    /// What was asked for and what it resolved to.
    public struct SubjectSection: Sendable, Codable, Hashable {
        public var name: String
        /// The reference as given: an alias, a stage, or a version number.
        public var reference: String
        /// `alias`, `stage` or `version`.
        public var referenceKind: String
        public var version: Int64
        enum CodingKeys: String, CodingKey { case name, reference, referenceKind = "reference_kind", version }
    }

    public struct IdentitySection: Sendable, Codable, Hashable {
        public var name: String
        public var version: Int64
        public var modelDescription: String
        public var versionDescription: String
        public var rootDigest: String
        public var source: String
        public var runID: String?
        public var stage: String
        public var aliases: [String]
        public var registeredBy: Actor
        public var registeredAt: Int64
        /// The ledger event that created the version.
        public var registrationEventIndex: Int64?
        public var files: ListSection<FileEntry>
        enum CodingKeys: String, CodingKey {
            case name, version, modelDescription = "model_description", versionDescription = "version_description", rootDigest = "root_digest"
            case source, runID = "run_id", stage, aliases, registeredBy = "registered_by", registeredAt = "registered_at"
            case registrationEventIndex = "registration_event_index", files
        }
    }

    /// Model → promotion → policy → approvals → attestations → version → run → data, code,
    /// environment, metrics: each link with the ledger event that wrote it and that event's
    /// inclusion proof against the signed checkpoint of `checkpoint_size` events.
    public struct LineageSection: Sendable, Codable, Hashable {
        public var checkpointSize: UInt64
        public var dataSHA256: String?
        public var gitCommit: String?
        public var environmentSHA256: String?
        public var links: [Link]
        public var linksOmitted: Int
        public var proven: Int
        public var unproven: Int

        public struct Link: Sendable, Codable, Hashable {
            public var kind: String
            public var summary: String
            public var eventIndex: Int64?
            public var proven: Bool
            public var proof: Proof?
            enum CodingKeys: String, CodingKey { case kind, summary, eventIndex = "event_index", proven, proof }
        }

        /// An RFC 9162 inclusion proof, hashes in base64, against the signed checkpoint note.
        public struct Proof: Sendable, Codable, Hashable {
            public var index: UInt64
            public var treeSize: UInt64
            public var leafHash: String
            public var path: [String]
            enum CodingKeys: String, CodingKey { case index, treeSize = "tree_size", leafHash = "leaf_hash", path }
        }

        enum CodingKeys: String, CodingKey {
            case checkpointSize = "checkpoint_size", dataSHA256 = "data_sha256", gitCommit = "git_commit", environmentSHA256 = "environment_sha256"
            case links, linksOmitted = "links_omitted", proven, unproven
        }
    }

    public struct TrainingSection: Sendable, Codable, Hashable {
        public var runID: String
        public var runName: String
        public var experimentID: String
        public var status: String
        /// The authenticated actor of the run's creation event.
        public var createdBy: String?
        /// MLflow's client-supplied `user_id` attribute (not an identity).
        public var userID: String
        public var startTime: Int64
        public var endTime: Int64?
        /// Commit, branch, repository, data and environment digests, toolchain (from the run's tags).
        public var provenance: [Pair]
        public var params: ListSection<Pair>
        public var metrics: ListSection<MetricEntry>
        /// Metrics logged per subgroup: `subgroup.<slug>.<metric>` (`.rest.` for the rows outside
        /// it), as `trail train --subgroup` logs them, or `<metric>_group__<group>`.
        public var subgroupMetrics: ListSection<SubgroupMetric>
        public var datasets: ListSection<DatasetEntry>
        public var tags: ListSection<Pair>
        /// Every artifact of the run, by digest.
        public var artifacts: ListSection<FileEntry>
        public var confusionMatrix: EvidenceImage?
        public var classificationReport: TextDocument?
        /// `evaluation/subgroups.json` (`trail train --subgroup`): each subgroup's size and metrics.
        public var subgroupReport: TextDocument?

        enum CodingKeys: String, CodingKey {
            case runID = "run_id", runName = "run_name", experimentID = "experiment_id", status, createdBy = "created_by", userID = "user_id"
            case startTime = "start_time", endTime = "end_time", provenance, params, metrics, subgroupMetrics = "subgroup_metrics", datasets, tags
            case artifacts, confusionMatrix = "confusion_matrix", classificationReport = "classification_report", subgroupReport = "subgroup_report"
        }
    }

    public struct MetricEntry: Sendable, Codable, Hashable {
        public var key: String
        /// The latest value, as ECMAScript prints it (`NaN`, `Infinity` included).
        public var value: String
        public var step: Int64
        public var time: Int64
    }

    public struct SubgroupMetric: Sendable, Codable, Hashable {
        public var metric: String
        public var group: String
        public var value: String
    }

    public struct DatasetEntry: Sendable, Codable, Hashable {
        public var name: String
        public var digest: String
        public var sourceType: String
        public var source: String
        public var context: String?
        public var rows: Int64?
        public var columns: Int64?
        enum CodingKeys: String, CodingKey { case name, digest, sourceType = "source_type", source, context, rows, columns }
    }

    /// An image the evidence holds, by digest; the bytes are not in the JSON (the HTML embeds
    /// a raster image of reasonable size).
    public struct EvidenceImage: Sendable, Codable, Hashable {
        public var path: String
        public var sha256: String
        public var sizeBytes: Int64
        public var mediaType: String
        enum CodingKeys: String, CodingKey { case path, sha256, sizeBytes = "size_bytes", mediaType = "media_type" }
    }

    /// A text artifact shown in the report (model card, classification report), by digest,
    /// with its text up to a bound.
    public struct TextDocument: Sendable, Codable, Hashable {
        public var path: String
        public var sha256: String
        public var sizeBytes: Int64
        public var text: String
        public var truncated: Bool
        enum CodingKeys: String, CodingKey { case path, sha256, sizeBytes = "size_bytes", text, truncated }
    }

    /// The gate run now for one target: the policy in force and each requirement's result.
    public struct PolicySection: Sendable, Codable, Hashable {
        public var target: String
        /// Nil: no policy protects the target (nor its same-named counterpart).
        public var policyVersion: Int64?
        /// The target whose policy was found (the counterpart's, when only it has one).
        public var policyTarget: String?
        public var policyEventIndex: Int64?
        public var policy: PromotionPolicy?
        public var granted: Bool
        public var requirements: [GateReport.Requirement]
        enum CodingKeys: String, CodingKey {
            case target, policyVersion = "policy_version", policyTarget = "policy_target", policyEventIndex = "policy_event_index", policy, granted
            case requirements
        }
    }

    public struct ApprovalEntry: Sendable, Codable, Hashable {
        public var approver: String
        public var decision: String
        public var target: String
        public var time: Int64
        public var rootDigest: String
        /// Whether the reviewed digest is this version's root digest.
        public var digestMatches: Bool
        public var comment: String
        public var eventIndex: Int64
        enum CodingKeys: String, CodingKey {
            case approver, decision, target, time, rootDigest = "root_digest", digestMatches = "digest_matches", comment, eventIndex = "event_index"
        }
    }

    public struct AttestationEntry: Sendable, Codable, Hashable {
        public var predicateType: String
        public var submittedBy: String
        public var time: Int64
        public var envelopeDigest: String
        public var subjectDigest: String
        /// Signatures verified on arrival (an attestation is accepted only then).
        public var verified: Bool
        /// Whether a key that signed it is still trusted for its predicate type now.
        public var trustedNow: Bool
        public var keys: [SigningKey]
        public var eventIndex: Int64

        public struct SigningKey: Sendable, Codable, Hashable {
            public var keyID: String
            /// The trusted key's name; nil when the key is no longer in the record.
            public var name: String?
            public var revoked: Bool
            enum CodingKeys: String, CodingKey { case keyID = "keyid", name, revoked }
        }

        enum CodingKeys: String, CodingKey {
            case predicateType = "predicate_type", submittedBy = "submitted_by", time, envelopeDigest = "envelope_digest"
            case subjectDigest = "subject_digest", verified, trustedNow = "trusted_now", keys, eventIndex = "event_index"
        }
    }

    /// Every alias move and stage change that touched this version, and refused attempts.
    public struct PromotionSection: Sendable, Codable, Hashable {
        public var history: ListSection<PromotionEntry>
        public var refused: ListSection<RefusalEntry>
    }

    public struct PromotionEntry: Sendable, Codable, Hashable {
        /// `alias` or `stage`.
        public var kind: String
        /// `@alias` or the stage change's version.
        public var target: String
        public var from: String?
        public var to: String?
        public var reason: String
        public var actor: Actor
        public var time: Int64
        /// Made through the emergency path (`alias.emergency`), bypassing the gate.
        public var emergency: Bool
        public var eventIndex: Int64
        enum CodingKeys: String, CodingKey { case kind, target, from, to, reason, actor, time, emergency, eventIndex = "event_index" }
    }

    public struct RefusalEntry: Sendable, Codable, Hashable {
        public var target: String
        public var actor: Actor
        public var time: Int64
        public var unmet: [String]
        public var eventIndex: Int64
        enum CodingKeys: String, CodingKey { case target, actor, time, unmet, eventIndex = "event_index" }
    }

    public struct DeploymentSection: Sendable, Codable, Hashable {
        /// Every start, switch and stop of each deployment that served this version.
        public var events: ListSection<DeploymentEntry>
        public var windowSeconds: Int64
        /// Predictions of this version per deployment and window (newest windows kept).
        public var predictions: ListSection<PredictionWindow>
        public var totalPredictions: Int64
        public var totalRefused: Int64
        enum CodingKeys: String, CodingKey {
            case events, windowSeconds = "window_seconds", predictions, totalPredictions = "total_predictions", totalRefused = "total_refused"
        }
    }

    public struct DeploymentEntry: Sendable, Codable, Hashable {
        public var deploymentID: String
        public var action: String
        public var reference: String
        public var modelVersion: Int64
        public var host: String
        public var configDigest: String
        public var binaryDigest: String
        public var time: Int64
        public var eventIndex: Int64
        enum CodingKeys: String, CodingKey {
            case deploymentID = "deployment_id", action, reference, modelVersion = "model_version", host, configDigest = "config_digest"
            case binaryDigest = "binary_digest", time, eventIndex = "event_index"
        }
    }

    public struct PredictionWindow: Sendable, Codable, Hashable {
        public var deploymentID: String
        public var start: Int64
        public var predictions: Int64
        public var refused: Int64
        enum CodingKeys: String, CodingKey { case deploymentID = "deployment_id", start, predictions, refused }
    }

    public struct DriftEntry: Sendable, Codable, Hashable {
        public var time: Int64
        public var actor: Actor
        public var reference: String
        public var windowSeconds: Int64
        public var served: Int64
        public var level: String
        public var features: [FeaturePSI]
        public var eventIndex: Int64

        public struct FeaturePSI: Sendable, Codable, Hashable {
            public var name: String
            public var psi: String
        }

        enum CodingKeys: String, CodingKey {
            case time, actor, reference, windowSeconds = "window_seconds", served, level, features, eventIndex = "event_index"
        }
    }

    /// Whether the record still verifies: the ledger verification (run now, or the latest
    /// recorded one), the signed checkpoint the lineage proofs are checked against, and the
    /// witnesses' cosignatures of the newest witnessed checkpoint.
    public struct IntegritySection: Sendable, Codable, Hashable {
        public var verification: Verification?
        public var checkpoint: CheckpointEntry
        public var witnesses: Witnesses

        public struct Verification: Sendable, Codable, Hashable {
            /// `now` (run for this report) or `recorded` (the latest `ledger.verify` event).
            public var performed: String
            public var ok: Bool
            public var events: Int64
            public var checkpoints: Int?
            public var rowsChecked: Int64?
            public var blobs: Int?
            public var findingsCount: Int
            public var findings: [VerificationFinding]
            public var time: Int64?
            public var actor: Actor?
            public var eventIndex: Int64?
            enum CodingKeys: String, CodingKey {
                case performed, ok, events, checkpoints, rowsChecked = "rows_checked", blobs, findingsCount = "findings_count", findings, time, actor
                case eventIndex = "event_index"
            }
        }

        public struct CheckpointEntry: Sendable, Codable, Hashable {
            public var origin: String
            public var size: UInt64
            /// The tree's root hash, hex.
            public var rootHash: String
            public var time: Int64
            /// The C2SP signed note, verbatim, to check offline with the log's key.
            public var note: String
            public var verifierKey: String
            /// The note's signature checked with the log's key (by the client, with its pinned key, when remote).
            public var signatureVerified: Bool
            enum CodingKeys: String, CodingKey {
                case origin, size, rootHash = "root_hash", time, note, verifierKey = "verifier_key", signatureVerified = "signature_verified"
            }
        }

        public struct Witnesses: Sendable, Codable, Hashable {
            /// The newest checkpoint any witness cosigned; nil when none ever did.
            public var checkpointSize: UInt64?
            public var cosignatures: [Cosignature]
            enum CodingKeys: String, CodingKey { case checkpointSize = "checkpoint_size", cosignatures }
        }

        public struct Cosignature: Sendable, Codable, Hashable {
            public var witness: String
            public var verifierKey: String
            /// The line verifies, with the witness's key, over the stored checkpoint.
            public var verified: Bool
            enum CodingKeys: String, CodingKey { case witness, verifierKey = "verifier_key", verified }
        }
    }
}
