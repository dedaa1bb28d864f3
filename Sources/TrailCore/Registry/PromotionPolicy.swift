import Foundation

/// What a model must show before it may move to a protected target (an alias such as
/// `production`, or a stage such as `Production`). Stored and versioned through the ledger.
///
/// ```json
/// {"approvals": 2, "approval_ttl_hours": 72,
///  "metrics": [{"key": "roc_auc", "op": ">=", "value": 0.95}],
///  "evidence_artifacts": ["confusion_matrix.png", "model_card.md"],
///  "provenance_tags": ["mlflow.source.git.commit", "data_sha256"],
///  "security_decision": "PASS", "attestations": ["https://slsa.dev/provenance/v1"]}
/// ```
public struct PromotionPolicy: Sendable, Hashable, Codable {
    public struct MetricRequirement: Sendable, Hashable, Codable {
        public var key: String
        public var op: String
        public var value: Double

        public init(key: String, op: String, value: Double) {
            self.key = key
            self.op = op
            self.value = value
        }

        public func holds(for actual: Double) -> Bool {
            switch op {
            case ">=": actual >= value
            case ">": actual > value
            case "<=": actual <= value
            case "<": actual < value
            case "==": actual == value
            default: false
            }
        }
    }

    public var approvals: Int
    public var approvalTTLHours: Int?
    public var metrics: [MetricRequirement]
    public var evidenceArtifacts: [String]
    public var provenanceTags: [String]
    /// Fields of the provenance standard (`ProvenanceStandard.fields`) the source run must record.
    public var provenanceFields: [String] = []
    public var securityDecision: String?
    /// Predicate types that must each be attested (a verified DSSE envelope signed by a key
    /// trusted for that type, whose subject is the version).
    public var attestations: [String]
    /// The model's latest drift check must not be at alert level.
    public var noOpenDriftAlert: Bool
    /// The fewest served rows a drift check needs to count at the gate (default 100).
    public var driftMinRows: Int?

    public init(
        approvals: Int = 0, approvalTTLHours: Int? = nil, metrics: [MetricRequirement] = [], evidenceArtifacts: [String] = [],
        provenanceTags: [String] = [], securityDecision: String? = nil, attestations: [String] = [],
        noOpenDriftAlert: Bool = false
    ) {
        self.approvals = approvals
        self.approvalTTLHours = approvalTTLHours
        self.metrics = metrics
        self.evidenceArtifacts = evidenceArtifacts
        self.provenanceTags = provenanceTags
        self.securityDecision = securityDecision
        self.attestations = attestations
        self.noOpenDriftAlert = noOpenDriftAlert
    }

    enum CodingKeys: String, CodingKey {
        case approvals, approvalTTLHours = "approval_ttl_hours", metrics, evidenceArtifacts = "evidence_artifacts"
        case provenanceTags = "provenance_tags", provenanceFields = "provenance_fields", securityDecision = "security_decision", attestations
        case noOpenDriftAlert = "no_open_drift_alert", driftMinRows = "drift_min_rows"
    }

