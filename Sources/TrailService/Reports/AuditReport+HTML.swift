import Foundation
import TrailCore

extension AuditReport {
    /// The HTML section ids, in order, with their headings: stable, so a reader (or a test)
    /// can link to and look for them.
    public static let sections: [(id: String, title: String)] = [
        ("summary", "Summary"), ("identity", "1. Identity"), ("lineage", "2. Lineage"), ("training", "3. Training evidence"),
        ("policy", "4. Policy and gate"), ("approvals", "5. Approvals"), ("attestations", "6. Attestations"),
        ("promotions", "7. Promotion history"), ("deployments", "8. Deployments and predictions"), ("drift", "9. Drift"),
        ("integrity", "10. Integrity"), ("model-card", "11. Model card"),
    ]

    /// The largest image embedded in the HTML.
    public static let maxEmbeddedImageBytes = 2 << 20

    /// The report as one self-contained HTML document: inline CSS, no script, nothing fetched
    /// (a Content-Security-Policy says so too), print-friendly. Every value from the record is
    /// escaped. `images` holds evidence image bytes by their `sha256:` digest; one is embedded
    /// (as a `data:` URI) only if it is a PNG or JPEG, within `maxEmbeddedImageBytes`, and has
    /// the digest the report names.
    public func html(images: [String: [UInt8]] = [:]) -> String {
        var out = ReportHTML()
        let title = "Audit report: \(identity.name) version \(identity.version)"
        out.raw(
            """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="ModelTrail audit report, schema \(schemaVersion)">
            <title>\(ReportHTML.escape(title))</title>
            <style>\(ReportHTML.style)</style>
            </head><body><main>
            <h1>\(ReportHTML.escape(title))</h1>
            <p class="muted">Generated \(ReportHTML.time(generatedAt)) by \(ReportHTML.escape(generatedBy.description)) for \(ReportHTML.escape("\(subject.name)@\(subject.reference)")) (\(ReportHTML.escape(subject.referenceKind))). Report schema \(schemaVersion).</p>
            """)
        out.raw("<nav><ol>" + Self.sections.map { "<li><a href=\"#\($0.id)\">\(ReportHTML.escape($0.title))</a></li>" }.joined() + "</ol></nav>")
        summaryHTML(&out)
        identityHTML(&out)
        lineageHTML(&out)
        trainingHTML(&out, images: images)
        policyHTML(&out)
        approvalsHTML(&out)
        attestationsHTML(&out)
        promotionsHTML(&out)
        deploymentsHTML(&out)
        driftHTML(&out)
        integrityHTML(&out)
        modelCardHTML(&out)
        out.raw("</main></body></html>\n")
        return out.text
    }

    // MARK: Sections

    func summaryHTML(_ out: inout ReportHTML) {
        out.section("summary")
        let gate = policies.map {
            "\($0.target): \($0.policyVersion == nil ? "no policy" : $0.granted ? "every requirement met" : "\($0.requirements.filter { !$0.met }.count) unmet")"
        }
        let approved = approvals.items.filter { $0.decision == "approve" && $0.digestMatches }.count
        let verdict: String =
            if let verification = integrity.verification {
                "\(verification.ok ? "VERIFIED" : "FAILED") (\(verification.performed == "now" ? "checked for this report" : "recorded \(LineageService.date(verification.time ?? 0))"): \(verification.events) events, \(verification.findingsCount) findings)"
            } else {
                "never verified"
            }
        out.facts([
            ("Model version", ReportHTML.escape("\(identity.name) version \(identity.version)")),
            ("Root digest", ReportHTML.code(identity.rootDigest)),
            ("Aliases now", ReportHTML.escape(identity.aliases.isEmpty ? "none" : identity.aliases.map { "@\($0)" }.joined(separator: " "))),
            ("Stage", ReportHTML.escape(identity.stage)),
            ("Trained by run", training.map { ReportHTML.code($0.runID) + " " + ReportHTML.escape($0.runName) } ?? "no source run in the record"),
            ("Code", ReportHTML.escape(lineage.gitCommit ?? "not recorded")),
            ("Data", ReportHTML.escape(lineage.dataSHA256 ?? "not recorded")),
            ("Environment", ReportHTML.escape(lineage.environmentSHA256 ?? "not recorded")),
            ("Gate now", ReportHTML.escape(gate.isEmpty ? "no target checked" : gate.joined(separator: "; "))),
            ("Approvals", ReportHTML.escape("\(approved) approval\(approved == 1 ? "" : "s") bound to this root digest")),
            (
                "Lineage",
                ReportHTML.escape(
                    "\(lineage.proven) link\(lineage.proven == 1 ? "" : "s") proven, \(lineage.unproven) not, against the checkpoint of \(lineage.checkpointSize) events"
                )
            ),
            ("Ledger", ReportHTML.mark(integrity.verification?.ok == true) + " " + ReportHTML.escape(verdict)),
        ])
        out.close()
    }

