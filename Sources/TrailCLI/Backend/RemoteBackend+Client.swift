import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TrailCore
import TrailLedger
import TrailService
import TrailStore

/// The rest of `TrailClient` over `/api/v1`: the server decides, as the token's user; what the
/// server proves (inclusion proofs, checkpoints) is checked here with the log key pinned in the
/// user's config folder, never taken on the server's word.
extension RemoteBackend {
    var location: String { String(baseURL.dropLast("/api/v1".count)) }
    func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    static func query(_ items: [(String, String?)]) -> String {
        let present = items.compactMap { key, value in value.map { "\(key)=\(segment($0))" } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }

    func model(path name: String) -> String { "/models/\(Self.segment(name))" }

    // MARK: Tracking

    func putArtifact(_ id: RunID, path: ArtifactPath, bytes: [UInt8]) async throws -> ArtifactEntry {
        var request = HTTPClientRequest(url: baseURL + "/runs/\(id)/artifacts/\(Self.artifactPath(path))")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let entry = try await send(request, as: NativeAPI.ArtifactBody.self).artifact
        guard entry.digest == Digest.of(bytes) else {
            throw TrailError(.dataLoss, "the server stored \(path.value) as \(entry.digest), not the sha256 of the bytes sent", field: "path")
        }
        return entry
    }

    func readArtifact(_ id: RunID, path: ArtifactPath) async throws -> [UInt8] {
        guard let entry = try await artifacts(id, prefix: path.value).first(where: { $0.path == path }) else {
            throw TrailError.notFound("artifact", path.value, field: "path")
        }
        let bytes = try await bytes("/runs/\(id)/artifacts/\(Self.artifactPath(path))", limit: 1 << 30)
        guard Digest.of(bytes) == entry.digest else {
            throw TrailError(.dataLoss, "artifact \(path.value) arrived with another digest than \(entry.digest)", field: "path")
        }
        return bytes
    }

    struct Recorded: Codable {
        var eventIndex: Int64?
        enum CodingKeys: String, CodingKey { case eventIndex = "event_index" }
    }

    func recordReproduction(_ report: ReproductionReport) async throws -> Int64? {
        try await call(.POST, "/runs/\(report.runID)/reproductions", body: report, as: Recorded.self).eventIndex
    }

    // MARK: Registry

    struct ModelList: Decodable {
        var models: [RegisteredModel]
        var nextPageToken: String?
        enum CodingKeys: String, CodingKey { case models, nextPageToken = "next_page_token" }
    }

    struct ModelWithVersions: Decodable {
        var model: RegisteredModel
        var versions: [ModelVersion]
    }

    func createModel(name: String, description: String) async throws -> RegisteredModel {
        try await call(.POST, "/models", body: ["name": name, "description": description], as: RegisteredModel.self)
    }

    func models() async throws -> [RegisteredModel] {
        var all: [RegisteredModel] = []
        var token: String?
        repeat {
            let page = try await call(.GET, "/models" + Self.query([("max_results", "1000"), ("page_token", token)]), as: ModelList.self)
            all += page.models
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func model(_ name: String) async throws -> RegisteredModel { try await call(.GET, model(path: name), as: ModelWithVersions.self).model }
    func versions(_ name: String) async throws -> [ModelVersion] { try await call(.GET, model(path: name), as: ModelWithVersions.self).versions }

    func version(_ name: String, _ version: Int64) async throws -> ModelVersion {
        try await call(.GET, model(path: name) + "/versions/\(version)", as: ModelVersion.self)
    }

    struct CreateVersion: Encodable {
        var runID: RunID
        var path: String
        var description: String
        enum CodingKeys: String, CodingKey { case runID = "run_id", path, description }
    }

    func registerVersion(name: String, runID: RunID, path: String, description: String) async throws -> ModelVersion {
        try await call(.POST, model(path: name) + "/versions", body: CreateVersion(runID: runID, path: path, description: description), as: ModelVersion.self)
    }

    struct SetAlias: Encodable {
        var alias: String
        var version: Int64?
        var reason: String
    }

    func setAlias(name: String, alias: String, version: Int64?, reason: String, emergency: Bool) async throws {
        if emergency {
            _ = try await call(
                .POST, model(path: name) + "/aliases/emergency", body: SetAlias(alias: alias, version: version, reason: reason), as: RegisteredModel.self)
        } else if let version {
            _ = try await call(.POST, model(path: name) + "/aliases", body: SetAlias(alias: alias, version: version, reason: reason), as: RegisteredModel.self)
        } else {
            _ = try await call(.DELETE, model(path: name) + "/aliases/\(Self.segment(alias))" + Self.query([("reason", reason)]), as: RegisteredModel.self)
        }
    }

    struct Transition: Encodable {
        var stage: String
        var archiveExistingVersions: Bool
        var reason: String
        enum CodingKeys: String, CodingKey { case stage, archiveExistingVersions = "archive_existing_versions", reason }
    }

    func transitionStage(name: String, version: Int64, stage: ModelStage, archiveExisting: Bool, reason: String) async throws -> ModelVersion {
        try await call(
            .POST, model(path: name) + "/versions/\(version)/stage",
            body: Transition(stage: stage.rawValue, archiveExistingVersions: archiveExisting, reason: reason), as: ModelVersion.self)
    }

    struct History: Decodable { var changes: [RegistryChange] }

    func history(_ name: String) async throws -> [RegistryChange] { try await call(.GET, model(path: name) + "/history", as: History.self).changes }

    struct Resolution: Decodable {
        var versions: [Int64]
        var change: RegistryChange?
    }

    func resolve(name: String, reference: String, atMillis: Int64) async throws -> (versions: [Int64], change: RegistryChange?) {
        let answer = try await call(.GET, model(path: name) + "/at" + Self.query([("ref", reference), ("time", String(atMillis))]), as: Resolution.self)
        return (answer.versions, answer.change)
    }

    struct PolicyVersion: Decodable {
        var policyVersion: Int64?
        var policy: PromotionPolicy?
        enum CodingKeys: String, CodingKey { case policyVersion = "policy_version", policy }
    }

    func setPolicy(name: String, target: String, document: [UInt8]) async throws -> Int64 {
        var request = HTTPClientRequest(url: baseURL + model(path: name) + "/policies" + Self.query([("target", target)]))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: document))
        return try await send(request, as: PolicyVersion.self).policyVersion ?? 0
    }

    func policy(name: String, target: String) async throws -> (version: Int64, policy: PromotionPolicy)? {
        let stored = try await call(.GET, model(path: name) + "/policies" + Self.query([("target", target)]), as: PolicyVersion.self)
        guard let version = stored.policyVersion, let policy = stored.policy else { return nil }
        return (version, policy)
    }

    func evaluate(name: String, version: Int64, target: String) async throws -> GateReport {
        try await call(.GET, model(path: name) + "/versions/\(version)/check" + Self.query([("to", target)]), as: GateReport.self)
    }

    struct Decision: Encodable {
        var target: String
        var decision: String
        var comment: String
        var digest: String?
    }

    func approve(name: String, version: Int64, target: String, decision: ApprovalDecision, comment: String, reviewedDigest: Digest?) async throws
        -> Approval
    {
        try await call(
            .POST, model(path: name) + "/versions/\(version)/approvals",
            body: Decision(target: target, decision: decision.rawValue, comment: comment, digest: reviewedDigest?.description), as: Approval.self)
    }

    func approvals(name: String, version: Int64) async throws -> [Approval] {
        try await call(.GET, model(path: name) + "/versions/\(version)/approvals", as: [Approval].self)
    }

    func attest(name: String, version: Int64, predicateType: String?, envelope: [UInt8]) async throws -> Attestation {
        var request = HTTPClientRequest(
            url: baseURL + model(path: name) + "/versions/\(version)/attestations" + Self.query([("predicate_type", predicateType)]))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: envelope))
        return try await send(request, as: Attestation.self)
    }

    func attestations(name: String, version: Int64) async throws -> [Attestation] {
        try await call(.GET, model(path: name) + "/versions/\(version)/attestations", as: [Attestation].self)
    }

    struct TrustKey: Encodable {
        var name: String
        var publicKey: String
        var predicateTypes: [String]
        enum CodingKeys: String, CodingKey { case name, publicKey = "public_key", predicateTypes = "predicate_types" }
    }

    func trustKey(name: String, publicKeyHex: String, predicateTypes: [String]) async throws -> TrustedKey {
        try await call(.POST, "/keys", body: TrustKey(name: name, publicKey: publicKeyHex, predicateTypes: predicateTypes), as: TrustedKey.self)
    }

    func trustedKeys() async throws -> [TrustedKey] { try await call(.GET, "/keys", as: [TrustedKey].self) }
    func revokeKey(keyID: String) async throws -> TrustedKey { try await call(.DELETE, "/keys/\(Self.segment(keyID))", as: TrustedKey.self) }

    func modelFile(_ version: ModelVersion, _ file: ManifestFile) async throws -> [UInt8] {
        let bytes = try await bytes(model(path: version.name) + "/versions/\(version.version)/files/\(Self.segment(file.digest.description))", limit: 8 << 30)
        guard Digest.of(bytes) == file.digest else {
            throw TrailError(.dataLoss, "model file \(file.path) of \(version.name) version \(version.version) arrived with another digest than \(file.digest)")
        }
        return bytes
    }

    // MARK: Identity

    struct Users: Decodable { var users: [User] }
    struct Tokens: Decodable { var tokens: [TokenInfo] }
    struct NewToken: Decodable {
        var token: String
        var tokenInfo: TokenInfo
        enum CodingKeys: String, CodingKey { case token, tokenInfo = "token_info" }
    }
    struct UserRoles: Encodable {
        var name: String?
        var roles: [String]
    }
    struct CreateToken: Encodable {
        var user: String
        var expiresInSeconds: Int64?
        enum CodingKeys: String, CodingKey { case user, expiresInSeconds = "expires_in_seconds" }
    }

    func createUser(name: String, roles: Set<Role>) async throws -> User {
        try await call(.POST, "/users", body: UserRoles(name: name, roles: roles.map(\.rawValue).sorted()), as: User.self)
    }

    func users() async throws -> [User] { try await call(.GET, "/users", as: Users.self).users }

    func setRoles(name: String, roles: Set<Role>) async throws -> User {
        try await call(.POST, "/users/\(Self.segment(name))/roles", body: UserRoles(name: nil, roles: roles.map(\.rawValue).sorted()), as: User.self)
    }

    func createToken(user: String, expiresInSeconds: Int64?) async throws -> (secret: String, token: TokenInfo) {
        let answer = try await call(.POST, "/tokens", body: CreateToken(user: user, expiresInSeconds: expiresInSeconds), as: NewToken.self)
        return (answer.token, answer.tokenInfo)
    }

    func tokens(user: String?) async throws -> [TokenInfo] { try await call(.GET, "/tokens" + Self.query([("user", user)]), as: Tokens.self).tokens }
    func revokeToken(id: String) async throws { _ = try await call(.DELETE, "/tokens/\(Self.segment(id))", as: NativeAPI.Empty.self) }

    /// The admin creates a one-hour token for `user` and revokes it when done.
    func acting(as user: String) async throws -> (client: any TrailClient, release: @Sendable () async -> Void) {
        let (secret, token) = try await createToken(user: user, expiresInSeconds: 3600)
        let other = try RemoteBackend(server: location, token: secret)
        return (other, { try? await self.revokeToken(id: token.id) })
    }

    // MARK: Lineage, drift, predictions

    /// The log key the user pinned for this server (first use pins the one offered).
    func pinnedVerifier() async throws -> NoteVerifier {
        let checkpoint = try await checkpoint()
        let origin = String(checkpoint.note.prefix { $0 != "\n" })
        return try AuditorStore().trust(origin: origin, offered: checkpoint.verifierKey, explicit: nil).verifier
    }

    /// Each link's verdict is recomputed here: its inclusion proof against a checkpoint signed
    /// by the pinned key. A link the server calls proven that does not check is shown NOT PROVEN.
    func reprove(_ links: [LineageService.Link], with verifier: NoteVerifier) -> [LineageService.Link] {
        links.map { link in
            var link = link
            if let proof = link.proof, let index = link.eventIndex {
                link.proven = link.proven && proof.index == UInt64(index) && proof.verify(with: verifier)
            } else {
                link.proven = false
            }
            return link
        }
    }

    func modelLineage(name: String, reference: String) async throws -> LineageService.ModelLineage {
        var lineage = try await call(.GET, "/lineage/models/\(Self.segment(name))" + Self.query([("ref", reference)]), as: LineageService.ModelLineage.self)
        lineage.links = reprove(lineage.links, with: try await pinnedVerifier())
        return lineage
    }

    func predictionTrace(id: String) async throws -> LineageService.PredictionTrace {
        var trace = try await call(.GET, "/lineage/predictions/\(Self.segment(id))", as: LineageService.PredictionTrace.self)
        let verifier = try await pinnedVerifier()
        trace.links = reprove(trace.links, with: verifier)
        trace.model.links = reprove(trace.model.links, with: verifier)
        return trace
    }

    func datasetImpact(digest: String, windowMillis: Int64) async throws -> LineageService.DatasetImpact {
        try await call(
            .GET, "/lineage/datasets/\(Self.segment(digest))" + Self.query([("window_ms", String(windowMillis))]), as: LineageService.DatasetImpact.self)
    }

    struct Receivers: Decodable { var receivers: [OpenLineageCursor] }

    func openLineageReceivers() async throws -> [OpenLineageCursor] { try await call(.GET, "/lineage/receivers", as: Receivers.self).receivers }

    func lineageGraph(nodeID: String, depth: Int) async throws -> OpenLineageService.Graph {
        try await call(.GET, "/lineage" + Self.query([("nodeId", nodeID), ("depth", String(depth))]), as: OpenLineageService.Graph.self)
    }

    struct Drift: Encodable {
        var reference: String
        var windowMillis: Int64
        var minRows: Int
        enum CodingKeys: String, CodingKey { case reference, windowMillis = "window_ms", minRows = "min_rows" }
    }

    func drift(name: String, reference: String, windowMillis: Int64, minimumRows: Int) async throws -> DriftReport {
        try await call(
            .POST, model(path: name) + "/drift", body: Drift(reference: reference, windowMillis: windowMillis, minRows: minimumRows), as: DriftReport.self)
    }

    func prediction(id: String) async throws -> PredictionRecord {
        try await call(.GET, "/predictions/\(Self.segment(id))", as: PredictionRecord.self)
    }

    func recordPredictionCheck(_ check: PredictionCheck) async throws -> Int64? {
        try await call(.POST, "/predictions/\(Self.segment(check.predictionID))/reproductions", body: check, as: Recorded.self).eventIndex
    }

    func rescoreWithStoredInput(predictionID: String) async throws -> PredictionCheck {
        try await call(.POST, "/predictions/\(Self.segment(predictionID))/rescore", as: PredictionCheck.self)
    }

    // MARK: Data protection

    func erase(predictionID: String, reason: String) async throws -> DataProtectionService.Erasure {
        try await call(.POST, "/erasures", body: PrivacyAPI.Erase(predictionID: predictionID, runID: nil, keys: nil, reason: reason), as: DataProtectionService.Erasure.self)
    }

    func erase(runID: RunID, keys: [String], reason: String) async throws -> DataProtectionService.Erasure {
        try await call(.POST, "/erasures", body: PrivacyAPI.Erase(predictionID: nil, runID: runID.value, keys: keys, reason: reason), as: DataProtectionService.Erasure.self)
    }

    func webhooks() async throws -> [WebhookEndpoint] { try await call(.GET, "/webhooks", as: WebhookAPI.Webhooks.self).webhooks }

    func createWebhook(url: String, events: [String], description: String, secret: String?) async throws -> WebhookService.Created {
        try await call(
            .POST, "/webhooks", body: WebhookAPI.Create(url: url, events: events, description: description, secret: secret),
            as: WebhookService.Created.self)
    }

    func removeWebhook(id: String) async throws -> WebhookEndpoint {
        try await call(.DELETE, "/webhooks/\(Self.segment(id))", as: WebhookEndpoint.self)
    }

    func testWebhook(id: String) async throws -> WebhookDelivery {
        try await call(.POST, "/webhooks/\(Self.segment(id))/test", as: WebhookDelivery.self)
    }

    func webhookDeliveries(id: String, limit: Int) async throws -> [WebhookDelivery] {
        try await call(.GET, "/webhooks/\(Self.segment(id))/deliveries" + Self.query([("limit", String(limit))]), as: WebhookAPI.Deliveries.self)
            .deliveries
    }

    func webhookAllowances() async throws -> [WebhookAllowance] {
        try await call(.GET, "/webhooks/allowances", as: WebhookAPI.Allowances.self).allowances
    }

    func allowWebhookNetwork(_ cidr: String, reason: String) async throws -> WebhookAllowance {
        try await call(.POST, "/webhooks/allowances", body: WebhookAPI.Allowance(cidr: cidr, reason: reason), as: WebhookAllowance.self)
    }

    func disallowWebhookNetwork(_ cidr: String, reason: String) async throws -> WebhookAllowance {
        try await call(.POST, "/webhooks/allowances/withdraw", body: WebhookAPI.Allowance(cidr: cidr, reason: reason), as: WebhookAllowance.self)
    }

    func holds() async throws -> [LegalHold] { try await call(.GET, "/holds", as: PrivacyAPI.Holds.self).holds }

    func placeHold(_ type: LegalHold.SubjectType, subject: String, reason: String) async throws -> LegalHold {
        try await call(.POST, "/holds", body: PrivacyAPI.PlaceHold(subjectType: type.rawValue, subjectID: subject, reason: reason), as: LegalHold.self)
    }

    func releaseHold(id: String, reason: String) async throws -> LegalHold {
        try await call(.POST, "/holds/\(Self.segment(id))/release", body: PrivacyAPI.Reason(reason: reason), as: LegalHold.self)
    }

    func retentionSettings() async throws -> [RetentionSetting] { try await call(.GET, "/retention", as: PrivacyAPI.Settings.self).settings }

    func setRetention(_ kind: RetentionKind, days: Int64) async throws -> RetentionSetting {
        try await call(.PUT, "/retention/\(Self.segment(kind.rawValue))", body: PrivacyAPI.Days(days: days), as: RetentionSetting.self)
    }

    func applyRetention(dryRun: Bool) async throws -> DataProtectionService.RetentionRun {
        try await call(.POST, "/retention/apply", body: PrivacyAPI.Apply(dryRun: dryRun), as: DataProtectionService.RetentionRun.self)
    }

    // MARK: Ledger

    func checkpoint() async throws -> LedgerCheckpoint { try await call(.GET, "/ledger/checkpoint", as: LedgerCheckpoint.self) }

    func ledgerEvent(_ reference: String) async throws -> JSONValue {
        try JSONValue.parse(try await bytes("/ledger/events/\(Self.segment(reference))", limit: 64 << 20))
    }

    func ledgerEvents(_ query: EventQuery) async throws -> [JSONValue] {
        let text = Self.query([
            ("subject_type", query.subjectType), ("subject_id", query.subjectID), ("actor", query.actorID), ("action", query.action),
            ("since", query.fromTimeMillis.map(String.init)), ("until", query.toTimeMillis.map(String.init)), ("from", String(query.fromIndex)),
            ("limit", String(query.limit)),
        ])
        guard case .array(let events)? = try JSONValue.parse(try await bytes("/ledger/events" + text, limit: 256 << 20))["events"] else {
            throw TrailError.internalError("the server's event list cannot be read")
        }
        return events
    }

    func inclusionProof(index: Int64, size: UInt64?) async throws -> InclusionProof {
        try await call(.GET, "/ledger/proofs/inclusion" + Self.query([("index", String(index)), ("size", size.map(String.init))]), as: InclusionProof.self)
    }

    func consistencyProof(first: UInt64, second: UInt64) async throws -> ConsistencyProof {
        try await call(.GET, "/ledger/proofs/consistency" + Self.query([("first", String(first)), ("second", String(second))]), as: ConsistencyProof.self)
    }

    func verifyLedger(progress: LedgerVerifier.Progress?) async throws -> VerificationReport {
        try await call(.POST, "/ledger/verify", as: VerificationReport.self)
    }

    /// The server's report, with what it proves re-checked here against the pinned log key:
    /// the checkpoint's signature and each lineage link's inclusion proof in it. A link or a
    /// signature that does not check is shown as not proven, whatever the server said.
    func auditReport(name: String, reference: String, targets: [String], windowMillis: Int64, verify: Bool, progress: LedgerVerifier.Progress?)
        async throws -> AuditReport
    {
        let query = Self.query([
            ("ref", reference), ("target", targets.isEmpty ? nil : targets.joined(separator: ",")), ("window_ms", String(windowMillis)),
            ("verify", verify ? "true" : nil),
        ])
        var report = try await call(.GET, model(path: name) + "/report" + query, as: AuditReport.self)
        let verifier = try await pinnedVerifier()
        let note = report.integrity.checkpoint.note
        let signed = (try? Checkpoint.open(note, verifier: verifier)).map {
            $0.size == report.integrity.checkpoint.size && $0.root.hexString == report.integrity.checkpoint.rootHash
        }
        report.integrity.checkpoint.signatureVerified = signed ?? false
        report.integrity.checkpoint.verifierKey = verifier.vkey
        for i in report.lineage.links.indices {
            var link = report.lineage.links[i]
            if let proof = link.proof, let index = link.eventIndex, let leaf = Data(base64Encoded: proof.leafHash) {
                let path = proof.path.compactMap { Data(base64Encoded: $0).map(Array.init) }
                let inclusion = InclusionProof(index: proof.index, treeSize: proof.treeSize, leafHash: Array(leaf), path: path, checkpoint: note)
                link.proven = link.proven && signed == true && path.count == proof.path.count && proof.index == UInt64(clamping: index) && inclusion.verify(with: verifier)
            } else {
                link.proven = false
            }
            report.lineage.links[i] = link
        }
        report.lineage.proven = report.lineage.links.filter(\.proven).count
        report.lineage.unproven = report.lineage.links.count - report.lineage.proven
        return report
    }

    /// Streams `/ledger/export` to `write` as it arrives, without holding it.
    func exportLedger(write: @escaping @Sendable ([UInt8]) throws -> Void, progress: (@Sendable (Int64, Int64) -> Void)?) async throws -> Int64 {
        var request = HTTPClientRequest(url: baseURL + "/ledger/export")
        authorize(&request)
        let response: HTTPClientResponse
        do { response = try await client.execute(request, timeout: .hours(24)) } catch {
            throw TrailError(.internalError, "cannot reach the ModelTrail server at \(baseURL): \(error)")
        }
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            if let envelope = try? JSONDecoder().decode(NativeAPI.ErrorBody.self, from: Data(bytes.readableBytesView)) {
                throw TrailError(ErrorCode(rawValue: envelope.error.code) ?? .internalError, envelope.error.message, field: envelope.error.field)
            }
            throw TrailError(.internalError, "server answered HTTP \(response.status.code)")
        }
        var lines: Int64 = 0
        for try await buffer in response.body {
            let bytes = Array(buffer.readableBytesView)
            lines += Int64(bytes.lazy.filter { $0 == UInt8(ascii: "\n") }.count)
            try write(bytes)
        }
        return max(0, lines - 1)
    }
}
