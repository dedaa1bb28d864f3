import Crypto
import Foundation
import TrailCore
import TrailLedger
import TrailStore

/// `trail demo`: the seed documents' story in one command, on the embedded default. Trains and
/// registers `breast_cancer_classifier`, moves it to @staging, is refused @production, signs
/// and attaches SLSA provenance, gets two approvals, is promoted, verifies the ledger and
/// prints the production model's lineage.
public struct DemoScenario: Sendable {
    public static let modelName = "breast_cancer_classifier"
    public static let approvers = ["demo-approver-1", "demo-approver-2"]
    public static let provenanceType = "https://slsa.dev/provenance/v1"

    /// Where the story is told (a home folder, or a server through an admin's token), and as whom.
    public let client: any TrailClient
    /// The demo trainer's Ed25519 seed, created on first use (mode 0600).
    public let trainerKey: URL

    public init(client: any TrailClient, trainerKey: URL) {
        self.client = client
        self.trainerKey = trainerKey
    }

    /// The demo on a home folder, acting as `actor`; the trainer key lives in the home's keys/.
    public init(home: TrailHome, actor: Actor) {
        self.init(client: home.client(as: actor), trainerKey: home.url.appendingPathComponent("keys/demo-trainer.key"))
    }

    public struct Outcome: Sendable, Codable {
        public var training: TrainingResult
        public var version: Int64
        public var refusedRequirements: [String]
        public var productionEventIndex: Int64?
        public var verifyOK: Bool
        public var verifiedEvents: Int64
        public var lineage: LineageService.ModelLineage

        enum CodingKeys: String, CodingKey {
            case training, version, refusedRequirements = "refused_requirements", productionEventIndex = "production_event_index"
            case verifyOK = "verify_ok", verifiedEvents = "verified_events", lineage
        }
    }

    /// The policy the demo declares for @production.
    public static let policy = PromotionPolicy(
        approvals: 2, approvalTTLHours: 72,
        metrics: [.init(key: "roc_auc", op: ">=", value: 0.98), .init(key: "accuracy", op: ">=", value: 0.95)],
        evidenceArtifacts: ["confusion_matrix.png", "classification_report.json", "run_manifest.json", "model_card.md", "repro/manifest.json"],
        provenanceTags: ["mlflow.source.git.commit", "data_sha256", "environment_sha256"], attestations: [provenanceType])

