import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailService

/// The web UI at `/ui/`: server-rendered pages over the same services and the same access
/// rules as the API. Pages decide nothing: the services do (an approval from a form goes
/// through the same gate as one from the API).
///
/// `@unchecked Sendable`: the router is only touched while routes are added, before serving;
/// handlers use the home and the configuration, which are Sendable.
struct UIRoutes: @unchecked Sendable {
    let home: TrailHome
    let config: TrailServerConfig
    let table: RouteTable
    let router: Router<TrailRequestContext>
    /// Keys the CSRF token of a local-only server (no session): new at every start.
    static let localKey = SymmetricKey(size: .bits256)

    static let sessionCookie = "trail_session"

    // MARK: - CSRF

    /// The form token of a request's reader: an HMAC of the session secret (so every replica
    /// computes the same one), or of the local identity under a per-process key.
    static func csrf(_ context: TrailRequestContext) -> String {
        if let secret = context.sessionSecret {
            return Array(HMAC<SHA256>.authenticationCode(for: Array("csrf".utf8), using: SymmetricKey(data: Array(secret.utf8)))).hexString
        }
        let who = context.principal?.actor.id ?? "anonymous"
        return Array(HMAC<SHA256>.authenticationCode(for: Array("csrf:\(who)".utf8), using: localKey)).hexString
    }

    static func checkCSRF(_ given: String?, _ context: TrailRequestContext) throws {
        let expected = Array(csrf(context).utf8)
        let presented = Array((given ?? "").utf8)
        var difference: UInt8 = presented.count == expected.count ? 0 : 1
        for (a, b) in zip(presented, expected) { difference |= a ^ b }
        guard difference == 0 else {
            throw TrailError(.permissionDenied, "the form's CSRF token is missing or wrong: reload the page and try again", field: "csrf")
        }
    }

    func pageContext(_ context: TrailRequestContext) -> PageContext {
        PageContext(principal: context.principal, csrf: Self.csrf(context), signedInWithSession: context.sessionSecret != nil)
    }

    // MARK: - Registration

    typealias PageHandler = @Sendable (Request, TrailRequestContext) async throws -> Page

    /// A page: access declared like every route; without credentials the answer is the sign-in
    /// page (401), without the role a 403 page; errors become pages with the API's status.
    func page(_ path: String, _ access: Access, _ handler: @escaping PageHandler) { page(method: .get, path, access, handler) }

    func page(method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping PageHandler) {
        table.declare(method, path, access)
        let identity = home.identity
        let this = self
        router.on(RouterPath(path), method: method) { request, context in
            do {
                try await SecuredRoutes.authorize(access, request, context, identity)
                return try await handler(request, context).response(this.pageContext(context))
            } catch {
                return this.errorPage(ErrorMiddleware<TrailRequestContext>.translate(error), request, context)
            }
        }
    }

    func errorPage(_ error: TrailError, _ request: Request, _ context: TrailRequestContext) -> Response {
        let status = ErrorStatus.status(for: error.code)
        if error.code == .unauthenticated {
            var page = Self.signInPage(next: request.uri.path.hasPrefix("/ui/") ? request.uri.description : "/ui/", error: nil)
            page.status = .unauthorized
            return page.response(pageContext(context))
        }
        let message = error.code == .internalError || error.code == .dataLoss ? "The server could not answer this page (the cause is in its log)." : error.message
        let field = error.field.map { " <span class=\"muted\">(field: \(HTML.escape($0)))</span>" } ?? ""
        let body = "<h1>\(status.code) \(HTML.escape(status.reasonPhrase))</h1><p class=\"error\">\(HTML.escape(message))\(field)</p><p><a href=\"/ui/\">Back to the start page</a></p>"
        return Page(title: "\(status.code)", body: body, status: status).response(pageContext(context))
    }

    func data(_ path: String, _ access: Access, _ handler: @escaping SecuredRoutes.Handler) {
        SecuredRoutes(router: router, prefix: "", table: table, identity: home.identity).get(path, access, handler)
    }

