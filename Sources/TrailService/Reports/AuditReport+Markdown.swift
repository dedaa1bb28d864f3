import Foundation
import TrailCore

extension AuditReport {
    /// The encoder of the report's JSON: pretty, keys sorted, `/` unescaped.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The report as JSON (the schema in `docs/report.md`), pretty and with sorted keys.
    public func json() throws -> [UInt8] {
        Array(try Self.encoder.encode(self)) + [0x0A]
    }

    /// The report as Markdown (GitHub's flavour). Every value from the record is escaped: a
    /// `|` or a line break cannot break a table, and `<`, `*`, `_`, `[`, `` ` `` are text, not
    /// markup. The model card and the classification report are quoted verbatim in fenced
    /// blocks whose fence is longer than any backtick run inside them.
    public func markdown() -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        func heading(_ id: String) {
            line()
            line("## " + (Self.sections.first { $0.id == id }?.title ?? id))
            line()
        }
        func table(_ header: [String], _ rows: [[String]], empty: String = "None.") {
            guard !rows.isEmpty else {
                line("_\(empty)_")
                line()
                return
            }
            line("| " + header.map(ReportMarkdown.cell).joined(separator: " | ") + " |")
            line("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
            for row in rows { line("| " + row.map(ReportMarkdown.cell).joined(separator: " | ") + " |") }
            line()
        }
        func omitted<Item>(_ list: ListSection<Item>) {
            if list.omitted > 0 {
                line("_\(list.omitted) of \(list.total) not shown._")
                line()
            }
        }
        func document(_ document: TextDocument) {
            line(
                "\(ReportMarkdown.text(document.path)), \(document.sizeBytes) bytes, `\(document.sha256)`\(document.truncated ? " (shown in part)" : "")"
            )
            line()
            if !document.text.isEmpty {
                let fence = ReportMarkdown.fence(for: document.text)
                line(fence + "text")
                line(document.text.hasSuffix("\n") ? String(document.text.dropLast()) : document.text)
                line(fence)
                line()
            }
        }
        let t = ReportMarkdown.text
        let date = LineageService.date

        line("# Audit report: \(t(identity.name)) version \(identity.version)")
        line()
        line(
            "Generated \(date(generatedAt)) by \(t(generatedBy.description)) for \(t("\(subject.name)@\(subject.reference)")) (\(subject.referenceKind)). Report schema \(schemaVersion)."
        )

        heading("summary")
        let verdict =
            integrity.verification.map {
                "\($0.ok ? "VERIFIED" : "FAILED") (\($0.performed == "now" ? "checked for this report" : "recorded \(date($0.time ?? 0))"): \($0.events) events, \($0.findingsCount) findings)"
            } ?? "never verified"
        table(
            ["Question", "Answer"],
            [
                ["Model version", "\(identity.name) version \(identity.version)"], ["Root digest", identity.rootDigest],
                ["Aliases now", identity.aliases.isEmpty ? "none" : identity.aliases.map { "@\($0)" }.joined(separator: " ")],
                ["Stage", identity.stage],
                ["Trained by run", training.map { "\($0.runID) \($0.runName)" } ?? "no source run in the record"],
                ["Code", lineage.gitCommit ?? "not recorded"], ["Data", lineage.dataSHA256 ?? "not recorded"],
                ["Environment", lineage.environmentSHA256 ?? "not recorded"],
                [
                    "Gate now",
                    policies.map {
                        "\($0.target): \($0.policyVersion == nil ? "no policy" : $0.granted ? "every requirement met" : "\($0.requirements.filter { !$0.met }.count) unmet")"
                    }
                    .joined(separator: "; "),
                ],
                ["Approvals bound to this digest", String(approvals.items.filter { $0.decision == "approve" && $0.digestMatches }.count)],
                ["Lineage", "\(lineage.proven) links proven, \(lineage.unproven) not, against the checkpoint of \(lineage.checkpointSize) events"],
                ["Ledger", verdict],
            ])

        heading("identity")
        table(
            ["Field", "Value"],
            [
                ["Name", identity.name], ["Version", String(identity.version)], ["Root digest", identity.rootDigest], ["Stage", identity.stage],
                ["Aliases", identity.aliases.map { "@\($0)" }.joined(separator: " ")], ["Source", identity.source], ["Run", identity.runID ?? "—"],
                ["Registered", "\(date(identity.registeredAt)) by \(identity.registeredBy.description)"],
                ["Registration event", identity.registrationEventIndex.map { "#\($0)" } ?? "—"], ["Model description", identity.modelDescription],
                ["Version description", identity.versionDescription],
            ])
        line("### Files")
        line()
        table(["Path", "Size (bytes)", "sha256"], identity.files.items.map { [$0.path, String($0.sizeBytes), $0.sha256] })
        omitted(identity.files)

        heading("lineage")
        line(
            "Each link names the ledger event that wrote it; proven = its inclusion proof checks against the signed checkpoint of \(lineage.checkpointSize) events."
        )
        line()
        table(
            ["Link", "What the record says", "Event", "Proof"],
            lineage.links.map { [$0.kind, $0.summary, $0.eventIndex.map { "#\($0)" } ?? "—", $0.proven ? "proven" : "NOT PROVEN"] })
        if lineage.linksOmitted > 0 { line("_\(lineage.linksOmitted) more links not shown._\n") }

        heading("training")
        if let training {
            table(
                ["Field", "Value"],
                [
                    ["Run", "\(training.runID) \(training.runName)"], ["Experiment", training.experimentID], ["Status", training.status],
                    ["Created by", training.createdBy ?? "unknown"], ["user_id attribute", training.userID], ["Started", date(training.startTime)],
                    ["Ended", training.endTime.map(date) ?? "—"],
                ])
            line("### Provenance")
            line()
            table(["Key", "Value"], training.provenance.map { [$0.key, $0.value] })
            line("### Parameters")
            line()
            table(["Key", "Value"], training.params.items.map { [$0.key, $0.value] })
            omitted(training.params)
            line("### Metrics")
            line()
            table(["Metric", "Latest value", "Step", "Logged"], training.metrics.items.map { [$0.key, $0.value, String($0.step), date($0.time)] })
            omitted(training.metrics)
            line("### Subgroup metrics")
            line()
            table(
                ["Metric", "Group", "Value"], training.subgroupMetrics.items.map { [$0.metric, $0.group, $0.value] },
                empty: "No subgroup metrics were logged (`trail train --subgroup`, or metrics named `METRIC_group__GROUP`).")
            omitted(training.subgroupMetrics)
            if let report = training.subgroupReport {
                line("Subgroup report:")
                line()
                document(report)
            }
            line("### Datasets")
            line()
            table(
                ["Name", "Digest", "Source", "Context", "Rows", "Columns"],
                training.datasets.items.map {
                    [
                        $0.name, $0.digest, "\($0.sourceType): \($0.source)", $0.context ?? "", $0.rows.map(String.init) ?? "?",
                        $0.columns.map(String.init) ?? "?",
                    ]
                })
            omitted(training.datasets)
            line("### Confusion matrix")
            line()
            if let image = training.confusionMatrix {
                line(
                    "\(t(image.path)) (\(image.mediaType), \(image.sizeBytes) bytes), `\(image.sha256)`: open it from the run's artifacts; the HTML report embeds it."
                )
            } else {
                line("_The run holds no confusion matrix image._")
            }
            line()
            line("### Classification report")
            line()
            if let report = training.classificationReport { document(report) } else { line("_The run holds no classification report._\n") }
            line("### Tags")
            line()
            table(["Key", "Value"], training.tags.items.map { [$0.key, $0.value] })
            omitted(training.tags)
            line("### Artifacts")
            line()
            table(["Path", "Size (bytes)", "sha256"], training.artifacts.items.map { [$0.path, String($0.sizeBytes), $0.sha256] })
            omitted(training.artifacts)
        } else {
            line("_The version has no source run in the record: no training evidence to show._")
        }

        heading("policy")
        for policy in policies {
            line("### Moving to \(t(policy.target))")
            line()
            if let version = policy.policyVersion {
                line(
                    "\(policy.granted ? "Every requirement is met now" : "\(policy.requirements.filter { !$0.met }.count) requirement(s) not met now"): policy v\(version) for \(t(policy.policyTarget ?? policy.target)), stored by event \(policy.policyEventIndex.map { "#\($0)" } ?? "—")."
                )
                line()
                table(["Met", "Requirement", "Evidence"], policy.requirements.map { [$0.met ? "yes" : "NO", $0.requirement, $0.evidence] })
            } else {
                line("_No policy protects \(t(policy.target)) for this model._")
                line()
            }
        }

        heading("approvals")
        table(
            ["When", "Who", "Decision", "Target", "Reviewed digest", "Matches", "Comment", "Event"],
            approvals.items.map {
                [date($0.time), $0.approver, $0.decision, $0.target, $0.rootDigest, $0.digestMatches ? "yes" : "NO", $0.comment, "#\($0.eventIndex)"]
            },
            empty: "No approvals or rejections.")
        omitted(approvals)

        heading("attestations")
        table(
            ["When", "Predicate", "Signed by", "Verified", "Trusted now", "Submitted by", "Envelope", "Event"],
            attestations.items.map {
                [
                    date($0.time), $0.predicateType,
                    $0.keys.map { "\($0.name ?? "unknown key") (\($0.keyID.prefix(16))…)\($0.revoked ? ", revoked" : "")" }.joined(separator: ", "),
                    $0.verified ? "yes" : "NO", $0.trustedNow ? "yes" : "NO", $0.submittedBy, $0.envelopeDigest, "#\($0.eventIndex)",
                ]
            }, empty: "No attestations.")
        omitted(attestations)

        heading("promotions")
        table(
            ["When", "Who", "What", "From", "To", "Reason", "Event"],
            promotions.history.items.map {
                [
                    date($0.time), $0.actor.description,
                    ($0.kind == "alias" ? $0.target : "stage") + ($0.emergency ? " (EMERGENCY, gate bypassed)" : ""),
                    $0.from ?? "—", $0.to ?? "removed", $0.reason, "#\($0.eventIndex)",
                ]
            }, empty: "No alias or stage change concerned this version.")
        omitted(promotions.history)
        line("### Refused promotions")
        line()
        table(
            ["When", "Who", "Target", "Unmet requirements", "Event"],
            promotions.refused.items.map { [date($0.time), $0.actor.description, $0.target, $0.unmet.joined(separator: "; "), "#\($0.eventIndex)"] },
            empty: "No promotion of this version was refused.")
        omitted(promotions.refused)

        heading("deployments")
        table(
            ["When", "Deployment", "Action", "Serves", "Version", "Host", "Config", "Event"],
            deployments.events.items.map {
                [date($0.time), $0.deploymentID, $0.action, $0.reference, String($0.modelVersion), $0.host, $0.configDigest, "#\($0.eventIndex)"]
            },
            empty: "This version was never deployed.")
        omitted(deployments.events)
        line("### Predictions per \(deployments.windowSeconds) s window")
        line()
        line("\(deployments.totalPredictions) predictions answered, \(deployments.totalRefused) requests refused.")
        line()
        table(
            ["Window from", "Deployment", "Predictions", "Refused"],
            deployments.predictions.items.map { [date($0.start), $0.deploymentID, String($0.predictions), String($0.refused)] },
            empty: "No predictions were served by this version.")
        omitted(deployments.predictions)

        heading("drift")
        table(
            ["When", "Who", "Reference", "Window (s)", "Served", "Level", "PSI per feature", "Event"],
            drift.items.map {
                [
                    date($0.time), $0.actor.description, $0.reference, String($0.windowSeconds), String($0.served), $0.level,
                    $0.features.map { "\($0.name) \($0.psi)" }.joined(separator: ", "), "#\($0.eventIndex)",
                ]
            }, empty: "No drift check of this version was recorded.")
        omitted(drift)

        heading("integrity")
        if let v = integrity.verification {
            table(
                ["Field", "Value"],
                [
                    ["Verdict", v.ok ? "VERIFIED" : "FAILED"],
                    [
                        "Performed",
                        (v.performed == "now" ? "for this report" : "recorded earlier") + (v.time.map { " at \(date($0))" } ?? "")
                            + (v.actor.map { " by \($0.description)" } ?? ""),
                    ],
                    ["Events checked", String(v.events)], ["Signed checkpoints", v.checkpoints.map(String.init) ?? "—"],
                    ["Rows checked", v.rowsChecked.map(String.init) ?? "—"], ["Blobs", v.blobs.map(String.init) ?? "—"],
                    ["Findings", String(v.findingsCount)],
                    ["Event", v.eventIndex.map { "#\($0)" } ?? "—"],
                ])
            if !v.findings.isEmpty { table(["Kind", "Where", "What"], v.findings.map { [$0.kind, $0.location, $0.message] }) }
        } else {
            line("_The ledger was never verified._")
            line()
        }
        let c = integrity.checkpoint
        line("### Signed checkpoint")
        line()
        table(
            ["Field", "Value"],
            [
                ["Origin", c.origin], ["Size", String(c.size)], ["Root hash", c.rootHash], ["Signed at", date(c.time)],
                ["Signature", c.signatureVerified ? "verifies" : "DOES NOT VERIFY"], ["Verifier key", c.verifierKey],
            ])
        let fence = ReportMarkdown.fence(for: c.note)
        line(fence + "text")
        line(c.note.hasSuffix("\n") ? String(c.note.dropLast()) : c.note)
        line(fence)
        line()
        line("### Witnesses")
        line()
        if let size = integrity.witnesses.checkpointSize {
            line("Cosignatures of the newest witnessed checkpoint (size \(size)):")
            line()
            table(
                ["Witness", "Verifier key", "Verifies"],
                integrity.witnesses.cosignatures.map { [$0.witness, $0.verifierKey, $0.verified ? "yes" : "NO"] })
        } else {
            line("_No witness has cosigned a checkpoint of this log._")
            line()
        }

        heading("model-card")
        if let modelCard { document(modelCard) } else { line("_The run holds no model card (model_card.md)._") }
        return out
    }
}

/// Escaping for the Markdown report.
enum ReportMarkdown {
    /// Inline text: Markdown's markup characters backslash-escaped, `<` and `&` as entities,
    /// line breaks as spaces (a value is one line).
    static func text(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\", "`", "*", "_", "[", "]", "|", "#", "~", "!": out += "\\" + String(scalar)
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\n", "\r", "\u{2028}", "\u{2029}": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A table cell: inline text, so a `|` is `\|` and never ends the cell.
    static func cell(_ value: String) -> String { text(value) }

    /// A code fence longer than any run of backticks in `content` (at least three).
    static func fence(for content: String) -> String {
        var longest = 0
        var run = 0
        for character in content {
            if character == "`" {
                run += 1
                longest = max(longest, run)
            } else {
                run = 0
            }
        }
        return String(repeating: "`", count: max(3, longest + 1))
    }
}
