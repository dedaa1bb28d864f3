import Foundation
import TrailArtifacts
import TrailCore
import TrailLedger
import TrailStore

/// The embedded default: calls the services on a home folder directly, acting as `actor` (the
/// OS user for the CLI). Business rules stay in the services; this only binds the actor.
public struct LocalClient: TrailClient {
    public let home: TrailHome
    public let actor: Actor
    /// How sensitive values are shown (masked unless the home's owner asks to see them).
    public var reader: Reader

    public init(home: TrailHome, actor: Actor, reader: Reader = .masked) {
        self.home = home
        self.actor = actor
        self.reader = reader
    }

    var tracking: TrackingService { home.tracking }
    var registry: RegistryService { home.registry }
    var serving: ServingService { ServingService(tracking: home.tracking, registry: home.registry) }

    public var location: String { home.url.path }
    public func nowMillis() -> Int64 { tracking.clock.nowMillis() }

    // MARK: Tracking

    public func createExperiment(name: String, tags: [Tag]) async throws -> Experiment {
        try await tracking.createExperiment(name: name, tags: tags, actor: actor)
    }

    public func experiment(_ idOrName: String) async throws -> Experiment {
        if let id = try? ExperimentID(parsing: idOrName), let found = try? await tracking.experiment(id: id) { return found }
        return try await tracking.experiment(named: idOrName)
    }

    public func createRun(_ request: NativeAPI.CreateRun) async throws -> Run {
        try await tracking.createRun(
            experimentID: request.experimentID, name: request.runName, userID: request.userID, startTimeMillis: request.startTime,
            tags: request.tags ?? [], actor: actor)
    }

    public func run(_ id: RunID) async throws -> Run { try await tracking.run(id, reader: reader) }

    public func updateRun(_ id: RunID, _ request: NativeAPI.UpdateRun) async throws -> RunInfo {
        try await tracking.updateRun(id, status: request.status, endTimeMillis: request.endTime, name: request.runName, actor: actor)
    }

    public func logBatch(_ id: RunID, _ batch: NativeAPI.LogBatch) async throws {
        try await tracking.logBatch(id, metrics: batch.metrics ?? [], params: batch.params ?? [], tags: batch.tags ?? [], actor: actor)
    }

    public func setTag(_ id: RunID, key: String, value: String?) async throws { try await tracking.setTag(id, key: key, value: value, actor: actor) }
    public func logInputs(_ id: RunID, _ inputs: [DatasetInput]) async throws { try await tracking.logInputs(id, inputs, actor: actor) }

    public func putArtifact(_ id: RunID, path: ArtifactPath, bytes: [UInt8]) async throws -> ArtifactEntry {
        try await tracking.putArtifact(id, path: path, bytes: bytes, actor: actor)
    }

    public func readArtifact(_ id: RunID, path: ArtifactPath) async throws -> [UInt8] {
        let (entry, reader) = try await tracking.openArtifact(id, path: path, actor: actor)
        defer { reader.close() }
        let bytes = try reader.readAll()
        guard Digest.of(bytes) == entry.digest else { throw TrailError(.dataLoss, "artifact \(path.value) does not match its digest", field: "path") }
        return bytes
    }

    public func recordReproduction(_ report: ReproductionReport) async throws -> Int64? {
        try await tracking.recordReproduction(report, actor: actor)
    }

    // MARK: Registry

    public func createModel(name: String, description: String) async throws -> RegisteredModel {
        try await registry.createModel(name: name, description: description, actor: actor)
    }

    public func models() async throws -> [RegisteredModel] {
        var all: [RegisteredModel] = []
        var token: String?
        repeat {
            let page = try await registry.models(maxResults: 1000, pageToken: token)
            all += page.items
            token = page.nextPageToken
        } while token != nil
        return all
    }

    public func model(_ name: String) async throws -> RegisteredModel { try await registry.model(name) }
    public func versions(_ name: String) async throws -> [ModelVersion] { try await registry.versions(name) }
    public func version(_ name: String, _ version: Int64) async throws -> ModelVersion { try await registry.version(name, version) }

    public func registerVersion(name: String, runID: RunID, path: String, description: String) async throws -> ModelVersion {
        try await registry.registerVersion(name: name, runID: runID, path: path, description: description, actor: actor)
    }

    public func setAlias(name: String, alias: String, version: Int64?, reason: String, emergency: Bool) async throws {
        if emergency {
            try await registry.emergencySetAlias(name: name, alias: alias, version: version, reason: reason, actor: actor)
        } else {
            try await registry.setAlias(name: name, alias: alias, version: version, reason: reason, actor: actor)
        }
    }

    public func transitionStage(name: String, version: Int64, stage: ModelStage, archiveExisting: Bool, reason: String) async throws
        -> ModelVersion
    {
        try await registry.transitionStage(name: name, version: version, stage: stage, archiveExisting: archiveExisting, reason: reason, actor: actor)
    }

