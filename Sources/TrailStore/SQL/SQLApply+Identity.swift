import Foundation
import TrailCore
import TrailLedger

/// Applies the identity changes of a batch (`ApplyContext.apply` routes by `Change.concern`).
extension ApplyContext {
    mutating func applyIdentity(_ change: Change) throws {
        switch change {
        case .createUser(let name, let roles, let time):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE name = ?"), arguments: [name]) == true {
                throw TrailError(.resourceAlreadyExists, "user '\(name)' already exists", field: "name")
            }
            try db.cachedStatement(sql: "INSERT INTO users (name, roles, disabled, creation_time, event_index) VALUES (?, ?, 0, ?, ?)")
                .execute(arguments: [name, roles.map(\.rawValue).sorted().joined(separator: ","), time, eventIndex])
            try recordState("users", key: db.lastInsertedRowID)
            changed = true
        case .updateUser(let name, let roles, let disabled):
            guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM users WHERE name = ?"), arguments: [name]) else {
                throw TrailError.notFound("user", name, field: "name")
            }
            try db.cachedStatement(sql: "UPDATE users SET roles = COALESCE(?, roles), disabled = COALESCE(?, disabled), event_index = ? WHERE pk = ?")
                .execute(arguments: [roles.map { $0.map(\.rawValue).sorted().joined(separator: ",") }, disabled, eventIndex, pk])
            try recordState("users", key: pk)
            changed = true
        case .createToken(let token):
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE name = ?"), arguments: [token.userName]) == true else {
                throw TrailError.notFound("user", token.userName, field: "user")
            }
            try db.cachedStatement(
                sql:
                    "INSERT INTO tokens (token_id, user_name, secret_digest, creation_time, expires, revoked, event_index) VALUES (?, ?, ?, ?, ?, NULL, ?)"
            ).execute(arguments: [
                token.id, token.userName, token.secretDigest.description, token.creationTimeMillis, token.expiresMillis, eventIndex,
            ])
            try recordState("tokens", key: db.lastInsertedRowID)
            changed = true
        case .revokeToken(let id, let time):
            guard
                let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM tokens WHERE token_id = ? AND revoked IS NULL"), arguments: [id])
            else { throw TrailError.notFound("active token", id, field: "token_id") }
            try db.cachedStatement(sql: "UPDATE tokens SET revoked = ?, event_index = ? WHERE pk = ?").execute(arguments: [time, eventIndex, pk])
            try recordState("tokens", key: pk)
            changed = true
        default:
            throw TrailError.internalError("\(change) is not a identity change")
        }
    }
}
