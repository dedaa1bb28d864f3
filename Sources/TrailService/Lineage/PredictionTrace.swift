import Foundation
import TrailCore
import TrailLearn
import TrailLedger
import TrailStore

extension LineageService {
    public struct PredictionTrace: Sendable, Codable {
        public var prediction: PredictionRecord
        public var batchEventIndex: Int64
        public var position: Int
        public var batchSize: Int
        public var merklePath: [String]
        public var deployment: Deployment?
        public var model: ModelLineage
        /// Prediction and deployment links first, then the model's.
        public var links: [Link]

        enum CodingKeys: String, CodingKey {
            case prediction, batchEventIndex = "batch_event_index", position, batchSize = "batch_size", merklePath = "merkle_path", deployment
            case model, links
        }
    }

    /// prediction → its group commit (Merkle path to the event's root, event inclusion proof)
    /// → deployment → promotion in force then → model version → run → data, code, environment.
    /// The raw input, when kept, is shown only to a privileged `reader`.
    public func prediction(id: String, reader: Reader = .masked) async throws -> PredictionTrace {
        guard let (record, eventIndex, position) = try await tracking.store.prediction(id: id) else {
            throw await DataProtectionService.predictionNotFound(id, store: tracking.store)
        }
        let batch = try await tracking.store.predictions(eventIndex: eventIndex)
        // Every leaf of the commit is recomputed (the path is built from them), on every core.
        let leaves = await Self.leafHashes(batch)
        let path = Merkle.inclusionProof(index: position, leaves: leaves[...])
        let event = try await ledger.event(index: eventIndex)
        let recordedRoot = (try JSONValue.parse(event.body))["facts"]?["merkle_root"]?.stringValue
        let computedRoot = Merkle.rootFromInclusion(
            index: UInt64(position), size: UInt64(leaves.count), leaf: Merkle.leafHash(record.leafBytes), path: path)
        let rootMatches = computedRoot?.hexString == recordedRoot
        let prover = try await Prover(ledger: ledger)
        func link(_ kind: String, _ summary: String, _ index: Int64?, holds: Bool = true) -> Link {
            Link(kind: kind, summary: summary, eventIndex: index, proven: holds)
        }
        var links: [Link] = []
        links.append(
            link(
                "prediction",
                "\(record.predictionID) at \(Self.date(record.timeMillis)): \(record.outcome)" + (record.error.map { " (\($0))" } ?? "")
                    + (record.probability.map { ", p(positive) = \(JSONValue.ecmaScriptNumber($0)), prediction \(record.prediction ?? -1)" } ?? "")
                    + ", input \(record.inputDigest); leaf \(position) of \(batch.count) in the commit's Merkle root \(rootMatches ? "✓" : "✗ MISMATCH")",
                eventIndex, holds: rootMatches))
        let rows = try await tracking.store.deployments(id: record.deploymentID, modelName: nil)
        let deployment = rows.last { $0.timeMillis <= record.timeMillis && $0.modelVersion == record.modelVersion } ?? rows.first
        if let deployment {
            links.append(
                link(
                    "deployment",
                    "\(deployment.deploymentID) (\(deployment.action)) serving \(deployment.modelName)@\(deployment.reference) = version \(deployment.modelVersion) on \(deployment.host), binary \(deployment.binaryDigest), config \(deployment.configDigest)",
                    deployment.eventIndex))
            // The registry change that put this version where the deployment served it from:
            // the alias move to it, or its move into the stage.
            let history = try await registry.history(record.modelName)
            let change: RegistryChange? =
                switch ModelReference(parsing: deployment.reference) {
                case .version: nil
                case .alias(let alias):
                    history.last {
                        $0.kind == .alias && $0.key == alias && $0.to == String(record.modelVersion) && $0.timeMillis <= record.timeMillis
                    }
                case .stage(let stage):
                    history.last {
                        $0.kind == .stage && $0.key == String(record.modelVersion) && $0.to == stage.rawValue && $0.timeMillis <= record.timeMillis
                    }
                }
            if let change {
                links.append(
                    link(
                        "promotion",
                        "\(record.modelName)@\(deployment.reference) → version \(record.modelVersion) by \(change.actor) at \(Self.date(change.timeMillis)): \(change.reason)",
                        change.eventIndex))
            }
        }
        let model = try await self.model(name: record.modelName, reference: String(record.modelVersion), prover: prover)
        return PredictionTrace(
            prediction: try await DataProtectionService(tracking: tracking, registry: registry).present(record, reader: reader),
            batchEventIndex: eventIndex, position: position, batchSize: batch.count,
            merklePath: path.map { Data($0).base64EncodedString() }, deployment: deployment, model: model,
            links: await prover.prove(links) + model.links)
    }

