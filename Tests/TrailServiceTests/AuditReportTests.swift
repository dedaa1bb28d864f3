import Foundation
import Testing
import TrailCore
import TrailLedger
import TrailService
import TrailStore

@Suite("Audit report")
struct AuditReportTests {
    static let auditor = Actor.user("auditor")

    @Test func demoReportAnswersTheAuditQuestions() async throws {
        let home = try await makeHome()
        let outcome = try await DemoScenario(home: home, actor: .user("root")).run(environment: TrainingPipelineTests.environment, say: { _ in })
        let name = DemoScenario.modelName
        let report = try await AuditReportBuilder(home: home).build(
            name: name, reference: "production", options: .init(verification: .run(nil)), actor: Self.auditor)
        let version = try await home.registry.version(name, outcome.version)

        #expect(report.schemaVersion == 1)
        #expect(report.generatedBy == Self.auditor)
        #expect(report.subject.name == name && report.subject.reference == "production")
        #expect(report.subject.referenceKind == "alias" && report.subject.version == outcome.version)
        // Identity: the version's root digest and every file.
        #expect(report.identity.rootDigest == version.manifest.root.description)
        #expect(report.identity.files.total == version.manifest.files.count && report.identity.files.omitted == 0)
        #expect(report.identity.files.items.map(\.sha256) == version.manifest.files.map(\.digest.description))
        #expect(report.identity.aliases.contains("production"))
        #expect(report.identity.registrationEventIndex != nil)
        // Lineage: every link carries the event that proves it, and every proof checks.
        let kinds = Set(report.lineage.links.map(\.kind))
        for kind in ["promotion", "policy", "approval", "attestation", "model_version", "run", "dataset", "code", "environment", "metrics"] {
            #expect(kinds.contains(kind), "lineage link \(kind)")
        }
        for link in report.lineage.links {
            #expect(link.eventIndex != nil && link.proven && link.proof?.index == link.eventIndex.map(UInt64.init), "\(link.kind)")
        }
        #expect(report.lineage.unproven == 0 && report.lineage.proven == report.lineage.links.count)
        #expect(report.lineage.gitCommit == TrainingPipelineTests.environment.gitCommit)
        #expect(report.lineage.dataSHA256 == outcome.training.dataSHA256.description)
        // Training evidence.
        let training = try #require(report.training)
        #expect(training.runID == outcome.training.runID.value && training.status == "FINISHED" && training.createdBy == "root")
        #expect(training.metrics.items.contains { $0.key == "roc_auc" } && training.params.items.contains { $0.key == "C" })
        #expect(training.provenance.contains { $0.key == "mlflow.source.git.commit" && $0.value == TrainingPipelineTests.environment.gitCommit })
        #expect(training.datasets.items.first?.digest == outcome.training.dataSHA256.description)
        let image = try #require(training.confusionMatrix)
        #expect(image.path == "confusion_matrix.png" && image.mediaType == "image/png" && image.sizeBytes > 0)
        #expect(training.classificationReport?.text.contains("precision") == true)
        #expect(training.subgroupMetrics.items.isEmpty)
        // The policy in force and the gate's result per requirement.
        let gate = try #require(report.policies.first)
        #expect(report.policies.count == 1 && gate.target == "@production")
        #expect(gate.policyVersion != nil && gate.policyEventIndex != nil && gate.policy == DemoScenario.policy)
        #expect(gate.granted && gate.requirements.count >= 10 && gate.requirements.allSatisfy(\.met), "\(gate.requirements)")
        // Approvals, attestations.
        #expect(Set(report.approvals.items.map(\.approver)) == Set(DemoScenario.approvers))
        #expect(
            report.approvals.items.allSatisfy { $0.digestMatches && $0.decision == "approve" && $0.rootDigest == version.manifest.root.description })
        let attestation = try #require(report.attestations.items.first)
        #expect(report.attestations.total == 1 && attestation.predicateType == DemoScenario.provenanceType)
        #expect(attestation.verified && attestation.trustedNow && attestation.keys.first?.name == "demo-trainer")
        // Who moved what, when and why; the refusal before the approvals.
        let promotion = try #require(report.promotions.history.items.first { $0.target == "@production" })
        #expect(promotion.to == String(outcome.version) && promotion.reason == "demo: approved release" && !promotion.emergency)
        #expect(report.promotions.history.items.contains { $0.target == "@staging" })
        let refusal = try #require(report.promotions.refused.items.first)
        #expect(refusal.target == "@production" && refusal.unmet.count == outcome.refusedRequirements.count)
        // Never served yet: no deployments, no predictions, no drift checks.
        #expect(report.deployments.events.items.isEmpty && report.deployments.totalPredictions == 0 && report.drift.items.isEmpty)
        // Integrity: verified for this report, against a signed checkpoint.
        let verification = try #require(report.integrity.verification)
        #expect(verification.ok && verification.performed == "now" && verification.findingsCount == 0 && verification.events > 0)
        #expect(report.integrity.checkpoint.signatureVerified && report.integrity.checkpoint.size == report.lineage.checkpointSize)
        #expect(report.integrity.checkpoint.origin == home.ledger.origin && report.integrity.witnesses.checkpointSize == nil)
        #expect(report.modelCard?.text.contains("NOT for clinical use") == true)

