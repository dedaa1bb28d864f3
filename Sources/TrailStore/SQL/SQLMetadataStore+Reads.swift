import Foundation
import TrailCore

extension SQLMetadataStore {
    func read<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T {
        do {
            return try await engine.read(body)
        } catch let error as TrailError {
            throw error
        } catch where engine.isUnavailable(error) {
            throw TrailError(.temporarilyUnavailable, "the metadata database cannot be reached; try again", cause: error)
        } catch {
            if ProcessInfo.processInfo.environment["TRAIL_DEBUG_SQL"] != nil { print("SQL error: \(PostgresErrorText.describe(error)) \(String(reflecting: error).prefix(2000))") }
            throw TrailError(.internalError, "the metadata store failed to read", cause: error)
        }
    }

    public func experiment(id: ExperimentID) async throws -> Experiment? {
        try await read { db in try Self.experiments(db, where: "id = ?", [id.value]).first }
    }

    public func experiment(named name: String) async throws -> Experiment? {
        try await read { db in try Self.experiments(db, where: "name = ?", [name]).first }
    }

    public func experiments(view: ViewType, maxResults: Int, offset: Int) async throws -> Page<Experiment> {
        try await read { db in
            let stages = view.stages.map { "'\($0.rawValue)'" }.joined(separator: ",")
            let rows = try Self.experiments(
                db, where: "lifecycle_stage IN (\(stages)) ORDER BY creation_time DESC, id ASC LIMIT ? OFFSET ?",
                [min(maxResults, 1_000_000) + 1, offset])
            let more = rows.count > maxResults
            return Page(items: Array(rows.prefix(maxResults)), nextPageToken: more ? PageToken.encode(offset: offset + maxResults) : nil)
        }
    }

    static func experiments(_ db: any SQLDatabase, where clause: String, _ arguments: SQLArguments) throws -> [Experiment] {
        let rows = try SQLRow.fetchAll(
            db, sql: "SELECT id, name, lifecycle_stage, creation_time, last_update_time FROM experiments WHERE \(clause)", arguments: arguments)
        return try rows.map { row in
            let id: Int64 = row[0]
            let tags = try SQLRow.fetchAll(db, sql: "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key", arguments: [id])
                .map { Tag(key: $0[0], value: $0[1]) }
            return Experiment(
                id: ExperimentID(id), name: row[1], lifecycleStage: LifecycleStage(rawValue: row[2]) ?? .active,
                creationTimeMillis: row[3], lastUpdateTimeMillis: row[4], tags: tags)
        }
    }

    public func experimentTagHistory(id: ExperimentID) async throws -> [TagChange] {
        try await read { db in
            try SQLRow.fetchAll(
                db, sql: "SELECT key, value, time, actor, event_index FROM experiment_tag_history WHERE experiment_id = ? ORDER BY seq",
                arguments: [id.value]
            ).map(Self.tagChange)
        }
    }

    static func tagChange(_ row: SQLRow) -> TagChange {
        TagChange(key: row[0], value: row[1], timeMillis: row[2], actor: Self.actor(row[3]), eventIndex: row[4])
    }

