import Crypto
import Foundation
import TrailCore
import TrailStore

/// Users, roles and API tokens, and turning presented credentials into a `Principal`.
///
/// A token's secret (`mtk_<id>_<random>`) is returned once, at creation; only its sha256 is
/// stored and no event ever holds it. Failed authentications and authorisations are recorded
/// as `auth.denied` events.
public struct IdentityService: Sendable {
    /// The longest a token may be valid: 100 years.
    public static let maxTokenDays: Int64 = 36_500

    public let store: any MetadataStore
    public let clock: any TrailClock
    /// Bounds how many refusals one source can write to the ledger.
    public let deniedLimiter: DeniedLimiter

    public init(store: any MetadataStore, clock: any TrailClock = SystemClock(), deniedLimiter: DeniedLimiter = DeniedLimiter()) {
        self.store = store
        self.clock = clock
        self.deniedLimiter = deniedLimiter
    }

    static func checkUserName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 128, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-@".contains($0) }) else {
            throw TrailError.invalid("name", "user name must be 1 to 128 letters, digits or . _ - @")
        }
    }

    public func createUser(name: String, roles: Set<Role>, actor: Actor) async throws -> User {
        try Self.checkUserName(name)
        guard !roles.isEmpty else { throw TrailError.invalid("roles", "give at least one role: viewer, auditor, contributor, approver, admin") }
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                changes: [.createUser(name: name, roles: roles, timeMillis: now)],
                event: EventDraft(
                    action: "user.create", actor: actor, timeMillis: now, subject: Subject(type: "user", id: name),
                    facts: ["roles": .array(roles.map(\.rawValue).sorted().map(JSONValue.string))])))
        return try await user(name)
    }

    public func user(_ name: String) async throws -> User {
        guard let user = try await store.user(name: name) else { throw TrailError.notFound("user", name, field: "name") }
        return user
    }

    public func users() async throws -> [User] { try await store.users() }

    public func setRoles(name: String, roles: Set<Role>, actor: Actor) async throws -> User {
        guard !roles.isEmpty else { throw TrailError.invalid("roles", "give at least one role") }
        let current = try await user(name)
        if current.roles.contains(.admin), !roles.contains(.admin), !current.disabled {
            let admins = try await users().filter { $0.roles.contains(.admin) && !$0.disabled }
            guard admins.count > 1 else {
                throw TrailError.invalid("roles", "\(name) is the last admin; give another user the admin role first")
            }
        }
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                changes: [.updateUser(name: name, roles: roles, disabled: nil)],
                event: EventDraft(
                    action: "user.roles", actor: actor, timeMillis: now, subject: Subject(type: "user", id: name),
                    facts: ["roles": .array(roles.map(\.rawValue).sorted().map(JSONValue.string))])))
        return try await user(name)
    }

    /// Creates a token for `user`; the returned secret is shown once and never stored.
    public func createToken(user: String, expiresInSeconds: Int64? = nil, actor: Actor) async throws -> (secret: String, token: TokenInfo) {
        try await issueToken(user: user, expiresInSeconds: expiresInSeconds, actor: actor, action: "token.create", facts: [:])
    }

    func issueToken(
        user: String, expiresInSeconds: Int64?, actor: Actor, action: String, facts extra: [String: JSONValue], id chosen: String? = nil
    ) async throws -> (secret: String, token: TokenInfo) {
        _ = try await self.user(user)
        if let expiresInSeconds, expiresInSeconds <= 0 || expiresInSeconds > Self.maxTokenDays * 86400 {
            throw TrailError.invalid("expires", "expiry must be positive and at most \(Self.maxTokenDays) days (100 years)")
        }
        let id = chosen ?? "t" + Array(SHA256.hash(data: Array(UUID().uuidString.utf8))).prefix(6).hexString
        var random = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in random.indices { random[i] = UInt8.random(in: 0...255, using: &generator) }
        let secret = "mtk_\(id)_" + random.hexString
        let now = clock.nowMillis()
        let token = TokenInfo(
            id: id, userName: user, secretDigest: Digest.of(Array(secret.utf8)), creationTimeMillis: now,
            expiresMillis: expiresInSeconds.map { now + $0 * 1000 }, revokedMillis: nil)
        _ = try await store.apply(
            WriteBatch(
                changes: [.createToken(token)],
                event: EventDraft(
                    action: action, actor: actor, timeMillis: now, subject: Subject(type: "user", id: user),
                    facts: .object(
                        extra.merging(["token_id": .string(id), "expires": token.expiresMillis.map(JSONValue.int) ?? .null]) { _, new in new }))))
        return (secret, token)
    }

    public func revokeToken(id: String, actor: Actor) async throws {
        guard let token = try await store.token(id: id) else { throw TrailError.notFound("token", id, field: "token_id") }
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                changes: [.revokeToken(id: id, timeMillis: now)],
                event: EventDraft(
                    action: "token.revoke", actor: actor, timeMillis: now, subject: Subject(type: "user", id: token.userName),
                    facts: ["token_id": .string(id)])))
    }

    public func tokens(user: String? = nil) async throws -> [TokenInfo] { try await store.tokens(user: user) }

    /// How long a web sign-in lasts.
    public static let sessionSeconds: Int64 = 12 * 3600

    /// Signs in to the web UI: the presented API token is checked, and a short-lived token of
    /// the same user is created for the session cookie (`session.start`, naming the token it was
    /// exchanged for). A session's id is `s<parent token id>-<random>`: it opens nothing once
    /// its parent token is revoked or expired, cannot itself be exchanged for a new session, and
    /// is not accepted as an API token. Sessions live in the store, so every replica knows them.
    public func startSession(secret: String) async throws -> (secret: String, principal: Principal, token: TokenInfo) {
        let principal = try await authenticate(secret: secret)
        let parent = String(secret.split(separator: "_").dropFirst().first ?? "")
        var random = [UInt8](repeating: 0, count: 6)
        var generator = SystemRandomNumberGenerator()
        for i in random.indices { random[i] = UInt8.random(in: 0...255, using: &generator) }
        let (sessionSecret, token) = try await issueToken(
            user: principal.actor.id, expiresInSeconds: Self.sessionSeconds, actor: principal.actor, action: "session.start",
            facts: ["via_token_id": .string(parent)], id: "s\(parent)-\(random.hexString)")
        return (sessionSecret, principal, token)
    }

    /// The parent token id of a session token id (`s<parent>-<random>`), nil for an API token.
    static func sessionParent(_ tokenID: Substring) -> String? {
        guard tokenID.hasPrefix("s"), let dash = tokenID.lastIndex(of: "-") else { return nil }
        return String(tokenID[tokenID.index(after: tokenID.startIndex)..<dash])
    }

    /// The principal of a web session's secret: the session token and the token it was
    /// exchanged for must both still be valid.
    public func authenticateSession(secret: String) async throws -> Principal {
        let parts = secret.split(separator: "_")
        guard parts.count == 3, let parent = Self.sessionParent(parts[1]) else {
            throw TrailError(.unauthenticated, "not a web session")
        }
        let principal = try await check(secret: secret)
        guard let (token, user) = try await store.credential(tokenID: parent), user.name == principal.actor.id else {
            throw TrailError(.unauthenticated, "the token this session came from does not exist")
        }
        if token.revokedMillis != nil { throw TrailError(.unauthenticated, "the token this session came from was revoked") }
        if let expires = token.expiresMillis, expires <= clock.nowMillis() {
            throw TrailError(.unauthenticated, "the token this session came from has expired")
        }
        return principal
    }

    /// Signs out: the session's token is revoked (`session.end`); a revoked session opens nothing.
    public func endSession(secret: String) async throws {
        let principal = try await authenticateSession(secret: secret)
        let parts = secret.split(separator: "_")
        guard parts.count == 3 else { return }
        let id = String(parts[1])
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                changes: [.revokeToken(id: id, timeMillis: now)],
                event: EventDraft(
                    action: "session.end", actor: principal.actor, timeMillis: now, subject: Subject(type: "user", id: principal.actor.id),
                    facts: ["token_id": .string(id)])))
    }

    /// The principal a token secret stands for. Throws `UNAUTHENTICATED` for an unknown,
    /// revoked or expired token or a disabled user, naming which without revealing the secret.
    public func authenticate(secret: String) async throws -> Principal {
        let parts = secret.split(separator: "_")
        if parts.count == 3, Self.sessionParent(parts[1]) != nil {
            throw TrailError(.unauthenticated, "a web session is not an API token")
        }
        return try await check(secret: secret)
    }

    /// Checks a token secret of either kind against its stored digest, expiry and user.
    func check(secret: String) async throws -> Principal {
        let parts = secret.split(separator: "_")
        guard parts.count == 3, parts[0] == "mtk", let (token, user) = try await store.credential(tokenID: String(parts[1])) else {
            throw TrailError(.unauthenticated, "the token is not a ModelTrail token or does not exist")
        }
        guard constantTimeEqual(Array(Digest.of(Array(secret.utf8)).hex.utf8), Array(token.secretDigest.hex.utf8)) else {
            throw TrailError(.unauthenticated, "the token does not match")
        }
        if token.revokedMillis != nil { throw TrailError(.unauthenticated, "token \(token.id) was revoked") }
        if let expires = token.expiresMillis, expires <= clock.nowMillis() { throw TrailError(.unauthenticated, "token \(token.id) has expired") }
        if user.disabled { throw TrailError(.unauthenticated, "user \(user.name) is disabled") }
        return Principal(actor: .user(user.name), roles: user.roles)
    }

    /// Basic auth (MLflow's `MLFLOW_TRACKING_USERNAME`/`PASSWORD`): the password is a token of that user.
    public func authenticate(user: String, password: String) async throws -> Principal {
        let principal = try await authenticate(secret: password)
        guard principal.actor.id == user else { throw TrailError(.unauthenticated, "the token does not belong to user \(user)") }
        return principal
    }

    /// Records a refused request: who tried (if known), what, and why.
    /// Records a refused request as `auth.denied`: a bounded summary (the path's first 200
    /// characters, its length and sha256), at most `DeniedLimiter.perSourcePerMinute` events a
    /// minute for one source; the refusals past that are counted and the count is recorded with
    /// the source's next recorded refusal. The ledger cannot be grown without bound by anyone
    /// who can reach the port.
    public func recordDenied(method: String, path: String, who: String?, reason: String, source: String? = nil) async throws {
        let now = clock.nowMillis()
        let key = source ?? who ?? "unknown"
        guard let suppressed = deniedLimiter.admit(key, nowMillis: now) else { return }
        let bytes = Array(path.utf8)
        var shown = String(decoding: bytes.prefix(200), as: UTF8.self)
        if shown.unicodeScalars.last == "\u{FFFD}" { shown = String(shown.dropLast()) }
        var facts: [String: JSONValue] = ["reason": .string(String(reason.prefix(300)))]
        if bytes.count > 200 {
            facts["path_bytes"] = .int(Int64(bytes.count))
            facts["path_sha256"] = .string(Digest.of(bytes).description)
        }
        if let source { facts["source"] = .string(String(source.prefix(100))) }
        if suppressed > 0 { facts["suppressed_before"] = .int(Int64(suppressed)) }
        _ = try await store.record(
            EventDraft(
                action: "auth.denied", actor: who.map { .user(String($0.prefix(100))) } ?? .service("anonymous"), timeMillis: now,
                subject: Subject(type: "route", id: "\(method.prefix(16)) \(shown)"), facts: .object(facts)))
    }

    func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// Per-source rate limit for recorded refusals: at most `perSourcePerMinute` `auth.denied`
