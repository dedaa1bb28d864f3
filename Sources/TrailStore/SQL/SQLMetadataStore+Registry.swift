import Foundation
import TrailCore

extension SQLMetadataStore {
    public func registeredModel(name: String) async throws -> RegisteredModel? {
        try await read { db in try Self.registeredModels(db, where: "name = ?", [name]).first }
    }

    public func registeredModels(maxResults: Int, offset: Int) async throws -> Page<RegisteredModel> {
        try await read { db in
            let models = try Self.registeredModels(db, where: "1 = 1 ORDER BY name LIMIT ? OFFSET ?", [min(maxResults, 1_000_000) + 1, offset])
            return Page(
                items: Array(models.prefix(maxResults)),
                nextPageToken: models.count > maxResults ? PageToken.encode(offset: offset + maxResults) : nil)
        }
    }

    static func registeredModels(_ db: any SQLDatabase, where clause: String, _ arguments: SQLArguments) throws -> [RegisteredModel] {
        try SQLRow.fetchAll(
            db, sql: "SELECT name, description, creation_time, last_update_time FROM registered_models WHERE \(clause)", arguments: arguments
        )
        .map { row in
            let name: String = row[0]
            var aliases: [String: Int64] = [:]
            for alias in try SQLRow.fetchAll(db, sql: "SELECT alias, version FROM model_aliases WHERE name = ?", arguments: [name]) {
                aliases[alias[0]] = alias[1]
            }
            return RegisteredModel(name: name, description: row[1], creationTimeMillis: row[2], lastUpdatedMillis: row[3], aliases: aliases)
        }
    }

    public func modelVersion(name: String, version: Int64) async throws -> ModelVersion? {
        try await read { db in try Self.modelVersions(db, where: "name = ? AND version = ?", [name, version]).first }
    }

    public func modelVersions(name: String) async throws -> [ModelVersion] {
        try await read { db in try Self.modelVersions(db, where: "name = ? ORDER BY version DESC", [name]) }
    }

    static func modelVersions(_ db: any SQLDatabase, where clause: String, _ arguments: SQLArguments) throws -> [ModelVersion] {
        let rows = try SQLRow.fetchAll(
            db,
            sql: """
                SELECT name, version, run_id, source, manifest_json, stage, description, created_by, creation_time, last_update_time
                FROM model_versions WHERE \(clause)
                """, arguments: arguments)
        return try rows.map { row in
            let name: String = row[0]
            let version: Int64 = row[1]
            let runText: String? = row[2]
            let manifestText: String = row[4]
            let aliases = try String.fetchAll(
                db, sql: "SELECT alias FROM model_aliases WHERE name = ? AND version = ? ORDER BY alias", arguments: [name, version])
            return ModelVersion(
                name: name, version: version, runID: try runText.map { try RunID(parsing: $0) }, source: row[3],
                manifest: try JSONDecoder().decode(ModelManifest.self, from: Data(manifestText.utf8)),
                stage: ModelStage(rawValue: row[5]) ?? .none, description: row[6], createdBy: Self.actor(row[7]), creationTimeMillis: row[8],
                lastUpdatedMillis: row[9], aliases: aliases)
        }
    }

    static func actor(_ text: String) -> Actor {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        return Actor(type: Actor.Kind(rawValue: parts.first ?? "user") ?? .user, id: parts.count > 1 ? parts[1] : text)
    }

