import Foundation
import TrailCore
import TrailStore

/// Promotion targets are `@alias` or a stage name (`Production`).
public enum PromotionTarget {
    /// Canonical form: `@alias` in lower case (aliases are protected case-insensitively), or
    /// the stage's name.
    public static func canonical(_ text: String) throws -> String {
        if text.hasPrefix("@") {
            let alias = String(text.dropFirst())
            try RegistryService.checkAlias(alias)
            return "@" + alias.lowercased()
        }
        return try ModelStage(parsing: text, field: "target").rawValue
    }

    /// The target protected alike with `canonical`: an alias and the stage of the same name
    /// (`@production` and `Production`), so that neither policy can be walked around through
    /// the other.
    static func counterpart(of canonical: String) -> String? {
        if canonical.hasPrefix("@") {
            guard let stage = try? ModelStage(parsing: String(canonical.dropFirst())), stage != .none else { return nil }
            return stage.rawValue
        }
        guard canonical != ModelStage.none.rawValue else { return nil }
        return "@" + canonical.lowercased()
    }
}

/// An approver's decision. Only these are accepted: anything else is refused, never counted.
public enum ApprovalDecision: String, Sendable, CaseIterable {
    case approve
    case reject

    /// `approve` or `reject`, in any case; anything else (including nothing) is a 400.
    public init(parsing text: String?) throws {
        guard let text, let decision = Self(rawValue: text.lowercased()) else {
            throw TrailError.invalid("decision", "decision must be 'approve' or 'reject'; got '\((text ?? "nothing").prefix(40))'")
        }
        self = decision
    }
}

extension RegistryService {
    /// How many times a decision is re-read and retried when another writer changed what it
    /// read before it could commit.
    static let concurrentRetries = 12

    /// Runs `body` (which reads, decides, and writes with a `noEventsSince` precondition) again
    /// while its precondition finds a concurrent change.
    func retryingConcurrentChanges<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as TrailError where error.isConcurrentChange && attempt < Self.concurrentRetries {
                attempt += 1
                try? await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }

    /// Stores the next version of the policy for `target` of model `name` (admins only, as
    /// declared by the routes that call it).
    /// Parses and stores a policy document; a document that does not parse is refused (naming
    /// the line or field) and the attempt recorded.
    public func setPolicy(name: String, target: String, document: [UInt8], actor: Actor) async throws -> Int64 {
        try await recordingRefusal("policy.set", model: name, actor: actor, facts: ["target": .string(String(target.prefix(300)))]) {
            try await setPolicy(name: name, target: target, policy: try PromotionPolicy.parse(document), actor: actor)
        }
    }