/// events a minute per source (and `totalPerMinute` over all sources); the rest are counted,
/// and the count goes into the source's next recorded refusal (`suppressed_before`).
public final class DeniedLimiter: @unchecked Sendable {
    public let perSourcePerMinute: Int
    public let totalPerMinute: Int
    private let lock = NSLock()
    private var minute: Int64 = -1
    private var recorded: [String: Int] = [:]
    private var total = 0
    private var suppressed: [String: Int] = [:]

    public init(perSourcePerMinute: Int = 30, totalPerMinute: Int = 600) {
        self.perSourcePerMinute = perSourcePerMinute
        self.totalPerMinute = totalPerMinute
    }

    /// Nil: do not record (counted as suppressed). Otherwise how many refusals of this source
    /// were suppressed before this one.
    public func admit(_ source: String, nowMillis: Int64) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let current = nowMillis / 60_000
        if current != minute {
            minute = current
            recorded.removeAll(keepingCapacity: true)
            total = 0
            if suppressed.count > 10_000 { suppressed.removeAll() }
        }
        guard recorded[source, default: 0] < perSourcePerMinute, total < totalPerMinute else {
            suppressed[source, default: 0] &+= 1
            return nil
        }
        recorded[source, default: 0] += 1
        total += 1
        return suppressed.removeValue(forKey: source) ?? 0
    }
}
