import Foundation
import TrailCore
import TrailStore

/// Everything a command, the training pipeline or the demo asks of ModelTrail, acting as one
/// user: `LocalClient` calls the services on a home folder as the OS user; the CLI's remote
/// backend calls a server's `/api/v1` with a token, where the server decides who acts. One
/// protocol, so that every command runs the same code whichever side holds the records.
public protocol TrailClient: Sendable {
    /// Where the records are: a home folder's path or a server's URL.
    var location: String { get }
    /// The time this client stamps on what it measures (the server stamps its own events).
    func nowMillis() -> Int64

    // MARK: Tracking
    func createExperiment(name: String, tags: [Tag]) async throws -> Experiment
    /// By decimal id or, failing that, by name.
    func experiment(_ idOrName: String) async throws -> Experiment
    func createRun(_ request: NativeAPI.CreateRun) async throws -> Run
    func run(_ id: RunID) async throws -> Run
    func updateRun(_ id: RunID, _ request: NativeAPI.UpdateRun) async throws -> RunInfo
    func logBatch(_ id: RunID, _ batch: NativeAPI.LogBatch) async throws
    func setTag(_ id: RunID, key: String, value: String?) async throws
    func logInputs(_ id: RunID, _ inputs: [DatasetInput]) async throws
    /// Stores `bytes` as the run's artifact `path` (content-addressed).
    func putArtifact(_ id: RunID, path: ArtifactPath, bytes: [UInt8]) async throws -> ArtifactEntry
    /// Reads a run's artifact whole, checked against its digest; recorded as `artifact.get`.
    func readArtifact(_ id: RunID, path: ArtifactPath) async throws -> [UInt8]
    /// Records the verdict of a rebuild as `run.reproduce` on the original run.
    func recordReproduction(_ report: ReproductionReport) async throws -> Int64?

    // MARK: Registry
    func createModel(name: String, description: String) async throws -> RegisteredModel
    func models() async throws -> [RegisteredModel]
    func model(_ name: String) async throws -> RegisteredModel
    func versions(_ name: String) async throws -> [ModelVersion]
    func version(_ name: String, _ version: Int64) async throws -> ModelVersion
    func registerVersion(name: String, runID: RunID, path: String, description: String) async throws -> ModelVersion
    /// Sets (or with `version == nil` removes) an alias through the gate; `emergency` bypasses
    /// it (admins, with a reason), recorded as `alias.emergency`.
    func setAlias(name: String, alias: String, version: Int64?, reason: String, emergency: Bool) async throws
    func transitionStage(name: String, version: Int64, stage: ModelStage, archiveExisting: Bool, reason: String) async throws -> ModelVersion
    func history(_ name: String) async throws -> [RegistryChange]
    func resolve(name: String, reference: String, atMillis: Int64) async throws -> (versions: [Int64], change: RegistryChange?)
    func setPolicy(name: String, target: String, document: [UInt8]) async throws -> Int64
    func policy(name: String, target: String) async throws -> (version: Int64, policy: PromotionPolicy)?
    func evaluate(name: String, version: Int64, target: String) async throws -> GateReport
    func approve(name: String, version: Int64, target: String, decision: ApprovalDecision, comment: String, reviewedDigest: Digest?) async throws
        -> Approval
    func approvals(name: String, version: Int64) async throws -> [Approval]
    func attest(name: String, version: Int64, predicateType: String?, envelope: [UInt8]) async throws -> Attestation
    func attestations(name: String, version: Int64) async throws -> [Attestation]
    func trustKey(name: String, publicKeyHex: String, predicateTypes: [String]) async throws -> TrustedKey
    func trustedKeys() async throws -> [TrustedKey]
    func revokeKey(keyID: String) async throws -> TrustedKey
    /// One file of a version, by its manifest entry; the bytes are checked against its digest.
    func modelFile(_ version: ModelVersion, _ file: ManifestFile) async throws -> [UInt8]

    // MARK: Identity (admins)
    func createUser(name: String, roles: Set<Role>) async throws -> User
    func users() async throws -> [User]
    func setRoles(name: String, roles: Set<Role>) async throws -> User
    func createToken(user: String, expiresInSeconds: Int64?) async throws -> (secret: String, token: TokenInfo)
    func tokens(user: String?) async throws -> [TokenInfo]
    func revokeToken(id: String) async throws
    /// This client acting as `user`, and what ends it (remotely: a short-lived token this admin
    /// creates for the user and revokes when done).
    func acting(as user: String) async throws -> (client: any TrailClient, release: @Sendable () async -> Void)

    // MARK: Lineage, drift, predictions
    func modelLineage(name: String, reference: String) async throws -> LineageService.ModelLineage
    func predictionTrace(id: String) async throws -> LineageService.PredictionTrace
    func datasetImpact(digest: String, windowMillis: Int64) async throws -> LineageService.DatasetImpact
    /// The job/dataset graph around a node, in Marquez's shape.
    func lineageGraph(nodeID: String, depth: Int) async throws -> OpenLineageService.Graph
    /// Where delivery to each OpenLineage receiver stands (admins).
    func openLineageReceivers() async throws -> [OpenLineageCursor]
    func drift(name: String, reference: String, windowMillis: Int64, minimumRows: Int) async throws -> DriftReport
    func prediction(id: String) async throws -> PredictionRecord
    /// Re-scores a prediction where its stored raw input is, without showing the input (for
    /// callers who may not read it), recorded as `prediction.reproduce`.
    func rescoreWithStoredInput(predictionID: String) async throws -> PredictionCheck
    /// Records a re-scoring done by this client as `prediction.reproduce`.
    func recordPredictionCheck(_ check: PredictionCheck) async throws -> Int64?

