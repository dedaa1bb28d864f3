import Foundation
import GRDB
import TrailCore

/// The embedded engine: one SQLite file in WAL mode through GRDB.
///
/// Writes are serialised by SQLite's single writer; each is one `IMMEDIATE` transaction. With
/// WAL and `synchronous = NORMAL` a committed transaction survives the process being killed
/// (`kill -9`); `durability: .full` also survives power loss.
struct SQLiteEngine: SQLEngine {
    let pool: DatabasePool
    /// The pool (each read its own read transaction) or one snapshot of it.
    let reader: any DatabaseReader

    var dialect: SQLDialect { .sqlite }

    init(path: String, durability: SQLMetadataStore.Durability) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // A destroyed sealing key is overwritten with zeros in the file, not left in a free page.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            reader = pool
            var migrator = DatabaseMigrator()
            for migration in StoreSchema.migrations {
                migrator.registerMigration(migration.id) { db in try db.execute(sql: migration.sql) }
            }
            try migrator.migrate(pool)
        } catch {
            throw TrailError(.internalError, "cannot open the metadata database", cause: error)
        }
    }

    private init(pool: DatabasePool, reader: any DatabaseReader) {
        self.pool = pool
        self.reader = reader
    }

    func read<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T {
        try await reader.read { db in try body(GRDBConnection(db)) }
    }

    func write<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T {
        try await pool.write { db in try body(GRDBConnection(db)) }
    }

    func snapshot() async throws -> any SQLEngine {
        SQLiteEngine(pool: pool, reader: try pool.makeSnapshot())
    }

    func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
    }

    func isUnavailable(_ error: any Error) -> Bool { false }

    func isTooLargeToIndex(_ error: any Error) -> Bool { false }
}

/// A GRDB connection inside its transaction, as the store's `SQLDatabase`.
final class GRDBConnection: SQLDatabase {
    let db: GRDB.Database
    init(_ db: GRDB.Database) { self.db = db }

    var dialect: SQLDialect { .sqlite }

    func run(sql: String, arguments: [SQLValue]) throws -> [SQLRow] {
        // GRDB keeps a connection's cached statements for as long as the connection lives.
        // Some of the store's SQL carries values in its text (`IN (pk, pk, …)` lists), so caching
        // every text would grow the server's memory with every run read; past a bounded set of
        // texts, statements are prepared for one use and finalized.
        let statement = StatementCachePolicy.shared.admits(sql) ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
        let bound = StatementArguments(arguments.map(Self.databaseValue))
        guard statement.columnCount > 0 else {
            try statement.execute(arguments: bound)
            return []
        }
        let columns = statement.columnNames
        var rows: [SQLRow] = []
        let cursor = try GRDB.Row.fetchCursor(statement, arguments: bound)
        while let row = try cursor.next() {
            rows.append(SQLRow(columns: columns, values: row.databaseValues.map(Self.value)))
        }
        return rows
    }

    var changesCount: Int { db.changesCount }
    var lastInsertedRowID: Int64 { db.lastInsertedRowID }

    static func databaseValue(_ value: SQLValue) -> GRDB.DatabaseValue {
        switch value {
        case .null: .null
        case .int64(let i): i.databaseValue
        case .double(let d): d.databaseValue
        case .string(let s): s.databaseValue
        case .blob(let b): b.databaseValue
        }
    }

    static func value(_ value: GRDB.DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let i): .int64(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .blob(let b): .blob(b)
        }
    }
}

/// Which SQL texts a connection may keep prepared: the first `limit` distinct texts the process
/// runs (the store's fixed SQL is a few hundred), then no new ones.
final class StatementCachePolicy: @unchecked Sendable {
    static let shared = StatementCachePolicy(limit: 2048)

    let limit: Int
    private let lock = NSLock()
    private var admitted = Set<String>()

    init(limit: Int) { self.limit = limit }

    func admits(_ sql: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if admitted.contains(sql) { return true }
        guard admitted.count < limit else { return false }
        admitted.insert(sql)
        return true
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return admitted.count
    }
}