    public func run(id: RunID) async throws -> Run? {
        try await read { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT \(Self.runColumns) FROM runs r WHERE r.run_id = ?", arguments: [id.value]) else {
                return nil
            }
            return try Self.loadRuns(db, rows: [row]).first
        }
    }

    static let runColumns = "r.pk, r.run_id, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.lifecycle_stage"

    /// Builds complete runs (params, latest metrics, tags, inputs) for rows of `runColumns`,
    /// with one query per kind of data for the whole page.
    static func loadRuns(_ db: any SQLDatabase, rows: [SQLRow]) throws -> [Run] {
        guard !rows.isEmpty else { return [] }
        var runs: [Int64: Run] = [:]
        var order: [Int64] = []
        for row in rows {
            let pk: Int64 = row[0]
            let info = RunInfo(
                runID: try RunID(parsing: row[1]), experimentID: ExperimentID(row[2]), name: row[3], userID: row[4],
                status: RunStatus(rawValue: row[5]) ?? .running, startTimeMillis: row[6], endTimeMillis: row[7],
                lifecycleStage: LifecycleStage(rawValue: row[8]) ?? .active)
            runs[pk] = Run(info: info)
            order.append(pk)
        }
        let list = order.map(String.init).joined(separator: ",")
        for row in try SQLRow.fetchAll(db, sql: "SELECT run_pk, key, value FROM params WHERE run_pk IN (\(list)) ORDER BY key") {
            runs[row[0]]?.params.append(Param(key: row[1], value: row[2]))
        }
        for row in try SQLRow.fetchAll(
            db, sql: "SELECT run_pk, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_pk IN (\(list)) ORDER BY key")
        {
            let isNaN: Bool = row[3]
            runs[row[0]]?.metrics.append(Metric(key: row[1], value: isNaN ? .nan : row[2], timestampMillis: row[4], step: row[5]))
        }
        for row in try SQLRow.fetchAll(db, sql: "SELECT run_pk, key, value FROM run_tags WHERE run_pk IN (\(list)) ORDER BY key") {
            runs[row[0]]?.tags.append(Tag(key: row[1], value: row[2]))
        }
        let decoder = JSONDecoder()
        for row in try SQLRow.fetchAll(
            db,
            sql:
                "SELECT run_pk, name, digest, source_type, source, schema_json, profile_json, context FROM dataset_inputs WHERE run_pk IN (\(list)) ORDER BY seq"
        ) {
            let schemaText: String? = row[5]
            let profileText: String? = row[6]
            let context: String = row[7]
            // Native inputs hold ModelTrail's schema shape; MLflow clients send their own, kept verbatim.
            var input = DatasetInput(
                name: row[1], digest: row[2], sourceType: row[3], source: row[4],
                schema: schemaText.flatMap { try? decoder.decode([DatasetInput.Column].self, from: Data($0.utf8)) },
                profile: profileText.flatMap { try? decoder.decode(DatasetInput.Profile.self, from: Data($0.utf8)) },
                context: context.isEmpty ? nil : context)
            if input.schema == nil { input.schemaText = schemaText }
            if input.profile == nil { input.profileText = profileText }
            runs[row[0]]?.inputs.append(input)
        }
        for row in try SQLRow.fetchAll(db, sql: "SELECT run_pk, model_id, direction, step FROM run_model_links WHERE run_pk IN (\(list)) ORDER BY seq") {
            runs[row[0]]?.modelLinks.append(RunModelLink(modelID: row[1], direction: RunModelLink.Direction(rawValue: row[2]) ?? .output, step: row[3]))
        }
        return order.compactMap { runs[$0] }
    }

    public func searchRuns(_ query: RunQuery) async throws -> Page<Run> {
        let compiled = try RunSearchSQL(query, dialect: engine.dialect)
        return try await read { db in
            let rows = try SQLRow.fetchAll(db, sql: compiled.sql, arguments: compiled.arguments)
            let more = rows.count > query.maxResults
            let runs = try Self.loadRuns(db, rows: Array(rows.prefix(query.maxResults)))
            return Page(items: runs, nextPageToken: more ? PageToken.encode(offset: query.offset + query.maxResults) : nil)
        }
    }

    public func metricHistory(run: RunID, key: String, maxResults: Int, offset: Int) async throws -> Page<Metric> {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            let rows = try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT value, is_nan, timestamp, step FROM metrics WHERE run_pk = ? AND key = ?
                    ORDER BY timestamp, step, is_nan, value LIMIT ? OFFSET ?
                    """,
                arguments: [pk, key, min(maxResults, 1_000_000) + 1, offset])
            let points = rows.prefix(maxResults).map { row -> Metric in
                let isNaN: Bool = row[1]
                return Metric(key: key, value: isNaN ? .nan : row[0], timestampMillis: row[2], step: row[3])
            }
            return Page(items: points, nextPageToken: rows.count > maxResults ? PageToken.encode(offset: offset + maxResults) : nil)
        }
    }

    public func runTagHistory(run: RunID) async throws -> [TagChange] {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            return try SQLRow.fetchAll(
                db, sql: "SELECT key, value, time, actor, event_index FROM run_tag_history WHERE run_pk = ? ORDER BY seq", arguments: [pk]
            ).map(Self.tagChange)
        }
    }

    public func artifacts(run: RunID) async throws -> [ArtifactEntry] {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            return try SQLRow.fetchAll(
                db, sql: "SELECT path, digest, size_bytes, created_time FROM artifacts WHERE run_pk = ? ORDER BY path", arguments: [pk]
            ).map(Self.artifactEntry)
        }
    }

    public func artifact(run: RunID, path: ArtifactPath) async throws -> ArtifactEntry? {
        try await read { db in
            let pk = try Self.runPK(run, in: db)
            return try SQLRow.fetchOne(
                db, sql: "SELECT path, digest, size_bytes, created_time FROM artifacts WHERE run_pk = ? AND path = ?",
                arguments: [pk, path.value]
            ).map(Self.artifactEntry)
        }
    }

    static func artifactEntry(_ row: SQLRow) throws -> ArtifactEntry {
        ArtifactEntry(
            path: try ArtifactPath(validating: row[0]), digest: try Digest(parsing: row[1]), sizeBytes: row[2], createdMillis: row[3])
    }

    public func referencedDigests() async throws -> Set<Digest> {
        try await read { db in
            Set(try String.fetchAll(db, sql: "SELECT digest FROM artifacts UNION SELECT digest FROM logged_model_artifacts UNION SELECT envelope_digest FROM attestations UNION SELECT body_digest FROM openlineage_events").compactMap { try? Digest(parsing: $0) })
        }
    }

    public func eventCount() async throws -> Int64 {
        // Indexes are gapless from 0 (the writer allocates MAX + 1), so the count is MAX + 1: one
        // primary-key lookup instead of a scan (the server asks every second).
        try await read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx), -1) + 1 FROM ledger_events") ?? 0 }
    }

    public func events(from: Int64, to: Int64) async throws -> [StoredEvent] {
        try await read { db in
            // A cursor decodes each row in place (no copied rows): this is the verifier's and the
            // export's hot path over millions of events.
            let cursor = try SQLRow.fetchCursor(
                db,
                sql:
                    "SELECT idx, event_id, action, actor_type, actor_id, subject_type, subject_id, time, body FROM ledger_events WHERE idx >= ? AND idx < ? ORDER BY idx",
                arguments: [from, to])
            var events: [StoredEvent] = []
            events.reserveCapacity(Int(clamping: max(0, min(to - from, 100_000))))
            while let row = try cursor.next() {
                let actorType: String = row[3]
                let body: [UInt8] = (row[8] as Data?).map { Array($0) } ?? []
                events.append(
                    StoredEvent(
                        index: row[0], eventID: row[1], action: row[2], actor: Actor(type: Actor.Kind(rawValue: actorType) ?? .user, id: row[4]),
                        subject: Subject(type: row[5], id: row[6]), timeMillis: row[7], body: body, actorTypeColumn: actorType))
            }
            return events
        }
    }
}
