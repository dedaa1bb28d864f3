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