    public func history(_ name: String) async throws -> [RegistryChange] { try await registry.history(name) }

    public func resolve(name: String, reference: String, atMillis: Int64) async throws -> (versions: [Int64], change: RegistryChange?) {
        try await registry.resolve(name: name, reference: reference, atMillis: atMillis)
    }

    public func setPolicy(name: String, target: String, document: [UInt8]) async throws -> Int64 {
        try await registry.setPolicy(name: name, target: target, document: document, actor: actor)
    }

    public func policy(name: String, target: String) async throws -> (version: Int64, policy: PromotionPolicy)? {
        try await registry.policy(name: name, target: target)
    }

    public func evaluate(name: String, version: Int64, target: String) async throws -> GateReport {
        try await registry.evaluate(name: name, version: version, target: target)
    }

    public func approve(name: String, version: Int64, target: String, decision: ApprovalDecision, comment: String, reviewedDigest: Digest?)
        async throws -> Approval
    {
        try await registry.approve(
            name: name, version: version, target: target, decision: decision, comment: comment, reviewedDigest: reviewedDigest, actor: actor)
    }

    public func approvals(name: String, version: Int64) async throws -> [Approval] { try await registry.approvals(name: name, version: version) }

    public func attest(name: String, version: Int64, predicateType: String?, envelope: [UInt8]) async throws -> Attestation {
        try await registry.attest(name: name, version: version, predicateType: predicateType, envelope: envelope, actor: actor)
    }

    public func attestations(name: String, version: Int64) async throws -> [Attestation] {
        try await registry.attestations(name: name, version: version)
    }

    public func trustKey(name: String, publicKeyHex: String, predicateTypes: [String]) async throws -> TrustedKey {
        try await registry.trustKey(name: name, publicKeyHex: publicKeyHex, predicateTypes: predicateTypes, actor: actor)
    }

    public func trustedKeys() async throws -> [TrustedKey] { try await registry.trustedKeys() }
    public func revokeKey(keyID: String) async throws -> TrustedKey { try await registry.revokeKey(keyID: keyID, actor: actor) }

    public func modelFile(_ version: ModelVersion, _ file: ManifestFile) async throws -> [UInt8] {
        guard version.manifest.files.contains(file) else { throw TrailError.notFound("model file", file.path, field: "path") }
        let bytes: [UInt8]
        do { bytes = try await tracking.blobs.get(file.digest, expectedBytes: file.sizeBytes) } catch let error as TrailError where error.code == .temporarilyUnavailable {
            throw error
        } catch {
            throw TrailError(.dataLoss, "model file \(file.path) (\(file.digest)) of \(version.name) version \(version.version) is missing")
        }
        guard Digest.of(bytes) == file.digest else {
            throw TrailError(.dataLoss, "model file \(file.path) of \(version.name) version \(version.version) does not match its digest")
        }
        return bytes
    }

    // MARK: Identity

    public func createUser(name: String, roles: Set<Role>) async throws -> User {
        try await home.identity.createUser(name: name, roles: roles, actor: actor)
    }

    public func users() async throws -> [User] { try await home.identity.users() }

    public func setRoles(name: String, roles: Set<Role>) async throws -> User {
        try await home.identity.setRoles(name: name, roles: roles, actor: actor)
    }

    public func createToken(user: String, expiresInSeconds: Int64?) async throws -> (secret: String, token: TokenInfo) {
        try await home.identity.createToken(user: user, expiresInSeconds: expiresInSeconds, actor: actor)
    }

    public func tokens(user: String?) async throws -> [TokenInfo] { try await home.identity.tokens(user: user) }
    public func revokeToken(id: String) async throws { try await home.identity.revokeToken(id: id, actor: actor) }

    public func acting(as user: String) async throws -> (client: any TrailClient, release: @Sendable () async -> Void) {
        (LocalClient(home: home, actor: .user(user)), {})
    }

    // MARK: Lineage, drift, predictions

    public func modelLineage(name: String, reference: String) async throws -> LineageService.ModelLineage {
        try await home.lineage.model(name: name, reference: reference)
    }

    public func predictionTrace(id: String) async throws -> LineageService.PredictionTrace {
        try await home.lineage.prediction(id: id, reader: reader)
    }

    public func datasetImpact(digest: String, windowMillis: Int64) async throws -> LineageService.DatasetImpact {
        try await home.lineage.dataset(digest: digest, windowMillis: windowMillis)
    }

    public func openLineageReceivers() async throws -> [OpenLineageCursor] { try await home.tracking.store.openLineageCursors() }

    public func lineageGraph(nodeID: String, depth: Int) async throws -> OpenLineageService.Graph {
        try await home.openLineage.graph(nodeID: nodeID, depth: depth)
    }

    public func drift(name: String, reference: String, windowMillis: Int64, minimumRows: Int) async throws -> DriftReport {
        try await serving.drift(name: name, reference: reference, windowMillis: windowMillis, minimumRows: minimumRows, actor: actor)
    }