    func add() {
        let root = SecuredRoutes(router: router, prefix: "", table: table, identity: home.identity)
        root.get("", .public) { _, _ in Self.redirect("/ui/") }
        root.get("ui/static/:file", .public) { request, context in
            let name = try context.parameters.require("file")
            guard let file = UIAssets.files[name] else { throw TrailError.notFound("file", name, field: "file") }
            var headers: HTTPFields = [.contentType: file.type, .cacheControl: "public, max-age=3600", .eTag: "\"\(file.sha256)\""]
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            if request.headers[.ifNoneMatch] == "\"\(file.sha256)\"" { return Response(status: .notModified, headers: headers) }
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: file.text)))
        }
        addSignIn()
        page("ui/", .read) { _, _ in try await home() }
        addTracking()
        addRegistry()
        addLineage()
        addLedger()
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: - Sign-in

    static func signInPage(next: String, error: String?) -> Page {
        let failure = error.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? ""
        return Page(
            title: "Sign in",
            body: """
                <h1>Sign in</h1>
                \(failure)
                <p>Paste an API token (<code>trail tokens create USER</code> makes one). It is exchanged for a session of \(IdentityService.sessionSeconds / 3600) hours;
                the token itself is not kept by the browser.</p>
                <form method="post" action="/ui/signin" class="inline">
                <input type="hidden" name="next" value="\(HTML.escape(next))">
                <label for="token">API token<input id="token" type="password" name="token" autocomplete="off" required size="60"></label>
                <button class="primary" type="submit">Sign in</button>
                </form>
                """)
    }

    /// `application/x-www-form-urlencoded` fields (at most 64 KiB of them).
    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 10)
        let text = String(buffer: buffer)
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            let key = decode(parts[0])
            guard !key.isEmpty, out[key] == nil else { continue }
            out[key] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return out
    }

    /// Where to go after signing in: only a page of this UI.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui/"), next.count < 2000, !next.contains("\\"), !next.contains("//"), !next.contains(".."),
            !next.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f })
        else { return "/ui/" }
        return next
    }

    func cookie(_ value: String, maxAge: Int64, request: Request) -> String {
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https" ? "; Secure" : ""
        return "\(Self.sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secure)"
    }

    func addSignIn() {
        let root = SecuredRoutes(router: router, prefix: "", table: table, identity: home.identity)
        let identity = home.identity
        root.get("ui/signin", .public) { request, context in
            Self.signInPage(next: Self.safeNext(request.uri.queryParameters.get("next")), error: nil).response(pageContext(context))
        }
        root.post("ui/signin", .public) { request, context in
            let fields = try await Self.form(request)
            let next = Self.safeNext(fields["next"])
            do {
                let token = (fields["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let session = try await identity.startSession(secret: token)
                return Self.redirect(next, cookie: cookie(session.secret, maxAge: IdentityService.sessionSeconds, request: request))
            } catch let error as TrailError where error.code == .unauthenticated {
                try? await identity.recordDenied(method: "POST", path: "/ui/signin", who: nil, reason: error.message, source: context.remoteAddress)
                // Why is recorded; the page does not tell a stranger whether a token id exists.
                var page = Self.signInPage(next: next, error: "Not signed in: the token was not accepted (unknown, revoked, expired, or a web session).")
                page.status = .unauthorized
                return page.response(pageContext(context))
            }
        }
        root.post("ui/signout", .public) { request, context in
            let fields = try await Self.form(request)
            if let secret = context.sessionSecret {
                try Self.checkCSRF(fields["csrf"], context)
                try await identity.endSession(secret: secret)
            }
            return Self.redirect("/ui/signin", cookie: cookie("", maxAge: 0, request: request))
        }
    }

    // MARK: - Start page

    func home() async throws -> Page {
        let models = try await home.registry.models(maxResults: 100).items
        let experiments = try await home.tracking.experiments(maxResults: 20).items
        var body = "<h1>ModelTrail</h1><p class=\"muted\">Every fact on these pages comes from the ledger, and each can be checked in this browser.</p>"
        body += "<h2>Models</h2>"
        if models.isEmpty {
            body += HTML.empty("No registered models yet. Run <code>trail demo</code>, or register one with <code>trail models register</code> or MLflow's client.")
        } else {
            body += "<div class=\"cards\">"
            for model in models {
                let versions = try await home.registry.versions(model.name)
                body += "<div class=\"card\"><h3>\(HTML.link(model.name, "/ui/models/\(HTML.component(model.name))"))</h3>"
                body += "<p>\(versions.count) version\(versions.count == 1 ? "" : "s")</p><ul>"
                for version in versions where !version.aliases.isEmpty {
                    for alias in version.aliases.sorted() {
                        body += "<li>@\(HTML.escape(alias)) → version \(version.version): "
                        body += HTML.link("lineage", "/ui/lineage/models/\(HTML.component(model.name))", [("ref", alias)]) + "</li>"
                    }
                }
                body += "</ul></div>"
            }
            body += "</div>"
        }
        body += "<h2>Experiments</h2>"
        body += experiments.isEmpty ? HTML.empty("No experiments yet.") : "<ul>" + experiments.map { "<li>" + HTML.link($0.name, "/ui/experiments/\($0.id)") + "</li>" }.joined() + "</ul>"
        return Page(title: "Start", body: body)
    }
}
