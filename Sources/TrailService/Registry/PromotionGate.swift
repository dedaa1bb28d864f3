import Foundation
import TrailCore
import TrailStore

/// Promotion targets are `@alias` or a stage name (`Production`).
public enum PromotionTarget {
    /// Canonical form: `@alias`, or the stage's name.
    public static func canonical(_ text: String) throws -> String {
        if text.hasPrefix("@") {
            try RegistryService.checkAlias(String(text.dropFirst()))
            return text
        }
        return try ModelStage(parsing: text, field: "target").rawValue
    }
}

extension RegistryService {
    /// Stores the next version of the policy for `target` of model `name` (admins only, as
    /// declared by the routes that call it).
    /// Parses and stores a policy document; a document that does not parse is refused (naming
    /// the line or field) and the attempt recorded.
    public func setPolicy(name: String, target: String, document: [UInt8], actor: Actor) async throws -> Int64 {
        try await recordingRefusal("policy.set", model: name, actor: actor, facts: ["target": .string(target)]) {
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

    public func approvals(name: String, version: Int64) async throws -> [Approval] {
        _ = try await self.version(name, version)
        return try await store.approvals(name: name, version: version)
    }

    /// Records an approval (or rejection) of `version` for `target`. Refused — and the attempt
    /// recorded — unless the actor is an enabled user with the approver role, is not the
    /// version's creator, has not already decided on it, and (when given) reviewed the
    /// version's current root digest.
    public func approve(
        name: String, version: Int64, target: String, approve: Bool = true, comment: String = "", reviewedDigest: Digest? = nil, actor: Actor
    ) async throws -> Approval {
        let target = try PromotionTarget.canonical(target)
        try Limits.checkLength(comment, max: 2000, field: "comment")
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
        let user = try await store.user(name: actor.id)
        if actor.type != .user || user == nil || user!.disabled || !user!.roles.contains(.approver) {
            try await refuse(.permissionDenied, "\(actor.id) is not an enabled user with the approver role", field: "approver")
        }
        if found.createdBy.id == actor.id {
            try await refuse(
                .permissionDenied, "\(actor.id) registered version \(version) and cannot approve it (separation of duties)", field: "approver")
        }
        if let reviewedDigest, reviewedDigest != found.manifest.root {
            try await refuse(
                .invalidParameterValue, "the reviewed digest \(reviewedDigest) is not version \(version)'s root digest \(found.manifest.root)",
                field: "digest")
        }
        let earlier = try await store.approvals(name: name, version: version).filter {
            $0.target == target && $0.approver == actor.id && $0.rootDigest == found.manifest.root && !Self.expired($0, policy: policy, now: now)
        }
        if !earlier.isEmpty {
            try await refuse(
                .resourceAlreadyExists, "\(actor.id) already decided on version \(version) for \(target) (event #\(earlier[0].eventIndex))",
                field: "approver")
        }
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.modelVersion(name, version)],
                changes: [
                    .recordApproval(
                        name: name, version: version, target: target, approver: actor.id, rootDigest: found.manifest.root,
                        decision: approve ? "approve" : "reject", comment: comment, timeMillis: now)
                ],
                event: EventDraft(
                    action: approve ? "approval.approve" : "approval.reject", actor: actor, timeMillis: now,
                    subject: Subject(type: "model", id: name),
                    facts: [
                        "version": .int(version), "target": .string(target), "root_digest": .string(found.manifest.root.description),
                        "comment": .string(comment),
                    ])))
        return try await store.approvals(name: name, version: version).last!
    }

    static func expired(_ approval: Approval, policy: PromotionPolicy?, now: Int64) -> Bool {
        guard let hours = policy?.approvalTTLHours else { return false }
        return approval.timeMillis + Int64(hours) * 3_600_000 <= now
    }

    /// Runs the policy for moving `version` to `target`: every requirement, met or not, with
    /// its evidence. A target with no policy is unprotected (no requirements).
    public func evaluate(name: String, version: Int64, target: String) async throws -> GateReport {
        let target = try PromotionTarget.canonical(target)
        let found = try await self.version(name, version)
        guard let (policyVersion, policy) = try await self.policy(name: name, target: target) else {
            return GateReport(name: name, version: version, target: target, policyVersion: nil, requirements: [])
        }
        var requirements: [GateReport.Requirement] = []
        let run = try await found.runID.asyncMap { try await store.run(id: $0) } ?? nil
        let artifacts = try await found.runID.asyncMap { try await store.artifacts(run: $0) } ?? []
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
        if let decision = policy.securityDecision {
            let value = run?.tags.first { $0.key == "security_decision" }?.value
            requirements.append(
                .init(requirement: "security_decision = \(decision)", met: value == decision, evidence: "security_decision = \(value ?? "missing")"))
        }
        if policy.noOpenDriftAlert {
            let last = try await store.events(matching: EventQuery(subjectType: "model", subjectID: name, action: "drift.check", limit: 100_000)).last
            let level = last.flatMap { try? JSONValue.parse($0.body) }?["facts"]?["level"]?.stringValue
            requirements.append(
                .init(
                    requirement: "no open drift alert", met: level != "alert",
                    evidence: last.map { "latest drift check #\($0.index): \(level ?? "?")" } ?? "no drift check recorded"))
        }
        for predicateType in policy.attestations {
            let standing = try await standingAttestations(of: found, predicateType: predicateType)
            requirements.append(
                .init(
                    requirement: "attestation \(predicateType)", met: !standing.isEmpty,
                    evidence: standing.isEmpty
                        ? "no attestation signed by a key trusted for this type"
                        : standing.map { "\($0.envelopeDigest) (#\($0.eventIndex))" }.joined(separator: ", ")))
        }
        if policy.approvals > 0 {
            let now = clock.nowMillis()
            var latest: [String: Approval] = [:]
            for approval in try await store.approvals(name: name, version: version)
            where approval.target == target && approval.rootDigest == found.manifest.root && approval.approver != found.createdBy.id
                && !Self.expired(approval, policy: policy, now: now)
            {
                latest[approval.approver] = approval
            }
            var valid: [Approval] = []
            for approval in latest.values.sorted(by: { $0.eventIndex < $1.eventIndex }) where approval.decision == "approve" {
                if let user = try await store.user(name: approval.approver), !user.disabled, user.roles.contains(.approver) { valid.append(approval) }
            }
            let rejections = latest.values.filter { $0.decision == "reject" }.map(\.approver).sorted()
            let evidence =
                valid.map { "\($0.approver) (#\($0.eventIndex))" }.joined(separator: ", ")
                + (rejections.isEmpty ? "" : "; rejected by \(rejections.joined(separator: ", "))")
            requirements.append(
                .init(
                    requirement: "\(policy.approvals) approval\(policy.approvals == 1 ? "" : "s") from distinct approvers, not the creator",
                    met: valid.count >= policy.approvals && rejections.isEmpty,
                    evidence: "\(valid.count) valid: " + (evidence.isEmpty ? "none" : evidence)))
        }
        return GateReport(name: name, version: version, target: target, policyVersion: policyVersion, requirements: requirements)
    }

    /// The gate: refuses (recording the refusal with every unmet requirement) or returns the
    /// evidence to cite in the promotion's event.
    func gate(name: String, version: Int64, target: String, actor: Actor) async throws -> JSONValue {
        let report = try await evaluate(name: name, version: version, target: target)
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
        return ["policy_version": report.policyVersion.map(JSONValue.int) ?? .null, "requirements": requirements]
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