    func identityHTML(_ out: inout ReportHTML) {
        out.section("identity")
        out.facts([
            ("Name", ReportHTML.escape(identity.name)), ("Version", String(identity.version)), ("Root digest", ReportHTML.code(identity.rootDigest)),
            ("Stage", ReportHTML.escape(identity.stage)), ("Aliases", ReportHTML.escape(identity.aliases.map { "@\($0)" }.joined(separator: " "))),
            ("Source", ReportHTML.escape(identity.source)), ("Run", identity.runID.map(ReportHTML.code) ?? "—"),
            ("Registered", "\(ReportHTML.time(identity.registeredAt)) by \(ReportHTML.escape(identity.registeredBy.description))"),
            ("Registration event", ReportHTML.event(identity.registrationEventIndex)),
            ("Model description", ReportHTML.escape(identity.modelDescription)),
            ("Version description", ReportHTML.escape(identity.versionDescription)),
        ])
        out.raw("<h3>Files</h3>")
        out.table(
            ["Path", "Size (bytes)", "sha256"],
            identity.files.items.map { [ReportHTML.escape($0.path), String($0.sizeBytes), ReportHTML.code($0.sha256)] })
        out.omitted(identity.files)
        out.close()
    }

    func lineageHTML(_ out: inout ReportHTML) {
        out.section("lineage")
        out.raw(
            "<p>Each link names the ledger event that wrote it; <em>proven</em> means the event's inclusion proof checks against the signed checkpoint of \(lineage.checkpointSize) events (section 10).</p>"
        )
        out.table(
            ["Link", "What the record says", "Event", "Proof"],
            lineage.links.map {
                [
                    ReportHTML.escape($0.kind), ReportHTML.escape($0.summary), ReportHTML.event($0.eventIndex),
                    ReportHTML.mark($0.proven) + ($0.proven ? " proven" : " not proven"),
                ]
            })
        if lineage.linksOmitted > 0 { out.raw("<p class=\"muted\">\(lineage.linksOmitted) more links not shown.</p>") }
        out.close()
    }