    /// The largest `approval_ttl_hours` accepted: ten years.
    public static let maxApprovalTTLHours = 87_600
    public static let defaultDriftMinRows = 100

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        approvals = try c.decodeIfPresent(Int.self, forKey: .approvals) ?? 0
        approvalTTLHours = try c.decodeIfPresent(Int.self, forKey: .approvalTTLHours)
        metrics = try c.decodeIfPresent([MetricRequirement].self, forKey: .metrics) ?? []
        evidenceArtifacts = try c.decodeIfPresent([String].self, forKey: .evidenceArtifacts) ?? []
        provenanceTags = try c.decodeIfPresent([String].self, forKey: .provenanceTags) ?? []
        provenanceFields = try c.decodeIfPresent([String].self, forKey: .provenanceFields) ?? []
        securityDecision = try c.decodeIfPresent(String.self, forKey: .securityDecision)
        attestations = try c.decodeIfPresent([String].self, forKey: .attestations) ?? []
        noOpenDriftAlert = try c.decodeIfPresent(Bool.self, forKey: .noOpenDriftAlert) ?? false
        driftMinRows = try c.decodeIfPresent(Int.self, forKey: .driftMinRows)
    }

    /// Parses a policy document. Syntax errors name the line; unknown keys, wrong types and
    /// bad operators name the field.
    public static func parse(_ bytes: [UInt8]) throws -> PromotionPolicy {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch let error as TrailError {
            // The parser's message is "invalid JSON at byte N: …".
            let digits = error.message.components(separatedBy: "at byte ").last?.prefix { $0.isNumber } ?? ""
            let offset = Int(digits) ?? 0
            let line = bytes.prefix(offset).filter { $0 == 0x0a }.count + 1
            throw TrailError.invalid("policy", "the policy is not valid JSON (line \(line)): \(error.message)")
        }
        guard case .object(let members) = value else { throw TrailError.invalid("policy", "a policy is a JSON object") }
        let known: Set<String> = ["approvals", "approval_ttl_hours", "metrics", "evidence_artifacts", "provenance_tags", "provenance_fields", "security_decision", "attestations", "no_open_drift_alert", "drift_min_rows"]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw TrailError.invalid("policy.\(unknown)", "unknown policy key '\(unknown)'; known keys: \(known.sorted().joined(separator: ", "))")
        }
        let policy: PromotionPolicy
        do {
            policy = try JSONDecoder().decode(PromotionPolicy.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context) {
            throw TrailError.invalid(
                "policy." + context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: "."), "wrong type")
        } catch let DecodingError.keyNotFound(key, context) {
            throw TrailError.invalid("policy." + (context.codingPath + [key]).map(\.stringValue).joined(separator: "."), "is required")
        }
        guard policy.approvals >= 0, policy.approvals <= 10 else { throw TrailError.invalid("policy.approvals", "approvals must be 0 to 10") }
        if let ttl = policy.approvalTTLHours, ttl <= 0 || ttl > maxApprovalTTLHours {
            throw TrailError.invalid("policy.approval_ttl_hours", "must be 1 to \(maxApprovalTTLHours) (ten years)")
        }
        if let rows = policy.driftMinRows, rows < 1 || rows > 1_000_000_000 {
            throw TrailError.invalid("policy.drift_min_rows", "must be 1 to 1000000000")
        }
        guard policy.metrics.count <= 100, policy.evidenceArtifacts.count <= 100, policy.provenanceTags.count <= 100, policy.attestations.count <= 20
        else { throw TrailError.invalid("policy", "a policy names at most 100 metrics, evidence files and provenance tags, and 20 attestation types") }
        for (i, field) in policy.provenanceFields.enumerated() where !ProvenanceStandard.names.contains(field) {
            throw TrailError.invalid(
                "policy.provenance_fields[\(i)]",
                "'\(field.prefix(60))' is not a field of the provenance standard; fields: \(ProvenanceStandard.fields.map(\.name).joined(separator: ", "))")
        }
        for (i, metric) in policy.metrics.enumerated() where ![">=", ">", "<=", "<", "=="].contains(metric.op) {
            throw TrailError.invalid("policy.metrics[\(i)].op", "op must be one of >= > <= < ==")
        }
        return policy
    }
}

/// One approval (or rejection) of a version for a target, bound to the version's root digest.
public struct Approval: Sendable, Hashable, Codable {
    public var name: String
    public var version: Int64
    public var target: String
    public var approver: String
    public var rootDigest: Digest
    public var decision: String
    public var comment: String
    public var timeMillis: Int64
    public var eventIndex: Int64

    public init(
        name: String, version: Int64, target: String, approver: String, rootDigest: Digest, decision: String, comment: String, timeMillis: Int64,
        eventIndex: Int64
    ) {
        self.name = name
        self.version = version
        self.target = target
        self.approver = approver
        self.rootDigest = rootDigest
        self.decision = decision
        self.comment = comment
        self.timeMillis = timeMillis
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey {
        case name, version, target, approver, rootDigest = "root_digest", decision, comment, timeMillis = "time", eventIndex = "event_index"
    }
}

/// The outcome of running a policy: each requirement, met or not, with its evidence.
public struct GateReport: Sendable, Hashable, Codable {
    public struct Requirement: Sendable, Hashable, Codable {
        public var requirement: String
        public var met: Bool
        public var evidence: String

        public init(requirement: String, met: Bool, evidence: String) {
            self.requirement = requirement
            self.met = met
            self.evidence = evidence
        }
    }

    public var name: String
    public var version: Int64
    public var target: String
    public var policyVersion: Int64?
    public var requirements: [Requirement]

    public init(name: String, version: Int64, target: String, policyVersion: Int64?, requirements: [Requirement]) {
        self.name = name
        self.version = version
        self.target = target
        self.policyVersion = policyVersion
        self.requirements = requirements
    }

    public var granted: Bool { requirements.allSatisfy(\.met) }
    public var unmet: [Requirement] { requirements.filter { !$0.met } }

    enum CodingKeys: String, CodingKey { case name, version, target, policyVersion = "policy_version", requirements, granted }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(version, forKey: .version)
        try c.encode(target, forKey: .target)
        try c.encodeIfPresent(policyVersion, forKey: .policyVersion)
        try c.encode(requirements, forKey: .requirements)
        try c.encode(granted, forKey: .granted)
    }

    /// Reads a report as served (`granted` is recomputed from the requirements, never trusted).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(Int64.self, forKey: .version)
        target = try c.decode(String.self, forKey: .target)
        policyVersion = try c.decodeIfPresent(Int64.self, forKey: .policyVersion)
        requirements = try c.decode([Requirement].self, forKey: .requirements)
    }
}
