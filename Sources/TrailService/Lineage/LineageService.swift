import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import TrailCore
import TrailLedger
import TrailStore

/// Answers "what stands behind this model?" from the record: each link of the chain with the
/// ledger event that wrote it and an inclusion proof of that event, checked against the
/// latest signed checkpoint.
public struct LineageService: Sendable {
    public let tracking: TrackingService
    public let registry: RegistryService
    public let ledger: LedgerService

    public init(tracking: TrackingService, registry: RegistryService, ledger: LedgerService) {
        self.tracking = tracking
        self.registry = registry
        self.ledger = ledger
    }

    public struct Link: Sendable, Codable {
        public var kind: String
        public var summary: String
        public var eventIndex: Int64?
        /// The event's inclusion in the latest checkpoint verified (signature and Merkle path).
        public var proven: Bool
        /// The inclusion proof of `eventIndex` against the signed checkpoint, for offline checks.
        public var proof: InclusionProof? = nil

        enum CodingKeys: String, CodingKey { case kind, summary, eventIndex = "event_index", proven, proof }
    }

    public struct ModelLineage: Sendable, Codable {
        public var name: String
        public var reference: String
        public var version: Int64
        public var rootDigest: Digest
        public var runID: RunID?
        public var dataSHA256: String?
        public var gitCommit: String?
        public var environmentSHA256: String?
        public var metrics: [String: Double]
        public var checkpointSize: UInt64
        public var links: [Link]

        enum CodingKeys: String, CodingKey {
            case name, reference, version, rootDigest = "root_digest", runID = "run_id", dataSHA256 = "data_sha256", gitCommit = "git_commit"
            case environmentSHA256 = "environment_sha256", metrics, checkpointSize = "checkpoint_size", links
        }
    }

    /// The checkpoint every link of one answer is proven against: its signature is checked once,
    /// then each link's Merkle path is checked against its root.
    struct Prover: Sendable {
        let ledger: LedgerService
        let checkpoint: StoredCheckpoint
        let root: TreeHash?
        var size: UInt64 { checkpoint.size }

        init(ledger: LedgerService) async throws {
            self.ledger = ledger
            _ = try await ledger.checkpointIfBehind()
            checkpoint = try await ledger.latestCheckpoint()
            root = (try? Checkpoint.open(checkpoint.note, verifier: ledger.signer.verifier))?.root
        }

        /// Fills in every link's proof and verdict, from one read of the tree.
        func prove(_ links: [Link]) async -> [Link] {
            let proofs = (try? await ledger.inclusionProofs(links.compactMap(\.eventIndex), checkpoint: checkpoint)) ?? [:]
            return links.map { link in
                var link = link
                guard let index = link.eventIndex, let proof = proofs[index], let root else {
                    link.proven = false
                    return link
                }
                link.proof = proof
                link.proven = link.proven && Merkle.verifyInclusion(index: proof.index, size: proof.treeSize, leaf: proof.leafHash, path: proof.path, root: root)
                return link
            }
        }
    }

    /// The lineage of `name@reference` (an alias, a stage, or a version number).
    public func model(name: String, reference: String) async throws -> ModelLineage {
        try await model(name: name, reference: reference, prover: nil)
    }

