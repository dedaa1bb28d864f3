import Foundation
import Testing
import TrailCore
import TrailService
import TrailStore

/// Issue #18: the provenance standard's mandatory fields recorded by `trail train`, required by
/// the built-in policy template (each missing one named), frozen once the run ends; subgroup
/// metrics with a fairness summary a policy can bound.
@Suite("Provenance standard, subgroup metrics")
struct ProvenanceStandardTests {
    static let root = Actor.user("root")
    static let sbom = Array(
        #"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "swift-crypto", "version": "3.0.0"}, {"name": "grdb", "version": "7.0.0"}]}"#
            .utf8)

    @Test func theTemplateNamesEveryMissingFieldAndAFullRunPasses() async throws {
        let home = try await makeHome()
        let pipeline = home.pipeline(as: TrainingPipelineTests.engineer)
        // The template is in force before training: what it reads freezes when the run ends.
        _ = try await home.registry.createModel(name: "bc", actor: Self.root)
        _ = try await home.registry.setPolicy(
            name: "bc", target: "@production", document: Array(ProvenanceStandard.templates["provenance-standard"]!.utf8), actor: Self.root)

        let bare = try await pipeline.train(TrainingConfig(registerAs: "bc"), environment: TrainingPipelineTests.environment)
        let bareReport = try await home.registry.evaluate(name: "bc", version: 1, target: "@production")
        let missing = Set(bareReport.unmet.compactMap { $0.requirement.hasPrefix("provenance standard: ") ? $0.requirement.dropFirst(21).split(separator: " ").first.map(String.init) : nil })
        for field in ["container_digest", "sbom_ref", "train_image_version", "feature_groups", "data_time_range", "egress_policy"] {
            #expect(missing.contains(field), "\(field) should be named missing: \(missing)")
        }
        for field in ["git_sha", "repo_url", "dataset_id", "dataset_snapshot_at", "dataset_hash", "seeds", "train_val_test_split", "hardware"] {
            #expect(!missing.contains(field), "\(field) is recorded by trail train")
        }
        #expect(bareReport.unmet.contains { $0.requirement.hasPrefix("security_decision") })
        // Evidence names where each field was found.
        let met = bareReport.requirements.filter { $0.met && $0.requirement.hasPrefix("provenance standard: git_sha") }
        #expect(met.first?.evidence.contains("modeltrail.git_sha = 0123456789abcdef") == true, "\(met)")
        _ = bare

        let full = try await pipeline.train(
            TrainingConfig(
                registerAs: "bc", subgroups: ["mean_radius>=15", "mean_texture<18"],
                provenance: ProvenanceInputs(
                    sbom: Self.sbom, egressPolicy: "off", featureGroups: ["fs_offline.tumour_v1@v3"], datasetID: "wdbc",
                    dataTimeRange: "1993-01-01/1995-12-31", containerDigest: "sha256:" + String(repeating: "ab", count: 32), trainImageVersion: "trainer:1.4.2",
                    securityDecision: "PASS", securityReport: ("scan.json", Array(#"{"critical": 0}"#.utf8)))),
            environment: TrainingPipelineTests.environment)
        let run = try await home.tracking.run(full.runID)
        let tags = Dictionary(run.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        #expect(tags["modeltrail.sbom_format"] == "CycloneDX 1.5")
        #expect(tags["modeltrail.sbom_components"] == "2")
        #expect(tags["modeltrail.egress_policy"] == "off")
        #expect(tags["modeltrail.dataset_id"] == "wdbc")
        #expect(tags["modeltrail.hardware"]?.contains("cores=") == true)
        let artifacts = try await home.tracking.artifacts(full.runID).map(\.path.value)
        #expect(artifacts.contains("sbom/sbom.json") && artifacts.contains("evaluation/subgroups.json") && artifacts.contains("reports/security/scan.json"))
        let metrics = Dictionary(run.metrics.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        for metric in TrainingPipeline.metricKeys {
            #expect(metrics["subgroup.mean_radius_ge_15.\(metric)"] != nil && metrics["subgroup.mean_radius_ge_15.rest.\(metric)"] != nil)
        }
        let gap = try #require(metrics["fairness.max_gap"])
        #expect(gap > 0 && gap <= 1)
        #expect(tags["fairness.max_gap_subgroup"] != nil)

        let report = try await home.registry.evaluate(name: "bc", version: 2, target: "@production")
        let unmetFields = report.unmet.map(\.requirement).filter { $0.hasPrefix("provenance standard: ") }
        // job_id comes from the CI or scheduler running the tests, if any.
        #expect(unmetFields.allSatisfy { $0.hasPrefix("provenance standard: job_id") }, "\(unmetFields)")
        // The SBOM's digest and the security decision are what the gate read; both froze.
        await #expect(throws: TrailError.self) {
            try await home.tracking.setTag(full.runID, key: "modeltrail.container_digest", value: "sha256:other", actor: TrainingPipelineTests.engineer)
        }
        await #expect(throws: TrailError.self) {
            try await home.tracking.setTag(full.runID, key: "container_digest", value: "sha256:other", actor: TrainingPipelineTests.engineer)
        }
        // A policy can bound the gap with an ordinary metric requirement.
        _ = try await home.registry.setPolicy(
            name: "bc", target: "@fair", document: Array(#"{"metrics": [{"key": "fairness.max_gap", "op": "<=", "value": 0.000001}]}"#.utf8),
            actor: Self.root)
        #expect(try await home.registry.evaluate(name: "bc", version: 2, target: "@fair").unmet.map(\.requirement) == ["metric fairness.max_gap <= 0.000001"])
    }

    @Test func plainTagsFromMLflowClientsSatisfyTheStandard() throws {
        let info = RunInfo(
            runID: .random(), experimentID: .defaultExperiment, name: "r", userID: "u", status: .finished, startTimeMillis: 1, endTimeMillis: 2,
            lifecycleStage: .active)
        let run = Run(
            info: info, params: [Param(key: "seed", value: "7")], metrics: [],
            tags: [TrailCore.Tag(key: "container_digest", value: "sha256:1"), TrailCore.Tag(key: "modeltrail.sbom_ref", value: "sbom/sbom.json")], inputs: [])
        #expect(ProvenanceStandard.resolve(ProvenanceStandard.field("container_digest")!, in: run)?.source == "tag container_digest")
        #expect(ProvenanceStandard.resolve(ProvenanceStandard.field("sbom_ref")!, in: run)?.source == "tag modeltrail.sbom_ref")
        #expect(ProvenanceStandard.resolve(ProvenanceStandard.field("seeds")!, in: run)?.source == "param seed")
        #expect(ProvenanceStandard.resolve(ProvenanceStandard.field("egress_policy")!, in: run) == nil)
    }

    @Test func badInputsAreRefusedBeforeARunExists() async throws {
        let home = try await makeHome()
        let pipeline = home.pipeline(as: TrainingPipelineTests.engineer)
        let before = try await home.tracking.store.eventCount()
        for (config, field) in [
            (TrainingConfig(subgroups: ["no_such_feature>=1"]), "subgroup"),
            (TrainingConfig(subgroups: ["mean_radius=>1"]), "subgroup"),
            (TrainingConfig(subgroups: ["mean_radius>=nan"]), "subgroup"),
            (TrainingConfig(provenance: ProvenanceInputs(sbom: Array("{}".utf8))), "sbom"),
            (TrainingConfig(provenance: ProvenanceInputs(sbom: Array("not json".utf8))), "sbom"),
            (TrainingConfig(provenance: ProvenanceInputs(egressPolicy: "maybe")), "egress-policy"),
            (TrainingConfig(timeColumn: "no_such_column"), "time-column"),
            (TrainingConfig(provenance: ProvenanceInputs(securityDecision: "OK")), "security-decision"),
        ] {
            let error = await #expect(throws: TrailError.self) { _ = try await pipeline.train(config, environment: TrainingPipelineTests.environment) }
            #expect(error?.field == field, "\(config.subgroups) \(String(describing: error))")
        }
        #expect(try await home.tracking.store.eventCount() == before, "nothing was recorded")
        // A policy naming a field the standard does not have is refused, naming it.
        let error = await #expect(throws: TrailError.self) {
            _ = try await home.registry.setPolicy(
                name: "bc", target: "@production", document: Array(#"{"provenance_fields": ["git_sha", "favourite_colour"]}"#.utf8), actor: Self.root)
        }
        #expect(error?.field == "policy.provenance_fields[1]")
    }
}