    public func prediction(id: String) async throws -> PredictionRecord {
        try await home.dataProtection.prediction(id: id, reader: reader)
    }

    public func rescoreWithStoredInput(predictionID: String) async throws -> PredictionCheck {
        try await serving.rescore(predictionID: predictionID, input: nil, actor: actor)
    }

    public func recordPredictionCheck(_ check: PredictionCheck) async throws -> Int64? { try await serving.recordCheck(check, actor: actor) }

    // MARK: Data protection

    public func erase(predictionID: String, reason: String) async throws -> DataProtectionService.Erasure {
        try await home.dataProtection.erase(prediction: predictionID, reason: reason, actor: actor)
    }

    public func erase(runID: RunID, keys: [String], reason: String) async throws -> DataProtectionService.Erasure {
        try await home.dataProtection.erase(run: runID, keys: keys, reason: reason, actor: actor)
    }

    public func webhooks() async throws -> [WebhookEndpoint] { try await home.webhooks.webhooks() }

    public func createWebhook(url: String, events: [String], description: String, secret: String?) async throws -> WebhookService.Created {
        try await home.webhooks.create(url: url, events: events, description: description, secret: secret, actor: actor)
    }

    public func removeWebhook(id: String) async throws -> WebhookEndpoint { try await home.webhooks.remove(id, actor: actor) }

    public func testWebhook(id: String) async throws -> WebhookDelivery { try await home.webhooks.test(id, actor: actor) }

    public func webhookDeliveries(id: String, limit: Int) async throws -> [WebhookDelivery] {
        try await home.webhooks.deliveries(id, limit: limit)
    }

    public func webhookAllowances() async throws -> [WebhookAllowance] { try await home.webhooks.allowances() }

    public func allowWebhookNetwork(_ cidr: String, reason: String) async throws -> WebhookAllowance {
        try await home.webhooks.allow(cidr, reason: reason, actor: actor)
    }

    public func disallowWebhookNetwork(_ cidr: String, reason: String) async throws -> WebhookAllowance {
        try await home.webhooks.disallow(cidr, reason: reason, actor: actor)
    }

    public func holds() async throws -> [LegalHold] { try await home.dataProtection.holds() }

    public func placeHold(_ type: LegalHold.SubjectType, subject: String, reason: String) async throws -> LegalHold {
        try await home.dataProtection.placeHold(type, subject, reason: reason, actor: actor)
    }

    public func releaseHold(id: String, reason: String) async throws -> LegalHold {
        try await home.dataProtection.releaseHold(id, reason: reason, actor: actor)
    }

    public func retentionSettings() async throws -> [RetentionSetting] { try await home.dataProtection.retentionSettings() }

    public func setRetention(_ kind: RetentionKind, days: Int64) async throws -> RetentionSetting {
        try await home.dataProtection.setRetention(kind, days: days, actor: actor)
    }

    public func applyRetention(dryRun: Bool) async throws -> DataProtectionService.RetentionRun {
        try await home.dataProtection.applyRetention(dryRun: dryRun, actor: actor)
    }

    // MARK: Ledger

    public func checkpoint() async throws -> LedgerCheckpoint {
        _ = try await home.ledger.checkpointIfBehind()
        let (checkpoint, cosigned) = try await home.ledger.cosignedNote()
        return LedgerCheckpoint(size: checkpoint.size, note: checkpoint.note, cosignedNote: cosigned, verifierKey: home.ledger.verifierKey)
    }

    public func ledgerEvent(_ reference: String) async throws -> JSONValue {
        if let index = Int64(reference) { return try await home.ledger.event(index: index).presentation }
        return try await home.ledger.event(id: reference).presentation
    }

    public func ledgerEvents(_ query: EventQuery) async throws -> [JSONValue] { try await home.ledger.events(query).map(\.presentation) }

    public func inclusionProof(index: Int64, size: UInt64?) async throws -> InclusionProof {
        try await home.ledger.inclusionProof(index: index, checkpointSize: size)
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> ConsistencyProof {
        try await home.ledger.consistencyProof(first: first, second: second)
    }

    public func verifyLedger(progress: LedgerVerifier.Progress?) async throws -> VerificationReport {
        _ = try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify(progress: progress)
        try await home.ledger.record(report, actor: actor)
        return report
    }

    // MARK: Reports

    public func auditReport(name: String, reference: String, targets: [String], windowMillis: Int64, verify: Bool, progress: LedgerVerifier.Progress?)
        async throws -> AuditReport
    {
        try await AuditReportBuilder(home: home).build(
            name: name, reference: reference,
            options: .init(targets: targets, windowMillis: windowMillis, verification: verify ? .run(progress) : .latestRecorded, reader: reader),
            actor: actor)
    }
}

extension TrailHome {
    /// This home as a client acting as `actor`.
    public func client(as actor: Actor) -> LocalClient { LocalClient(home: self, actor: actor) }
}