    // MARK: Data protection (erasure, retention, legal holds)

    /// Erases one prediction's raw input (its key is destroyed), recorded with `reason`.
    func erase(predictionID: String, reason: String) async throws -> DataProtectionService.Erasure
    /// Erases the sealed values of sensitive params and tags `keys` of a run.
    func erase(runID: RunID, keys: [String], reason: String) async throws -> DataProtectionService.Erasure
    func holds() async throws -> [LegalHold]
    func placeHold(_ type: LegalHold.SubjectType, subject: String, reason: String) async throws -> LegalHold
    func releaseHold(id: String, reason: String) async throws -> LegalHold
    func retentionSettings() async throws -> [RetentionSetting]
    func setRetention(_ kind: RetentionKind, days: Int64) async throws -> RetentionSetting
    func applyRetention(dryRun: Bool) async throws -> DataProtectionService.RetentionRun

    // MARK: Webhooks (admins)

    func webhooks() async throws -> [WebhookEndpoint]
    /// Registers an endpoint; the answer carries its secret, shown this once.
    func createWebhook(url: String, events: [String], description: String, secret: String?) async throws -> WebhookService.Created
    func removeWebhook(id: String) async throws -> WebhookEndpoint
    /// Sends a ping now; the answer is its delivery with the attempt.
    func testWebhook(id: String) async throws -> WebhookDelivery
    func webhookDeliveries(id: String, limit: Int) async throws -> [WebhookDelivery]
    func webhookAllowances() async throws -> [WebhookAllowance]
    func allowWebhookNetwork(_ cidr: String, reason: String) async throws -> WebhookAllowance
    func disallowWebhookNetwork(_ cidr: String, reason: String) async throws -> WebhookAllowance

    // MARK: Ledger
    /// The latest signed checkpoint (signing one first if the log grew), with its cosignatures.
    func checkpoint() async throws -> LedgerCheckpoint
    /// One event (`presentation`: index, leaf hash, body) by index or event id.
    func ledgerEvent(_ reference: String) async throws -> JSONValue
    func ledgerEvents(_ query: EventQuery) async throws -> [JSONValue]
    func inclusionProof(index: Int64, size: UInt64?) async throws -> InclusionProof
    func consistencyProof(first: UInt64, second: UInt64) async throws -> ConsistencyProof
    /// The full verify where the data is (rows, blobs, tree); recorded as `ledger.verify`.
    /// Remotely an admin asks the server to run it.
    func verifyLedger(progress: LedgerVerifier.Progress?) async throws -> VerificationReport

    // MARK: Reports
    /// The audit report of `name@reference` (`AuditReportBuilder`). `verify` runs the full
    /// ledger verification for it (recorded as `ledger.verify`; remotely an admin's request),
    /// else the report cites the latest recorded one. `targets` are the gate targets to check
    /// (empty: the reference's own).
    func auditReport(name: String, reference: String, targets: [String], windowMillis: Int64, verify: Bool, progress: LedgerVerifier.Progress?)
        async throws -> AuditReport
}

/// A signed checkpoint as a server serves it.
public struct LedgerCheckpoint: Sendable, Codable {
    public var size: UInt64
    public var note: String
    public var cosignedNote: String
    public var verifierKey: String

    public init(size: UInt64, note: String, cosignedNote: String, verifierKey: String) {
        self.size = size
        self.note = note
        self.cosignedNote = cosignedNote
        self.verifierKey = verifierKey
    }

    enum CodingKeys: String, CodingKey { case size, note, cosignedNote = "cosigned_note", verifierKey = "verifier_key" }
}

extension TrailClient {
    /// The experiment named `name`, created when missing.
    public func experiment(orCreate name: String) async throws -> Experiment {
        do {
            return try await experiment(name)
        } catch let error as TrailError where error.code == .resourceDoesNotExist {
            return try await createExperiment(name: name, tags: [])
        }
    }

    /// Loads the exact version a prediction names, every file fetched by digest and checked.
    public func loadModel(name: String, version number: Int64) async throws -> LoadedModel {
        let version = try await version(name, number)
        return try await ServingService.assemble(name: name, reference: String(number), version: version) { file in
            try await modelFile(version, file)
        }
    }

    /// The bytes of the evidence images `report` names that the HTML may embed (a PNG or JPEG
    /// of at most `AuditReport.maxEmbeddedImageBytes`), by digest; each read is checked against
    /// its digest and recorded as `artifact.get`. An image that cannot be read is left out.
    public func auditReportImages(_ report: AuditReport) async -> [String: [UInt8]] {
        guard let training = report.training, let image = training.confusionMatrix, ["image/png", "image/jpeg"].contains(image.mediaType),
            image.sizeBytes <= Int64(AuditReport.maxEmbeddedImageBytes), let runID = try? RunID(parsing: training.runID),
            let path = try? ArtifactPath(validating: image.path), let bytes = try? await readArtifact(runID, path: path),
            Digest.of(bytes).description == image.sha256
        else { return [:] }
        return [image.sha256: bytes]
    }

    /// Re-scores a logged prediction on this side with its exact model version and records the
    /// result (`prediction.reproduce`).
    public func rescore(predictionID: String, input: [String: JSONValue]?) async throws -> PredictionCheck {
        let record = try await prediction(id: predictionID)
        if input == nil, record.rawInput == nil, record.rawInputState == "masked" {
            return try await rescoreWithStoredInput(predictionID: predictionID)
        }
        var check = try await ServingService.check(record, input: input) { try await loadModel(name: record.modelName, version: record.modelVersion) }
        check.eventIndex = try await recordPredictionCheck(check)
        return check
    }
}
