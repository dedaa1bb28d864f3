import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailService

extension UIRoutes {
    static func versionPath(_ name: String, _ version: Int64) -> String { "/ui/models/\(HTML.component(name))/versions/\(version)" }

    /// A `datetime-local` value in the reader's zone (`tz` = minutes west of UTC, as
    /// `Date.getTimezoneOffset` gives), or an ISO 8601 time with its zone.
    static func parseTime(_ text: String, tzOffsetMinutes: String?) throws -> Int64 {
        let refusal = TrailError.invalid("at", "a time reads 2026-12-03T10:00 (your time zone) or an ISO 8601 time with its zone, years 1 to 9999")
        // Seconds of 0001-01-01 and 9999-12-31 since 1970: nothing outside is a time we hold.
        func millis(_ date: Date) throws -> Int64 {
            let seconds = date.timeIntervalSince1970
            guard seconds.isFinite, seconds >= -62_135_596_800, seconds <= 253_402_300_799 else { throw refusal }
            return Int64(seconds * 1000)
        }
        guard text.utf8.count <= 40 else { throw refusal }
        if let date = ISO8601DateFormatter().date(from: text) { return try millis(date) }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"] {
            local.dateFormat = format
            if let date = local.date(from: text), text.prefix(while: { $0 != "-" }).count == 4 {
                var value = try millis(date)
                // The reader's offset from UTC in minutes (as `Date.getTimezoneOffset` gives);
                // time zones lie within ±14 hours, anything else is refused.
                if let tz = tzOffsetMinutes, !tz.isEmpty {
                    guard let minutes = Int64(tz), (-14 * 60...14 * 60).contains(minutes) else {
                        throw TrailError.invalid("tz", "tz is the time zone's offset in minutes, -840 to 840")
                    }
                    value += minutes * 60_000
                }
                return value
            }
        }
        throw refusal
    }

    func addRegistry() {
        let registry = home.registry
        page("ui/models", .read) { _, _ in
            let models = try await registry.models(maxResults: 1000).items
            var body = "<h1>Registered models</h1>"
            if models.isEmpty {
                body += HTML.empty("No registered models yet. Run <code>trail demo</code>, or register one with MLflow's client (<code>mlflow.register_model</code>).")
            } else {
                body += "<div class=\"scroll\"><table><thead><tr><th>Model</th><th>Versions</th><th>Aliases</th><th>Last change</th></tr></thead><tbody>"
                for model in models {
                    let versions = try await registry.versions(model.name)
                    let aliases = versions.flatMap { v in v.aliases.map { "@\($0) → \(v.version)" } }.sorted()
                    body += "<tr><td>\(HTML.link(model.name, "/ui/models/\(HTML.component(model.name))"))</td><td class=\"num\">\(versions.count)</td><td>\(HTML.escape(aliases.joined(separator: ", ")))</td><td>\(HTML.time(model.lastUpdatedMillis))</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            return Page(title: "Models", body: body)
        }

        page("ui/models/:name", .read) { request, context in
            let name = try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
            let model = try await registry.model(name)
            let versions = try await registry.versions(name)
            let history = try await registry.history(name)
            let query = request.uri.queryParameters
            var body = "<h1>\(HTML.escape(model.name)) <span class=\"muted\">model</span></h1>"
            if !model.description.isEmpty { body += "<p>\(HTML.escape(model.description))</p>" }
            body += "<h2>Versions</h2><div class=\"scroll\"><table><thead><tr><th>Version</th><th>Aliases</th><th>Stage</th><th>Root digest</th><th>Run</th><th>Registered by</th><th>When</th></tr></thead><tbody>"
            for v in versions.reversed() {
                body += "<tr><td>\(HTML.link("version \(v.version)", Self.versionPath(name, v.version)))</td><td>\(HTML.escape(v.aliases.sorted().map { "@\($0)" }.joined(separator: " ")))</td>"
                body += "<td>\(HTML.escape(v.stage.rawValue))</td><td>\(HTML.id(v.manifest.root.hex, keep: 12))</td>"
                body += "<td>\(v.runID.map { HTML.link(String($0.value.prefix(8)) + "…", "/ui/runs/\($0.value)") } ?? "—")</td><td>\(HTML.escape(v.createdBy.id))</td><td>\(HTML.time(v.creationTimeMillis))</td></tr>"
            }
            body += "</tbody></table></div>"
            // What was at @alias (or in a stage) at a time.
            let aliases = Set(history.filter { $0.kind == .alias }.map(\.key)).sorted()
            body += "<h2>What was at an alias at a time</h2>"
            body += "<form class=\"inline\" method=\"get\" id=\"at-form\"><label for=\"ref\">Alias or stage<select id=\"ref\" name=\"ref\">"
            // The value is what `resolve` reads (an alias name or a stage); the label shows `@alias`.
            for (value, label) in aliases.map({ ($0, "@\($0)") }) + ModelStage.allCases.filter({ $0 != .none }).map({ ($0.rawValue, $0.rawValue) }) {
                body += "<option value=\"\(HTML.escape(value))\"\(query.get("ref") == value ? " selected" : "")>\(HTML.escape(label))</option>"
            }
            body += "</select></label><label for=\"at\">Time (yours)<input id=\"at\" type=\"datetime-local\" step=\"1\" name=\"at\" value=\"\(HTML.escape(query.get("at") ?? ""))\" required></label>"
            body += "<input type=\"hidden\" name=\"tz\" value=\"\(HTML.escape(query.get("tz") ?? "0"))\"><button type=\"submit\">Look up</button></form>"
            if var ref = query.get("ref"), let at = query.get("at"), !at.isEmpty {
                if ref.hasPrefix("@") { ref.removeFirst() }
                let millis = try Self.parseTime(at, tzOffsetMinutes: query.get("tz"))
                let (found, change) = try await registry.resolve(name: name, reference: ref, atMillis: millis)
                body += "<p class=\"notice\" id=\"at-answer\">At \(HTML.time(millis)), \(HTML.escape(ref)) "
                body += found.isEmpty ? "pointed at no version" : "was version\(found.count == 1 ? "" : "s") " + found.map { HTML.link(String($0), Self.versionPath(name, $0)) }.joined(separator: ", ")
                if let change { body += ", since \(HTML.time(change.timeMillis)) by \(HTML.escape(change.actor.id)) (event \(HTML.link("#\(change.eventIndex)", "/ui/ledger/\(change.eventIndex)")))" }
                body += ".</p>"
            }
            body += "<h2>History</h2>"
            if history.isEmpty { body += HTML.empty("No alias or stage has been set yet.") }
            else {
                body += "<ol class=\"timeline\">"
                for change in history.reversed() {
                    let what = change.kind == .alias ? "@\(change.key)" : "version \(change.key) stage"
                    body += "<li>\(HTML.time(change.timeMillis)) · <strong>\(HTML.escape(change.actor.id))</strong> moved \(HTML.escape(what)) "
                    body += "from \(HTML.escape(change.from ?? "—")) → \(HTML.escape(change.to ?? "removed"))"
                    if !change.reason.isEmpty { body += ": “\(HTML.escape(change.reason))”" }
                    body += " · event \(HTML.link("#\(change.eventIndex)", "/ui/ledger/\(change.eventIndex)"))</li>"
                }
                body += "</ol>"
            }
            return Page(title: name, body: body)
        }

        page("ui/models/:name/versions/:version", .read) { request, context in
            let name = try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
            guard let number = Int64(try context.parameters.require("version")) else { throw TrailError.invalid("version", "a version is a number") }
            let target = request.uri.queryParameters.get("target").flatMap { $0.isEmpty ? nil : $0 } ?? "@production"
            return try await versionPage(name, number, target: target, context: context, notice: nil)
        }

        page(method: .post, "ui/models/:name/versions/:version/decision", .approve) { request, context in
            let name = try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
            guard let number = Int64(try context.parameters.require("version")) else { throw TrailError.invalid("version", "a version is a number") }
            let fields = try await Self.form(request)
            try Self.checkCSRF(fields["csrf"], context)
            guard let target = fields["target"], !target.isEmpty else { throw TrailError.invalid("target", "name the target (@production or a stage)") }
            guard let decision = ApprovalDecision(rawValue: fields["decision"] ?? "") else {
                throw TrailError.invalid("decision", "decision is one of \(ApprovalDecision.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let reviewed = try fields["reviewed_digest"].map { try Digest(parsing: $0, field: "reviewed_digest") }
            guard reviewed != nil else { throw TrailError.invalid("reviewed_digest", "the form names the root digest you reviewed") }
            let approval = try await registry.approve(
                name: name, version: number, target: target, decision: decision, comment: String((fields["comment"] ?? "").prefix(2000)),
                reviewedDigest: reviewed, actor: context.actor)
            return try await versionPage(name, number, target: target, context: context, notice: "Recorded: \(approval.decision) by \(approval.approver) (event #\(approval.eventIndex)).")
        }
    }

    func versionPage(_ name: String, _ number: Int64, target: String, context: TrailRequestContext, notice: String?) async throws -> Page {
        let registry = home.registry
        let version = try await registry.version(name, number)
        let report = try await registry.evaluate(name: name, version: number, target: target)
        let approvals = try await registry.approvals(name: name, version: number)
        let attestations = try await registry.attestations(name: name, version: number)
        var body = "<h1>\(HTML.link(name, "/ui/models/\(HTML.component(name))")) version \(number)</h1>"
        if let notice { body += "<p class=\"notice\" role=\"status\" id=\"decision-notice\">\(HTML.escape(notice))</p>" }
        body += Self.facts([
            ("Root digest", HTML.id(version.manifest.root.hex, keep: 64)), ("Stage", HTML.escape(version.stage.rawValue)),
            ("Aliases", HTML.escape(version.aliases.sorted().map { "@\($0)" }.joined(separator: " "))),
            ("Run", version.runID.map { HTML.link($0.value, "/ui/runs/\($0.value)") } ?? "—"), ("Source", HTML.escape(version.source)),
            ("Registered", "\(HTML.time(version.creationTimeMillis)) by \(HTML.escape(version.createdBy.id))"),
            ("Lineage", HTML.link("graph and proofs", "/ui/lineage/models/\(HTML.component(name))", [("ref", String(number))])),
        ])
        body += "<h2>Files</h2><div class=\"scroll\"><table><thead><tr><th>Path</th><th class=\"num\">Size</th><th>sha256</th></tr></thead><tbody>"
        for file in version.manifest.files.prefix(500) {
            body += "<tr><td>\(HTML.escape(file.path))</td><td class=\"num\">\(file.sizeBytes)</td><td>\(HTML.id(file.digest.hex, keep: 12))</td></tr>"
        }
        body += "</tbody></table></div>"
        body += "<h2>Promotion check for \(HTML.escape(target))</h2>"
        body += "<form class=\"inline\" method=\"get\"><label for=\"target\">Target<input id=\"target\" type=\"text\" name=\"target\" value=\"\(HTML.escape(target))\"></label><button type=\"submit\">Check</button></form>"
        if report.requirements.isEmpty {
            body += HTML.empty("No policy protects \(HTML.escape(target)) for this model: a contributor may move it.")
        } else {
            body += "<p id=\"gate-verdict\" class=\"\(report.granted ? "ok" : "bad")\">\(report.granted ? "✓ every requirement is met" : "✗ \(report.unmet.count) requirement\(report.unmet.count == 1 ? " is" : "s are") not met") (policy v\(report.policyVersion ?? 0))</p>"
            body += "<div class=\"scroll\"><table><thead><tr><th></th><th>Requirement</th><th>Evidence</th></tr></thead><tbody>"
            for r in report.requirements { body += "<tr><td>\(HTML.mark(r.met))</td><td>\(HTML.escape(r.requirement))</td><td>\(HTML.escape(r.evidence))</td></tr>" }
            body += "</tbody></table></div>"
        }
        body += "<h2>Approvals</h2>"
        if approvals.isEmpty { body += HTML.empty("No approvals or rejections yet.") }
        else {
            body += "<div class=\"scroll\"><table><thead><tr><th>When</th><th>Who</th><th>Target</th><th>Decision</th><th>Comment</th><th>Reviewed digest</th><th>Event</th></tr></thead><tbody>"
            for a in approvals {
                body += "<tr><td>\(HTML.time(a.timeMillis))</td><td>\(HTML.escape(a.approver))</td><td>\(HTML.escape(a.target))</td><td>\(HTML.escape(a.decision))</td><td>\(HTML.escape(a.comment))</td><td>\(HTML.id(a.rootDigest.hex, keep: 12))</td><td>\(HTML.link("#\(a.eventIndex)", "/ui/ledger/\(a.eventIndex)"))</td></tr>"
            }
            body += "</tbody></table></div>"
        }
        let approver: Bool
        if let principal = context.principal, Access.approve.allows(principal.roles), principal.actor.type == .user {
            let name = principal.actor.id
            // The gate takes decisions only from enabled users with the role (not a local-only
            // server's ambient identity): the form is offered to those only.
            approver = (try? await home.identity.user(name)).map { !$0.disabled && $0.roles.contains(.approver) } ?? false
        } else {
            approver = false
        }
        if !approver, context.principal.map({ Access.approve.allows($0.roles) }) == true {
            body += "<p class=\"notice\">Decisions are taken from users with the approver role: sign in with such a user's token (<code>trail users create NAME --role approver</code>).</p>"
        }
        if approver {
            body += """
                <h2>Your decision</h2>
                <form method="post" action="\(HTML.escape(Self.versionPath(name, number)))/decision" id="decision-form">
                <input type="hidden" name="csrf" value="\(HTML.escape(Self.csrf(context)))">
                <input type="hidden" name="reviewed_digest" value="\(HTML.escape(version.manifest.root.description))">
                <p>You review the files above (root <code>\(HTML.escape(String(version.manifest.root.hex.prefix(16))))…</code>); the decision is bound to that digest.</p>
                <div class="inline">
                <label for="decision-target">Target<input id="decision-target" type="text" name="target" value="\(HTML.escape(target))" required></label>
                <label for="comment">Comment<input id="comment" type="text" name="comment" size="50" maxlength="2000"></label>
                </div>
                <button class="primary" type="submit" name="decision" value="approve">Approve</button>
                <button class="danger" type="submit" name="decision" value="reject">Reject</button>
                </form>
                """
        }
        body += "<h2>Attestations</h2>"
        if attestations.isEmpty { body += HTML.empty("No attestations (<code>trail attest</code> attaches signed provenance).") }
        else {
            body += "<div class=\"scroll\"><table><thead><tr><th>When</th><th>Predicate</th><th>Signed by keys</th><th>Submitted by</th><th>Envelope</th><th>Event</th></tr></thead><tbody>"
            for a in attestations {
                body += "<tr><td>\(HTML.time(a.timeMillis))</td><td>\(HTML.escape(a.predicateType))</td><td>\(HTML.escape(a.keyIDs.joined(separator: ", ")))</td><td>\(HTML.escape(a.submittedBy))</td><td>\(HTML.id(a.envelopeDigest.hex, keep: 12))</td><td>\(HTML.link("#\(a.eventIndex)", "/ui/ledger/\(a.eventIndex)"))</td></tr>"
            }
            body += "</tbody></table></div>"
        }
        return Page(title: "\(name) v\(number)", body: body)
    }
}
