import Foundation
import Testing
import TrailCore
import TrailService
import TrailStore

/// Issue #13's property: for generated histories (versions with equal root digests, tags set by
/// later events, metrics over several events, aliases and stages moved back and forth), every
/// link of every trace cites an event whose covered rows contain exactly the value the link
/// shows.
@Suite("Lineage: every link cites the event that holds its fact")
struct LineagePropertyTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
    }

    static let carol = Actor.user("carol")
    static let ann = Actor.user("ann")

    /// Builds a random history on a fresh home and returns it with the references to trace.
    static func history(seed: UInt64) async throws -> (TrailHome, [String]) {
        var ignored: [PredictionRecord] = []
        return try await history(seed: seed, predicted: &ignored)
    }

    static func history(seed: UInt64, predicted: inout [PredictionRecord]) async throws -> (TrailHome, [String]) {
        var random = Generator(state: seed)
        let home = try await makeHome()
        _ = try await home.identity.createUser(name: "carol", roles: [.contributor], actor: .user("root"))
        _ = try await home.identity.createUser(name: "ann", roles: [.approver], actor: .user("root"))
        let versions = Int.random(in: 2...4, using: &random)
        for v in 0..<versions {
            var tags: [TrailCore.Tag] = []
            let commit = String(format: "%040x", v + 1)
            let commitLater = Bool.random(using: &random)
            if !commitLater { tags.append(TrailCore.Tag(key: "mlflow.source.git.commit", value: "0000" + commit.dropFirst(4))) }
            let run = try await home.tracking.createRun(experimentID: nil, tags: tags, actor: carol).info.runID
            for step in 0..<Int.random(in: 1...3, using: &random) {
                var metrics = [Metric(key: "auc", value: Double(Int.random(in: 80...99, using: &random)) / 100, timestampMillis: 10, step: Int64(step))]
                if Bool.random(using: &random) { metrics.append(Metric(key: "f1", value: Double(step) / 10, timestampMillis: 10, step: 0)) }
                try await home.tracking.logBatch(run, metrics: metrics, actor: carol)
            }
            if commitLater {
                // A wrong commit first, then the right one: the link must cite the second.
                try await home.tracking.logBatch(run, tags: [TrailCore.Tag(key: "mlflow.source.git.commit", value: "bad")], actor: carol)
                try await home.tracking.logBatch(run, tags: [TrailCore.Tag(key: "mlflow.source.git.commit", value: commit)], actor: carol)
            }
            try await home.tracking.logBatch(run, tags: [TrailCore.Tag(key: "environment_sha256", value: "sha256:env\(v % 2)")], actor: carol)
            try await home.tracking.logInputs(
                run, [DatasetInput(name: "data", digest: "sha256:" + String(repeating: v % 2 == 0 ? "a" : "b", count: 64), source: "d.csv")], actor: carol)
            // Two of every kind of bytes: versions share root digests.
            try await home.tracking.putArtifact(
                run, path: try ArtifactPath(validating: "model/model.json"), bytes: Array("model \(Int.random(in: 0...1, using: &random))".utf8), actor: carol)
            if Bool.random(using: &random) {
                try await home.tracking.updateRun(run, status: .finished, endTimeMillis: home.tracking.clock.nowMillis(), actor: carol)
            }
            _ = try await home.registry.registerVersion(name: "m", runID: run, path: "model", actor: carol)
        }
        _ = try await home.registry.setPolicy(name: "m", target: "@production", document: Array(#"{"approvals": 1}"#.utf8), actor: .user("root"))
        for _ in 0..<Int.random(in: 3...7, using: &random) {
            let version = Int64.random(in: 1...Int64(versions), using: &random)
            switch Int.random(in: 0...3, using: &random) {
            case 0: try await home.registry.setAlias(name: "m", alias: "staging", version: version, actor: carol)
            case 1:
                _ = try? await home.registry.approve(name: "m", version: version, target: "@production", actor: ann)
                try await home.registry.setAlias(name: "m", alias: "production", version: version, actor: carol)
            case 2: _ = try await home.registry.transitionStage(name: "m", version: version, stage: .staging, archiveExisting: true, actor: carol)
            default:
                _ = try? await home.registry.approve(name: "m", version: version, target: "@production", actor: ann)
                _ = try await home.registry.transitionStage(
                    name: "m", version: version, stage: .production, archiveExisting: Bool.random(using: &random), actor: carol)
            }
        }
        // Two deployments switching between versions, with predictions by each.
        let serving = ServingService(tracking: home.tracking, registry: home.registry)
        for k in 0..<Int.random(in: 3...8, using: &random) {
            let version = Int64.random(in: 1...Int64(versions), using: &random)
            let deployment = "d\(k % 2)"
            _ = try await serving.record(
                Deployment(
                    deploymentID: deployment, modelName: "m", reference: "staging", modelVersion: version, configDigest: Digest.of([1]),
                    binaryDigest: "sha256:test", host: "test", action: k < 2 ? "start" : "switch", timeMillis: home.tracking.clock.nowMillis()),
                actor: .service("serve"))
            let records = (0..<Int.random(in: 1...5, using: &random)).map { i in
                PredictionRecord(
                    predictionID: "p\(seed)-\(k)-\(i)", timeMillis: home.tracking.clock.nowMillis(), deploymentID: deployment, modelName: "m",
                    modelVersion: version, inputDigest: Digest.of([UInt8(i)]), probability: 0.5, prediction: 1, latencyMicros: 1,
                    outcome: i == 0 && Bool.random(using: &random) ? "refused" : "ok")
            }
            _ = try await home.tracking.store.apply(
                WriteBatch(
                    changes: [
                        .recordPredictions(
                            PredictionBatch(
                                deploymentID: deployment, modelName: "m", modelVersion: version, records: records, featureCounts: [:], merkleRootHex: ""))
                    ],
                    event: EventDraft(
                        action: "predictions.batch", actor: .service("serve"), timeMillis: home.tracking.clock.nowMillis(),
                        subject: Subject(type: "deployment", id: deployment))))
            predicted.append(contentsOf: records)
        }
        return (home, ["staging", "production", "Staging", "Production"] + (1...versions).map(String.init))
    }

    /// The rows `index` wrote to `table`, as JSON arrays.
    static func rows(_ home: TrailHome, _ table: String, _ index: Int64) async throws -> [[JSONValue]] {
        try await home.tracking.store.recordedRows(table: table, events: index..<(index + 1))[index, default: []].map {
            guard case .array(let values) = try JSONValue.parse($0) else { return [] }
            return values
        }
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let i)?: Double(i)
        case .double(let d)?: d
        default: nil
        }
    }

    /// Whether the event a link cites holds exactly the fact the link shows.
    static func check(_ link: LineageService.Link, _ lineage: LineageService.ModelLineage, _ home: TrailHome) async throws -> Bool {
        guard let index = link.eventIndex else { return false }
        let event = try await home.ledger.event(index: index)
        switch link.kind {
        case "promotion":
            // An alias move's `to` is the version; a stage move's key is the version, `to` the stage.
            let version = JSONValue.string(String(lineage.version))
            return try await rows(home, "registry_history", index).contains {
                $0.count > 5 && (($0[2] == .string("alias") && $0[5] == version) || ($0[2] == .string("stage") && $0[3] == version))
            }
        case "policy":
            let version = Int64(link.summary.split(separator: " ")[1].dropFirst()) ?? -1
            return try await rows(home, "policies", index).contains { $0.count > 3 && $0[1] == .string(lineage.name) && $0[3] == .int(version) }
        case "approval":
            let approver = String(link.summary.split(separator: " ")[0])
            return try await rows(home, "approvals", index).contains {
                $0.count > 6 && $0[2] == .int(lineage.version) && $0[4] == .string(approver) && $0[6] == .string("approve")
            }
        case "model_version":
            return try await rows(home, "state_history", index).contains { row in
                guard row.count > 3, row[1] == .string("model_versions"), case .string(let text)? = row.last,
                    case .array(let state)? = try? JSONValue.parse(Array(text.utf8))
                else { return false }
                return state.count > 5 && state[1] == .string(lineage.name) && state[2] == .int(lineage.version)
                    && state[5] == .string(lineage.rootDigest.description)
            }
        case "run":
            return event.action == "run.create" && event.subject.id == lineage.runID?.value
        case "run_state":
            let run = try await home.tracking.run(try #require(lineage.runID))
            return try await rows(home, "state_history", index).contains { row in
                guard row.count > 3, row[1] == .string("runs"), case .string(let text)? = row.last,
                    case .array(let state)? = try? JSONValue.parse(Array(text.utf8))
                else { return false }
                return state.count > 5 && state[1] == .string(run.info.runID.value) && state[5] == .string(run.info.status.rawValue)
            }
        case "code":
            return try await rows(home, "run_tag_history", index).contains {
                $0.count > 3 && $0[2] == .string("mlflow.source.git.commit") && $0[3] == lineage.gitCommit.map(JSONValue.string)
            }
        case "environment":
            return try await rows(home, "run_tag_history", index).contains {
                $0.count > 3 && $0[2] == .string("environment_sha256") && $0[3] == lineage.environmentSHA256.map(JSONValue.string)
            }
        case "dataset":
            let digest = String(link.summary.split(separator: " ")[1])
            return try await rows(home, "dataset_inputs", index).contains { $0.count > 3 && $0[3] == .string(digest) }
        case "metrics":
            let written = try await rows(home, "metrics", index)
            return link.summary.split(separator: " ").allSatisfy { pair in
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let shown = Double(parts[1]), lineage.metrics[String(parts[0])] == shown else { return false }
                return written.contains { $0.count > 2 && $0[1] == .string(String(parts[0])) && number($0[2]) == shown }
            }
        default:
            return false
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func everyLinkCitesTheEventThatWroteIt(seed: UInt64) async throws {
        var predicted: [PredictionRecord] = []
        let (home, references) = try await Self.history(seed: seed, predicted: &predicted)
        // Impact: the predictions counted for a dataset are exactly those made by versions
        // trained on it (brute force over every prediction made).
        var datasetOf: [Int64: String] = [:]
        for version in try await home.registry.versions("m") {
            datasetOf[version.version] = try await home.tracking.run(try #require(version.runID)).inputs.first?.digest
        }
        for digest in Set(datasetOf.values) {
            let expected = predicted.filter { $0.outcome == "ok" && datasetOf[$0.modelVersion] == digest }.count
            let impact = try await home.lineage.dataset(digest: digest)
            #expect(impact.totalPredictions == Int64(expected), "seed \(seed) \(digest)")
        }
        var traced = 0
        for reference in references {
            guard let lineage = try? await home.lineage.model(name: "m", reference: reference) else { continue }
            traced += 1
            #expect(lineage.links.contains { $0.kind == "model_version" })
            for link in lineage.links {
                #expect(link.proven, "seed \(seed) m@\(reference): \(link.kind) #\(link.eventIndex ?? -1) not proven: \(link.summary)")
                #expect(
                    try await Self.check(link, lineage, home),
                    "seed \(seed) m@\(reference): \(link.kind) cites #\(link.eventIndex ?? -1), which does not hold '\(link.summary)'")
            }
        }
        #expect(traced >= 2)
    }
}
