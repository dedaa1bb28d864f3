import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailService

extension UIRoutes {
    static let runsPerPage = 50
    /// What one page may cost: runs compared, charts drawn, points read per curve (each curve
    /// is then thinned to `SVG.maxPoints`).
    static let maxCompared = 10
    static let maxCharts = 12
    static let maxHistory = 10_000

    /// An MLflow `order_by` key: `metrics.acc`, or with backticks where the key needs them.
    static func orderKey(_ entity: String, _ key: String) -> String {
        let plain = key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
        return plain ? "\(entity).\(key)" : "\(entity).`\(key.replacingOccurrences(of: "`", with: ""))`"
    }

    func addTracking() {
        let tracking = home.tracking
        page("ui/experiments", .read) { _, _ in
            let experiments = try await tracking.experiments(maxResults: 1000).items
            var body = "<h1>Experiments</h1>"
            if experiments.isEmpty {
                body += HTML.empty("No experiments yet. Log a run with MLflow's client (<code>mlflow.set_tracking_uri(\"http://127.0.0.1:5050\")</code>) or run <code>trail demo</code>.")
            } else {
                body += "<div class=\"scroll\"><table><thead><tr><th>ID</th><th>Name</th><th>Created</th><th>Last change</th></tr></thead><tbody>"
                for e in experiments {
                    body += "<tr><td>\(e.id)</td><td>\(HTML.link(e.name, "/ui/experiments/\(e.id)"))</td><td>\(HTML.time(e.creationTimeMillis))</td><td>\(HTML.time(e.lastUpdateTimeMillis))</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            return Page(title: "Experiments", body: body)
        }

        page("ui/experiments/:experiment_id", .read) { request, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            let experiment = try await tracking.experiment(id: id)
            let query = request.uri.queryParameters
            let filter = query.get("filter") ?? ""
            let order = query.get("order") ?? ""
            let pageToken = query.get("page_token")
            let runs = try await tracking.searchRuns(
                experimentIDs: [id], filter: filter, orderBy: order.isEmpty ? [] : [order], maxResults: Self.runsPerPage, pageToken: pageToken,
                reader: context.reader)
            // Columns: the reader's choice, or the metrics and params of this page (at most 6 of each).
            var columns: [(entity: String, key: String)] = []
            if let chosen = query.get("columns"), !chosen.trimmingCharacters(in: .whitespaces).isEmpty {
                for item in chosen.split(separator: ",").prefix(30) {
                    let text = item.trimmingCharacters(in: .whitespaces)
                    guard let dot = text.firstIndex(of: ".") else {
                        throw TrailError.invalid("columns", "a column is metrics.KEY, params.KEY or tags.KEY, got '\(text.prefix(100))'")
                    }
                    let entity = String(text[..<dot]), key = String(text[text.index(after: dot)...])
                    guard ["metrics", "params", "tags"].contains(entity), !key.isEmpty else {
                        throw TrailError.invalid("columns", "a column is metrics.KEY, params.KEY or tags.KEY, got '\(text.prefix(100))'")
                    }
                    columns.append((entity, key))
                }
            } else {
                let metricKeys = Set(runs.items.flatMap { $0.metrics.map(\.key) }).sorted().prefix(6)
                let paramKeys = Set(runs.items.flatMap { $0.params.map(\.key) }).sorted().prefix(6)
                columns = metricKeys.map { ("metrics", $0) } + paramKeys.map { ("params", $0) }
            }
            let columnsText = columns.map { "\($0.entity).\($0.key)" }.joined(separator: ", ")
            let base = "/ui/experiments/\(id)"
            func sortLink(_ title: String, _ key: String) -> String {
                let descending = "\(key) DESC", ascending = "\(key) ASC"
                let next = order == descending ? ascending : descending
                let arrow = order == descending ? " ▼" : order == ascending ? " ▲" : ""
                let sort = order == descending ? "descending" : order == ascending ? "ascending" : "none"
                return "<th aria-sort=\"\(sort)\">" + HTML.link(title + arrow, base, [("filter", filter), ("order", next), ("columns", query.get("columns") ?? "")]) + "</th>"
            }
            var body = "<h1>\(HTML.escape(experiment.name)) <span class=\"muted\">experiment \(id)</span></h1>"
            body += """
                <form class="inline" method="get" action="\(HTML.escape(base))" role="search">
                <label for="filter">Filter (MLflow search syntax)<input id="filter" type="search" name="filter" value="\(HTML.escape(filter))" placeholder="metrics.accuracy > 0.9 and params.C = '1.0'"></label>
                <label for="columns">Columns<input id="columns" type="text" name="columns" value="\(HTML.escape(query.get("columns") ?? ""))" placeholder="\(HTML.escape(columnsText))" size="40"></label>
                <input type="hidden" name="order" value="\(HTML.escape(order))">
                <button type="submit">Search</button>
                </form>
                """
            if runs.items.isEmpty {
                body += HTML.empty(filter.isEmpty ? "No runs in this experiment yet: log one with MLflow's client or <code>trail train</code>." : "No run matches this filter.")
            } else {
                body += "<form id=\"compare-form\" method=\"get\" action=\"/ui/compare\"><div class=\"scroll\"><table id=\"runs\"><thead><tr><th><span class=\"muted\">select</span></th>"
                body += sortLink("Run", "attributes.run_name") + sortLink("Started", "attributes.start_time") + "<th>Status</th><th>User</th>"
                for c in columns { body += sortLink("\(c.entity == "metrics" ? "" : c.entity == "params" ? "param " : "tag ")\(c.key)", Self.orderKey(c.entity, c.key)) }
                body += "</tr></thead><tbody>"
                for run in runs.items {
                    let name = run.info.name.isEmpty ? run.info.runID.value : run.info.name
                    body += "<tr><td><input type=\"checkbox\" name=\"run\" value=\"\(HTML.escape(run.info.runID.value))\" id=\"sel-\(HTML.escape(run.info.runID.value))\" aria-label=\"select \(HTML.escape(name))\"></td>"
                    body += "<td>\(HTML.link(name, "/ui/runs/\(run.info.runID.value)"))</td><td>\(HTML.time(run.info.startTimeMillis))</td>"
                    body += "<td>\(HTML.escape(run.info.status.rawValue))</td><td>\(HTML.escape(run.info.userID))</td>"
                    for c in columns {
                        switch c.entity {
                        case "metrics": body += "<td class=\"num\">\(run.metrics.first { $0.key == c.key }.map { HTML.number($0.value) } ?? "")</td>"
                        case "params": body += "<td>\(HTML.escape(run.params.first { $0.key == c.key }?.value ?? ""))</td>"
                        default: body += "<td>\(HTML.escape(run.tags.first { $0.key == c.key }?.value ?? ""))</td>"
                        }
                    }
                    body += "</tr>"
                }
                body += "</tbody></table></div><button class=\"primary\" type=\"submit\">Compare selected runs</button></form>"
                body += "<div class=\"pager\">"
                if pageToken != nil { body += HTML.link("First page", base, [("filter", filter), ("order", order), ("columns", query.get("columns") ?? "")]) }
                if let next = runs.nextPageToken {
                    body += HTML.link("Next \(Self.runsPerPage) runs →", base, [("filter", filter), ("order", order), ("columns", query.get("columns") ?? ""), ("page_token", next)])
                }
                body += "</div>"
            }
            return Page(title: experiment.name, body: body)
        }

        page("ui/compare", .read) { request, context in
            var ids: [String] = []
            for id in request.uri.queryParameters.getAll("run") where !ids.contains(String(id)) { ids.append(String(id)) }
            guard !ids.isEmpty else { throw TrailError.invalid("run", "select at least one run to compare (run=ID, up to \(Self.maxCompared))") }
            guard ids.count <= Self.maxCompared else { throw TrailError.invalid("run", "compare at most \(Self.maxCompared) runs at once, got \(ids.count)") }
            var runs: [Run] = []
            for id in ids { runs.append(try await tracking.run(try RunID(parsing: String(id), field: "run"), reader: context.reader)) }
            func title(_ run: Run) -> String { run.info.name.isEmpty ? String(run.info.runID.value.prefix(8)) : run.info.name }
            var body = "<h1>Compare \(runs.count) run\(runs.count == 1 ? "" : "s")</h1>"
            body += "<div class=\"scroll\"><table><thead><tr><th></th>" + runs.map { "<th>" + HTML.link(title($0), "/ui/runs/\($0.info.runID.value)") + "</th>" }.joined() + "</tr></thead><tbody>"
            let paramKeys = Set(runs.flatMap { $0.params.map(\.key) }).sorted()
            body += "<tr><th colspan=\"\(runs.count + 1)\">Parameters</th></tr>"
            for key in paramKeys {
                let values = runs.map { run in run.params.first { $0.key == key }?.value }
                let differs = Set(values.map { $0 ?? "\u{0}" }).count > 1
                body += "<tr\(differs ? " class=\"differs\"" : "")><td>\(HTML.escape(key))</td>" + values.map { "<td>\(HTML.escape($0 ?? "—"))</td>" }.joined() + "</tr>"
            }
            let metricKeys = Set(runs.flatMap { $0.metrics.map(\.key) }).sorted()
            body += "<tr><th colspan=\"\(runs.count + 1)\">Metrics (latest)</th></tr>"
            for key in metricKeys {
                body += "<tr><td>\(HTML.escape(key))</td>" + runs.map { run in "<td class=\"num\">\(run.metrics.first { $0.key == key }.map { HTML.number($0.value) } ?? "—")</td>" }.joined() + "</tr>"
            }
            body += "</tbody></table></div><h2>Metrics over steps</h2>"
            if metricKeys.isEmpty { body += HTML.empty("These runs logged no metrics.") }
            if metricKeys.count > Self.maxCharts {
                body += "<p class=\"muted\">The first \(Self.maxCharts) of \(metricKeys.count) metrics are drawn; each run's page draws its own.</p>"
            }
            for key in metricKeys.prefix(Self.maxCharts) {
                var series: [SVG.Series] = []
                for run in runs where run.metrics.contains(where: { $0.key == key }) {
                    let history = try await tracking.metricHistory(run.info.runID, key: key, maxResults: Self.maxHistory).items
                    series.append(SVG.Series(label: title(run), points: SVG.thin(history.map { (Double($0.step), $0.value) })))
                }
                body += SVG.lineChart(title: key, series: series)
            }
            return Page(title: "Compare runs", body: body)
        }

        page("ui/runs/:run_id", .read) { _, context in
            let id = try RunID(parsing: try context.parameters.require("run_id"))
            return try await runPage(id, reader: context.reader)
        }
        page("ui/runs/:run_id/preview", .read) { request, context in
            let id = try RunID(parsing: try context.parameters.require("run_id"))
            let path = try ArtifactPath(validating: request.uri.queryParameters.get("path") ?? "", field: "path")
            return try await previewPage(id, path, actor: context.actor)
        }
        data("ui/runs/:run_id/raw", .read) { request, context in
            let id = try RunID(parsing: try context.parameters.require("run_id"))
            let path = try ArtifactPath(validating: request.uri.queryParameters.get("path") ?? "", field: "path")
            let (entry, reader) = try await tracking.openArtifact(id, path: path, actor: context.actor)
            // Streamed (as the API streams downloads); only raster images are shown inline,
            // anything else is a download and is never rendered.
            var response = ArtifactRoutes.stream(entry, reader)
            let type = Self.inlineImageType(path.value)
            response.headers[.contentType] = type ?? "application/octet-stream"
            response.headers[.cacheControl] = "private, max-age=60"
            response.headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; sandbox"
            response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            if type == nil {
                let name = path.value.split(separator: "/").last.map(String.init) ?? "artifact"
                let safe = String(name.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }.prefix(200))
                response.headers[.contentDisposition] = "attachment; filename=\"\(safe.isEmpty ? "artifact" : safe)\""
            }
            return response
        }
    }

