import Foundation
import TrailCore
import TrailLedger
import TrailStore

/// OpenLineage out (issue #19): ModelTrail's own runs as OpenLineage RunEvents, built from the
/// ledger event that recorded each change. A run's creation is `START`; its end `COMPLETE`,
/// `FAIL` or `ABORT`; a version registered from it `OTHER` with the version as an output
/// dataset. Every event carries the run facet `modeltrail_ledger`: the ledger event's index,
/// and the signed checkpoint and inclusion proof it is proven against, so a receiver can check
/// the claim offline (`trail ledger verify-proof`).
public struct OpenLineageEmitter: Sendable {
    public let tracking: TrackingService
    public let registry: RegistryService
    public let ledger: LedgerService

    public init(tracking: TrackingService, registry: RegistryService, ledger: LedgerService) {
        self.tracking = tracking
        self.registry = registry
        self.ledger = ledger
    }

    public static let producer = "https://github.com/modeltrail/modeltrail/tree/\(TrailVersion.current)"
    public static let runEventSchema = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    public static let ledgerFacetSchema = "https://modeltrail.dev/spec/facets/1-0-0/ModelTrailLedgerRunFacet.json#/$defs/ModelTrailLedgerRunFacet"
    /// The ledger actions that become OpenLineage events.
    public static let actions: Set<String> = ["run.create", "run.update", "model_version.create"]

    /// A run id as a UUID: MLflow's 32 hexadecimal digits, grouped 8-4-4-4-12; any other id, the
    /// first 32 hexadecimal digits of its SHA-256.
    public static func runUUID(_ id: String) -> String {
        let lower = id.lowercased()
        let hex = lower.count == 32 && lower.allSatisfy(\.isHexDigit) ? lower : String(Digest.of(Array(id.utf8)).hex.prefix(32))
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    static func facet(_ schema: String, _ fields: [String: JSONValue]) -> JSONValue {
        var out = fields
        out["_producer"] = .string(producer)
        out["_schemaURL"] = .string(schema)
        return .object(out)
    }

    /// The RunEvent for ledger event `event`, or nil when that event is not one ModelTrail
    /// reports (a run update that does not end it, a version not registered from a run).
    public func runEvent(for event: StoredEvent) async throws -> JSONValue? {
        guard Self.actions.contains(event.action) else { return nil }
        let body = try JSONValue.parse(event.body)
        let eventType: String
        let runID: RunID
        var outputs: [ModelVersion] = []
        switch event.action {
        case "run.create":
            eventType = "START"
            runID = try RunID(parsing: event.subject.id)
        case "run.update":
            switch body["facts"]?["status"]?.stringValue {
            case "FINISHED": eventType = "COMPLETE"
            case "FAILED": eventType = "FAIL"
            case "KILLED": eventType = "ABORT"
            default: return nil
            }
            runID = try RunID(parsing: event.subject.id)
        default:
            guard let run = body["related"]?["run_id"]?.stringValue else { return nil }
            runID = try RunID(parsing: run)
            eventType = "OTHER"
            let name = event.subject.id
            outputs = try await registry.versions(name).filter { $0.runID == runID }
        }
        guard let run = try await tracking.store.run(id: runID) else { return nil }
        let experiment = try await tracking.store.experiment(id: run.info.experimentID)?.name ?? run.info.experimentID.description

        // The checkpoint that covers the event, and the event's inclusion proof against it.
        _ = try await ledger.checkpointIfBehind()
        let checkpoint = try await ledger.latestCheckpoint()
        var ledgerFacet: [String: JSONValue] = [
            "eventIndex": .int(event.index), "action": .string(event.action), "leafHash": .string(Data(Merkle.leafHash(event.body)).base64EncodedString()),
            "checkpoint": .string(checkpoint.note),
        ]
        if let proof = try? await ledger.inclusionProofs([event.index], checkpoint: checkpoint)[event.index] {
            ledgerFacet["treeSize"] = .int(Int64(clamping: proof.treeSize))
            ledgerFacet["inclusionProof"] = .array(proof.path.map { .string(Data($0).base64EncodedString()) })
        }

        var jobFacets: [String: JSONValue] = [
            "jobType": Self.facet(
                "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
                ["processingType": "BATCH", "integration": "MODELTRAIL", "jobType": "JOB"])
        ]
        let tags = Dictionary(run.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        if let commit = tags["mlflow.source.git.commit"] ?? tags["git_commit"], let repo = tags["mlflow.source.git.repoURL"] ?? tags["git_remote"],
            repo.contains(":")
        {
            jobFacets["sourceCodeLocation"] = Self.facet(
                "https://openlineage.io/spec/facets/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet",
                ["type": "git", "url": .string(repo), "repoUrl": .string(repo), "version": .string(commit)])
        }
        let inputs: [JSONValue] = run.inputs.prefix(1000).map { input in
            let named = OpenLineageService.datasetName(source: input.source, name: input.name)
            var facets: [String: JSONValue] = [
                "version": Self.facet(
                    "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                    ["datasetVersion": .string(input.digest)])
            ]
            if let schema = input.schema, !schema.isEmpty {
                facets["schema"] = Self.facet(
                    "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                    ["fields": .array(schema.prefix(10_000).map { ["name": .string($0.name), "type": .string($0.type)] })])
            }
            return ["namespace": .string(named.namespace), "name": .string(named.name), "facets": .object(facets)]
        }
        let outputDatasets: [JSONValue] = outputs.map { version in
            [
                "namespace": .string(OpenLineageService.namespace), "name": .string("models/\(version.name)/\(version.version)"),
                "facets": [
                    "version": Self.facet(
                        "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                        ["datasetVersion": .string(version.manifest.root.description)]),
                    "datasetType": Self.facet(
                        "https://openlineage.io/spec/facets/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
                        ["datasetType": "MODEL"]),
                ],
            ]
        }
        let time: Int64 =
            switch eventType {
            case "START": run.info.startTimeMillis
            case "OTHER": event.timeMillis
            default: run.info.endTimeMillis ?? event.timeMillis
            }
        return .object([
            "eventTime": .string(Self.rfc3339(time)), "eventType": .string(eventType), "producer": .string(Self.producer),
            "schemaURL": .string(Self.runEventSchema),
            "run": [
                "runId": .string(Self.runUUID(runID.value)),
                "facets": ["modeltrail_ledger": Self.facet(Self.ledgerFacetSchema, ledgerFacet)],
            ],
            "job": ["namespace": .string(OpenLineageService.namespace), "name": .string(experiment), "facets": .object(jobFacets)],
            "inputs": .array(inputs), "outputs": .array(outputDatasets),
        ])
    }

    /// `2026-12-03T16:51:20.123Z`.
    public static func rfc3339(_ millis: Int64) -> String {
        let seconds = LineageService.date(millis)  // 2026-12-03T16:51:20Z
        let fraction = ((millis % 1000) + 1000) % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : String(fraction)
        return seconds.hasSuffix("Z") ? String(seconds.dropLast()) + ".\(padded)Z" : seconds
    }
}
