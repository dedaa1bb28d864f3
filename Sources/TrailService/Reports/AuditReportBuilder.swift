import Foundation
import TrailArtifacts
import TrailCore
import TrailLedger
import TrailStore

/// Gathers an `AuditReport` from the services: the registry (version, gate, approvals,
/// attestations, history), the lineage service (each link proven against the signed
/// checkpoint), tracking (the run's evidence), serving (deployments, prediction counts, drift
/// checks) and the ledger (verification, checkpoint, cosignatures). It decides nothing of its
/// own: every verdict in the report is one a service gives.
///
/// Reading the report's text evidence (model card, classification report) goes through
/// `TrackingService.openArtifact`, so each read is recorded as `artifact.get` by the actor, as
/// any other read of an artifact is; running the verification is recorded as `ledger.verify`.
public struct AuditReportBuilder: Sendable {
    public let home: TrailHome

    public init(home: TrailHome) {
        self.home = home
    }

    /// How the integrity verdict is obtained.
    public enum Verification: Sendable {
        /// Runs the full verification now (rows, blobs, tree) and records it as `ledger.verify`.
        case run(LedgerVerifier.Progress?)
        /// Reports the latest recorded `ledger.verify` event (cheap; what a reader without the
        /// admin role gets from a server).
        case latestRecorded
    }

    public struct Options: Sendable {
        /// Targets whose gate to run; empty: the reference's own target (`@alias` or the stage),
        /// or for a version number each of its aliases (`@production` when it has none).
        public var targets: [String]
        /// The width of a prediction-count window.
        public var windowMillis: Int64
        public var verification: Verification
        /// How sensitive param and tag values are shown: masked unless the reader is privileged.
        public var reader: Reader

        public init(
            targets: [String] = [], windowMillis: Int64 = 86_400_000, verification: Verification = .latestRecorded, reader: Reader = .masked
        ) {
            self.targets = targets
            self.windowMillis = windowMillis
            self.verification = verification
            self.reader = reader
        }
    }

    /// The caps on every list a client could make long; what is cut is counted.
    public enum Caps {
        public static let files = 1000
        public static let links = 200
        public static let params = 500
        public static let metrics = 500
        public static let tags = 500
        public static let datasets = 50
        public static let artifacts = 1000
        public static let approvals = 500
        public static let attestations = 200
        public static let history = 500
        public static let refusals = 200
        public static let deploymentEvents = 500
        public static let predictionWindows = 1000
        public static let driftChecks = 100
        public static let driftFeatures = 100
        public static let findings = 50
        public static let targets = 10
        /// Characters of one value (a param, a tag, a reason, a comment) kept.
        public static let valueCharacters = 2000
        /// Bytes of a text document (model card, classification report) kept.
        public static let textBytes = 64 * 1024
        /// Text artifacts larger than this are named by digest only, not read.
        public static let readableBytes: Int64 = 1 << 20
        /// Events of one kind scanned (drift checks, refusals, verifications).
        public static let scannedEvents = 100_000
    }

    static let minimumWindowMillis: Int64 = 60_000
    static let maximumWindowMillis: Int64 = 366 * 86_400_000