    public func setPolicy(name: String, target: String, policy: PromotionPolicy, actor: Actor) async throws -> Int64 {
        let target = try PromotionTarget.canonical(target)
        _ = try await model(name)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let document = String(decoding: try encoder.encode(policy), as: UTF8.self)
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.registeredModel(name)], changes: [.setPolicy(name: name, target: target, document: document, timeMillis: now)],
                event: EventDraft(
                    action: "policy.set", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: ["target": .string(target), "policy": (try? JSONValue.parse(Array(document.utf8))) ?? .null])))
        return try await store.policy(name: name, target: target)?.version ?? 0
    }

    public func policy(name: String, target: String) async throws -> (version: Int64, policy: PromotionPolicy)? {
        guard let stored = try await store.policy(name: name, target: try PromotionTarget.canonical(target)) else { return nil }
        return (stored.version, try JSONDecoder().decode(PromotionPolicy.self, from: Data(stored.document.utf8)))
    }

    /// Whether a policy protects `target` (an alias or stage) or its same-named counterpart.
    func isProtected(name: String, target: String) async throws -> Bool {
        let canonical = try PromotionTarget.canonical(target)
        if try await store.policy(name: name, target: canonical) != nil { return true }
        if let other = PromotionTarget.counterpart(of: canonical), try await store.policy(name: name, target: other) != nil { return true }
        return false
    }

    public func approvals(name: String, version: Int64) async throws -> [Approval] {
        _ = try await self.version(name, version)
        return try await store.approvals(name: name, version: version)
    }

    /// Everyone who made what `version` stands on: whoever registered it, or wrote anything to
    /// its run or logged model (created it, logged a metric, param, tag or input, stored a file,
    /// changed its state). None of them may approve it.
    public func contributors(of version: ModelVersion) async throws -> Set<String> {
        var names: Set<String> = [version.createdBy.id]
        if let run = version.runID { names.formUnion(try await store.contributors(owner: .run(run))) }
        if version.source.hasPrefix("models:/") {
            names.formUnion(try await store.contributors(owner: .loggedModel(String(version.source.dropFirst("models:/".count)))))
        }
        return names
    }

    /// Records an approval (or rejection) of `version` for `target`. Refused — and the attempt
    /// recorded — unless the actor is an enabled user with the approver role, made none of
    /// what the version stands on (registration, run, files), has not already decided on it,
    /// and (when given) reviewed the version's current root digest. "Has not decided" is a
    /// precondition of the write: of any number of concurrent decisions, one lands.
    public func approve(
        name: String, version: Int64, target: String, decision: ApprovalDecision, comment: String = "", reviewedDigest: Digest? = nil,
        actor: Actor
    ) async throws -> Approval {
        try await retryingConcurrentChanges {
            try await approveOnce(name: name, version: version, target: target, decision: decision, comment: comment, reviewedDigest: reviewedDigest, actor: actor)
        }
    }

    public func approve(
        name: String, version: Int64, target: String, approve: Bool = true, comment: String = "", reviewedDigest: Digest? = nil, actor: Actor
    ) async throws -> Approval {
        try await self.approve(
            name: name, version: version, target: target, decision: approve ? .approve : .reject, comment: comment, reviewedDigest: reviewedDigest,
            actor: actor)
    }

    func approveOnce(
        name: String, version: Int64, target: String, decision: ApprovalDecision, comment: String, reviewedDigest: Digest?, actor: Actor
    ) async throws -> Approval {
        let target = try PromotionTarget.canonical(target)
        try Limits.checkLength(comment, max: 2000, field: "comment")
        let since = try await store.eventCount()
        let found = try await self.version(name, version)
        let policy = try await self.policy(name: name, target: target)?.policy
        let now = clock.nowMillis()
        func refuse(_ code: ErrorCode, _ message: String, field: String) async throws -> Never {
            _ = try await store.record(
                EventDraft(
                        action: "approval.refused", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                        facts: ["version": .int(version), "target": .string(target), "reason": .string(message)]))
            var error = TrailError(code, message, field: field)
            error.recorded = true
            throw error
        }
        if try await !isProtected(name: name, target: target) {
            try await refuse(
                .invalidParameterValue,
                "no policy protects \(target) of \(name) (nor \(PromotionTarget.counterpart(of: target) ?? "its counterpart")): an approval for it would count for nothing",
                field: "target")
        }
        let user = try await store.user(name: actor.id)
        if actor.type != .user || user == nil || user!.disabled || !user!.roles.contains(.approver) {
            try await refuse(.permissionDenied, "\(actor.id) is not an enabled user with the approver role", field: "approver")
        }
        if try await contributors(of: found).contains(actor.id) {
            try await refuse(
                .permissionDenied,
                "\(actor.id) registered version \(version), created its run or stored its files, and cannot approve it (separation of duties)",
                field: "approver")
        }
        if let reviewedDigest, reviewedDigest != found.manifest.root {
            try await refuse(
                .invalidParameterValue, "the reviewed digest \(reviewedDigest) is not version \(version)'s root digest \(found.manifest.root)",
                field: "digest")
        }
        let alike = Self.alike(target)
        let earlier = try await store.approvals(name: name, version: version).filter {
            alike.contains($0.target.lowercased()) && $0.approver == actor.id && $0.rootDigest == found.manifest.root
                && !Self.expired($0, policy: policy, now: now)
        }
        if !earlier.isEmpty {
            try await refuse(
                .resourceAlreadyExists, "\(actor.id) already decided on version \(version) for \(target) (event #\(earlier[0].eventIndex))",
                field: "approver")
        }
        let receipt = try await store.apply(
            WriteBatch(
                preconditions: [.modelVersion(name, version), .noEventsSince(since, subjects: [Subject(type: "model", id: name)])],
                changes: [
                    .recordApproval(
                        name: name, version: version, target: target, approver: actor.id, rootDigest: found.manifest.root,
                        decision: decision.rawValue, comment: comment, timeMillis: now)
                ],
                event: EventDraft(
                    action: "approval.\(decision.rawValue)", actor: actor, timeMillis: now,
                    subject: Subject(type: "model", id: name),
                    facts: [
                        "version": .int(version), "target": .string(target), "root_digest": .string(found.manifest.root.description),
                        "comment": .string(comment),
                    ])))
        let all = try await store.approvals(name: name, version: version)
        return all.first { $0.eventIndex == receipt.eventIndex } ?? all.last!
    }

    /// The targets an approval for `target` counts for: it and its same-named counterpart
    /// (approving `Production` or `@production` is one decision), in lower case.
    static func alike(_ target: String) -> Set<String> {
        Set([target, PromotionTarget.counterpart(of: target)].compactMap { $0?.lowercased() })
    }

    /// Whether an approval has outlived the policy's time to live. Never traps: a product too
    /// large to represent is a time to live that never ends.
    static func expired(_ approval: Approval, policy: PromotionPolicy?, now: Int64) -> Bool {
        guard let hours = policy?.approvalTTLHours else { return false }
        let (ttl, overflow) = Int64(clamping: hours).multipliedReportingOverflow(by: 3_600_000)
        guard !overflow else { return false }
        let (deadline, overflow2) = approval.timeMillis.addingReportingOverflow(ttl)
        return !overflow2 && deadline <= now
    }

    /// Runs the policy for moving `version` to `target`: every requirement, met or not, with
    /// its evidence. The policy of the same-named counterpart (`@production` for the stage
    /// `Production` and the other way round) applies too. A target with neither is
    /// unprotected (no requirements).
    public func evaluate(name: String, version: Int64, target: String) async throws -> GateReport {
        try await evaluateWithSubjects(name: name, version: version, target: target).report
    }

    /// The report, and every subject whose events the report read (for the write's
    /// `noEventsSince` precondition).
    func evaluateWithSubjects(name: String, version: Int64, target: String) async throws -> (
        report: GateReport, subjects: [Subject], policyTarget: String?
    ) {
        let target = try PromotionTarget.canonical(target)
        let found = try await self.version(name, version)
        var subjects: Set<Subject> = [Subject(type: "model", id: name)]
        var requirements: [GateReport.Requirement] = []
        var primaryVersion: Int64?
        var counterpartVersion: Int64?
        if let (policyVersion, policy) = try await self.policy(name: name, target: target) {
            primaryVersion = policyVersion
            requirements += try await requirementsOf(policy, for: found, target: target, subjects: &subjects)
        }
        if let other = PromotionTarget.counterpart(of: target), let (policyVersion, policy) = try await self.policy(name: name, target: other) {
            counterpartVersion = policyVersion
            requirements += try await requirementsOf(policy, for: found, target: other, subjects: &subjects).map {
                var requirement = $0
                requirement.requirement = "[\(other) policy v\(policyVersion)] " + requirement.requirement
                return requirement
            }
        }
        let report = GateReport(
            name: name, version: version, target: target, policyVersion: primaryVersion ?? counterpartVersion, requirements: requirements)
        let policyTarget = primaryVersion != nil ? target : counterpartVersion != nil ? PromotionTarget.counterpart(of: target) : nil
        return (report, subjects.sorted { ($0.type, $0.id) < ($1.type, $1.id) }, policyTarget)
    }

    func requirementsOf(_ policy: PromotionPolicy, for found: ModelVersion, target: String, subjects: inout Set<Subject>) async throws
        -> [GateReport.Requirement]
    {
        let name = found.name
        let version = found.version
        var requirements: [GateReport.Requirement] = []
        let run = try await found.runID.asyncMap { try await store.run(id: $0) } ?? nil
        let artifacts = try await found.runID.asyncMap { try await store.artifacts(run: $0) } ?? []
        if let run { subjects.insert(Subject(type: "run", id: run.info.runID.value)) }
        // What the policy reads from the run must be frozen: only a FINISHED run's facts are
        // (a run still open, or one that can never end, could change them after the gate).
        if !policy.metrics.isEmpty || !policy.evidenceArtifacts.isEmpty || !policy.provenanceTags.isEmpty || !policy.provenanceFields.isEmpty
            || policy.securityDecision != nil
        {
            let finished = run.map { $0.info.status == .finished && TrackingService.hasEnded($0.info) } ?? false
            requirements.append(
                .init(
                    requirement: "source run FINISHED (what the policy reads from it is frozen)", met: finished,
                    evidence: run.map { "run \($0.info.runID) is \($0.info.status.rawValue)" } ?? "the version has no source run"))
        }
        for metric in policy.metrics {
            let label = "metric \(metric.key) \(metric.op) \(JSONValue.ecmaScriptNumber(metric.value))"
            if let actual = run?.metrics.first(where: { $0.key == metric.key })?.value {
                requirements.append(
                    .init(requirement: label, met: metric.holds(for: actual), evidence: "\(metric.key) = \(actual) in run \(run!.info.runID)"))
            } else {
                requirements.append(.init(requirement: label, met: false, evidence: "the source run has no metric \(metric.key)"))
            }
        }
        for path in policy.evidenceArtifacts {
            let match = artifacts.first { $0.path.value == path || $0.path.value.hasSuffix("/" + path) }
            requirements.append(
                .init(
                    requirement: "evidence \(path)", met: match != nil,
                    evidence: match.map { "\($0.path) \($0.digest)" } ?? "not among the run's artifacts"))
        }
        for key in policy.provenanceTags {
            let value = run?.tags.first { $0.key == key }?.value ?? run?.params.first { $0.key == key }?.value
            requirements.append(
                .init(requirement: "provenance \(key)", met: value?.isEmpty == false, evidence: value.map { "\(key) = \($0)" } ?? "missing"))
        }
        for name in policy.provenanceFields {
            guard let field = ProvenanceStandard.field(name) else { continue }
            let found = run.flatMap { ProvenanceStandard.resolve(field, in: $0) }
            requirements.append(
                .init(
                    requirement: "provenance standard: \(name) (\(field.meaning))", met: found != nil,
                    evidence: found.map { "\($0.source) = \($0.value.prefix(200))" }
                        ?? "missing: set tag modeltrail.\(name) (or \(name)) on run \(run?.info.runID.value ?? "—")"))
        }
        if let decision = policy.securityDecision {
            let value = run?.tags.first { $0.key == "security_decision" }?.value
            requirements.append(
                .init(requirement: "security_decision = \(decision)", met: value == decision, evidence: "security_decision = \(value ?? "missing")"))
        }
        if policy.noOpenDriftAlert {
            // The latest check of this version that saw enough rows decides; checks with too
            // few rows (or none) clear nothing.
            let minimum = Int64(policy.driftMinRows ?? PromotionPolicy.defaultDriftMinRows)
            let checks = try await store.events(matching: EventQuery(subjectType: "model", subjectID: name, action: "drift.check", limit: 100_000))
            let sufficient = checks.compactMap { event -> (Int64, String)? in
                guard let facts = (try? JSONValue.parse(event.body))?["facts"], facts["version"]?.intValue == version,
                    let level = facts["level"]?.stringValue, ["ok", "warning", "alert"].contains(level),
                    let served = facts["served"]?.intValue, served >= minimum
                else { return nil }
                return (event.index, level)
            }.last
            requirements.append(
                .init(
                    requirement: "no open drift alert", met: sufficient?.1 != "alert",
                    evidence: sufficient.map { "latest drift check of version \(version) with at least \(minimum) rows #\($0.0): \($0.1)" }
                        ?? "no drift check of version \(version) with at least \(minimum) rows"))
        }
        for predicateType in policy.attestations {
            let standing = try await standingAttestations(of: found, predicateType: predicateType)
            for key in try await store.trustedKeys() where key.predicateTypes.contains(predicateType) {
                subjects.insert(Subject(type: "key", id: key.keyID))
            }
            requirements.append(
                .init(
                    requirement: "attestation \(predicateType)", met: !standing.isEmpty,
                    evidence: standing.isEmpty
                        ? "no attestation of the version's root digest signed by a key trusted for this type"
                        : standing.map { "\($0.envelopeDigest) (#\($0.eventIndex))" }.joined(separator: ", ")))
        }
        if policy.approvals > 0 {
            let now = clock.nowMillis()
            let excluded = try await contributors(of: found)
            var latest: [String: Approval] = [:]
            for approval in try await store.approvals(name: name, version: version)
            where Self.alike(target).contains(approval.target.lowercased()) && approval.rootDigest == found.manifest.root
                && !excluded.contains(approval.approver) && !Self.expired(approval, policy: policy, now: now)
            {
                latest[approval.approver] = approval
            }
            var valid: [Approval] = []
            for approval in latest.values.sorted(by: { $0.eventIndex < $1.eventIndex }) where approval.decision == ApprovalDecision.approve.rawValue {
                subjects.insert(Subject(type: "user", id: approval.approver))
                if let user = try await store.user(name: approval.approver), !user.disabled, user.roles.contains(.approver) { valid.append(approval) }
            }
            let rejections = latest.values.filter { $0.decision != ApprovalDecision.approve.rawValue }.map(\.approver).sorted()
            let evidence =
                valid.map { "\($0.approver) (#\($0.eventIndex))" }.joined(separator: ", ")
                + (rejections.isEmpty ? "" : "; rejected by \(rejections.joined(separator: ", "))")
            requirements.append(
                .init(
                    requirement: "\(policy.approvals) approval\(policy.approvals == 1 ? "" : "s") from distinct approvers who made none of it",
                    met: valid.count >= policy.approvals && rejections.isEmpty,
                    evidence: "\(valid.count) valid: " + (evidence.isEmpty ? "none" : evidence)))
        }
        return requirements
    }

    /// The gate: refuses (recording the refusal with every unmet requirement) or returns the
    /// evidence to cite in the promotion's event, with the subjects it read (the promotion's
    /// write must find none of them changed since `since`).
    func gate(name: String, version: Int64, target: String, actor: Actor) async throws -> (evidence: JSONValue, subjects: [Subject]) {
        let (report, subjects, policyTarget) = try await evaluateWithSubjects(name: name, version: version, target: target)
        let requirements = JSONValue.array(
            report.requirements.map { ["requirement": .string($0.requirement), "met": .bool($0.met), "evidence": .string($0.evidence)] })
        guard report.granted else {
            let now = clock.nowMillis()
            _ = try await store.record(
                EventDraft(
                        action: "promotion.refused", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                        facts: [
                            "version": .int(version), "target": .string(report.target),
                            "policy_version": report.policyVersion.map(JSONValue.int) ?? .null,
                            "requirements": requirements,
                        ]))
            let unmet = report.unmet.map { "✗ \($0.requirement) (\($0.evidence))" }.joined(separator: "; ")
            throw TrailError.recorded(
                .permissionDenied,
                "promotion of \(name) version \(version) to \(report.target) refused by policy v\(report.policyVersion ?? 0): \(unmet)",
                field: "version")
        }
        return (
            [
                "policy_version": report.policyVersion.map(JSONValue.int) ?? .null, "policy_target": policyTarget.map(JSONValue.string) ?? .null,
                "requirements": requirements,
            ], subjects
        )
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}
