import Foundation
import TrailCore
import TrailLedger

/// Applies the registry changes of a batch (`ApplyContext.apply` routes by `Change.concern`).
extension ApplyContext {
    mutating func applyRegistry(_ change: Change) throws {
        switch change {
        case .createRegisteredModel(let name, let description, let time):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM registered_models WHERE name = ?"), arguments: [name]) == true {
                throw TrailError(.resourceAlreadyExists, "registered model '\(name)' already exists", field: "name")
            }
            try db.cachedStatement(
                sql: "INSERT INTO registered_models (name, description, creation_time, last_update_time, event_index) VALUES (?, ?, ?, ?, ?)"
            ).execute(arguments: [name, description, time, time, eventIndex])
            try recordState("registered_models", key: db.lastInsertedRowID)
            changed = true
        case .createModelVersion(let name, let runID, let source, let manifest, let description, let tags, let time):
            let version = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?"), arguments: [name])!
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            try db.cachedStatement(
                sql: """
                    INSERT INTO model_versions (name, version, run_id, source, root_digest, manifest_json, stage, description, created_by,
                        creation_time, last_update_time, event_index) VALUES (?, ?, ?, ?, ?, ?, 'None', ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                name, version, runID?.value, source, manifest.root.description, String(decoding: try encoder.encode(manifest), as: UTF8.self),
                description, actor.description, time, time, eventIndex,
            ])
            try recordState("model_versions", key: db.lastInsertedRowID)
            try touchModel(name, time)
            if !tags.isEmpty { try changeRegistryTags(name, version: version, tags) }
            modelVersion = version
            changed = true
        case .setAlias(let name, let alias, let version, let reason, let time):
            let current = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT version FROM model_aliases WHERE name = ? AND alias = ?"), arguments: [name, alias])
            guard current != version else { return }
            if let version {
                try db.cachedStatement(
                    sql:
                        "INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version"
                ).execute(arguments: [name, alias, version])
            } else {
                try db.cachedStatement(sql: "DELETE FROM model_aliases WHERE name = ? AND alias = ?").execute(arguments: [name, alias])
            }
            try recordRegistryChange(
                name, kind: "alias", key: alias, from: current.map(String.init), to: version.map(String.init), reason: reason, time: time)
            try touchModel(name, time)
        case .setStage(let name, let version, let stage, let archiveExisting, let reason, let time):
            if archiveExisting, stage == .staging || stage == .production {
                let others = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT version FROM model_versions WHERE name = ? AND stage = ? AND version != ? ORDER BY version"),
                    arguments: [name, stage.rawValue, version])
                for other in others {
                    try moveStage(
                        name, other, from: stage.rawValue, to: ModelStage.archived.rawValue,
                        reason: "archived by the promotion of version \(version): \(reason)", time: time)
                }
            }
            guard
                let current = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT stage FROM model_versions WHERE name = ? AND version = ?"), arguments: [name, version]),
                current != stage.rawValue
            else { return }
            try moveStage(name, version, from: current, to: stage.rawValue, reason: reason, time: time)
        case .setPolicy(let name, let target, let document, let time):
            let version = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE name = ? AND target = ?"),
                arguments: [name, target])!
            try db.cachedStatement(
                sql: "INSERT INTO policies (name, target, version, document, time, actor, event_index) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [name, target, version, document, time, actor.description, eventIndex])
            try record("policies", [db.lastInsertedRowID, name, target, version, document, time, actor.description])
            changed = true
        case .recordApproval(let name, let version, let target, let approver, let root, let decision, let comment, let time):
            try db.cachedStatement(
                sql: """
                    INSERT INTO approvals (name, version, target, approver, root_digest, decision, comment, time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [name, version, target, approver, root.description, decision, comment, time, eventIndex])
            try record("approvals", [db.lastInsertedRowID, name, version, target, approver, root.description, decision, comment, time])
            changed = true
        case .setTrustedKey(let keyID, let name, let publicKey, let types, let revoked, let time):
            let typesJSON = JSONValue.array(types.map(JSONValue.string)).canonicalString
            try db.cachedStatement(
                sql: """
                    INSERT INTO trusted_keys (keyid, name, public_key, predicate_types, revoked, actor, time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [keyID, name, publicKey, typesJSON, revoked, actor.description, time, eventIndex])
            try record("trusted_keys", [db.lastInsertedRowID, keyID, name, publicKey, typesJSON, revoked, actor.description, time])
            changed = true
        case .recordAttestation(let a):
            let keyIDs = JSONValue.array(a.keyIDs.map(JSONValue.string)).canonicalString
            try db.cachedStatement(
                sql: """
                    INSERT INTO attestations (name, version, predicate_type, envelope_digest, payload_digest, subject_digest, keyids,
                        submitted_by, time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                a.name, a.version, a.predicateType, a.envelopeDigest.description, a.payloadDigest.description, a.subjectDigest.description, keyIDs,
                a.submittedBy, a.timeMillis, eventIndex,
            ])
            record(
                "attestations",
                [
                    try db.lastInsertedRowID, a.name, a.version, a.predicateType, a.envelopeDigest.description, a.payloadDigest.description,
                    a.subjectDigest.description, keyIDs, a.submittedBy, a.timeMillis,
                ])
            changed = true
        case .changeRegistryTags(let name, let version, let changes):
            try changeRegistryTags(name, version: version, changes)
        case .describeRegistryEntry(let name, let version, let description, let time):
            try describeRegistryEntry(name, version: version, description: description, time: time)
        default:
            throw TrailError.internalError("\(change) is not a registry change")
        }
    }


    mutating func touchModel(_ name: String, _ time: Int64) throws {
        try db.cachedStatement(sql: "UPDATE registered_models SET last_update_time = MAX(last_update_time, ?), event_index = ? WHERE name = ?")
            .execute(arguments: [time, eventIndex, name])
        if let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM registered_models WHERE name = ?"), arguments: [name]) {
            try recordState("registered_models", key: pk)
        }
    }


    mutating func moveStage(_ name: String, _ version: Int64, from: String, to: String, reason: String, time: Int64) throws {
        try db.cachedStatement(
            sql: "UPDATE model_versions SET stage = ?, last_update_time = ?, event_index = ? WHERE name = ? AND version = ?"
        ).execute(arguments: [to, time, eventIndex, name, version])
        if let pk = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT pk FROM model_versions WHERE name = ? AND version = ?"), arguments: [name, version])
        {
            try recordState("model_versions", key: pk)
        }
        try recordRegistryChange(name, kind: "stage", key: String(version), from: from, to: to, reason: reason, time: time)
        try touchModel(name, time)
    }


    mutating func recordRegistryChange(_ name: String, kind: String, key: String, from: String?, to: String?, reason: String, time: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO registry_history (name, kind, key, from_value, to_value, reason, time, actor, event_index)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [name, kind, key, from, to, reason, time, actor.description, eventIndex])
        try record("registry_history", [db.lastInsertedRowID, name, kind, key, from, to, reason, time, actor.description])
        changed = true
    }
}