    func trainingHTML(_ out: inout ReportHTML, images: [String: [UInt8]]) {
        out.section("training")
        guard let training else {
            out.empty("The version has no source run in the record: no training evidence to show.")
            out.close()
            return
        }
        out.facts([
            ("Run", ReportHTML.code(training.runID) + " " + ReportHTML.escape(training.runName)),
            ("Experiment", ReportHTML.escape(training.experimentID)),
            ("Status", ReportHTML.escape(training.status)), ("Created by", ReportHTML.escape(training.createdBy ?? "unknown")),
            ("user_id attribute", ReportHTML.escape(training.userID)), ("Started", ReportHTML.time(training.startTime)),
            ("Ended", training.endTime.map(ReportHTML.time) ?? "—"),
        ])
        out.raw("<h3>Provenance</h3>")
        out.table(["Key", "Value"], training.provenance.map { [ReportHTML.escape($0.key), ReportHTML.escape($0.value)] })
        out.raw("<h3>Parameters</h3>")
        out.table(["Key", "Value"], training.params.items.map { [ReportHTML.escape($0.key), ReportHTML.escape($0.value)] })
        out.omitted(training.params)
        out.raw("<h3>Metrics</h3>")
        out.table(
            ["Metric", "Latest value", "Step", "Logged"],
            training.metrics.items.map { [ReportHTML.escape($0.key), ReportHTML.escape($0.value), String($0.step), ReportHTML.time($0.time)] })
        out.omitted(training.metrics)
        out.raw("<h3>Subgroup metrics</h3>")
        if training.subgroupMetrics.items.isEmpty {
            out.empty("No subgroup metrics were logged (<code>trail train --subgroup</code>, or metrics named <code>METRIC_group__GROUP</code>).")
        } else {
            out.table(
                ["Metric", "Group", "Value"],
                training.subgroupMetrics.items.map { [ReportHTML.escape($0.metric), ReportHTML.escape($0.group), ReportHTML.escape($0.value)] })
            out.omitted(training.subgroupMetrics)
        }
        if let document = training.subgroupReport {
            out.raw("<h4>Subgroup report</h4>")
            out.document(document)
        }
        out.raw("<h3>Datasets</h3>")
        out.table(
            ["Name", "Digest", "Source", "Context", "Shape"],
            training.datasets.items.map { dataset in
                [
                    ReportHTML.escape(dataset.name), ReportHTML.code(dataset.digest), ReportHTML.escape("\(dataset.sourceType): \(dataset.source)"),
                    ReportHTML.escape(dataset.context ?? ""),
                    ReportHTML.escape("\(dataset.rows.map(String.init) ?? "?") rows × \(dataset.columns.map(String.init) ?? "?") columns"),
                ]
            })
        out.omitted(training.datasets)
        out.raw("<h3>Confusion matrix</h3>")
        if let image = training.confusionMatrix {
            if let bytes = images[image.sha256], let uri = Self.embeddable(image, bytes) {
                out.raw("<figure><img src=\"\(uri)\" alt=\"confusion matrix from \(ReportHTML.escape(image.path))\"><figcaption>")
            } else {
                out.raw(
                    "<figure><figcaption>Not embedded (only a PNG or JPEG of at most \(Self.maxEmbeddedImageBytes) bytes whose digest matches is). ")
            }
            out.raw("\(ReportHTML.escape(image.path)), \(image.sizeBytes) bytes, \(ReportHTML.code(image.sha256))</figcaption></figure>")
        } else {
            out.empty("The run holds no confusion matrix image.")
        }
        out.raw("<h3>Classification report</h3>")
        if let document = training.classificationReport { out.document(document) } else { out.empty("The run holds no classification report.") }
        out.raw("<h3>Tags</h3>")
        out.table(["Key", "Value"], training.tags.items.map { [ReportHTML.escape($0.key), ReportHTML.escape($0.value)] })
        out.omitted(training.tags)
        out.raw("<h3>Artifacts</h3>")
        out.table(
            ["Path", "Size (bytes)", "sha256"],
            training.artifacts.items.map { [ReportHTML.escape($0.path), String($0.sizeBytes), ReportHTML.code($0.sha256)] })
        out.omitted(training.artifacts)
        out.close()
    }

    func policyHTML(_ out: inout ReportHTML) {
        out.section("policy")
        if policies.isEmpty { out.empty("No target was checked.") }
        for policy in policies {
            out.raw("<h3>Moving to \(ReportHTML.escape(policy.target))</h3>")
            guard let version = policy.policyVersion else {
                out.empty("No policy protects \(ReportHTML.escape(policy.target)) for this model: a contributor may move it.")
                continue
            }
            out.raw(
                "<p class=\"\(policy.granted ? "ok" : "bad")\">\(ReportHTML.mark(policy.granted)) \(policy.granted ? "every requirement is met now" : "\(policy.requirements.filter { !$0.met }.count) requirement(s) not met now") — policy v\(version) for \(ReportHTML.escape(policy.policyTarget ?? policy.target)), stored by event \(ReportHTML.event(policy.policyEventIndex))</p>"
            )
            out.table(
                ["", "Requirement", "Evidence"],
                policy.requirements.map { [ReportHTML.mark($0.met), ReportHTML.escape($0.requirement), ReportHTML.escape($0.evidence)] })
            if let document = policy.policy, let json = try? AuditReport.encoder.encode(document) {
                out.raw(
                    "<details open><summary>Policy document</summary><pre>\(ReportHTML.escape(String(decoding: json, as: UTF8.self)))</pre></details>"
                )
            }
        }
        out.close()
    }