    /// The lineage, proven against `prover`'s checkpoint (a prediction's trace shares one).
    func model(name: String, reference: String, prover given: Prover?) async throws -> ModelLineage {
        _ = try await registry.model(name)
        let number: Int64
        var promotion: RegistryChange?
        if case .version(let direct) = ModelReference(parsing: reference) {
            number = direct
        } else {
            let (versions, change) = try await registry.resolve(name: name, reference: reference, atMillis: Int64.max)
            guard let last = versions.last else { throw TrailError.notFound("model reference", "\(name)@\(reference)", field: "reference") }
            number = last
            promotion = change
        }
        let version = try await registry.version(name, number)
        let prover = if let given { given } else { try await Prover(ledger: ledger) }
        var links: [Link] = []
        // `proven` starts as "nothing else is wrong"; `Prover.prove` adds the inclusion check.
        func link(_ kind: String, _ summary: String, _ index: Int64?) {
            links.append(Link(kind: kind, summary: summary, eventIndex: index, proven: true))
        }
        if let promotion {
            link(
                "promotion",
                "\(name)@\(reference) → version \(promotion.to ?? "-") by \(promotion.actor) at \(Self.date(promotion.timeMillis)): \(promotion.reason.isEmpty ? "(no reason)" : promotion.reason)",
                promotion.eventIndex)
            if let event = try? await ledger.event(index: promotion.eventIndex), let body = try? JSONValue.parse(event.body),
                let policy = body["facts"]?["evidence"]?["policy_version"]?.intValue ?? body["facts"]?["policy_version"]?.intValue
            {
                // The policy the promotion cited: its target is in the evidence (or is the
                // promotion's own target), and the `policies` row of that version names the
                // event that stored it.
                let own = promotion.kind == .alias ? "@" + promotion.key.lowercased() : promotion.key
                let target = body["facts"]?["evidence"]?["policy_target"]?.stringValue ?? own
                let set = try await tracking.store.policyEvent(name: name, target: target, version: policy)
                link("policy", "policy v\(policy) for \(target), cited by \(event.action) #\(event.index)", set)
            }
        }
        for approval in try await registry.approvals(name: name, version: number) where approval.decision == "approve" {
            link(
                "approval", "\(approval.approver) approved for \(approval.target) at \(Self.date(approval.timeMillis)), digest \(approval.rootDigest)",
                approval.eventIndex)
        }
        for attestation in try await registry.attestations(name: name, version: number) {
            link("attestation", "\(attestation.predicateType) signed by \(attestation.keyIDs.map { String($0.prefix(16)) }.joined(separator: ",")), envelope \(attestation.envelopeDigest)", attestation.eventIndex)
        }
        // The event that created this version's row (two versions can share a root digest).
        let created = try await tracking.store.modelVersionCreationEvent(name: name, version: number)
        link(
            "model_version", "\(name) version \(number) registered by \(version.createdBy) at \(Self.date(version.creationTimeMillis)), root \(version.manifest.root), \(version.manifest.files.count) files",
            created)
        var lineage = ModelLineage(
            name: name, reference: reference, version: number, rootDigest: version.manifest.root, runID: version.runID, metrics: [:],
            checkpointSize: prover.size, links: [])
        if let runID = version.runID, let run = try? await tracking.run(runID) {
            let tags = Dictionary(run.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
            lineage.gitCommit = tags["mlflow.source.git.commit"]
            lineage.environmentSHA256 = tags["environment_sha256"]
            lineage.dataSHA256 = tags["data_sha256"] ?? run.inputs.first?.digest
            lineage.metrics = Dictionary(run.metrics.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
            let runEvents = try await ledger.events(EventQuery(subjectType: "run", subjectID: runID.value, limit: 10_000))
            // The author is the authenticated actor of the run's creation event; `user_id` is a
            // client-supplied attribute (MLflow's), shown only when it says something else.
            let creation = runEvents.first { $0.action == "run.create" }
            let author = creation?.actor.id ?? "unknown"
            let claimed = run.info.userID != author && !run.info.userID.isEmpty ? " (user_id attribute '\(run.info.userID.prefix(100))')" : ""
            link("run", "run \(runID) created by \(author)\(claimed)", creation?.index)
            link(
                "run_state", "run \(runID) (\(run.info.name)): \(run.info.status.rawValue)\(run.info.endTimeMillis.map { ", ended \(Self.date($0))" } ?? "")",
                try await tracking.store.runStateEvent(run: runID))
            // Each link cites the event that wrote the fact it shows: the tag change that set the
            // value shown, the event that logged the input, the events that wrote the metrics'
            // latest points.
            let inputEvents = try await tracking.store.datasetInputEvents(run: runID)
            for input in run.inputs {
                link(
                    "dataset", "\(input.name) \(input.digest) from \(input.source) (\(input.profile.map { "\($0.rows) rows × \($0.columns) columns" } ?? "?"))",
                    inputEvents[DatasetInputKey(name: input.name, digest: input.digest, context: input.context ?? "")])
            }
            // Upstream: the OpenLineage runs (Airflow, Spark, dbt, …) that wrote those datasets,
            // each with the event that accepted its report.
            for record in try await OpenLineageService(tracking: tracking).producers(of: run.inputs) {
                let outputs = record.datasets.filter { $0.role == "output" }.prefix(3).map { "\($0.namespace)/\($0.name)\($0.version.map { "@\($0)" } ?? "")" }
                link(
                    "upstream",
                    "OpenLineage job \(record.jobNamespace ?? "?")/\(record.jobName ?? "?") run \(record.runID ?? "-") \(record.eventType ?? "event") at \(Self.date(record.eventTimeMillis)) wrote \(outputs.joined(separator: ", "))\(record.gitCommit.map { " (commit \($0))" } ?? "")",
                    record.eventIndex)
            }
            let history = try await tracking.store.runTagHistory(run: runID)
            func tagEvent(_ key: String) -> Int64? { history.last { $0.key == key }?.eventIndex }
            let commitKey = tags["mlflow.source.git.commit"] != nil ? "mlflow.source.git.commit" : "git_commit"
            if lineage.gitCommit == nil { lineage.gitCommit = tags["git_commit"] }
            // A fact that was never recorded has no link (nothing to prove); the lineage's
            // fields say it is unknown.
            if let commit = lineage.gitCommit {
                link(
                    "code", "git commit \(commit) (\(tags["mlflow.source.git.branch"] ?? "?")\(tags["git_dirty"] == "true" ? ", dirty" : ""))",
                    tagEvent(commitKey))
            }
            if let environment = lineage.environmentSHA256 {
                link("environment", "environment \(environment): \(tags["swift_toolchain"] ?? "?")", tagEvent("environment_sha256"))
            }
            let metricEvents = try await tracking.store.metricEvents(run: runID)
            var byEvent: [Int64: [String]] = [:]
            for key in lineage.metrics.keys { if let index = metricEvents[key] { byEvent[index, default: []].append(key) } }
            for (index, keys) in byEvent.sorted(by: { $0.key < $1.key }) {
                link(
                    "metrics", keys.sorted().map { "\($0)=\(JSONValue.ecmaScriptNumber(lineage.metrics[$0]!))" }.joined(separator: " "), index)
            }
        }
        lineage.links = await prover.prove(links)
        return lineage
    }

    static func date(_ millis: Int64) -> String {
        // ISO 8601 in UTC to the second (as ISO8601DateFormatter writes it), without building
        // a formatter per call: a trace writes a dozen dates.
        var seconds = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return String(millis) }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : String(n) }
        let year = Int(parts.tm_year) + 1900
        let yearText = year >= 0 && year < 10000 ? String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year) : String(year)
        return "\(yearText)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