    public func registryHistory(name: String) async throws -> [RegistryChange] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql:
                    "SELECT kind, name, key, from_value, to_value, reason, actor, time, event_index FROM registry_history WHERE name = ? ORDER BY seq",
                arguments: [name]
            ).map { row in
                RegistryChange(
                    kind: RegistryChange.Kind(rawValue: row[0]) ?? .alias, name: row[1], key: row[2], from: row[3], to: row[4], reason: row[5],
                    actor: Self.actor(row[6]), timeMillis: row[7], eventIndex: row[8])
            }
        }
    }

    public func policy(name: String, target: String) async throws -> (version: Int64, document: String)? {
        try await read { db in
            try SQLRow.fetchOne(
                db, sql: "SELECT version, document FROM policies WHERE name = ? AND lower(target) = lower(?) ORDER BY seq DESC LIMIT 1",
                arguments: [name, target]
            ).map { (version: $0[0], document: $0[1]) }
        }
    }

    public func metricEvents(run: RunID) async throws -> [String: Int64] {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            let rows = try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT m.key, MAX(m.event_index) FROM metrics m JOIN latest_metrics l
                      ON l.run_pk = m.run_pk AND l.key = m.key AND l.step = m.step AND l.timestamp = m.timestamp AND l.is_nan = m.is_nan
                     AND (l.is_nan = 1 OR l.value IS NOT DISTINCT FROM m.value)
                    WHERE m.run_pk = ? GROUP BY m.key
                    """, arguments: [pk])
            return Dictionary(rows.map { ($0[0] as String, $0[1] as Int64) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func datasetInputEvents(run: RunID) async throws -> [DatasetInputKey: Int64] {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            let rows = try SQLRow.fetchAll(
                db, sql: "SELECT name, digest, context, MIN(event_index) FROM dataset_inputs WHERE run_pk = ? GROUP BY name, digest, context",
                arguments: [pk])
            return Dictionary(
                rows.map { (DatasetInputKey(name: $0[0], digest: $0[1], context: $0[2]), $0[3] as Int64) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func runStateEvent(run: RunID) async throws -> Int64? {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            return try Int64.fetchOne(db, sql: "SELECT MAX(event_index) FROM state_history WHERE entity = 'runs' AND entity_key = ?", arguments: [pk])
        }
    }

    public func modelVersionCreationEvent(name: String, version: Int64) async throws -> Int64? {
        try await read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT MIN(s.event_index) FROM state_history s JOIN model_versions v ON s.entity = 'model_versions' AND s.entity_key = v.pk
                    WHERE v.name = ? AND v.version = ?
                    """, arguments: [name, version])
        }
    }

    public func policyEvent(name: String, target: String, version: Int64) async throws -> Int64? {
        try await read { db in
            try Int64.fetchOne(
                db, sql: "SELECT event_index FROM policies WHERE name = ? AND lower(target) = lower(?) AND version = ? ORDER BY seq LIMIT 1",
                arguments: [name, target, version])
        }
    }

    public func policiesInForce() async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT p.document FROM policies p
                    WHERE p.seq = (SELECT MAX(q.seq) FROM policies q WHERE q.name = p.name AND lower(q.target) = lower(p.target))
                    """)
        }
    }

    public func contributors(owner: ArtifactOwner) async throws -> Set<String> {
        // Every actor whose event wrote facts about the owner: created it, logged metrics,
        // params, tags, inputs, stored files, changed its state. Reads (artifact.get) and
        // refusals wrote nothing.
        let subject: Subject =
            switch owner {
            case .run(let id): Subject(type: "run", id: id.value)
            case .loggedModel(let id): Subject(type: "logged_model", id: id)
            }
        return try await read { db in
            Set(
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT actor_id FROM ledger_events WHERE subject_type = ? AND subject_id = ?
                        AND action != 'artifact.get' AND action NOT LIKE '%.refused'
                        """, arguments: [subject.type, subject.id]))
        }
    }

    public func approvals(name: String, version: Int64) async throws -> [Approval] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT name, version, target, approver, root_digest, decision, comment, time, event_index
                    FROM approvals WHERE name = ? AND version = ? ORDER BY seq
                    """, arguments: [name, version]
            ).map { row in
                Approval(
                    name: row[0], version: row[1], target: row[2], approver: row[3], rootDigest: try Digest(parsing: row[4]), decision: row[5],
                    comment: row[6], timeMillis: row[7], eventIndex: row[8])
            }
        }
    }

    public func trustedKeys() async throws -> [TrustedKey] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT keyid, name, public_key, predicate_types, revoked, actor, time, event_index FROM trusted_keys
                    WHERE seq IN (SELECT MAX(seq) FROM trusted_keys GROUP BY keyid) ORDER BY seq
                    """
            ).map { row in
                TrustedKey(
                    keyID: row[0], name: row[1], publicKeyHex: row[2], predicateTypes: Self.stringList(row[3]), revoked: row[4], actor: row[5],
                    timeMillis: row[6], eventIndex: row[7])
            }
        }
    }

    public func attestations(name: String, version: Int64) async throws -> [Attestation] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT name, version, predicate_type, envelope_digest, payload_digest, subject_digest, keyids, submitted_by, time, event_index
                    FROM attestations WHERE name = ? AND version = ? ORDER BY seq
                    """, arguments: [name, version]
            ).map { row in
                Attestation(
                    name: row[0], version: row[1], predicateType: row[2], envelopeDigest: try Digest(parsing: row[3]),
                    payloadDigest: try Digest(parsing: row[4]), subjectDigest: try Digest(parsing: row[5]), keyIDs: Self.stringList(row[6]),
                    submittedBy: row[7], timeMillis: row[8], eventIndex: row[9])
            }
        }
    }

    static func stringList(_ json: String) -> [String] {
        guard case .array(let items)? = try? JSONValue.parse(Array(json.utf8)) else { return [] }
        return items.compactMap(\.stringValue)
    }
}
