import Foundation
import TrailCore
import TrailStore

/// Where a home keeps its metadata: SQLite in the home (`HOME/trail.sqlite`, the default), or a
/// PostgreSQL database shared by several servers. The choice is recorded in `HOME/store.json`
/// the first time PostgreSQL is named (host, port, database, user; never the password), so
/// every later command on the home reads the same database, and another one is refused instead
/// of silently splitting the record.
public struct StoreSettings: Sendable {
    /// `postgres://user:password@host:port/database` (`--store`, `$TRAIL_STORE`); nil: whatever
    /// the home recorded. Without a password in it, `$PGPASSWORD` is used.
    public var uri: String?
    public var environment: [String: String]

    public init(uri: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        func nonEmpty(_ value: String?) -> String? { value?.isEmpty == false ? value : nil }
        self.uri = nonEmpty(uri) ?? nonEmpty(environment["TRAIL_STORE"])
        self.environment = environment
    }

    struct Record: Codable, Equatable {
        var store: String
    }

    /// Opens the home's metadata store under these settings (migrating it).
    func open(home url: URL) async throws -> SQLMetadataStore {
        let recordPath = url.appendingPathComponent("store.json")
        let sqlitePath = url.appendingPathComponent("trail.sqlite")
        var recorded: PostgresLocation?
        if let data = FileManager.default.contents(atPath: recordPath.path) {
            do {
                let record = try JSONDecoder().decode(Record.self, from: data)
                let location = try PostgresLocation(record.store)
                guard location.password == nil, location.description == record.store else {
                    throw TrailError.invalid("store", "not in canonical form")
                }
                recorded = location
            } catch {
                throw TrailError(.internalError, "\(recordPath.path) is not a valid store record (\(error)); restore it from a backup")
            }
        }
        guard let uri else {
            guard var recorded else { return try SQLMetadataStore(path: sqlitePath.path) }
            recorded.password = environment["PGPASSWORD"]
            return try await SQLMetadataStore(postgres: recorded)
        }
        guard PostgresLocation.isPostgres(uri) else {
            throw TrailError.invalid("store", "expected postgres://user:password@host:port/database (the default, SQLite in the home, needs no flag)")
        }
        var location = try PostgresLocation(uri)
        if location.password == nil { location.password = environment["PGPASSWORD"] }
        if let recorded {
            guard recorded.description == location.description else {
                throw TrailError.invalid("store", "this home keeps its metadata in \(recorded), not \(location); one home has one store")
            }
        } else if FileManager.default.fileExists(atPath: sqlitePath.path) {
            throw TrailError.invalid(
                "store", "this home already keeps its metadata in \(sqlitePath.path); use a new home for \(location)")
        }
        let store = try await SQLMetadataStore(postgres: location)
        if recorded == nil {
            // Recorded only once the database answered, so a typo never binds a home.
            let data = try JSONEncoder().encode(Record(store: location.description))
            do {
                try data.write(to: recordPath, options: .atomic)
            } catch {
                throw TrailError(.internalError, "cannot record the home's store in \(recordPath.path)", cause: error)
            }
        }
        return store
    }
}

extension StoreSettings {
    /// For test suites: with `TRAIL_TEST_BACKEND=postgres` and `TRAIL_TEST_POSTGRES` naming a
    /// server, a database of its own on that server (so the same suites run on both backends);
    /// otherwise the default (SQLite in the home).
    public static func testing(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> StoreSettings {
        guard environment["TRAIL_TEST_BACKEND"] == "postgres", let server = environment["TRAIL_TEST_POSTGRES"] else {
            return StoreSettings(environment: [:])
        }
        let location = try PostgresLocation(server, field: "TRAIL_TEST_POSTGRES")
        let name = "trail_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await location.createDatabase(name)
        var uri = location.database(name).description
        if let password = location.password?.addingPercentEncoding(withAllowedCharacters: .alphanumerics) {
            uri = uri.replacingOccurrences(of: "postgres://\(location.user)@", with: "postgres://\(location.user):\(password)@")
        }
        return StoreSettings(uri: uri + "?sslmode=disable", environment: [:])
    }
}

extension TrailHome {
    /// Moves the home's metadata between SQLite (`HOME/trail.sqlite`) and PostgreSQL (`uri`, nil
    /// for SQLite), keeping every ledger leaf, Merkle node, checkpoint and cosignature byte for
    /// byte: one transaction copies every table into the empty target, the move is recorded
    /// there as one `store.migrate` event, and the home's record switches to the target. The
    /// source is left as it was (nothing is deleted). Run with the server stopped.
    public func migrateStore(
        to uri: String?, environment: [String: String] = ProcessInfo.processInfo.environment, actor: Actor,
        progress: (@Sendable (String, Int) -> Void)? = nil
    ) async throws -> StoreCopyReport {
        let recordPath = url.appendingPathComponent("store.json")
        let sqlitePath = url.appendingPathComponent("trail.sqlite")
        let target: SQLMetadataStore
        let targetName: String
        var location: PostgresLocation?
        if let uri {
            guard PostgresLocation.isPostgres(uri) else {
                throw TrailError.invalid("to", "expected postgres://user:password@host:port/database, or 'sqlite'")
            }
            var named = try PostgresLocation(uri, field: "to")
            if named.password == nil { named.password = environment["PGPASSWORD"] }
            guard store.backend == "sqlite" else {
                throw TrailError.invalid("to", "this home's metadata is already in PostgreSQL; migrate to 'sqlite' first")
            }
            target = try await SQLMetadataStore(postgres: named)
            targetName = named.description
            location = named
        } else {
            guard store.backend == "postgres" else { throw TrailError.invalid("to", "this home's metadata is already in SQLite") }
            guard !FileManager.default.fileExists(atPath: sqlitePath.path) else {
                throw TrailError.invalid("to", "\(sqlitePath.path) exists (the copy this home was migrated from?); move it away first")
            }
            target = try SQLMetadataStore(path: sqlitePath.path)
            targetName = sqlitePath.path
        }
        let report = try await store.copyAll(to: target, progress: progress)
        try await target.record(
            EventDraft(
                action: "store.migrate", actor: actor, timeMillis: Int64(Date().timeIntervalSince1970 * 1000),
                subject: Subject(type: "store", id: targetName),
                facts: .object([
                    "from": .string(report.from), "to": .string(report.to), "tables": .int(Int64(report.tables)),
                    "rows": .int(Int64(report.rows)), "events": .int(report.events),
                ])))
        do {
            if let location {
                try JSONEncoder().encode(StoreSettings.Record(store: location.description)).write(to: recordPath, options: .atomic)
            } else {
                try FileManager.default.removeItem(at: recordPath)
            }
        } catch {
            throw TrailError(.internalError, "the metadata was copied but the home's store record could not be switched", cause: error)
        }
        return report
    }
}
