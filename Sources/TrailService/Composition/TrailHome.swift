import Foundation
import TrailArtifacts
import TrailCore
import TrailLedger
import TrailStore

/// The embedded default: one home folder holding the SQLite file (`trail.sqlite`) and the
/// blob folder (`blobs/`). Nothing else has to run. The metadata can live in PostgreSQL
/// instead (`StoreSettings`), and the blobs in an S3-compatible bucket (`BlobSettings`); the
/// home then keeps the log key, the salt and the records of where things are.
public struct TrailHome: Sendable {
    public let url: URL
    public let tracking: TrackingService
    public let registry: RegistryService
    public let identity: IdentityService
    public let ledger: LedgerService
    public let keyPath: URL
    /// The metadata store itself (SQLite in the home, or PostgreSQL).
    public let store: SQLMetadataStore

    /// Lineage: what stands behind a model, link by link, with proofs.
    public var lineage: LineageService { LineageService(tracking: tracking, registry: registry, ledger: ledger) }
    public var openLineage: OpenLineageService { OpenLineageService(tracking: tracking) }

    /// The training pipeline (`trail train`, `trail reproduce`) recording here as `actor`.
    public func pipeline(as actor: Actor) -> TrainingPipeline { TrainingPipeline(client: LocalClient(home: self, actor: actor)) }

    /// Erasure, retention and legal holds.
    public var dataProtection: DataProtectionService { DataProtectionService(tracking: tracking, registry: registry) }

    /// Webhooks and their outbox, with the default delivery settings.
    public var webhooks: WebhookService { webhooks(settings: OutboxSettings()) }

    /// Webhooks and their outbox, delivered with `settings`.
    public func webhooks(settings: OutboxSettings, resolver: any HostResolver = SystemHostResolver()) -> WebhookService {
        WebhookService(store: store, clock: tracking.clock, resolver: resolver, settings: settings)
    }

    /// The verifier over this home's store, blobs and log key.
    public var verifier: LedgerVerifier {
        LedgerVerifier(store: tracking.store, blobs: tracking.blobs, verifier: ledger.signer.verifier)
    }

    /// Opens (creating if needed) the home at `url`, migrates the database, loads or creates the
    /// ledger key (`keys/ledger.key` unless `keyPath` says otherwise) and makes sure the Default
    /// experiment exists.
    /// `sensitiveKeys` names param and tag keys whose values appear in the ledger only as
    /// salted digests (the salt is `keys/ledger.salt`, mode 0600).
    /// `blobs` says where the blobs are (the folder unless the settings or the home's record
    /// name an S3 bucket).
    public static func open(
        _ url: URL, keyPath: URL? = nil, sensitiveKeys: Set<String> = [], clock: any TrailClock = SystemClock(),
        blobs blobSettings: BlobSettings = BlobSettings(), store storeSettings: StoreSettings = StoreSettings()
    ) async throws -> TrailHome {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TrailError(.internalError, "cannot create the ModelTrail home folder", cause: error)
        }
        let store = try await storeSettings.open(home: url)
        let blobs = try await blobSettings.open(home: url)
        let salt = try PrivacyPolicy.loadOrCreateSalt(at: url.appendingPathComponent("keys/ledger.salt"))
        let tracking = TrackingService(
            store: store, blobs: blobs, clock: clock, privacy: PrivacyPolicy(sensitiveKeys: sensitiveKeys, salt: salt))
        let keyPath = keyPath ?? url.appendingPathComponent("keys/ledger.key")
        let seed = try LedgerKey.loadOrCreate(at: keyPath)
        let ledger = LedgerService(store: store, signer: try NoteSigner(name: try LedgerKey.origin(for: seed), seed: seed), clock: clock)
        try await tracking.ensureDefaultExperiment()
        return TrailHome(
            url: url, tracking: tracking, registry: RegistryService(store: store, blobs: blobs, clock: clock, privacy: tracking.privacy),
            identity: IdentityService(store: store, clock: clock), ledger: ledger, keyPath: keyPath, store: store)
    }
}

extension TrailHome {
    /// PostgreSQL: grants `role` what a serving `trail server` needs (SELECT and INSERT on the
    /// facts; no UPDATE, DELETE or TRUNCATE on them), recorded as one `store.grant` event.
    public func grantServingRole(_ role: String, actor: Actor) async throws -> (facts: [String], others: [String]) {
        let granted = try await store.grantServingRole(role)
        try await ledger.recordAccess(
            action: "store.grant", subject: Subject(type: "store", id: role),
            facts: ["role": .string(role), "insert_only_tables": .int(Int64(granted.facts.count)), "other_tables": .int(Int64(granted.others.count))],
            actor: actor)
        return granted
    }
}