    /// The report on `name@reference` (an alias, a stage spelled as the stage, or a version
    /// number; `ModelReference` is the rule), as `actor`.
    ///
    /// Throws `RESOURCE_DOES_NOT_EXIST` for an unknown model, version or a reference that
    /// names nothing, and `INVALID_PARAMETER_VALUE` for a bad target or window.
    public func build(name: String, reference: String, options: Options = Options(), actor: Actor) async throws -> AuditReport {
        guard (Self.minimumWindowMillis...Self.maximumWindowMillis).contains(options.windowMillis) else {
            throw TrailError.invalid("window", "the prediction window must be 1 minute to 366 days")
        }
        guard !reference.isEmpty, reference.utf8.count <= 300 else {
            throw TrailError.invalid("ref", "ref is an alias, a stage or a version number (at most 300 bytes)")
        }
        guard options.targets.count <= Caps.targets else { throw TrailError.invalid("target", "at most \(Caps.targets) targets") }
        let registry = home.registry
        let model = try await registry.model(name)
        let parsed = ModelReference(parsing: reference)
        guard let number = try await registry.currentVersion(name: name, reference: parsed) else {
            throw TrailError.notFound("model reference", "\(name)@\(reference.prefix(300))", field: "ref")
        }
        let version = try await registry.version(name, number)
        let referenceKind: String =
            switch parsed {
            case .version: "version"
            case .alias: "alias"
            case .stage: "stage"
            }

        // The run's evidence first: its artifact reads are recorded, and the checkpoint taken
        // below then covers them.
        var training: AuditReport.TrainingSection?
        var modelCard: AuditReport.TextDocument?
        if let runID = version.runID, let stored = try await home.tracking.store.run(id: runID) {
            // Sensitive values as this reader may see them (sealed ones masked unless privileged).
            let run = try await home.tracking.present(stored, reader: options.reader)
            (training, modelCard) = try await trainingSection(run, actor: actor)
        }

        let targets = try targets(for: parsed, version: version, given: options.targets)
        var policies: [AuditReport.PolicySection] = []
        for target in targets { policies.append(try await policySection(name: name, version: number, target: target)) }

        let approvals = try await registry.approvals(name: name, version: number).map { approval in
            AuditReport.ApprovalEntry(
                approver: approval.approver, decision: approval.decision, target: approval.target, time: approval.timeMillis,
                rootDigest: approval.rootDigest.description, digestMatches: approval.rootDigest == version.manifest.root,
                comment: Self.bounded(approval.comment), eventIndex: approval.eventIndex)
        }
        let keys = Dictionary(try await registry.trustedKeys().map { ($0.keyID, $0) }, uniquingKeysWith: { _, last in last })
        let attestations = try await registry.attestations(name: name, version: number).map { attestation in
            AuditReport.AttestationEntry(
                predicateType: attestation.predicateType, submittedBy: attestation.submittedBy, time: attestation.timeMillis,
                envelopeDigest: attestation.envelopeDigest.description, subjectDigest: attestation.subjectDigest.description, verified: true,
                trustedNow: attestation.keyIDs.contains {
                    keys[$0].map { !$0.revoked && $0.predicateTypes.contains(attestation.predicateType) } ?? false
                },
                keys: attestation.keyIDs.prefix(20).map { .init(keyID: $0, name: keys[$0]?.name, revoked: keys[$0]?.revoked ?? true) },
                eventIndex: attestation.eventIndex)
        }

        let promotions = try await promotionSection(name: name, version: number)
        let deployments = try await deploymentSection(name: name, version: number, windowMillis: options.windowMillis)
        let drift = try await driftSection(name: name, version: number)

        // The verification runs before the lineage is proven, so the checkpoint the proofs use
        // covers the `ledger.verify` event too.
        let verification: AuditReport.IntegritySection.Verification?
        switch options.verification {
        case .run(let progress):
            _ = try await home.ledger.checkpointIfBehind()
            let result = try await home.verifier.verify(progress: progress)
            try await home.ledger.record(result, actor: actor)
            verification = .init(
                performed: "now", ok: result.ok, events: result.events, checkpoints: result.checkpoints, rowsChecked: result.rowsChecked,
                blobs: result.blobs, findingsCount: result.findings.count, findings: Array(result.findings.prefix(Caps.findings)),
                time: home.tracking.clock.nowMillis(), actor: actor, eventIndex: nil)
        case .latestRecorded:
            verification = try await latestRecordedVerification()
        }

        let lineage = try await home.lineage.model(name: name, reference: reference)
        guard lineage.version == number else {
            throw TrailError.concurrentChange("\(name)@\(reference.prefix(300))")
        }
        let checkpoint = try await home.ledger.checkpoint(size: lineage.checkpointSize)
        let links = lineage.links.prefix(Caps.links).map { link in
            AuditReport.LineageSection.Link(
                kind: link.kind, summary: Self.bounded(link.summary), eventIndex: link.eventIndex, proven: link.proven,
                proof: link.proof.map {
                    .init(
                        index: $0.index, treeSize: $0.treeSize, leafHash: Data($0.leafHash).base64EncodedString(),
                        path: $0.path.map { Data($0).base64EncodedString() })
                })
        }
        let lineageSection = AuditReport.LineageSection(
            checkpointSize: lineage.checkpointSize, dataSHA256: lineage.dataSHA256, gitCommit: lineage.gitCommit,
            environmentSHA256: lineage.environmentSHA256, links: links, linksOmitted: lineage.links.count - links.count,
            proven: links.filter(\.proven).count, unproven: links.filter { !$0.proven }.count)

        let signed = (try? Checkpoint.open(checkpoint.note, verifier: home.ledger.signer.verifier)).map {
            $0.size == checkpoint.size && $0.root == checkpoint.root
        }
        let integrity = AuditReport.IntegritySection(
            verification: verification,
            checkpoint: .init(
                origin: home.ledger.origin, size: checkpoint.size, rootHash: checkpoint.root.hexString, time: checkpoint.timeMillis,
                note: checkpoint.note, verifierKey: home.ledger.verifierKey, signatureVerified: signed ?? false),
            witnesses: try await witnesses())

        return AuditReport(
            generatedAt: home.tracking.clock.nowMillis(), generatedBy: actor,
            subject: .init(name: name, reference: reference, referenceKind: referenceKind, version: number),
            identity: .init(
                name: name, version: number, modelDescription: Self.bounded(model.description), versionDescription: Self.bounded(version.description),
                rootDigest: version.manifest.root.description, source: Self.bounded(version.source), runID: version.runID?.value,
                stage: version.stage.rawValue, aliases: version.aliases.sorted(), registeredBy: version.createdBy,
                registeredAt: version.creationTimeMillis,
                registrationEventIndex: try await home.tracking.store.modelVersionCreationEvent(name: name, version: number),
                files: .init(
                    version.manifest.files.map { .init(path: $0.path, sha256: $0.digest.description, sizeBytes: $0.sizeBytes) }, cap: Caps.files)),
            lineage: lineageSection, training: training, policies: policies,
            approvals: .init(approvals, cap: Caps.approvals, newest: true), attestations: .init(attestations, cap: Caps.attestations, newest: true),
            promotions: promotions, deployments: deployments, drift: drift, integrity: integrity, modelCard: modelCard)
    }

