import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailLedger
import TrailService
import TrailStore

extension UIRoutes {
    /// A proof holder: app.js fetches `url`, checks it in the browser and fills the verdict.
    static func proofHolder(_ url: String, serverSays proven: Bool? = nil) -> String {
        let server = proven.map { " <span class=\"muted\">(server: \($0 ? "✓" : "✗"))</span>" } ?? ""
        return "<div class=\"proof\" data-proof-url=\"\(HTML.escape(url))\"><span class=\"proof-verdict unchecked\">… checking in this browser</span>\(server)<details><summary>steps</summary><ol class=\"proof-steps\"></ol></details></div>"
    }

    func addLineage() {
        let lineage = home.lineage
        let registry = home.registry
        page("ui/lineage", .read) { request, _ in
            if let digest = request.uri.queryParameters.get("dataset"), !digest.isEmpty {
                return Page(title: "Lineage", body: "<p>" + HTML.link("Impact of \(digest)", "/ui/lineage/datasets/\(HTML.component(digest))") + "</p>")
            }
            let models = try await registry.models(maxResults: 1000).items
            var body = "<h1>Lineage</h1><p>From a model to its data, code and environment, and from a dataset to everything that depends on it.</p>"
            body += "<form class=\"inline\" method=\"get\" action=\"/ui/lineage\"><label for=\"dataset\">Dataset digest<input id=\"dataset\" type=\"text\" name=\"dataset\" placeholder=\"sha256:…\" required></label><button type=\"submit\">Show its impact</button></form>"
            body += "<h2>Models</h2>"
            if models.isEmpty { body += HTML.empty("No registered models yet: run <code>trail demo</code>.") }
            body += "<ul>"
            for model in models {
                let versions = try await registry.versions(model.name)
                let refs = versions.flatMap { v in v.aliases.sorted().map { ($0, "@\($0) (version \(v.version))") } } + versions.suffix(5).reversed().map { (String($0.version), "version \($0.version)") }
                body += "<li><strong>\(HTML.escape(model.name))</strong>: " + refs.map { HTML.link($0.1, "/ui/lineage/models/\(HTML.component(model.name))", [("ref", $0.0)]) }.joined(separator: " · ") + "</li>"
            }
            return Page(title: "Lineage", body: body + "</ul>")
        }

        page("ui/lineage/models/:name", .read) { request, context in
            let name = try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
            let reference = request.uri.queryParameters.get("ref").flatMap { $0.isEmpty ? nil : $0 } ?? "production"
            let model = try await lineage.model(name: name, reference: reference)
            var nodes: [SVG.Node] = []
            var edges: [(String, String)] = []
            let versionNode = "v\(model.version)"
            nodes.append(SVG.Node(id: versionNode, column: 2, label: "\(name) v\(model.version)", detail: "root \(model.rootDigest.hex.prefix(12))…", href: Self.versionPath(name, model.version), kind: "version"))
            if let run = model.runID {
                nodes.append(SVG.Node(id: "run", column: 1, label: "run \(run.value.prefix(8))…", detail: model.metrics.sorted { $0.key < $1.key }.prefix(1).map { "\($0.key) \(SVG.short($0.value))" }.first ?? "", href: "/ui/runs/\(run.value)", kind: "run"))
                edges.append(("run", versionNode))
                if let data = model.dataSHA256 {
                    nodes.append(SVG.Node(id: "data", column: 0, label: "dataset", detail: String(data.prefix(22)) + "…", href: "/ui/lineage/datasets/\(HTML.component(data))", kind: "dataset"))
                    edges.append(("data", "run"))
                }
                if let commit = model.gitCommit {
                    nodes.append(SVG.Node(id: "commit", column: 0, label: "git commit", detail: String(commit.prefix(12)), href: nil, kind: "commit"))
                    edges.append(("commit", "run"))
                }
                if let environment = model.environmentSHA256 {
                    nodes.append(SVG.Node(id: "env", column: 0, label: "environment", detail: String(environment.prefix(19)) + "…", href: nil, kind: "environment"))
                    edges.append(("env", "run"))
                }
            }
            let deployments = try await home.tracking.store.deployments(id: nil, modelName: name).filter { $0.modelVersion == model.version }
            var served: [String: Int64] = [:]
            if let data = model.dataSHA256, let impact = try? await lineage.dataset(digest: data) {
                for window in impact.predictionsByWindow where window.modelVersion == "\(name)/\(model.version)" { served[window.deploymentID, default: 0] += window.predictions }
            }
            for (n, id) in Set(deployments.map(\.deploymentID)).sorted().prefix(8).enumerated() {
                let d = deployments.last { $0.deploymentID == id }!
                nodes.append(SVG.Node(id: "d\(n)", column: 3, label: "deployment \(id.prefix(10))", detail: "\(d.host) @\(d.reference)", href: nil, kind: "deployment"))
                edges.append((versionNode, "d\(n)"))
                if let count = served[id], count > 0 {
                    nodes.append(SVG.Node(id: "p\(n)", column: 4, label: "\(count) prediction\(count == 1 ? "" : "s")", detail: "trace one by its id", href: "/ui/trace", kind: "predictions"))
                    edges.append(("d\(n)", "p\(n)"))
                }
            }
            var body = "<h1>Lineage of \(HTML.escape(name))@\(HTML.escape(reference)) <span class=\"muted\">version \(model.version)</span></h1>"
            body += SVG.graph(nodes: nodes, edges: edges, columns: ["data, code, environment", "run", "model version", "deployments", "predictions"])
            body += Self.facts([
                ("Root digest", HTML.id(model.rootDigest.hex, keep: 64)), ("Data sha256", model.dataSHA256.map { HTML.id($0, keep: 24) } ?? "—"),
                ("Git commit", model.gitCommit.map { HTML.id($0, keep: 12) } ?? "—"), ("Environment", model.environmentSHA256.map { HTML.id($0, keep: 24) } ?? "—"),
                ("Proven against", "checkpoint of \(model.checkpointSize) events"),
            ])
            body += "<h2>Evidence, each with its ledger event</h2><p class=\"muted\">Each proof is fetched and checked here, with the log key you pinned on the " + HTML.link("Ledger", "/ui/ledger") + " page.</p>"
            body += "<div class=\"scroll\"><table><thead><tr><th>Link</th><th>What the record says</th><th>Event</th><th>Proof</th></tr></thead><tbody>"
            for link in model.links {
                body += "<tr><td>\(HTML.escape(link.kind))</td><td>\(HTML.escape(link.summary))</td><td>\(link.eventIndex.map { HTML.link("#\($0)", "/ui/ledger/\($0)") } ?? "—")</td>"
                body += "<td>\(link.eventIndex.map { Self.proofHolder("/ui/api/proof/\($0)", serverSays: link.proven) } ?? HTML.mark(false) + " no event")</td></tr>"
            }
            body += "</tbody></table></div>"
            return Page(title: "Lineage \(name)@\(reference)", body: body)
        }

        page("ui/lineage/datasets/:digest", .read) { _, context in
            let digest = try NativeRoutes.decoded(try context.parameters.require("digest"), field: "digest")
            let impact = try await lineage.dataset(digest: digest)
            var body = "<h1>Impact of dataset <code title=\"\(HTML.escape(digest))\">\(HTML.escape(String(digest.prefix(24))))…</code></h1>"
            body += "<h2>Runs trained on it</h2>"
            if impact.runs.isEmpty { body += HTML.empty("No run logged this dataset.") }
            else {
                body += "<div class=\"scroll\"><table><thead><tr><th>Run</th><th>Model versions</th><th>Deployments</th></tr></thead><tbody>"
                for use in impact.runs {
                    body += "<tr><td>\(HTML.link(use.runName.isEmpty ? use.runID.value : use.runName, "/ui/runs/\(use.runID.value)"))</td><td>\(HTML.escape(use.versions.joined(separator: ", ")))</td><td>\(HTML.escape(use.deployments.joined(separator: ", ")))</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            body += "<h2>Predictions served by models trained on it: \(impact.totalPredictions)</h2>"
            if impact.predictionsByWindow.isEmpty { body += HTML.empty("No predictions yet: <code>trail serve MODEL@ALIAS</code> serves one.") }
            else {
                body += "<div class=\"scroll\"><table><thead><tr><th>Day from</th><th>Deployment</th><th>Model version</th><th class=\"num\">Predictions</th><th class=\"num\">Refused</th></tr></thead><tbody>"
                for w in impact.predictionsByWindow {
                    body += "<tr><td>\(HTML.escape(w.start))</td><td>\(HTML.escape(w.deploymentID))</td><td>\(HTML.escape(w.modelVersion))</td><td class=\"num\">\(w.predictions)</td><td class=\"num\">\(w.refused)</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            return Page(title: "Dataset impact", body: body)
        }

        page("ui/trace", .read) { request, _ in
            let id = (request.uri.queryParameters.get("prediction") ?? "").trimmingCharacters(in: .whitespaces)
            var body = "<h1>Prediction trace</h1>"
            body += "<form class=\"inline\" method=\"get\" action=\"/ui/trace\"><label for=\"prediction\">Prediction id<input id=\"prediction\" type=\"text\" name=\"prediction\" value=\"\(HTML.escape(id))\" size=\"40\" required placeholder=\"p…\"></label><button type=\"submit\">Trace</button></form>"
            guard !id.isEmpty else {
                body += HTML.empty("Enter the <code>prediction_id</code> a served model answered with (<code>trail serve MODEL@production</code>, then POST /predict or /invocations).")
                return Page(title: "Prediction trace", body: body)
            }
            let trace = try await lineage.prediction(id: id)
            let p = trace.prediction
            body += Self.facts([
                ("Prediction", HTML.id(p.predictionID, keep: 40)), ("Model", HTML.link("\(p.modelName) version \(p.modelVersion)", Self.versionPath(p.modelName, p.modelVersion))),
                ("Deployment", HTML.escape(p.deploymentID)), ("When", HTML.time(p.timeMillis)), ("Outcome", HTML.escape(p.outcome)),
                ("Input digest", HTML.id(p.inputDigest.description, keep: 24)), ("In the commit", "leaf \(trace.position) of \(trace.batchSize), event #\(trace.batchEventIndex)"),
            ])
            body += "<h2>The chain, each link with its proof</h2><div class=\"scroll\"><table><thead><tr><th>Link</th><th>What the record says</th><th>Event</th><th>Proof</th></tr></thead><tbody>"
            for (n, link) in trace.links.enumerated() {
                let url = n == 0 ? "/ui/api/proof/\(trace.batchEventIndex)?prediction=\(HTML.component(p.predictionID))" : link.eventIndex.map { "/ui/api/proof/\($0)" }
                body += "<tr><td>\(HTML.escape(link.kind))</td><td>\(HTML.escape(link.summary))</td><td>\(link.eventIndex.map { HTML.link("#\($0)", "/ui/ledger/\($0)") } ?? "—")</td>"
                body += "<td>\(url.map { Self.proofHolder($0, serverSays: link.proven) } ?? HTML.mark(false) + " no event")</td></tr>"
            }
            body += "</tbody></table></div>"
            return Page(title: "Trace \(id)", body: body)
        }
    }

    func addLedger() {
        let ledger = home.ledger
        let lineage = home.lineage
        page("ui/ledger", .read) { request, _ in
            let q = request.uri.queryParameters
            func text(_ key: String) -> String? { q.get(key).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) } }
            let tz = text("tz")
            let since = try text("since").map { try Self.parseTime($0, tzOffsetMinutes: tz) }
            let until = try text("until").map { try Self.parseTime($0, tzOffsetMinutes: tz) }
            let filtered = text("actor") != nil || text("action") != nil || text("subject") != nil || since != nil || until != nil
            let count = try await ledger.store.eventCount()
            var from: Int64 = filtered ? 0 : max(0, count - 50)
            if let given = text("from") {
                guard let value = Int64(given), value >= 0 else { throw TrailError.invalid("from", "from is an event index (0 or more)") }
                from = value
            }
            var subjectType: String?, subjectID: String?
            if let subject = text("subject") {
                // `type` or `type:id`; the id may itself hold colons.
                let type = subject.prefix { $0 != ":" }
                guard !type.isEmpty else { throw TrailError.invalid("subject", "a subject reads TYPE or TYPE:ID (model:NAME, run:ID)") }
                subjectType = String(type)
                let rest = subject.dropFirst(type.count)
                subjectID = rest.isEmpty ? nil : String(rest.dropFirst())
            }
            let events = try await ledger.events(
                EventQuery(subjectType: subjectType, subjectID: subjectID, actorID: text("actor"), action: text("action"), fromTimeMillis: since, toTimeMillis: until, fromIndex: from, limit: 50))
            let verifierKey = ledger.verifierKey
            var body = "<h1>Ledger <span class=\"muted\">\(count) events</span></h1>"
            body += """
                <section aria-labelledby="key-title"><h2 id="key-title">The log key you check against</h2>
                <p>Proofs on these pages are checked in your browser against the key pinned here (kept in this browser only). Pin the key you got
                from a source you trust — your operator, <code>trail ledger key</code> on the server's machine, or a witness — not only from this page.</p>
                <p>Pinned: <code id="pinned-key">none</code></p>
                <form id="pin-key" class="inline"><label for="key">Verifier key<input id="key" type="text" name="key" placeholder="name+keyid+base64"></label><button type="submit">Pin</button></form>
                <p class="muted">This server says its key is <code id="server-key">\(HTML.escape(verifierKey))</code>.</p>
                </section>
                <h2>Events</h2>
                <form class="inline" method="get" action="/ui/ledger" id="event-filter">
                <label for="f-actor">Actor<input id="f-actor" type="text" name="actor" value="\(HTML.escape(text("actor") ?? ""))" placeholder="alice"></label>
                <label for="f-action">Action<input id="f-action" type="text" name="action" value="\(HTML.escape(text("action") ?? ""))" placeholder="registry.alias"></label>
                <label for="f-subject">Subject<input id="f-subject" type="text" name="subject" value="\(HTML.escape(text("subject") ?? ""))" placeholder="model:NAME or run:ID"></label>
                <label for="f-since">From<input id="f-since" type="datetime-local" step="1" name="since" value="\(HTML.escape(text("since") ?? ""))"></label>
                <label for="f-until">Until<input id="f-until" type="datetime-local" step="1" name="until" value="\(HTML.escape(text("until") ?? ""))"></label>
                <input type="hidden" name="tz" value="\(HTML.escape(tz ?? "0"))">
                <button type="submit">Filter</button>
                </form>
                """
            if events.isEmpty { body += HTML.empty("No event matches.") }
            else {
                body += "<div class=\"scroll\"><table id=\"events\"><thead><tr><th class=\"num\">#</th><th>When</th><th>Action</th><th>Actor</th><th>Subject</th></tr></thead><tbody>"
                for e in events {
                    body += "<tr><td class=\"num\">\(HTML.link(String(e.index), "/ui/ledger/\(e.index)"))</td><td>\(HTML.time(e.timeMillis))</td><td>\(HTML.escape(e.action))</td><td>\(HTML.escape(e.actor.id))</td><td>\(HTML.escape("\(e.subject.type):\(e.subject.id)"))</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            var keep = [("actor", text("actor") ?? ""), ("action", text("action") ?? ""), ("subject", text("subject") ?? ""), ("since", text("since") ?? ""), ("until", text("until") ?? ""), ("tz", tz ?? "")]
            body += "<div class=\"pager\">"
            if from > 0 { body += HTML.link("← earlier", "/ui/ledger", keep + [("from", String(max(0, from - 50)))]) }
            if let last = events.last, events.count == 50 { body += HTML.link("later →", "/ui/ledger", keep + [("from", String(last.index + 1))]) }
            keep.removeAll()
            return Page(title: "Ledger", body: body + "</div>")
        }

        page("ui/ledger/:index", .read) { _, context in
            guard let index = Int64(try context.parameters.require("index")), index >= 0 else { throw TrailError.invalid("index", "an event index is a number (0 or more)") }
            let event = try await ledger.event(index: index)
            var body = "<h1>Event #\(index) <span class=\"muted\">\(HTML.escape(event.action))</span></h1>"
            body += Self.facts([
                ("Event id", HTML.id(event.eventID, keep: 24)), ("When", HTML.time(event.timeMillis)), ("Actor", HTML.escape(event.actor.id)),
                ("Subject", HTML.escape("\(event.subject.type):\(event.subject.id)")),
                ("Leaf hash", HTML.id(Merkle.leafHash(event.body).hexString, keep: 16)),
            ])
            body += "<h2>Proof, checked in this browser</h2>" + Self.proofHolder("/ui/api/proof/\(index)")
            body += "<h2>Canonical JSON (the bytes the leaf hash covers)</h2><pre id=\"event-json\">\(HTML.escape(String(decoding: event.body, as: UTF8.self)))</pre>"
            body += """
                <h2>Check a proof you have</h2>
                <p>Paste a proof bundle (as <code>/ui/api/proof/\(index)</code> serves it, or from an export): it is checked here with the pinned key.</p>
                <form id="paste-proof"><label for="pasted">Proof bundle (JSON)<textarea id="pasted" name="bundle" spellcheck="false"></textarea></label>
                <button type="submit">Check</button></form>
                <p><span id="pasted-verdict" class="proof-verdict"></span></p><ol id="pasted-steps" class="proof-steps"></ol>
                """
            return Page(title: "Event \(index)", body: body)
        }

        // The proof bundle the browser checks: the event's exact bytes, its inclusion path and
        // the signed checkpoint; with `prediction`, that prediction's leaf and path in the commit.
        data("ui/api/proof/:index", .read) { request, context in
            guard let index = Int64(try context.parameters.require("index")), index >= 0 else { throw TrailError.invalid("index", "an event index is a number (0 or more)") }
            _ = try await ledger.checkpointIfBehind()
            let event = try await ledger.event(index: index)
            let proof = try await ledger.inclusionProof(index: index)
            var bundle: [String: JSONValue] = [
                "index": .int(index), "body_b64": .string(Data(event.body).base64EncodedString()), "tree_size": .int(Int64(clamping: proof.treeSize)),
                "path": .array(proof.path.map { .string(Data($0).base64EncodedString()) }), "checkpoint": .string(proof.checkpoint),
            ]
            if let id = request.uri.queryParameters.get("prediction") {
                let trace = try await lineage.prediction(id: id)
                guard trace.batchEventIndex == index else { throw TrailError.invalid("prediction", "prediction \(id) is not in event \(index)") }
                bundle["prediction"] = [
                    "id": .string(id), "leaf_b64": .string(Data(trace.prediction.leafBytes).base64EncodedString()), "position": .int(Int64(trace.position)),
                    "batch_size": .int(Int64(trace.batchSize)), "path": .array(trace.merklePath.map(JSONValue.string)),
                ]
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(bundle).canonicalBytes)))
        }
    }
}