    static func leafHashes(_ records: [PredictionRecord]) async -> [TreeHash] {
        let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        guard records.count >= 256, cores > 1 else { return records.map { Merkle.leafHash($0.leafBytes) } }
        let chunk = (records.count + cores - 1) / cores
        return await withTaskGroup(of: (Int, [TreeHash]).self) { group in
            for (n, from) in stride(from: 0, to: records.count, by: chunk).enumerated() {
                let range = from..<min(from + chunk, records.count)
                group.addTask { (n, records[range].map { Merkle.leafHash($0.leafBytes) }) }
            }
            var parts: [(Int, [TreeHash])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    public struct DatasetImpact: Sendable, Codable {
        public struct Use: Sendable, Codable {
            public var runID: RunID
            public var runName: String
            public var versions: [String]
            public var deployments: [String]
        }

        public struct Window: Sendable, Codable {
            public var deploymentID: String
            /// The model version (`name/version`) that made these predictions.
            public var modelVersion: String
            public var start: String
            public var predictions: Int64
            public var refused: Int64

            enum CodingKeys: String, CodingKey { case deploymentID, modelVersion = "model_version", start, predictions, refused }
        }

        public var digest: String
        public var runs: [Use]
        public var predictionsByWindow: [Window]
        public var totalPredictions: Int64

        enum CodingKeys: String, CodingKey { case digest, runs, predictionsByWindow = "predictions_by_window", totalPredictions = "total_predictions" }
    }

    /// Everything that depends on a dataset: runs, model versions, deployments, and the
    /// predictions served per time window — counted per model version trained on it, so a
    /// deployment's predictions by other versions (before or after a switch) do not count.
    public func dataset(digest: String, windowMillis: Int64 = 86_400_000) async throws -> DatasetImpact {
        guard windowMillis > 0 else { throw TrailError.invalid("window", "the window must be positive") }
        let digest = digest.hasPrefix("sha256:") ? digest : "sha256:" + digest
        // A malformed or shortened digest would match nothing and answer "no impact": refuse it.
        _ = try Digest(parsing: digest, field: "digest")
        var uses: [DatasetImpact.Use] = []
        var windows: [DatasetImpact.Window] = []
        var total: Int64 = 0
        var versionsByRun: [RunID: [ModelVersion]] = [:]
        for model in try await tracking.store.allRegisteredModels() {
            for version in try await registry.versions(model.name) { if let run = version.runID { versionsByRun[run, default: []].append(version) } }
        }
        var counted = Set<String>()
        for runID in try await tracking.store.runs(datasetDigest: digest) {
            let run = try await tracking.run(runID)
            var deploymentIDs: [String] = []
            for version in (versionsByRun[runID] ?? []).sorted(by: { ($0.name, $0.version) < ($1.name, $1.version) }) {
                for deployment in try await tracking.store.deployments(id: nil, modelName: version.name)
                where deployment.modelVersion == version.version && !deploymentIDs.contains(deployment.deploymentID) {
                    deploymentIDs.append(deployment.deploymentID)
                }
                for id in deploymentIDs where counted.insert("\(id) \(version.name)/\(version.version)").inserted {
                    for bucket in try await tracking.store.predictionCounts(
                        deploymentID: id, modelName: version.name, modelVersion: version.version, bucketMillis: windowMillis)
                    where bucket.ok + bucket.refused > 0 {
                        windows.append(
                            .init(
                                deploymentID: id, modelVersion: "\(version.name)/\(version.version)", start: Self.date(bucket.bucket), predictions: bucket.ok,
                                refused: bucket.refused))
                        total += bucket.ok
                    }
                }
            }
            uses.append(
                .init(
                    runID: runID, runName: run.info.name, versions: (versionsByRun[runID] ?? []).map { "\($0.name)/\($0.version)" },
                    deployments: deploymentIDs))
        }
        return DatasetImpact(digest: digest, runs: uses, predictionsByWindow: windows, totalPredictions: total)
    }
}
