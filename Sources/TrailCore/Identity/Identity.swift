import Foundation

/// What a user may do. Roles are not a ladder: an approver approves, a contributor writes.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    /// An auditor reads everything a viewer reads, and sensitive values in clear.
    case viewer, auditor, contributor, approver, admin

    public static func < (a: Role, b: Role) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// What a route requires; declared where the route is registered (deny by default).
public enum Access: String, Sendable, Codable, CaseIterable {
    /// No credentials needed (health checks).
    case `public`
    /// Any authenticated user.
    case read
    /// Contributors and admins: tracking and registry writes.
    case write
    /// Approvers.
    case approve
    /// Admins: users, tokens, policies.
    case admin

    /// Whether a user with `roles` may pass.
    public func allows(_ roles: Set<Role>) -> Bool {
        switch self {
        case .public: true
        case .read: !roles.isEmpty
        case .write: roles.contains(.contributor) || roles.contains(.admin)
        case .approve: roles.contains(.approver)
        case .admin: roles.contains(.admin)
        }
    }
}

/// A ModelTrail user.
public struct User: Sendable, Hashable, Codable {
    public var name: String
    public var roles: Set<Role>
    public var disabled: Bool
    public var creationTimeMillis: Int64

    public init(name: String, roles: Set<Role>, disabled: Bool, creationTimeMillis: Int64) {
        self.name = name
        self.roles = roles
        self.disabled = disabled
        self.creationTimeMillis = creationTimeMillis
    }

    enum CodingKeys: String, CodingKey { case name, roles, disabled, creationTimeMillis = "creation_time" }
}

/// An API token as stored: only the sha256 of its secret is kept.
public struct TokenInfo: Sendable, Hashable, Codable {
    public var id: String
    public var userName: String
    public var secretDigest: Digest
    public var creationTimeMillis: Int64
    public var expiresMillis: Int64?
    public var revokedMillis: Int64?

    public init(id: String, userName: String, secretDigest: Digest, creationTimeMillis: Int64, expiresMillis: Int64?, revokedMillis: Int64?) {
        self.id = id
        self.userName = userName
        self.secretDigest = secretDigest
        self.creationTimeMillis = creationTimeMillis
        self.expiresMillis = expiresMillis
        self.revokedMillis = revokedMillis
    }

    enum CodingKeys: String, CodingKey {
        case id, userName = "user", secretDigest = "secret_digest", creationTimeMillis = "creation_time", expiresMillis = "expires"
        case revokedMillis = "revoked"
    }
}

/// Who is calling, once authenticated.
public struct Principal: Sendable, Hashable {
    public var actor: Actor
    public var roles: Set<Role>

    public init(actor: Actor, roles: Set<Role>) {
        self.actor = actor
        self.roles = roles
    }
}
