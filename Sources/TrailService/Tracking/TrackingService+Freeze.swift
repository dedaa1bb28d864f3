import Foundation
import TrailCore
import TrailStore

/// Once a run has ended, the facts a promotion policy reads from it (its metric keys,
/// provenance tags, `security_decision` and evidence files) are frozen: a gate that relied on
/// them must not find them changed afterwards. Later changes are refused and recorded.
/// `security_decision` is frozen always (issue #18).
struct FrozenFacts: Sendable {
    var metricKeys: Set<String> = []
    var tagKeys: Set<String> = []
    var evidencePaths: [String] = []

    var isEmpty: Bool { metricKeys.isEmpty && tagKeys.isEmpty && evidencePaths.isEmpty }

    func coversArtifact(_ path: String) -> Bool {
        evidencePaths.contains { path == $0 || path.hasSuffix("/" + $0) }
    }
}

extension TrackingService {
    /// What the policies in force read from runs.
    func frozenFacts() async throws -> FrozenFacts {
        // A run's security decision is protected whether or not a policy reads it yet: a
        // policy set later must not find a FAIL turned into a PASS after the run ended.
        var frozen = FrozenFacts(tagKeys: ["security_decision"])
        for document in try await store.policiesInForce() {
            guard let policy = try? JSONDecoder().decode(PromotionPolicy.self, from: Data(document.utf8)) else { continue }
            frozen.metricKeys.formUnion(policy.metrics.map(\.key))
            frozen.tagKeys.formUnion(policy.provenanceTags)
            for name in policy.provenanceFields { frozen.tagKeys.formUnion(ProvenanceStandard.field(name)?.tagNames ?? []) }
            if policy.securityDecision != nil { frozen.tagKeys.insert("security_decision") }
            frozen.evidencePaths += policy.evidenceArtifacts
        }
        return frozen
    }

    static func hasEnded(_ info: RunInfo) -> Bool { info.endTimeMillis != nil || info.status.isTerminal }

    /// Refuses (and records) a change to a frozen fact of an ended run; for a run still open,
    /// returns the precondition that keeps it open until the change commits.
    func checkNotFrozen(_ id: RunID, metricKeys: [String] = [], tagKeys: [String] = [], artifactPath: String? = nil, actor: Actor) async throws
        -> [Precondition]
    {
        let frozen = try await frozenFacts()
        guard !frozen.isEmpty else { return [] }
        var touched: [String] = []
        touched += Set(metricKeys).intersection(frozen.metricKeys).sorted().map { "metrics.\($0)" }
        touched += Set(tagKeys).intersection(frozen.tagKeys).sorted().map { "tags.\($0)" }
        if let artifactPath, frozen.coversArtifact(artifactPath) { touched.append("artifact \(artifactPath)") }
        guard let first = touched.first else { return [] }
        guard let run = try await store.run(id: id) else { throw TrailError.notFound("run", id.value, field: "run_id") }
        guard Self.hasEnded(run.info) else { return [.runNotEnded(id, field: first)] }
        let message =
            "run \(id) has ended (\(run.info.status.rawValue)); what promotion policies read from it is frozen, so \(touched.joined(separator: ", ")) cannot change: log it in a new run"
        _ = try await store.record(
            EventDraft(
                action: "run.change.refused", actor: actor, timeMillis: clock.nowMillis(), subject: Subject(type: "run", id: id.value),
                facts: ["frozen": .array(touched.prefix(50).map(JSONValue.string)), "status": .string(run.info.status.rawValue)]))
        throw TrailError.recorded(.invalidState, message, field: first)
    }
}
