import Foundation
import TrailCore

extension SQLMetadataStore {
    static func user(_ row: SQLRow) -> User {
        let roles: String = row[1]
        return User(
            name: row[0], roles: Set(roles.split(separator: ",").compactMap { Role(rawValue: String($0)) }), disabled: row[2],
            creationTimeMillis: row[3])
    }

    static func token(_ row: SQLRow) throws -> TokenInfo {
        TokenInfo(
            id: row[0], userName: row[1], secretDigest: try Digest(parsing: row[2]), creationTimeMillis: row[3], expiresMillis: row[4],
            revokedMillis: row[5])
    }

    public func user(name: String) async throws -> User? {
        try await read { db in
            try SQLRow.fetchOne(db, sql: "SELECT name, roles, disabled, creation_time FROM users WHERE name = ?", arguments: [name]).map(Self.user)
        }
    }

    public func users() async throws -> [User] {
        try await read { db in try SQLRow.fetchAll(db, sql: "SELECT name, roles, disabled, creation_time FROM users ORDER BY name").map(Self.user) }
    }

    public func token(id: String) async throws -> TokenInfo? {
        try await read { db in
            try SQLRow.fetchOne(
                db, sql: "SELECT token_id, user_name, secret_digest, creation_time, expires, revoked FROM tokens WHERE token_id = ?", arguments: [id]
            ).map(Self.token)
        }
    }

    public func credential(tokenID id: String) async throws -> (TokenInfo, User)? {
        try await read { db in
            guard
                let row = try SQLRow.fetchOne(
                    db, sql: "SELECT token_id, user_name, secret_digest, creation_time, expires, revoked FROM tokens WHERE token_id = ?",
                    arguments: [id])
            else { return nil }
            let token = try Self.token(row)
            guard
                let user = try SQLRow.fetchOne(
                    db, sql: "SELECT name, roles, disabled, creation_time FROM users WHERE name = ?", arguments: [token.userName]
                ).map(Self.user)
            else { return nil }
            return (token, user)
        }
    }

    public func tokens(user: String?) async throws -> [TokenInfo] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql:
                    "SELECT token_id, user_name, secret_digest, creation_time, expires, revoked FROM tokens WHERE ? IS NULL OR user_name = ? ORDER BY pk",
                arguments: [user, user]
            ).map(Self.token)
        }
    }
}