        // The JSON decodes back to the same report.
        let decoded = try JSONDecoder().decode(AuditReport.self, from: Data(try report.json()))
        #expect(decoded == report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try report.json())) as? [String: Any])
        for key in ["schema_version", "generated_at", "identity", "lineage", "training", "policies", "approvals", "integrity", "model_card"] {
            #expect(object[key] != nil, "JSON key \(key)")
        }

        // HTML: every section, the confusion matrix embedded, no script anywhere.
        let images = await home.client(as: Self.auditor).auditReportImages(report)
        #expect(images[image.sha256] != nil)
        let html = report.html(images: images)
        for section in AuditReport.sections { #expect(html.contains("<section id=\"\(section.id)\">"), "section \(section.id)") }
        #expect(html.contains("data:image/png;base64,"))
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains(version.manifest.root.description))
        // An image whose bytes are not the named digest is not embedded.
        #expect(!report.html(images: [image.sha256: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]]).contains("data:image/"))
        let markdown = report.markdown()
        for section in AuditReport.sections { #expect(markdown.contains("## " + section.title), "section \(section.title)") }

        // Afterwards, without running it, the report cites the verification just recorded.
        let cited = try await AuditReportBuilder(home: home).build(name: name, reference: "production", actor: Self.auditor)
        #expect(cited.integrity.verification?.performed == "recorded" && cited.integrity.verification?.ok == true)
        #expect(cited.integrity.verification?.actor == Self.auditor && cited.integrity.verification?.eventIndex != nil)
    }

