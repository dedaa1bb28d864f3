import Foundation
import TrailCore
import TrailStore

/// The verdict of `trail reproduce`.
public struct ReproductionReport: Sendable, Encodable {
    public var runID: RunID
    public var outcome: String
    public var differences: [String]
    public var rebuildRunID: RunID?
    public var expectedModelSHA256: String
    public var actualModelSHA256: String?
    public var dataSHA256: String
    public var eventIndex: Int64?

    public var reproduced: Bool { outcome == "REPRODUCED" }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", outcome, differences, rebuildRunID = "rebuild_run_id", expectedModelSHA256 = "expected_model_sha256"
        case actualModelSHA256 = "actual_model_sha256", dataSHA256 = "data_sha256", eventIndex = "event_index"
    }
}

extension TrainingPipeline {
    /// Re-runs a training from its `repro/manifest.json`: refuses (DIFFERS, no rebuild) when the
    /// data's digest is not the recorded one; otherwise trains again with the recorded
    /// parameters into a new run tagged `rebuild_of`, and compares the model digest and every
    /// metric exactly. The verdict is a `run.reproduce` ledger event on the original run.
    public func reproduce(
        _ runID: RunID, dataPath: String? = nil, environment: TrainingEnvironment, actor: Actor, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> ReproductionReport {
        _ = try await tracking.run(runID)
        let manifest = try await stepFile(runID, "repro/manifest.json", actor: actor)
        guard manifest["format"]?.stringValue == "modeltrail.repro/v1", let recordedSource = manifest["data"]?["source"]?.stringValue,
            let recordedData = manifest["data"]?["sha256"]?.stringValue, let expectedModel = manifest["expected"]?["model_sha256"]?.stringValue,
            case .object(let expectedMetrics)? = manifest["expected"]?["metrics"], let params = manifest["params"]
        else {
            throw TrailError.invalid("run_id", "run \(runID) has no usable repro/manifest.json (was it made by trail train?)")
        }
        func number(_ key: String) throws -> Double {
            switch params[key] {
            case .double(let d)?: return d
            case .int(let i)?: return Double(i)
            default: throw TrailError.invalid("run_id", "repro/manifest.json lacks params.\(key)")
            }
        }
        var report = ReproductionReport(
            runID: runID, outcome: "DIFFERS", differences: [], rebuildRunID: nil, expectedModelSHA256: expectedModel, actualModelSHA256: nil,
            dataSHA256: recordedData)
        let source = dataPath ?? recordedSource
        progress("data  \(source)")
        if let (bytes, _) = try? Self.loadData(source) {
            let actual = Digest.of(bytes).description
            if actual != recordedData {
                report.differences.append("data_sha256: recorded \(recordedData), now \(actual) (\(source)); the data changed, nothing was rebuilt")
            }
        } else {
            report.differences.append("data: \(source) cannot be read; recorded \(recordedData)")
        }
        if report.differences.isEmpty {
            let config = TrainingConfig(
                dataPath: source, testSize: try number("test_size"), seed: UInt64(try number("seed")), c: try number("C"),
                maxIterations: Int(try number("max_iter")), tolerance: try number("tolerance"),
                experiment: params["experiment"]?.stringValue ?? "breast-cancer")
            let result = try await train(config, environment: environment, actor: actor, rebuildOf: runID, progress: progress)
            report.rebuildRunID = result.runID
            report.actualModelSHA256 = result.modelSHA256.description
            if result.modelSHA256.description != expectedModel {
                report.differences.append("model_sha256: expected \(expectedModel), rebuilt \(result.modelSHA256)")
            }
            for key in Self.metricKeys {
                let expected: Double? =
                    switch expectedMetrics[key] {
                    case .double(let d)?: d
                    case .int(let i)?: Double(i)
                    default: nil
                    }
                let actual = result.metrics[key]
                if expected != actual {
                    report.differences.append("metric \(key): expected \(expected.map { "\($0)" } ?? "missing"), rebuilt \(actual.map { "\($0)" } ?? "missing")")
                }
            }
        }
        report.outcome = report.differences.isEmpty ? "REPRODUCED" : "DIFFERS"
        if let rebuild = report.rebuildRunID {
            try await tracking.setTag(rebuild, key: "reproduce_outcome", value: report.outcome, actor: actor)
        }
        let index = try await tracking.store.record(
            EventDraft(
                    action: "run.reproduce", actor: actor, timeMillis: tracking.clock.nowMillis(), subject: Subject(type: "run", id: runID.value),
                    related: report.rebuildRunID.map { ["rebuild_run_id": $0.value] } ?? [:],
                    facts: [
                        "outcome": .string(report.outcome), "differences": .array(report.differences.map(JSONValue.string)),
                        "expected_model_sha256": .string(expectedModel),
                        "actual_model_sha256": report.actualModelSHA256.map(JSONValue.string) ?? .null, "data_sha256": .string(recordedData),
                    ]))
        report.eventIndex = index
        return report
    }

    func stepFile(_ runID: RunID, _ path: String, actor: Actor) async throws -> JSONValue {
        let (_, reader) = try await tracking.openArtifact(runID, path: try ArtifactPath(validating: path), actor: actor)
        defer { reader.close() }
        return try JSONValue.parse(try reader.readAll())
    }
}