    // MARK: Sections

    /// The gate's targets: those given (canonical, deduplicated), else the reference's own.
    func targets(for reference: ModelReference, version: ModelVersion, given: [String]) throws -> [String] {
        var targets: [String]
        if !given.isEmpty {
            targets = given
        } else {
            switch reference {
            case .alias(let alias): targets = ["@" + alias]
            case .stage(let stage): targets = [stage.rawValue]
            case .version: targets = version.aliases.isEmpty ? ["@production"] : version.aliases.sorted().map { "@" + $0 }
            }
        }
        var seen: Set<String> = []
        return try targets.prefix(Caps.targets).map { try PromotionTarget.canonical($0) }.filter { seen.insert($0).inserted }
    }

    func policySection(name: String, version: Int64, target: String) async throws -> AuditReport.PolicySection {
        let (report, _, policyTarget) = try await home.registry.evaluateWithSubjects(name: name, version: version, target: target)
        var section = AuditReport.PolicySection(
            target: report.target, policyVersion: report.policyVersion, policyTarget: policyTarget, policyEventIndex: nil, policy: nil,
            granted: report.granted,
            requirements: report.requirements.map {
                .init(requirement: Self.bounded($0.requirement), met: $0.met, evidence: Self.bounded($0.evidence))
            })
        if let policyTarget, let (policyVersion, policy) = try await home.registry.policy(name: name, target: policyTarget) {
            section.policy = policy
            section.policyEventIndex = try await home.tracking.store.policyEvent(name: name, target: policyTarget, version: policyVersion)
        }
        return section
    }