    @Test func referencesResolveAsElsewhereAndUnknownOnesAreRefused() async throws {
        let home = try await makeHome()
        let outcome = try await DemoScenario(home: home, actor: .user("root")).run(environment: TrainingPipelineTests.environment, say: { _ in })
        let builder = AuditReportBuilder(home: home)
        let name = DemoScenario.modelName
        let byNumber = try await builder.build(name: name, reference: String(outcome.version), actor: Self.auditor)
        #expect(byNumber.subject.referenceKind == "version" && byNumber.subject.version == outcome.version)
        // A version's own aliases are the targets checked.
        #expect(byNumber.policies.map(\.target) == ["@production", "@staging"])
        #expect(byNumber.policies.first { $0.target == "@staging" }?.policyVersion == nil)
        let staging = try await builder.build(name: name, reference: "staging", options: .init(targets: ["Production"]), actor: Self.auditor)
        #expect(staging.policies.map(\.target) == ["Production"])
        // The stage's policy is the alias's counterpart.
        #expect(staging.policies.first?.policyTarget == "@production" && staging.policies.first?.granted == true)
        for reference in ["nothing", "Production", "99"] {
            await #expect(throws: TrailError.self, "\(reference)") {
                _ = try await builder.build(name: name, reference: reference, actor: Self.auditor)
            }
        }
        await #expect(throws: TrailError.self) { _ = try await builder.build(name: "no_such_model", reference: "1", actor: Self.auditor) }
        await #expect(throws: TrailError.self) {
            _ = try await builder.build(name: name, reference: "1", options: .init(windowMillis: 1), actor: Self.auditor)
        }
    }

    /// A run name, tags, params, a description and an approval comment holding markup and `|`:
    /// text in the HTML (never markup) and inside their cells in the Markdown.
    @Test func userSuppliedValuesAreEscaped() async throws {
        let home = try await makeHome()
        let evil = "<script>alert(1)</script> | a | b \\| `c` *d* [e](javascript:x)\nnext line"
        let engineer = Actor.user("carol")
        let run = try await home.tracking.createRun(
            experimentID: .defaultExperiment, name: "<script>alert(1)</script>", userID: "carol", startTimeMillis: nil,
            tags: [Tag(key: "note", value: evil)], actor: engineer)
        let id = run.info.runID
        try await home.tracking.logBatch(
            id,
            metrics: [
                Metric(key: "auc_group__women", value: 0.9, timestampMillis: 1, step: 0),
                Metric(key: "subgroup.mean_radius_ge_15.recall", value: 0.5, timestampMillis: 1, step: 0),
                Metric(key: "subgroup.mean_radius_ge_15.rest.recall", value: 0.75, timestampMillis: 1, step: 0),
            ], params: [Param(key: "p.q", value: evil)],
            tags: [], actor: engineer)
        _ = try await home.tracking.putArtifact(id, path: try ArtifactPath(validating: "model/model.json"), bytes: Array("{}".utf8), actor: engineer)
        _ = try await home.tracking.putArtifact(
            id, path: try ArtifactPath(validating: "model_card.md"), bytes: Array("# card\n```\n\(evil)\n".utf8), actor: engineer)
        _ = try await home.registry.createModel(name: "xss", description: evil, actor: engineer)
        _ = try await home.registry.registerVersion(name: "xss", runID: id, path: "model", description: evil, actor: engineer)
        _ = try await home.registry.setPolicy(name: "xss", target: "@production", policy: PromotionPolicy(approvals: 1), actor: .user("root"))
        _ = try await home.identity.createUser(name: "reviewer", roles: [.approver], actor: .user("root"))
        _ = try await home.registry.approve(
            name: "xss", version: 1, target: "@production", decision: .approve, comment: evil, reviewedDigest: nil, actor: .user("reviewer"))
        try await home.registry.setAlias(name: "xss", alias: "candidate", version: 1, reason: evil, actor: engineer)

        let report = try await AuditReportBuilder(home: home).build(name: "xss", reference: "candidate", actor: Self.auditor)
        #expect(report.training?.runName == "<script>alert(1)</script>")
        #expect(report.approvals.items.first?.comment == evil)
        #expect(
            report.training?.subgroupMetrics.items.map { [$0.metric, $0.group, $0.value] } == [
                ["auc", "women", "0.9"], ["recall", "mean_radius_ge_15", "0.5"], ["recall", "mean_radius_ge_15 (rest)", "0.75"],
            ])
        let html = report.html()
        #expect(!html.contains("<script"), "an unescaped script tag")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.components(separatedBy: "&lt;script&gt;alert(1)&lt;/script&gt;").count > 5)

        let markdown = report.markdown()
        // Outside the fenced (verbatim, never rendered) documents there is no markup.
        var fence: Substring?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if let open = fence {
                if line == open { fence = nil }
                continue
            }
            if line.hasPrefix("```") {
                fence = line.prefix { $0 == "`" }
                continue
            }
            #expect(!line.contains("<script") && !line.contains("[e](") && !line.contains(" *d* "), "\(line)")
        }
        // Every row of a table has as many cell separators as its header: a `|` in a value is
        // escaped, a line break is a space.
        var header: Int?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("|") else {
                header = nil
                continue
            }
            let count = Self.separators(line)
            if let header { #expect(count == header, "\(line)") } else { header = count }
        }
        // The model card's own fence does not close the quoting fence.
        #expect(markdown.contains("````text\n# card\n```\n"))
    }

    /// Sensitive params and tags are shown as the reader may see them: masked, in clear only
    /// for a privileged reader (auditor, admin); never the sealed form.
    @Test func sensitiveValuesAreMaskedUnlessTheReaderIsPrivileged() async throws {
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-report-\(UUID().uuidString)"), sensitiveKeys: ["patient_id"],
            store: try await StoreSettings.testing())
        let engineer = Actor.user("eng")
        let run = try await home.tracking.createRun(experimentID: nil, name: "r", tags: [Tag(key: "patient_id", value: "P-7")], actor: engineer)
        try await home.tracking.logBatch(
            run.info.runID, params: [Param(key: "patient_id", value: "P-7"), Param(key: "C", value: "1.0")], actor: engineer)
        _ = try await home.tracking.putArtifact(run.info.runID, path: try ArtifactPath(validating: "model/w.json"), bytes: [1], actor: engineer)
        _ = try await home.registry.registerVersion(name: "bc", runID: run.info.runID, path: "model", actor: engineer)
        let builder = AuditReportBuilder(home: home)
        let masked = try #require(try await builder.build(name: "bc", reference: "1", actor: Self.auditor).training)
        #expect(masked.params.items.first { $0.key == "patient_id" }?.value == Sealer.masked)
        #expect(masked.tags.items.first { $0.key == "patient_id" }?.value == Sealer.masked)
        #expect(masked.params.items.first { $0.key == "C" }?.value == "1.0")
        let clear = try #require(
            try await builder.build(name: "bc", reference: "1", options: .init(reader: .privileged), actor: Self.auditor).training)
        #expect(clear.params.items.first { $0.key == "patient_id" }?.value == "P-7")
        #expect(clear.tags.items.first { $0.key == "patient_id" }?.value == "P-7")
    }

    /// A witness's cosignature of the log is reported with its check; the report's checkpoint is
    /// the newer one its proofs use.
    @Test func witnessCosignaturesAreReported() async throws {
        let home = try await makeHome()
        let engineer = Actor.user("eng")
        let run = try await home.tracking.createRun(experimentID: nil, name: "r", actor: engineer).info.runID
        _ = try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/w.json"), bytes: [1], actor: engineer)
        _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: engineer)
        let before = try await AuditReportBuilder(home: home).build(name: "bc", reference: "1", actor: Self.auditor)
        #expect(before.integrity.witnesses.checkpointSize == nil && before.integrity.witnesses.cosignatures.isEmpty)
        let witness = try WitnessService(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("witness-\(UUID().uuidString)"), name: "w.test/w1",
            logs: [home.ledger.verifierKey])
        let transport: WitnessTransport = { _, body in
            let answer = await witness.addCheckpoint(body)
            return (answer.status, answer.body, answer.contentType)
        }
        let endpoint = try WitnessEndpoint(url: "http://witness.test/add-checkpoint", vkey: await witness.vkey)
        _ = try await home.ledger.checkpointIfBehind()
        let cosigned = try await home.ledger.latestCheckpoint().size
        #expect(await home.ledger.collectCosignatures(witnesses: [endpoint], post: transport) == ["w.test/w1: cosigned size \(cosigned)"])
        let report = try await AuditReportBuilder(home: home).build(name: "bc", reference: "1", actor: Self.auditor)
        #expect(report.integrity.witnesses.checkpointSize == cosigned)
        let cosignature = try #require(report.integrity.witnesses.cosignatures.first)
        let vkey = await witness.vkey
        #expect(cosignature.witness == "w.test/w1" && cosignature.verified && cosignature.verifierKey == vkey)
        #expect(report.integrity.checkpoint.size >= cosigned && report.integrity.checkpoint.signatureVerified)
        #expect(report.html().contains("w.test/w1") && report.markdown().contains("w.test/w1"))
    }

    /// Unescaped `|` in a Markdown table line (a backslash escapes the next character).
    static func separators(_ line: Substring) -> Int {
        var count = 0
        var escaped = false
        for character in line {
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "|" {
                count += 1
            }
        }
        return count
    }
}