    public func run(environment: TrainingEnvironment, say: @Sendable (String) -> Void) async throws -> Outcome {
        let registry = client
        say("1. Train and register (load_data → split → train → evaluate → package)")
        let training = try await TrainingPipeline(client: client).train(
            TrainingConfig(registerAs: Self.modelName), environment: environment, progress: { say("   " + $0) })
        guard let version = training.registered else { throw TrailError.internalError("the demo's training registered no version") }

        say("2. Demo approvers and the @production policy")
        let users = Set(try await client.users().map(\.name))
        for name in Self.approvers where !users.contains(name) {
            _ = try await client.createUser(name: name, roles: [.approver])
            say("   created approver \(name)")
        }
        if try await registry.policy(name: Self.modelName, target: "@production")?.policy != Self.policy {
            let document = try JSONEncoder().encode(Self.policy)
            let policyVersion = try await registry.setPolicy(name: Self.modelName, target: "@production", document: Array(document))
            say("   policy v\(policyVersion): 2 approvals, roc_auc ≥ 0.98, accuracy ≥ 0.95, evidence files, provenance tags, SLSA provenance")
        }

        say("3. @staging (unprotected)")
        try await registry.setAlias(name: Self.modelName, alias: "staging", version: version.version, reason: "demo: candidate", emergency: false)
        say("   \(Self.modelName)@staging → version \(version.version)")

        say("4. @production without approvals or provenance: refused")
        var refused: [String] = []
        do {
            try await registry.setAlias(name: Self.modelName, alias: "production", version: version.version, reason: "demo: release", emergency: false)
        } catch let error as TrailError where error.code == .permissionDenied {
            let report = try await registry.evaluate(name: Self.modelName, version: version.version, target: "@production")
            refused = report.unmet.map(\.requirement)
            for requirement in report.unmet { say("   ✗ \(requirement.requirement) (\(requirement.evidence))") }
        }

        say("5. Sign SLSA provenance with the demo trainer key and attach it (verified on arrival)")
        let key = try Self.trainerKey(trainerKey)
        let publicHex = Array(key.publicKey.rawRepresentation).hexString
        let keyID = DSSE.keyID(ed25519PublicKey: Array(key.publicKey.rawRepresentation))
        if try await registry.trustedKeys().first(where: { $0.keyID == keyID && !$0.revoked }) == nil {
            _ = try await registry.trustKey(name: "demo-trainer", publicKeyHex: publicHex, predicateTypes: [Self.provenanceType])
        }
        let statement = ProvenanceStatement.make(version: version, training: training, environment: environment)
        let envelope = try DSSE.Envelope.sign(payloadType: DSSE.inTotoPayloadType, payload: statement.canonicalBytes, key: key)
        let attestation = try await registry.attest(
            name: Self.modelName, version: version.version, predicateType: Self.provenanceType, envelope: envelope.json)
        say("   attestation #\(attestation.eventIndex): subject \(attestation.subjectDigest), key \(keyID.prefix(16))…")

        say("6. Two approvers review root digest \(version.manifest.root)")
        for approver in Self.approvers {
            let (reviewer, release) = try await client.acting(as: approver)
            let approval: Approval
            do {
                approval = try await reviewer.approve(
                    name: Self.modelName, version: version.version, target: "@production", decision: .approve,
                    comment: "demo review: evidence and metrics checked", reviewedDigest: version.manifest.root)
            } catch {
                await release()
                throw error
            }
            await release()
            say("   ✓ \(approver) approved (event #\(approval.eventIndex))")
        }

        say("7. @production through the gate")
        try await registry.setAlias(
            name: Self.modelName, alias: "production", version: version.version, reason: "demo: approved release", emergency: false)
        let promotion = try await registry.history(Self.modelName).last { $0.kind == .alias && $0.key == "production" }
        say("   \(Self.modelName)@production → version \(version.version) (event #\(promotion?.eventIndex ?? -1))")

        say("8. Verify the ledger")
        let verification = try await client.verifyLedger(progress: nil)
        say("   \(verification.ok ? "OK" : "FAILED"): \(verification.events) events, \(verification.findings.count) findings")

        let lineage = try await client.modelLineage(name: Self.modelName, reference: "production")
        return Outcome(
            training: training, version: version.version, refusedRequirements: refused, productionEventIndex: promotion?.eventIndex,
            verifyOK: verification.ok, verifiedEvents: verification.events, lineage: lineage)
    }

    /// The demo trainer's signing key, created on first use (mode 0600).
    static func trainerKey(_ url: URL) throws -> Curve25519.Signing.PrivateKey {
        if let data = try? Data(contentsOf: url), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data) { return key }
        let key = Curve25519.Signing.PrivateKey()
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: key.rawRepresentation, attributes: [.posixPermissions: 0o600]) else {
            throw TrailError.internalError("cannot write \(url.path)")
        }
        return key
    }
}

/// SLSA Provenance v1 for a registered model version (attestations.md §5.2): the subject is
/// the version's root digest; the dataset and the commit are resolved dependencies; the run
/// id is the invocation id.
public enum ProvenanceStatement {
    public static func make(version: ModelVersion, training: TrainingResult, environment: TrainingEnvironment) -> JSONValue {
        var dependencies: [JSONValue] = [
            [
                "name": "training-dataset", "uri": .string(training.dataSource),
                "digest": ["sha256": .string(training.dataSHA256.hex)],
            ]
        ]
        if environment.gitCommit.allSatisfy(\.isHexDigit) {
            dependencies.append(["uri": .string("git+\(environment.gitRemote)@\(environment.gitBranch)"), "digest": ["gitCommit": .string(environment.gitCommit)]])
        }
        return [
            "_type": .string(DSSE.statementType),
            "subject": [["name": .string("\(version.name)/\(version.version)"), "digest": ["sha256": .string(version.manifest.root.hex)]]],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": [
                "buildDefinition": [
                    "buildType": "https://modeltrail.dev/buildtypes/trail-train/v1",
                    "externalParameters": [
                        "dataset": .string(training.dataSource), "modelName": .string(version.name), "modelVersion": .string(String(version.version)),
                        "entryPoint": "trail train",
                    ],
                    "internalParameters": ["environment_sha256": .string(environment.digest.description)],
                    "resolvedDependencies": .array(dependencies),
                ],
                "runDetails": [
                    "builder": ["id": "https://modeltrail.dev/builders/trail-train/v1"],
                    "metadata": ["invocationId": .string(training.runID.value)],
                ],
            ],
        ]
    }
}
