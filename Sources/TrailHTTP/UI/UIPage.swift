import Foundation
import HTTPTypes
import Hummingbird
import TrailCore

/// HTML for the web UI. Every value goes through `escape` (or an attribute helper that does):
/// a run named `<script>` is text on the page, never markup.
enum HTML {
    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    /// A path segment or query value, percent-encoded (then safe in an attribute).
    static func component(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `href="…"` for a path and query items, both escaped.
    static func href(_ path: String, _ query: [(String, String)] = []) -> String {
        let q = query.filter { !$0.1.isEmpty }.map { "\(component($0.0))=\(component($0.1))" }.joined(separator: "&")
        return escape(q.isEmpty ? path : "\(path)?\(q)")
    }

    static func link(_ text: String, _ path: String, _ query: [(String, String)] = []) -> String {
        "<a href=\"\(href(path, query))\">\(escape(text))</a>"
    }

    /// A time in the reader's time zone (set by app.js), with the UTC time as the fallback text.
    static func time(_ millis: Int64?) -> String {
        guard let millis else { return "<span class=\"muted\">—</span>" }
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = iso.string(from: date)
        return "<time datetime=\"\(text)\" title=\"\(text)\">\(escape(text.replacingOccurrences(of: "T", with: " ")))</time>"
    }

    /// A long id shortened, its full value on hover and in a copy button.
    static func id(_ value: String, keep: Int = 12, link: String? = nil) -> String {
        let shown = value.count > keep + 1 ? String(value.prefix(keep)) + "…" : value
        let code = "<code title=\"\(escape(value))\">\(escape(shown))</code>"
        let body = link.map { "<a href=\"\(escape($0))\">\(code)</a>" } ?? code
        return "<span class=\"id\">\(body)<button type=\"button\" class=\"copy\" data-copy=\"\(escape(value))\" aria-label=\"copy \(escape(value))\">copy</button></span>"
    }

    static func number(_ value: Double) -> String { escape(JSONValue.ecmaScriptNumber(value)) }

    static func empty(_ text: String) -> String { "<p class=\"empty\">\(text)</p>" }

    static func mark(_ ok: Bool) -> String { ok ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗</span>" }
}

/// What every page knows of its reader.
struct PageContext {
    var principal: Principal?
    var csrf: String
    var signedInWithSession: Bool
}

/// A whole page: layout, navigation, who is signed in, and the security headers of every page.
struct Page {
    var title: String
    var body: String
    var status: HTTPResponse.Status = .ok

    /// No inline script or style, nothing from elsewhere, no framing.
    static let policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func render(_ context: PageContext) -> String {
        var who = ""
        if let principal = context.principal {
            let roles = principal.roles.map(\.rawValue).sorted().joined(separator: ", ")
            who = "<span>\(HTML.escape(principal.actor.id)) <span class=\"muted\">(\(HTML.escape(roles)))</span></span>"
            if context.signedInWithSession {
                who += "<form method=\"post\" action=\"/ui/signout\"><input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(context.csrf))\"><button type=\"submit\">Sign out</button></form>"
            }
        } else {
            who = "<a href=\"/ui/signin\">Sign in</a>"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · ModelTrail</title><link rel="icon" href="data:,">
            <link rel="stylesheet" href="/ui/static/app.css?v=\(UIAssets.files["app.css"]!.sha256.prefix(12))">
            <script type="module" src="/ui/static/app.js?v=\(UIAssets.files["app.js"]!.sha256.prefix(12))"></script>
            </head><body>
            <header><nav aria-label="main">
            <a class="brand" href="/ui/">ModelTrail</a>
            <a href="/ui/experiments">Experiments</a>
            <a href="/ui/models">Models</a>
            <a href="/ui/lineage">Lineage</a>
            <a href="/ui/ledger">Ledger</a>
            <a href="/ui/trace">Prediction trace</a>
            <span class="who">\(who)</span>
            </nav></header>
            <main id="main">
            \(body)
            </main></body></html>
            """
    }

    func response(_ context: PageContext) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("Content-Security-Policy")!] = Self.policy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: render(context))))
    }
}