    func trainingSection(_ run: Run, actor: Actor) async throws -> (AuditReport.TrainingSection, AuditReport.TextDocument?) {
        let runID = run.info.runID
        let tags = Dictionary(run.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        let provenanceKeys = [
            "mlflow.source.git.commit", "git_commit", "mlflow.source.git.branch", "mlflow.source.git.repoURL", "git_dirty", "mlflow.source.name",
            "mlflow.source.type", "data_sha256", "environment_sha256", "swift_toolchain", "os", "cpu", "trail_binary_sha256",
            "dependency_lock_sha256", "model_sha256", "security_decision",
        ]
        // The fixed keys first, then the provenance standard's `modeltrail.*` fields.
        let standard = tags.keys.filter { $0.hasPrefix("modeltrail.") && !provenanceKeys.contains($0) }.sorted()
        let provenance = (provenanceKeys + standard).prefix(Caps.tags).compactMap { key in
            tags[key].map { AuditReport.Pair(key: key, value: Self.bounded($0)) }
        }
        let creation = try await home.ledger.events(EventQuery(subjectType: "run", subjectID: runID.value, action: "run.create", limit: 1)).first
        let metrics = run.metrics.sorted { $0.key < $1.key }
        let subgroups = metrics.compactMap { metric in
            Self.subgroupMetric(metric.key).map { AuditReport.SubgroupMetric(metric: $0.metric, group: $0.group, value: Self.number(metric.value)) }
        }
        let artifacts = try await home.tracking.store.artifacts(run: runID).sorted { $0.path.value < $1.path.value }
        func find(_ names: [String]) -> ArtifactEntry? {
            for name in names {
                if let exact = artifacts.first(where: { $0.path.value == name }) { return exact }
            }
            for name in names {
                if let nested = artifacts.first(where: { $0.path.value.hasSuffix("/" + name) }) { return nested }
            }
            return nil
        }
        let image = find(["confusion_matrix.png", "confusion_matrix.jpg", "confusion_matrix.jpeg", "confusion_matrix.svg"]).map { entry in
            AuditReport.EvidenceImage(
                path: entry.path.value, sha256: entry.digest.description, sizeBytes: entry.sizeBytes, mediaType: Self.mediaType(entry.path.value))
        }
        let classification = try await textDocument(find(["classification_report.txt", "classification_report.json"]), run: runID, actor: actor)
        let card = try await textDocument(find(["model_card.md"]), run: runID, actor: actor)
        let subgroupReport = try await textDocument(find(["evaluation/subgroups.json"]), run: runID, actor: actor)
        let section = AuditReport.TrainingSection(
            runID: runID.value, runName: Self.bounded(run.info.name), experimentID: String(run.info.experimentID.value),
            status: run.info.status.rawValue, createdBy: creation?.actor.id, userID: Self.bounded(run.info.userID),
            startTime: run.info.startTimeMillis, endTime: run.info.endTimeMillis, provenance: provenance,
            params: .init(run.params.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: Self.bounded($0.value)) }, cap: Caps.params),
            metrics: .init(
                metrics.map { .init(key: $0.key, value: Self.number($0.value), step: $0.step, time: $0.timestampMillis) }, cap: Caps.metrics),
            subgroupMetrics: .init(subgroups, cap: Caps.metrics),
            datasets: .init(
                run.inputs.map {
                    .init(
                        name: Self.bounded($0.name), digest: Self.bounded($0.digest), sourceType: Self.bounded($0.sourceType),
                        source: Self.bounded($0.source), context: $0.context.map { Self.bounded($0) }, rows: $0.profile?.rows,
                        columns: $0.profile?.columns)
                }, cap: Caps.datasets),
            tags: .init(run.tags.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: Self.bounded($0.value)) }, cap: Caps.tags),
            artifacts: .init(
                artifacts.map { .init(path: $0.path.value, sha256: $0.digest.description, sizeBytes: $0.sizeBytes) }, cap: Caps.artifacts),
            confusionMatrix: image, classificationReport: classification, subgroupReport: subgroupReport)
        return (section, card)
    }

    /// A text artifact: read (recorded as `artifact.get`) when it is small enough, checked
    /// against its digest, cut at `Caps.textBytes` on a character boundary.
    func textDocument(_ entry: ArtifactEntry?, run: RunID, actor: Actor) async throws -> AuditReport.TextDocument? {
        guard let entry else { return nil }
        var document = AuditReport.TextDocument(
            path: entry.path.value, sha256: entry.digest.description, sizeBytes: entry.sizeBytes, text: "", truncated: true)
        guard entry.sizeBytes <= Caps.readableBytes else { return document }
        let (_, reader) = try await home.tracking.openArtifact(run, path: entry.path, actor: actor)
        defer { reader.close() }
        let bytes = try reader.readAll()
        guard Digest.of(bytes) == entry.digest else {
            throw TrailError(.dataLoss, "artifact \(entry.path.value) of run \(run) does not match its digest; run 'trail ledger verify'")
        }
        (document.text, document.truncated) = Self.prefix(bytes, maxBytes: Caps.textBytes)
        return document
    }

    func promotionSection(name: String, version: Int64) async throws -> AuditReport.PromotionSection {
        let number = String(version)
        let emergencies = Set(try await scan(EventQuery(subjectType: "model", subjectID: name, action: "alias.emergency")) { $0.index })
        let history = try await home.registry.history(name).filter { change in
            change.kind == .alias ? (change.to == number || change.from == number) : change.key == number
        }.map { change in
            AuditReport.PromotionEntry(
                kind: change.kind.rawValue, target: change.kind == .alias ? "@" + change.key : "stage", from: change.from, to: change.to,
                reason: Self.bounded(change.reason), actor: change.actor, time: change.timeMillis, emergency: emergencies.contains(change.eventIndex),
                eventIndex: change.eventIndex)
        }
        let refused = try await scan(EventQuery(subjectType: "model", subjectID: name, action: "promotion.refused")) {
            event -> AuditReport.RefusalEntry? in
            guard let facts = (try? JSONValue.parse(event.body))?["facts"], facts["version"]?.intValue == version else { return nil }
            var unmet: [String] = []
            if case .array(let requirements)? = facts["requirements"] {
                for requirement in requirements where Self.bool(requirement["met"]) == false {
                    unmet.append(Self.bounded("\(requirement["requirement"]?.stringValue ?? "?") (\(requirement["evidence"]?.stringValue ?? ""))"))
                }
            }
            return .init(
                target: Self.bounded(facts["target"]?.stringValue ?? "?"), actor: event.actor, time: event.timeMillis,
                unmet: Array(unmet.prefix(100)),
                eventIndex: event.index)
        }
        return .init(history: .init(history, cap: Caps.history, newest: true), refused: .init(refused, cap: Caps.refusals, newest: true))
    }

    func deploymentSection(name: String, version: Int64, windowMillis: Int64) async throws -> AuditReport.DeploymentSection {
        let all = try await home.tracking.store.deployments(id: nil, modelName: name)
        let served = Set(all.filter { $0.modelVersion == version }.map(\.deploymentID))
        let events = all.filter { served.contains($0.deploymentID) }.sorted { $0.eventIndex < $1.eventIndex }.map {
            AuditReport.DeploymentEntry(
                deploymentID: Self.bounded($0.deploymentID), action: $0.action, reference: Self.bounded($0.reference), modelVersion: $0.modelVersion,
                host: Self.bounded($0.host), configDigest: $0.configDigest.description, binaryDigest: Self.bounded($0.binaryDigest),
                time: $0.timeMillis,
                eventIndex: $0.eventIndex)
        }
        var windows: [AuditReport.PredictionWindow] = []
        var total: Int64 = 0
        var refused: Int64 = 0
        for id in served.sorted() {
            for bucket in try await home.tracking.store.predictionCounts(
                deploymentID: id, modelName: name, modelVersion: version, bucketMillis: windowMillis)
            where bucket.ok + bucket.refused > 0 {
                windows.append(.init(deploymentID: Self.bounded(id), start: bucket.bucket, predictions: bucket.ok, refused: bucket.refused))
                total = total.addingReportingOverflow(bucket.ok).overflow ? Int64.max : total + bucket.ok
                refused = refused.addingReportingOverflow(bucket.refused).overflow ? Int64.max : refused + bucket.refused
            }
        }
        windows.sort { ($0.start, $0.deploymentID) < ($1.start, $1.deploymentID) }
        return .init(
            events: .init(events, cap: Caps.deploymentEvents, newest: true), windowSeconds: windowMillis / 1000,
            predictions: .init(windows, cap: Caps.predictionWindows, newest: true), totalPredictions: total, totalRefused: refused)
    }

    func driftSection(name: String, version: Int64) async throws -> AuditReport.ListSection<AuditReport.DriftEntry> {
        let checks = try await scan(EventQuery(subjectType: "model", subjectID: name, action: "drift.check")) { event -> AuditReport.DriftEntry? in
            guard let facts = (try? JSONValue.parse(event.body))?["facts"], facts["version"]?.intValue == version else { return nil }
            var features: [AuditReport.DriftEntry.FeaturePSI] = []
            if case .object(let psi)? = facts["psi"] {
                for key in psi.keys.sorted().prefix(Caps.driftFeatures) {
                    features.append(.init(name: Self.bounded(key), psi: Self.double(psi[key]).map(Self.number) ?? "?"))
                }
            }
            let windowMillis = facts["window_ms"]?.intValue ?? 0
            return .init(
                time: event.timeMillis, actor: event.actor, reference: Self.bounded(facts["reference"]?.stringValue ?? ""),
                windowSeconds: windowMillis / 1000,
                served: facts["served"]?.intValue ?? 0, level: facts["level"]?.stringValue ?? "?", features: features, eventIndex: event.index)
        }
        return .init(checks, cap: Caps.driftChecks, newest: true)
    }

    /// The latest `ledger.verify` event's verdict; nil when the ledger was never verified.
    func latestRecordedVerification() async throws -> AuditReport.IntegritySection.Verification? {
        let origin = home.ledger.origin
        let last = try await scan(EventQuery(subjectType: "ledger", subjectID: origin, action: "ledger.verify")) { $0 }.last
        guard let last, let facts = (try? JSONValue.parse(last.body))?["facts"] else { return nil }
        var findings: [VerificationFinding] = []
        if case .object(let kinds)? = facts["finding_kinds"] {
            for kind in kinds.keys.sorted().prefix(Caps.findings) {
                findings.append(
                    VerificationFinding(kind: Self.bounded(kind), location: "", message: "\(kinds[kind]?.intValue ?? 0) finding(s) of this kind"))
            }
        }
        let count = facts["findings"]?.intValue ?? 0
        return .init(
            performed: "recorded", ok: Self.bool(facts["ok"]) ?? false, events: facts["events"]?.intValue ?? 0, checkpoints: nil, rowsChecked: nil,
            blobs: nil, findingsCount: Int(clamping: count), findings: findings, time: last.timeMillis, actor: last.actor, eventIndex: last.index)
    }

    /// The cosignatures of the newest checkpoint any witness cosigned, each checked with the
    /// witness key it is stored under.
    func witnesses() async throws -> AuditReport.IntegritySection.Witnesses {
        guard let size = try await home.ledger.store.latestCosignedSize(), let stored = try await home.ledger.store.checkpoint(size: size) else {
            return .init(checkpointSize: nil, cosignatures: [])
        }
        let lines = try await home.ledger.store.cosignatures(size: size)
        let cosignatures = lines.keys.sorted().prefix(50).map { vkey -> AuditReport.IntegritySection.Cosignature in
            let verifier = try? CosignatureVerifier(vkey: vkey)
            let verified =
                verifier.map { (try? Cosignature.cosigners(of: stored.note + (lines[vkey] ?? ""), among: [$0]))?.isEmpty == false } ?? false
            return .init(
                witness: Self.bounded(verifier?.name ?? String(vkey.prefix { $0 != "+" })), verifierKey: Self.bounded(vkey), verified: verified)
        }
        return .init(checkpointSize: size, cosignatures: cosignatures)
    }

    // MARK: Helpers

    /// Runs `query` over every matching event, page by page (at most `Caps.scannedEvents`),
    /// keeping what `transform` returns.
    func scan<T>(_ query: EventQuery, _ transform: (StoredEvent) throws -> T?) async throws -> [T] {
        var query = query
        query.limit = 1000
        var out: [T] = []
        var scanned = 0
        while scanned < Caps.scannedEvents {
            let page = try await home.ledger.events(query)
            for event in page { if let value = try transform(event) { out.append(value) } }
            scanned += page.count
            guard page.count == query.limit, let last = page.last, last.index < Int64.max else { break }
            query.fromIndex = last.index + 1
        }
        return out
    }

    /// A subgroup metric's name and group, from either convention: `trail train --subgroup`'s
    /// `subgroup.<slug>.<metric>` (and `subgroup.<slug>.rest.<metric>`, the rows outside it),
    /// or `<metric>_group__<group>` (MLflow runs following the seeds' convention).
    static func subgroupMetric(_ key: String) -> (metric: String, group: String)? {
        if key.hasPrefix("subgroup.") {
            let parts = key.dropFirst("subgroup.".count).split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty { return (String(parts[1]), String(parts[0])) }
            if parts.count == 3, parts[1] == "rest", !parts[0].isEmpty, !parts[2].isEmpty { return (String(parts[2]), "\(parts[0]) (rest)") }
            return nil
        }
        guard let range = key.range(of: "_group__"), range.lowerBound > key.startIndex, range.upperBound < key.endIndex else { return nil }
        return (String(key[..<range.lowerBound]), String(key[range.upperBound...]))
    }

    /// `text` cut at `Caps.valueCharacters`, saying how long it was.
    static func bounded(_ text: String, max: Int = Caps.valueCharacters) -> String {
        guard text.count > max else { return text }
        return String(text.prefix(max)) + "… (\(text.count) characters)"
    }

    /// The UTF-8 text of `bytes`, cut at `maxBytes` on a character boundary.
    static func prefix(_ bytes: [UInt8], maxBytes: Int) -> (text: String, truncated: Bool) {
        guard bytes.count > maxBytes else { return (String(decoding: bytes, as: UTF8.self), false) }
        var end = maxBytes
        // Back up over continuation bytes (10xxxxxx) so no character is cut in half.
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return (String(decoding: bytes[..<end], as: UTF8.self), true)
    }

    /// A number as people read it: ECMAScript's shortest form, `NaN`, `Infinity`.
    static func number(_ value: Double) -> String {
        value.isNaN ? "NaN" : value.isInfinite ? (value > 0 ? "Infinity" : "-Infinity") : JSONValue.ecmaScriptNumber(value)
    }

    static func bool(_ value: JSONValue?) -> Bool? {
        if case .bool(let flag)? = value { return flag }
        return nil
    }

    static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .double(let number)?: return number
        case .int(let number)?: return Double(number)
        default: return nil
        }
    }

    static func mediaType(_ path: String) -> String {
        let lower = path.lowercased()
        if lower.hasSuffix(".png") { return "image/png" }
        if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { return "image/jpeg" }
        if lower.hasSuffix(".svg") { return "image/svg+xml" }
        return "application/octet-stream"
    }
}