    func approvalsHTML(_ out: inout ReportHTML) {
        out.section("approvals")
        out.table(
            ["When", "Who", "Decision", "Target", "Reviewed digest", "Comment", "Event"],
            approvals.items.map {
                [
                    ReportHTML.time($0.time), ReportHTML.escape($0.approver), ReportHTML.escape($0.decision), ReportHTML.escape($0.target),
                    ReportHTML.mark($0.digestMatches) + " " + ReportHTML.code($0.rootDigest), ReportHTML.escape($0.comment),
                    ReportHTML.event($0.eventIndex),
                ]
            }, empty: "No approvals or rejections.")
        out.omitted(approvals)
        out.close()
    }

    func attestationsHTML(_ out: inout ReportHTML) {
        out.section("attestations")
        out.table(
            ["When", "Predicate", "Signed by", "Verified", "Trusted now", "Submitted by", "Envelope", "Event"],
            attestations.items.map {
                [
                    ReportHTML.time($0.time), ReportHTML.escape($0.predicateType),
                    ReportHTML.escape(
                        $0.keys.map { "\($0.name ?? "unknown key") (\($0.keyID.prefix(16))…)\($0.revoked ? ", revoked" : "")" }.joined(
                            separator: ", ")),
                    ReportHTML.mark($0.verified), ReportHTML.mark($0.trustedNow), ReportHTML.escape($0.submittedBy),
                    ReportHTML.code($0.envelopeDigest),
                    ReportHTML.event($0.eventIndex),
                ]
            }, empty: "No attestations.")
        out.omitted(attestations)
        out.close()
    }

    func promotionsHTML(_ out: inout ReportHTML) {
        out.section("promotions")
        out.table(
            ["When", "Who", "What", "From", "To", "Reason", "Event"],
            promotions.history.items.map {
                [
                    ReportHTML.time($0.time), ReportHTML.escape($0.actor.description),
                    ReportHTML.escape($0.kind == "alias" ? $0.target : "stage of version \(subject.version)")
                        + ($0.emergency ? " <strong class=\"bad\">EMERGENCY (gate bypassed)</strong>" : ""),
                    ReportHTML.escape($0.from ?? "—"), ReportHTML.escape($0.to ?? "removed"), ReportHTML.escape($0.reason),
                    ReportHTML.event($0.eventIndex),
                ]
            }, empty: "No alias or stage change concerned this version.")
        out.omitted(promotions.history)
        out.raw("<h3>Refused promotions</h3>")
        out.table(
            ["When", "Who", "Target", "Unmet requirements", "Event"],
            promotions.refused.items.map {
                [
                    ReportHTML.time($0.time), ReportHTML.escape($0.actor.description), ReportHTML.escape($0.target),
                    ReportHTML.escape($0.unmet.joined(separator: "; ")), ReportHTML.event($0.eventIndex),
                ]
            }, empty: "No promotion of this version was refused.")
        out.omitted(promotions.refused)
        out.close()
    }