    static func inlineImageType(_ path: String) -> String? {
        let lower = path.lowercased()
        if lower.hasSuffix(".png") { return "image/png" }
        if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { return "image/jpeg" }
        if lower.hasSuffix(".gif") { return "image/gif" }
        if lower.hasSuffix(".webp") { return "image/webp" }
        return nil
    }

    static func facts(_ rows: [(String, String)]) -> String {
        "<dl class=\"facts\">" + rows.map { "<dt>\(HTML.escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }

    func runPage(_ id: RunID, reader: Reader) async throws -> Page {
        let tracking = home.tracking
        let run = try await tracking.run(id, reader: reader)
        let name = run.info.name.isEmpty ? id.value : run.info.name
        var body = "<h1>\(HTML.escape(name)) <span class=\"muted\">run</span></h1>"
        let tag = { (key: String) in run.tags.first { $0.key == key }?.value }
        body += Self.facts([
            ("Run id", HTML.id(id.value, keep: 32)), ("Experiment", HTML.link(String(run.info.experimentID.value), "/ui/experiments/\(run.info.experimentID)")),
            ("Status", HTML.escape(run.info.status.rawValue)), ("User", HTML.escape(run.info.userID)),
            ("Started", HTML.time(run.info.startTimeMillis)), ("Ended", HTML.time(run.info.endTimeMillis)),
            ("Lifecycle", HTML.escape(run.info.lifecycleStage.rawValue)),
        ])
        body += "<h2>Provenance</h2>"
        let provenance: [(String, String)] = [
            ("Git commit", "mlflow.source.git.commit"), ("Source", "mlflow.source.name"), ("Source type", "mlflow.source.type"),
            ("Data sha256", "data_sha256"), ("Environment sha256", "environment_sha256"), ("Git branch", "mlflow.source.git.branch"),
            ("Git repository", "mlflow.source.git.repoURL"),
        ].compactMap { label, key in tag(key).map { (label, key.hasSuffix("sha256") || key.hasSuffix("commit") ? HTML.id($0, keep: 16) : HTML.escape($0)) } }
        body += provenance.isEmpty ? HTML.empty("This run recorded no commit, data or environment tags.") : Self.facts(provenance)
        body += "<h2>Parameters</h2>"
        body += run.params.isEmpty ? HTML.empty("No parameters.") : "<div class=\"scroll\"><table><tbody>" + run.params.sorted { $0.key < $1.key }.map { "<tr><td>\(HTML.escape($0.key))</td><td>\(HTML.escape($0.value))</td></tr>" }.joined() + "</tbody></table></div>"
        body += "<h2>Metrics</h2>"
        if run.metrics.isEmpty { body += HTML.empty("No metrics.") }
        else {
            body += "<div class=\"scroll\"><table><thead><tr><th>Metric</th><th class=\"num\">Latest</th><th class=\"num\">Step</th></tr></thead><tbody>"
            body += run.metrics.sorted { $0.key < $1.key }.map { "<tr><td>\(HTML.escape($0.key))</td><td class=\"num\">\(HTML.number($0.value))</td><td class=\"num\">\($0.step)</td></tr>" }.joined()
            body += "</tbody></table></div>"
            for metric in run.metrics.sorted(by: { $0.key < $1.key }).prefix(Self.maxCharts) {
                let history = try await tracking.metricHistory(id, key: metric.key, maxResults: Self.maxHistory).items
                if history.count > 1 { body += SVG.lineChart(title: metric.key, series: [SVG.Series(label: name, points: SVG.thin(history.map { (Double($0.step), $0.value) }))]) }
            }
        }
        body += "<h2>Dataset inputs</h2>"
        if run.inputs.isEmpty { body += HTML.empty("No dataset inputs logged (MLflow: <code>mlflow.log_input</code>).") }
        for input in run.inputs {
            var rows: [(String, String)] = [
                ("Digest", HTML.link(input.digest, "/ui/lineage/datasets/\(HTML.component(input.digest))")), ("Source", HTML.escape("\(input.sourceType): \(input.source)")),
            ]
            if let context = input.context { rows.append(("Context", HTML.escape(context))) }
            if let profile = input.profile { rows.append(("Profile", "\(profile.rows) rows × \(profile.columns) columns")) }
            if let schema = input.schema { rows.append(("Schema", HTML.escape(schema.prefix(40).map { "\($0.name): \($0.type)" }.joined(separator: ", ") + (schema.count > 40 ? " …" : "")))) }
            else if let text = input.schemaText { rows.append(("Schema", "<code>\(HTML.escape(String(text.prefix(2000))))</code>")) }
            if input.profile == nil, let text = input.profileText { rows.append(("Profile", "<code>\(HTML.escape(String(text.prefix(2000))))</code>")) }
            body += "<h3>\(HTML.escape(input.name))</h3>" + Self.facts(rows)
        }
        let artifacts = try await tracking.artifacts(id)
        if let lineage = artifacts.first(where: { $0.path.value == "steps/lineage.json" }) {
            body += "<h2>Steps</h2>"
            let (_, reader) = try await tracking.openArtifact(id, path: lineage.path, actor: .service("ui"))
            defer { reader.close() }
            if let json = try? JSONValue.parse(try reader.readAll()), case .array(let steps)? = json["steps"] {
                body += "<ol class=\"steps\">"
                for step in steps {
                    body += "<li><strong>\(HTML.escape(step["step"]?.stringValue ?? step["name"]?.stringValue ?? "step"))</strong>"
                    if case .object(let outputs)? = step["outputs"] {
                        body += ": " + outputs.keys.sorted().map { key in
                            let path = outputs[key]?["path"]?.stringValue ?? ""
                            return HTML.link(key, "/ui/runs/\(id.value)/preview", [("path", path)])
                        }.joined(separator: ", ")
                    }
                    body += "</li>"
                }
                body += "</ol>"
            }
        }
        body += "<h2>Artifacts</h2>"
        if artifacts.isEmpty { body += HTML.empty("No artifacts.") }
        else {
            body += "<div class=\"scroll\"><table><thead><tr><th>Path</th><th class=\"num\">Size</th><th>sha256</th><th>Logged</th></tr></thead><tbody>"
            for a in artifacts.prefix(1000) {
                body += "<tr><td>\(HTML.link(a.path.value, "/ui/runs/\(id.value)/preview", [("path", a.path.value)]))</td><td class=\"num\">\(a.sizeBytes)</td><td>\(HTML.id(a.digest.hex, keep: 12))</td><td>\(HTML.time(a.createdMillis))</td></tr>"
            }
            body += "</tbody></table></div>"
        }
        body += "<h2>Tags and their history</h2>"
        let history = try await tracking.tagHistory(id, reader: reader)
        if history.isEmpty { body += HTML.empty("No tags.") }
        else {
            body += "<div class=\"scroll\"><table><thead><tr><th>When</th><th>Key</th><th>Value</th><th>Who</th><th>Event</th></tr></thead><tbody>"
            for change in history.suffix(500) {
                body += "<tr><td>\(HTML.time(change.timeMillis))</td><td>\(HTML.escape(change.key))</td><td>\(change.value.map(HTML.escape) ?? "<span class=\"muted\">deleted</span>")</td><td>\(HTML.escape(change.actor.id))</td><td>\(change.eventIndex.map { HTML.link("#\($0)", "/ui/ledger/\($0)") } ?? "")</td></tr>"
            }
            body += "</tbody></table></div>"
        }
        return Page(title: name, body: body)
    }

    func previewPage(_ id: RunID, _ path: ArtifactPath, actor: Actor) async throws -> Page {
        let (entry, reader) = try await home.tracking.openArtifact(id, path: path, actor: actor)
        defer { reader.close() }
        var body = "<h1>\(HTML.escape(path.value)) <span class=\"muted\">artifact</span></h1>"
        body += Self.facts([
            ("Run", HTML.link(id.value, "/ui/runs/\(id.value)")), ("Size", "\(entry.sizeBytes) bytes"), ("sha256", HTML.id(entry.digest.hex, keep: 64)),
            ("Logged", HTML.time(entry.createdMillis)), ("Download", HTML.link("raw bytes", "/ui/runs/\(id.value)/raw", [("path", path.value)])),
        ])
        let lower = path.value.lowercased()
        if Self.inlineImageType(lower) != nil {
            body += "<img class=\"preview\" alt=\"\(HTML.escape(path.value))\" src=\"\(HTML.href("/ui/runs/\(id.value)/raw", [("path", path.value)]))\">"
            return Page(title: path.value, body: body)
        }
        guard entry.sizeBytes <= 1 << 20 else {
            body += HTML.empty("Too large to preview here (over 1 MiB): download it.")
            return Page(title: path.value, body: body)
        }
        let bytes = try reader.readAll()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            body += HTML.empty("Binary content: download it.")
            return Page(title: path.value, body: body)
        }
        if lower.hasSuffix(".html") || lower.hasSuffix(".htm") || lower.hasSuffix(".svg") {
            body += "<p class=\"notice\">HTML and SVG artifacts are never rendered here; this is their source.</p>"
        }
        if lower.hasSuffix(".json"), let json = try? JSONValue.parse(bytes) {
            if let matrix = Self.confusionMatrix(json, path: lower) { body += matrix }
            body += "<pre>\(HTML.escape(Self.pretty(bytes) ?? text))</pre>"
        } else {
            body += "<pre>\(HTML.escape(text))</pre>"
        }
        return Page(title: path.value, body: body)
    }

