import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailService

/// The request context: Hummingbird's core plus who is calling.
public struct TrailRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware` from the request's credentials (or the local identity in
    /// local-only mode); nil when none were presented.
    public var principal: Principal?
    /// The peer's address (for bounding recorded refusals per source).
    public var remoteAddress: String?
    /// The web session's secret when the principal came from the session cookie.
    public var sessionSecret: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
        sessionSecret = nil
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The acting identity: always the authenticated one, never a name from a request body.
    public var actor: Actor { principal?.actor ?? .service("anonymous") }

    /// How sensitive values are shown to this caller: in clear for auditors and admins,
    /// masked for everyone else (and for nobody authenticated).
    public var reader: Reader { Reader(roles: principal?.roles ?? []) }
}

/// Every route's declared access, keyed `METHOD /path` as the router lists routes. Deny by
/// default: a route is only reachable through `SecuredRoutes`, which declares it here.
public final class RouteTable: @unchecked Sendable {
    private let lock = NSLock()
    private var declared: [String: Access] = [:]

    public init() {}

    func declare(_ method: HTTPRequest.Method, _ path: String, _ access: Access) {
        lock.lock()
        declared["\(method) \(RouterPath(path))"] = access
        lock.unlock()
    }

    /// The declaration for a route as the router describes it (`GET /api/v1/runs/:run_id`).
    public func access(for route: String) -> Access? {
        lock.lock()
        defer { lock.unlock() }
        return declared[route]
    }
}

/// Registers routes with their access declaration and enforces it before the handler runs.
/// Refusals are recorded in the ledger (`auth.denied`).
struct SecuredRoutes {
    let router: Router<TrailRequestContext>
    let prefix: String
    let table: RouteTable
    let identity: IdentityService

    typealias Handler = @Sendable (Request, TrailRequestContext) async throws -> Response

    func on(_ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping Handler) {
        let full = prefix.isEmpty ? path : "\(prefix)/\(path)"
        table.declare(method, full, access)
        let identity = identity
        router.on(RouterPath(full), method: method) { request, context in
            try await Self.authorize(access, request, context, identity)
            return try await handler(request, context)
        }
    }

    func get(_ path: String, _ access: Access, _ handler: @escaping Handler) { on(.get, path, access, handler) }
    func post(_ path: String, _ access: Access, _ handler: @escaping Handler) { on(.post, path, access, handler) }
    func put(_ path: String, _ access: Access, _ handler: @escaping Handler) { on(.put, path, access, handler) }
    func patch(_ path: String, _ access: Access, _ handler: @escaping Handler) { on(.patch, path, access, handler) }
    func delete(_ path: String, _ access: Access, _ handler: @escaping Handler) { on(.delete, path, access, handler) }

    static func authorize(_ access: Access, _ request: Request, _ context: TrailRequestContext, _ identity: IdentityService) async throws {
        if access == .public { return }
        guard let principal = context.principal else {
            try? await identity.recordDenied(
                method: request.method.rawValue, path: request.uri.path, who: nil, reason: "no credentials", source: context.remoteAddress)
            throw TrailError(
                .unauthenticated, "this endpoint needs a token: send 'Authorization: Bearer <token>' (create one with 'trail tokens create USER')")
        }
        guard access.allows(principal.roles) else {
            let needed = access == .write ? "contributor or admin" : access.rawValue == "approve" ? "approver" : access.rawValue
            try? await identity.recordDenied(
                method: request.method.rawValue, path: request.uri.path, who: principal.actor.id, reason: "needs the \(needed) role",
                source: context.remoteAddress)
            throw TrailError(.permissionDenied, "\(principal.actor.id) lacks the \(needed) role this endpoint needs")
        }
    }
}

/// Turns `Authorization` headers into a principal: `Bearer <token>`, or `Basic` with a user
/// name and that user's token as password (MLflow's client). Local-only servers act as their
/// local identity (all roles) when no credentials are sent.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = TrailRequestContext
    let identity: IdentityService
    let localPrincipal: Principal?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            do {
                if header.hasPrefix("Bearer ") {
                    context.principal = try await identity.authenticate(secret: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
                } else if header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))),
                    let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
                {
                    context.principal = try await identity.authenticate(
                        user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
                } else {
                    throw TrailError(.unauthenticated, "use 'Authorization: Bearer <token>' or Basic with your user name and token")
                }
            } catch let error as TrailError {
                try? await identity.recordDenied(
                    method: request.method.rawValue, path: request.uri.path, who: nil, reason: error.message, source: context.remoteAddress)
                throw error
            }
        } else if let secret = request.cookies[UIRoutes.sessionCookie]?.value, !secret.isEmpty {
            // A web session (see UIRoutes). An expired or revoked one opens nothing: the pages
            // then ask to sign in again.
            if let principal = try? await identity.authenticateSession(secret: secret) {
                context.principal = principal
                context.sessionSecret = secret
                // A cookie is sent by the browser on its own: a write outside the UI's forms
                // (which carry their token in the form) needs the page's token in a header.
                if ![.get, .head].contains(request.method), !request.uri.path.hasPrefix("/ui/") {
                    guard request.headers[HTTPField.Name("X-CSRF-Token")!] == UIRoutes.csrf(context) else {
                        throw TrailError(.permissionDenied, "a write with the session cookie needs the page's X-CSRF-Token header", field: "X-CSRF-Token")
                    }
                }
            } else {
                context.principal = localPrincipal
            }
        } else {
            context.principal = localPrincipal
        }
        return try await next(request, context)
    }
}

/// Refuses a NUL character anywhere in the request target (`%00` in the path or the query).
/// SQLite compares text only up to a NUL, so `bob%00evil` would change `bob` while the ledger
/// names `bob\0evil`: no identifier may carry one. JSON bodies are checked in `JSONResponse`.
struct NULMiddleware: RouterMiddleware {
    typealias Context = TrailRequestContext

    static func containsEncodedNUL(_ text: Substring) -> Bool {
        var bytes = text.utf8.makeIterator()
        var state = 0
        while let byte = bytes.next() {
            switch (state, byte) {
            case (_, UInt8(ascii: "%")): state = 1
            case (1, UInt8(ascii: "0")): state = 2
            case (2, UInt8(ascii: "0")): return true
            default: state = 0
            }
        }
        return false
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.containsEncodedNUL(Substring(request.uri.description)) {
            throw TrailError.invalid("path", "a NUL character (%00) is not accepted anywhere in a request's path or query")
        }
        return try await next(request, context)
    }
}

/// Refuses what a web page could make a browser send: a request from another origin
/// (`Origin` or `Sec-Fetch-Site` says so), and — on a server bound to loopback, where DNS
/// rebinding is the way in — a `Host` that is not this server's loopback name. Runs before
/// authentication, so a local-only server's ambient identity is never lent to a web page.
struct BrowserBoundaryMiddleware: RouterMiddleware {
    typealias Context = TrailRequestContext
    let host: String
    let port: Int

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
    }

    /// `name` or `name:port` with a loopback name (and this server's port, when it has a fixed one).
    func allowedHost(_ value: String) -> Bool {
        var name = value.lowercased()
        var givenPort: String?
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let rest = name[name.index(after: close)...]
            if rest.hasPrefix(":") { givenPort = String(rest.dropFirst()) } else if !rest.isEmpty { return false }
            name = String(name[...close])
        } else if let colon = name.lastIndex(of: ":") {
            givenPort = String(name[name.index(after: colon)...])
            name = String(name[..<colon])
        }
        guard Self.isLoopback(name) || name == self.host.lowercased() else { return false }
        if port != 0, port != 80 { return givenPort == String(port) }
        return givenPort == nil || port == 0 || givenPort == String(port)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!]?.lowercased(), site == "cross-site" || site == "same-site" {
            throw TrailError(.permissionDenied, "cross-site requests are refused (Sec-Fetch-Site: \(site))", field: "Sec-Fetch-Site")
        }
        let hostHeader = request.head.authority
        if let origin = request.headers[.origin] {
            // The same host, over plain HTTP or through a TLS-terminating proxy.
            let expected = hostHeader.map { ["http://\($0)".lowercased(), "https://\($0)".lowercased()] } ?? []
            guard expected.contains(origin.lowercased()) else {
                throw TrailError(.permissionDenied, "cross-origin requests are refused (Origin: \(origin.prefix(100)))", field: "Origin")
            }
        }
        if Self.isLoopback(host), let hostHeader, !allowedHost(hostHeader) {
            throw TrailError(
                .permissionDenied, "this server answers only to its loopback address; Host '\(hostHeader.prefix(100))' is refused", field: "Host")
        }
        return try await next(request, context)
    }
}