    func deploymentsHTML(_ out: inout ReportHTML) {
        out.section("deployments")
        out.table(
            ["When", "Deployment", "Action", "Serves", "Version", "Host", "Config", "Event"],
            deployments.events.items.map {
                [
                    ReportHTML.time($0.time), ReportHTML.escape($0.deploymentID), ReportHTML.escape($0.action), ReportHTML.escape($0.reference),
                    String($0.modelVersion),
                    ReportHTML.escape($0.host), ReportHTML.code($0.configDigest), ReportHTML.event($0.eventIndex),
                ]
            }, empty: "This version was never deployed.")
        out.omitted(deployments.events)
        out.raw(
            "<h3>Predictions per \(deployments.windowSeconds) s window</h3><p>\(deployments.totalPredictions) predictions answered, \(deployments.totalRefused) requests refused.</p>"
        )
        out.table(
            ["Window from", "Deployment", "Predictions", "Refused"],
            deployments.predictions.items.map {
                [ReportHTML.time($0.start), ReportHTML.escape($0.deploymentID), String($0.predictions), String($0.refused)]
            },
            empty: "No predictions were served by this version.")
        out.omitted(deployments.predictions)
        out.close()
    }

    func driftHTML(_ out: inout ReportHTML) {
        out.section("drift")
        out.table(
            ["When", "Who", "Reference", "Window (s)", "Served", "Level", "PSI per feature", "Event"],
            drift.items.map {
                [
                    ReportHTML.time($0.time), ReportHTML.escape($0.actor.description), ReportHTML.escape($0.reference), String($0.windowSeconds),
                    String($0.served),
                    ReportHTML.escape($0.level), ReportHTML.escape($0.features.map { "\($0.name) \($0.psi)" }.joined(separator: ", ")),
                    ReportHTML.event($0.eventIndex),
                ]
            }, empty: "No drift check of this version was recorded.")
        out.omitted(drift)
        out.close()
    }

    func integrityHTML(_ out: inout ReportHTML) {
        out.section("integrity")
        if let verification = integrity.verification {
            out.raw("<h3>Ledger verification</h3>")
            out.facts([
                ("Verdict", ReportHTML.mark(verification.ok) + (verification.ok ? " VERIFIED" : " FAILED")),
                (
                    "Performed",
                    ReportHTML.escape(verification.performed == "now" ? "for this report" : "recorded earlier")
                        + (verification.time.map { " at " + ReportHTML.time($0) } ?? "")
                        + (verification.actor.map { " by " + ReportHTML.escape($0.description) } ?? "")
                ),
                ("Events checked", String(verification.events)), ("Signed checkpoints", verification.checkpoints.map(String.init) ?? "—"),
                ("Rows checked", verification.rowsChecked.map(String.init) ?? "—"), ("Blobs", verification.blobs.map(String.init) ?? "—"),
                ("Findings", String(verification.findingsCount)), ("Event", ReportHTML.event(verification.eventIndex)),
            ])
            if !verification.findings.isEmpty {
                out.table(
                    ["Kind", "Where", "What"],
                    verification.findings.map { [ReportHTML.escape($0.kind), ReportHTML.escape($0.location), ReportHTML.escape($0.message)] })
            }
        } else {
            out.empty("The ledger was never verified: run <code>trail ledger verify</code> (or this report without --no-verify).")
        }
        out.raw("<h3>Signed checkpoint</h3>")
        let checkpoint = integrity.checkpoint
        out.facts([
            ("Origin", ReportHTML.escape(checkpoint.origin)), ("Size", String(checkpoint.size)), ("Root hash", ReportHTML.code(checkpoint.rootHash)),
            ("Signed at", ReportHTML.time(checkpoint.time)),
            ("Signature", ReportHTML.mark(checkpoint.signatureVerified) + (checkpoint.signatureVerified ? " verifies" : " does not verify")),
            ("Verifier key", ReportHTML.code(checkpoint.verifierKey)),
        ])
        out.raw("<pre>\(ReportHTML.escape(checkpoint.note))</pre>")
        out.raw("<h3>Witnesses</h3>")
        if let size = integrity.witnesses.checkpointSize {
            out.raw("<p>Cosignatures of the newest witnessed checkpoint (size \(size)):</p>")
            out.table(
                ["Witness", "Verifier key", "Verifies"],
                integrity.witnesses.cosignatures.map {
                    [ReportHTML.escape($0.witness), ReportHTML.code($0.verifierKey), ReportHTML.mark($0.verified)]
                })
        } else {
            out.empty("No witness has cosigned a checkpoint of this log (none configured: <code>trail server --witness</code>).")
        }
        out.close()
    }