    static func pretty(_ bytes: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A confusion matrix (`[[tn, fp], [fn, tp]]`, alone or under `confusion_matrix`/`matrix`) as a table.
    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    static func confusionMatrix(_ json: JSONValue, path: String) -> String? {
        let candidate: JSONValue? = json["confusion_matrix"] ?? json["matrix"] ?? (path.contains("confusion") ? json : nil)
        guard case .array(let rows)? = candidate, !rows.isEmpty, rows.count <= 50 else { return nil }
        var cells: [[String]] = []
        for row in rows {
            guard case .array(let values) = row, values.count == rows.count else { return nil }
            cells.append(values.map { Self.number($0).map(SVG.short) ?? "?" })
        }
        var labels = (0..<rows.count).map(String.init)
        if case .array(let given)? = json["labels"] {
            let names = given.compactMap { $0.stringValue ?? Self.number($0).map(SVG.short) }
            if names.count == rows.count { labels = names }
        }
        var out = "<h2>Confusion matrix</h2><div class=\"scroll\"><table class=\"matrix\"><thead><tr><th>actual ↓ / predicted →</th>" + labels.map { "<th class=\"num\">\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for (i, row) in cells.enumerated() { out += "<tr><th>\(HTML.escape(labels[i]))</th>" + row.map { "<td class=\"num\">\(HTML.escape($0))</td>" }.joined() + "</tr>" }
        return out + "</tbody></table></div>"
    }
}
