import Foundation
import TrailCore
import TrailStore

/// The verdict of `trail reproduce`.
public struct ReproductionReport: Sendable, Codable {
    public var runID: RunID
    public var outcome: String
    public var differences: [String]
    public var rebuildRunID: RunID?
    public var expectedModelSHA256: String
    public var actualModelSHA256: String?
    public var dataSHA256: String
    /// How the environment of the rebuild differs from the recorded one (commit, dirty flag and
    /// diff, toolchain, OS, CPU, binary and lock digests); empty: the same environment.
    public var environmentDifferences: [String] = []
    public var eventIndex: Int64?

    public var reproduced: Bool { outcome == "REPRODUCED" }
    public var sameEnvironment: Bool { environmentDifferences.isEmpty }

    /// The verdict line: `REPRODUCED in the same environment`, `REPRODUCED in another
    /// environment (N differences)` or `DIFFERS`.
    public var verdict: String {
        guard reproduced else { return outcome }
        return sameEnvironment
            ? "REPRODUCED in the same environment"
            : "REPRODUCED in another environment (\(environmentDifferences.count) difference\(environmentDifferences.count == 1 ? "" : "s"))"
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", outcome, differences, rebuildRunID = "rebuild_run_id", expectedModelSHA256 = "expected_model_sha256"
        case actualModelSHA256 = "actual_model_sha256", dataSHA256 = "data_sha256", eventIndex = "event_index"
        case environmentDifferences = "environment_differences", sameEnvironment = "same_environment", verdict
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runID, forKey: .runID)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(differences, forKey: .differences)
        try c.encode(environmentDifferences, forKey: .environmentDifferences)
        try c.encode(sameEnvironment, forKey: .sameEnvironment)
        try c.encodeIfPresent(rebuildRunID, forKey: .rebuildRunID)
        try c.encode(expectedModelSHA256, forKey: .expectedModelSHA256)
        try c.encodeIfPresent(actualModelSHA256, forKey: .actualModelSHA256)
        try c.encode(dataSHA256, forKey: .dataSHA256)
        try c.encodeIfPresent(eventIndex, forKey: .eventIndex)
    }

    public init(
        runID: RunID, outcome: String, differences: [String], rebuildRunID: RunID?, expectedModelSHA256: String, actualModelSHA256: String?,
        dataSHA256: String, environmentDifferences: [String] = [], eventIndex: Int64? = nil
    ) {
        self.runID = runID
        self.outcome = outcome
        self.differences = differences
        self.rebuildRunID = rebuildRunID
        self.expectedModelSHA256 = expectedModelSHA256
        self.actualModelSHA256 = actualModelSHA256
        self.dataSHA256 = dataSHA256
        self.environmentDifferences = environmentDifferences
        self.eventIndex = eventIndex
    }

    /// Reads a report as served or submitted (`verdict` and `same_environment` are recomputed).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runID = try c.decode(RunID.self, forKey: .runID)
        outcome = try c.decode(String.self, forKey: .outcome)
        differences = try c.decode([String].self, forKey: .differences)
        environmentDifferences = try c.decodeIfPresent([String].self, forKey: .environmentDifferences) ?? []
        rebuildRunID = try c.decodeIfPresent(RunID.self, forKey: .rebuildRunID)
        expectedModelSHA256 = try c.decode(String.self, forKey: .expectedModelSHA256)
        actualModelSHA256 = try c.decodeIfPresent(String.self, forKey: .actualModelSHA256)
        dataSHA256 = try c.decode(String.self, forKey: .dataSHA256)
        eventIndex = try c.decodeIfPresent(Int64.self, forKey: .eventIndex)
    }

    /// The environment tags compared, with the words used for them.
    static let environmentKeys: [(key: String, label: String)] = [
        ("mlflow.source.git.commit", "git commit"), ("git_dirty", "git dirty"), ("git_diff_sha256", "git diff"),
        ("swift_toolchain", "toolchain"), ("os", "OS"), ("cpu", "CPU"), ("trail_binary_sha256", "trail binary"),
        ("dependency_lock_sha256", "dependency lock"),
    ]

    /// Every difference between the recorded environment tags and `environment`.
    static func environmentDifferences(recorded: [Tag], now environment: TrainingEnvironment) -> [String] {
        let then = Dictionary(recorded.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        let current = Dictionary(environment.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        return environmentKeys.compactMap { key, label in
            let a = then[key] ?? "absent"
            let b = current[key] ?? "absent"
            return a == b ? nil : "\(label): recorded \(a), now \(b)"
        }
    }
}

extension TrainingPipeline {
    /// Re-runs a training from its `repro/manifest.json`: refuses (DIFFERS, no rebuild) when the
    /// data's digest is not the recorded one; otherwise trains again with the recorded
    /// parameters into a new run tagged `rebuild_of`, and compares the model digest and every
    /// metric exactly. The verdict is a `run.reproduce` ledger event on the original run.
    public func reproduce(
        _ runID: RunID, dataPath: String? = nil, environment: TrainingEnvironment, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> ReproductionReport {
        let original = try await client.run(runID)
        let manifest = try await stepFile(runID, "repro/manifest.json")
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
                experiment: params["experiment"]?.stringValue ?? "breast-cancer", timeColumn: params["time_column"]?.stringValue,
                subgroups: {
                    if case .array(let items)? = params["subgroups"] { return items.compactMap(\.stringValue) }
                    return []
                }())
            let result = try await train(config, environment: environment, rebuildOf: runID, progress: progress)
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
        report.environmentDifferences = ReproductionReport.environmentDifferences(recorded: original.tags, now: environment)
        if let rebuild = report.rebuildRunID {
            try await client.setTag(rebuild, key: "reproduce_outcome", value: report.outcome)
        }
        report.eventIndex = try await client.recordReproduction(report)
        return report
    }

    func stepFile(_ runID: RunID, _ path: String) async throws -> JSONValue {
        try JSONValue.parse(try await client.readArtifact(runID, path: try ArtifactPath(validating: path)))
    }
}

extension TrackingService {
    /// Records the verdict of a rebuild (made here or on a client) as `run.reproduce` on the
    /// original run: the runs must exist, the outcome be REPRODUCED or DIFFERS, the text bounded.
    public func recordReproduction(_ report: ReproductionReport, actor: Actor) async throws -> Int64? {
        let original = try await run(report.runID)
        if let rebuild = report.rebuildRunID {
            guard rebuild != report.runID else { throw TrailError.invalid("rebuild_run_id", "a run is not its own rebuild") }
            _ = try await run(rebuild)
        }
        guard ["REPRODUCED", "DIFFERS"].contains(report.outcome) else { throw TrailError.invalid("outcome", "outcome must be REPRODUCED or DIFFERS") }
        guard (report.outcome == "DIFFERS") == !report.differences.isEmpty else {
            throw TrailError.invalid("differences", "REPRODUCED lists no differences; DIFFERS lists at least one")
        }
        // The report must be about this run: its digests are the run's own, and a REPRODUCED
        // rebuild made the expected model.
        for (field, value) in [("expected_model_sha256", report.expectedModelSHA256), ("data_sha256", report.dataSHA256)]
            + (report.actualModelSHA256.map { [("actual_model_sha256", $0)] } ?? [])
        {
            _ = try Digest(parsing: value, field: field)
        }
        let tags = Dictionary(original.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        if let model = tags["model_sha256"], model != report.expectedModelSHA256 {
            throw TrailError.invalid("expected_model_sha256", "run \(report.runID) recorded model \(model), not \(report.expectedModelSHA256.prefix(80))")
        }
        if let data = tags["data_sha256"], data != report.dataSHA256 {
            throw TrailError.invalid("data_sha256", "run \(report.runID) recorded data \(data), not \(report.dataSHA256.prefix(80))")
        }
        if report.outcome == "REPRODUCED", report.actualModelSHA256 != report.expectedModelSHA256 {
            throw TrailError.invalid("actual_model_sha256", "a REPRODUCED rebuild made the expected model")
        }
        for (field, list) in [("differences", report.differences), ("environment_differences", report.environmentDifferences)] {
            guard list.count <= 100, list.allSatisfy({ $0.utf8.count <= 4000 }) else {
                throw TrailError.invalid(field, "at most 100 entries of at most 4000 bytes each")
            }
        }
        for (field, text) in [
            ("expected_model_sha256", report.expectedModelSHA256), ("actual_model_sha256", report.actualModelSHA256 ?? ""), ("data_sha256", report.dataSHA256),
        ] where text.utf8.count > 200 {
            throw TrailError.invalid(field, "\(field) is at most 200 bytes")
        }
        return try await store.record(
            EventDraft(
                action: "run.reproduce", actor: actor, timeMillis: clock.nowMillis(), subject: Subject(type: "run", id: report.runID.value),
                related: report.rebuildRunID.map { ["rebuild_run_id": $0.value] } ?? [:],
                facts: [
                    "outcome": .string(report.outcome), "differences": .array(report.differences.map(JSONValue.string)),
                    "environment_differences": .array(report.environmentDifferences.map(JSONValue.string)),
                    "expected_model_sha256": .string(report.expectedModelSHA256),
                    "actual_model_sha256": report.actualModelSHA256.map(JSONValue.string) ?? .null, "data_sha256": .string(report.dataSHA256),
                ]))
    }
}