    func modelCardHTML(_ out: inout ReportHTML) {
        out.section("model-card")
        if let modelCard { out.document(modelCard) } else { out.empty("The run holds no model card (model_card.md).") }
        out.close()
    }

    /// A `data:` URI for `bytes` if they are the image the report names and a PNG or JPEG of
    /// reasonable size; nil otherwise.
    static func embeddable(_ image: EvidenceImage, _ bytes: [UInt8]) -> String? {
        guard bytes.count <= maxEmbeddedImageBytes, Digest.of(bytes).description == image.sha256 else { return nil }
        let type: String
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            type = "image/png"
        } else if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            type = "image/jpeg"
        } else {
            return nil
        }
        return "data:\(type);base64,\(Data(bytes).base64EncodedString())"
    }
}

/// The report's HTML writer: every value goes through `escape` (or a helper that calls it).
struct ReportHTML {
    var text = ""

    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    static func code(_ value: String) -> String { "<code>\(escape(value))</code>" }
    static func time(_ millis: Int64) -> String { "<time>\(escape(LineageService.date(millis)))</time>" }
    static func event(_ index: Int64?) -> String { index.map { "#\($0)" } ?? "—" }
    static func mark(_ ok: Bool) -> String { ok ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗</span>" }

    mutating func raw(_ html: String) { text += html }

    mutating func section(_ id: String) {
        let title = AuditReport.sections.first { $0.id == id }?.title ?? id
        text += "<section id=\"\(id)\"><h2>\(Self.escape(title))</h2>"
    }

    mutating func close() { text += "</section>\n" }
    mutating func empty(_ html: String) { text += "<p class=\"empty\">\(html)</p>" }

    /// A definition list; values are HTML already escaped by the caller.
    mutating func facts(_ rows: [(String, String)]) {
        text += "<dl>" + rows.map { "<dt>\(Self.escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }

    /// A table; cells are HTML already escaped by the caller.
    mutating func table(_ header: [String], _ rows: [[String]], empty: String = "None.") {
        guard !rows.isEmpty else {
            self.empty(Self.escape(empty))
            return
        }
        text += "<table><thead><tr>" + header.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows { text += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        text += "</tbody></table>"
    }

    mutating func omitted<Item>(_ list: AuditReport.ListSection<Item>) {
        if list.omitted > 0 { text += "<p class=\"muted\">\(list.omitted) of \(list.total) not shown (the report keeps \(list.items.count)).</p>" }
    }

    mutating func document(_ document: AuditReport.TextDocument) {
        text +=
            "<p class=\"muted\">\(Self.escape(document.path)), \(document.sizeBytes) bytes, \(Self.code(document.sha256))\(document.truncated ? " — shown in part" : "")</p>"
        if !document.text.isEmpty { text += "<pre>\(Self.escape(document.text))</pre>" }
    }

    static let style = """
        body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111;margin:0;background:#fff}
        main{max-width:1100px;margin:0 auto;padding:24px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:2px solid #333;padding-bottom:2px;margin-top:28px}h3{font-size:15px;margin:18px 0 6px}
        table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:12px}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
        th{background:#eee}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
        code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;border:1px solid #ddd;padding:8px}
        .ok{color:#0a6b1f;font-weight:600}.bad{color:#b00020;font-weight:600}.muted{color:#555}.empty{color:#555;font-style:italic}
        nav ol{columns:3;font-size:13px}figure{margin:6px 0}img{max-width:360px;border:1px solid #ccc}
        @media print{main{max-width:none;padding:0}section{break-inside:auto}h2,h3{break-after:avoid}tr,img,dl{break-inside:avoid}nav{display:none}a{color:inherit;text-decoration:none}}
        """
}
