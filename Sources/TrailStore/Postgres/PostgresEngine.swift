import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import TrailCore

/// The PostgreSQL engine: several `trail server` processes on one database, one ledger.
///
/// Every write is one transaction that first takes a transaction-scoped advisory lock
/// (`pg_advisory_xact_lock`), the ledger's sequencer: whichever process writes, index
/// allocation, the preconditions, the rows, the event and its Merkle nodes happen one
/// transaction at a time, in one order, so the ledger stays gapless with one tree. The lock is
/// released by COMMIT or ROLLBACK, and by PostgreSQL itself when a process dies mid-write (the
/// transaction rolls back; nothing unacknowledged is half-written).
///
/// Reads are REPEATABLE READ READ ONLY transactions. The store's bodies are synchronous (they
/// are shared with SQLite); they run on a thread of their own and wait for PostgresNIO there.
final class PostgresEngine: SQLEngine, @unchecked Sendable {
    /// The advisory lock every write holds (one per database).
    static let sequencerLock: Int64 = 0x7472_6169_6C5F_6C67  // "trail_lg"
    /// The advisory lock migrations hold (so that replicas starting together migrate once).
    static let migrationLock: Int64 = 0x7472_6169_6C5F_6D67  // "trail_mg"

    let location: PostgresLocation
    let pool: PostgresPool
    /// Set on a snapshot: the one connection, inside its read-only transaction.
    private let pinned: PinnedConnection?

    var dialect: SQLDialect { .postgres }

    /// Connects, and runs the migrations that have not run yet.
    init(location: PostgresLocation) async throws {
        self.location = location
        pool = PostgresPool(location: location)
        pinned = nil
        try await Self.onThread { [pool] in try PostgresMigrations.migrate(pool) }
    }

    private init(location: PostgresLocation, pool: PostgresPool, pinned: PinnedConnection) {
        self.location = location
        self.pool = pool
        self.pinned = pinned
    }

    /// Runs blocking work on a thread that may block (never on Swift's cooperative pool, never on an event loop).
    static func onThread<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blockingQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private static let blockingQueue = DispatchQueue(label: "modeltrail.postgres", qos: .userInitiated, attributes: .concurrent)

    func read<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T {
        if let pinned {
            return try await Self.onThread { try pinned.run(body) }
        }
        return try await Self.onThread { [pool] in
            try pool.transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
        }
    }

    func write<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T {
        guard pinned == nil else { throw TrailError(.internalError, "a read-only transaction cannot write") }
        return try await Self.onThread { [pool] in
            try pool.transaction(begin: "BEGIN", lock: Self.sequencerLock, body)
        }
    }

    func snapshot() async throws -> any SQLEngine {
        let pinned = try await Self.onThread { [pool] in try PinnedConnection(pool: pool) }
        return PostgresEngine(location: location, pool: pool, pinned: pinned)
    }

    func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }

    func isUnavailable(_ error: any Error) -> Bool { PostgresErrorText.isConnectionFailure(error) }

    /// SQLSTATE 54000 (program_limit_exceeded): "index row size … exceeds … maximum".
    func isTooLargeToIndex(_ error: any Error) -> Bool { (error as? PSQLError)?.serverInfo?[.sqlState] == "54000" }
}

extension PostgresErrorText {
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is PostgresPool.Unavailable { return true }
        if let error = error as? PSQLError {
            // A server error with a SQLSTATE is an answer; anything else is the connection failing.
            guard let state = error.serverInfo?[.sqlState] else { return true }
            // Class 08 (connection exception), 57P (operator intervention: shutdown), 53 (insufficient resources).
            return state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53")
        }
        return error is IOError || error is ChannelError || error is NIOConnectionError
    }
}

/// One connection held in a REPEATABLE READ READ ONLY transaction for a snapshot's lifetime.
final class PinnedConnection: @unchecked Sendable {
    let pool: PostgresPool
    let connection: PostgresConnection
    let lock = NSLock()
    var broken = false

    init(pool: PostgresPool) throws {
        self.pool = pool
        connection = try pool.checkout()
        do {
            _ = try PGConnection(connection, logger: pool.logger).run(sql: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", arguments: [])
        } catch {
            pool.checkin(connection, reusable: false)
            throw error
        }
    }

    func run<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body(PGConnection(connection, logger: pool.logger))
        } catch {
            if !(error is TrailError) { broken = true }
            throw error
        }
    }

    deinit {
        let (connection, pool, broken) = (connection, pool, broken)
        DispatchQueue.global().async {
            let ended = (try? PGConnection(connection, logger: pool.logger).run(sql: "ROLLBACK", arguments: [])) != nil
            pool.checkin(connection, reusable: ended && !broken)
        }
    }
}

/// The connections one process keeps to the database (at most `location.poolSize`).
final class PostgresPool: @unchecked Sendable {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    let location: PostgresLocation
    let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0

    /// Closes a connection and keeps it alive until it is closed (PostgresNIO requires it).
    static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    deinit {
        for connection in idle { Self.close(connection) }
    }

    init(location: PostgresLocation) {
        self.location = location
        var logger = Logger(label: "modeltrail.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    /// A connection of the pool, or a new one; waits (up to 30 s) while all are in use.
    func checkout() throws -> PostgresConnection {
        condition.lock()
        let deadline = Date().addingTimeInterval(30)
        while true {
            while let connection = idle.popLast() {
                if connection.isClosed {
                    open -= 1
                    Self.close(connection)
                    continue
                }
                condition.unlock()
                return connection
            }
            if open < location.poolSize {
                open += 1
                nextID += 1
                let id = nextID
                condition.unlock()
                do {
                    return try connect(id: id)
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            guard condition.wait(until: deadline) else {
                condition.unlock()
                throw Unavailable(description: "all \(location.poolSize) connections to \(location) stayed busy for 30 s")
            }
        }
    }

    func checkin(_ connection: PostgresConnection, reusable: Bool) {
        condition.lock()
        if reusable, !connection.isClosed {
            idle.append(connection)
        } else {
            open -= 1
            Self.close(connection)
        }
        condition.signal()
        condition.unlock()
    }

    private func connect(id: Int) throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        switch location.sslMode {
        case .disable:
            tls = .disable
        case .prefer, .require, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if location.sslMode != .verifyFull { configuration.certificateVerification = .none }
            let context = try NIOSSLContext(configuration: configuration)
            tls = location.sslMode == .prefer ? .prefer(context) : .require(context)
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database,
            tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        return try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
        ).wait()
    }

    /// Runs `body` in one transaction on one connection: `begin`, the advisory `lock` if any,
    /// the body, COMMIT (ROLLBACK when the body throws).
    func transaction<T>(begin: String, lock: Int64? = nil, _ body: (any SQLDatabase) throws -> T) throws -> T {
        let connection = try checkout()
        let db = PGConnection(connection, logger: logger)
        var reusable = false
        defer { checkin(connection, reusable: reusable) }
        _ = try db.run(sql: begin, arguments: [])
        do {
            if let lock { _ = try db.run(sql: "SELECT pg_advisory_xact_lock(?)", arguments: [.int64(lock)]) }
            let result = try body(db)
            _ = try db.run(sql: "COMMIT", arguments: [])
            reusable = true
            return result
        } catch {
            // A failed statement aborts the transaction; ROLLBACK ends it so the connection can be reused.
            reusable = (try? db.run(sql: "ROLLBACK", arguments: [])) != nil
            throw error
        }
    }
}

/// One PostgresNIO connection as the store's `SQLDatabase` (blocking: never call it on an event loop).
final class PGConnection: SQLDatabase {
    let connection: PostgresConnection
    let logger: Logger
    private(set) var changesCount = 0

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    var dialect: SQLDialect { .postgres }

    func run(sql: String, arguments: [SQLValue]) throws -> [SQLRow] {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .int64(let i): binds.append(i)
            case .double(let d): binds.append(d)
            case .string(let s): binds.append(s)
            case .blob(let b): binds.append(ByteBuffer(bytes: b))
            }
        }
        let result = try connection.query(PostgresQuery(unsafeSQL: PostgresSQL.translate(sql), binds: binds), logger: logger).wait()
        changesCount = result.metadata.rows ?? 0
        var rows: [SQLRow] = []
        var columns: [String]?
        for row in result.rows {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            var names: [String] = []
            for cell in row {
                values.append(try Self.value(cell))
                if columns == nil { names.append(cell.columnName) }
            }
            if columns == nil { columns = names }
            rows.append(SQLRow(columns: columns ?? names, values: values))
        }
        return rows
    }

    var lastInsertedRowID: Int64 {
        get throws {
            guard let row = try run(sql: "SELECT lastval()", arguments: []).first, let id: Int64 = row[0] else {
                throw TrailError(.internalError, "PostgreSQL gave no key for the inserted row")
            }
            return id
        }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard let bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .int64(try cell.decode(Int64.self))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .bool: return .int64(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea: return .blob(Data(bytes.readableBytesView))
        case .numeric:
            let decimal = try cell.decode(Decimal.self)
            let number = NSDecimalNumber(decimal: decimal)
            if let exact = Int64(exactly: number.doubleValue), Decimal(exact) == decimal { return .int64(exact) }
            return .double(number.doubleValue)
        default: return .string(try cell.decode(String.self))
        }
    }
}

/// The store's SQL, as PostgreSQL reads it: `?N` and `?` placeholders become `$N`.
enum PostgresSQL {
    private static let cache = NSCacheBox()

    static func translate(_ sql: String) -> String {
        if let hit = cache.get(sql) { return hit }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var inString = false
        var iterator = Array(sql.unicodeScalars)[...]
        while let c = iterator.popFirst() {
            if c == "'" { inString.toggle() }
            guard c == "?", !inString else {
                out.unicodeScalars.append(c)
                continue
            }
            var digits = ""
            while let d = iterator.first, ("0"..."9").contains(d) {
                digits.unicodeScalars.append(d)
                iterator.removeFirst()
            }
            if digits.isEmpty {
                out += "$\(next)"
                next += 1
            } else {
                out += "$" + digits
            }
        }
        // SQLite's two-argument MAX is PostgreSQL's GREATEST (the store uses it on one column).
        out = out.replacingOccurrences(of: "MAX(last_update_time, ", with: "GREATEST(last_update_time, ")
        cache.set(sql, out)
        return out
    }

    /// A small thread-safe memo of translations (the store's SQL is a bounded set; searches
    /// with many IN items are the only variable part, so the memo stops growing at 4096).
    final class NSCacheBox: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: String] = [:]
        func get(_ key: String) -> String? {
            lock.lock()
            defer { lock.unlock() }
            return entries[key]
        }
        func set(_ key: String, _ value: String) {
            lock.lock()
            defer { lock.unlock() }
            if entries.count < 4096 { entries[key] = value }
        }
    }
}

/// A PostgresNIO error in words (its own description hides the server's message).
enum PostgresErrorText {
    /// The code an opening error gets: the connection failing is temporary; a refused login or a
    /// missing database is the operator's to fix (the address); anything else is internal.
    static func code(opening error: any Error) -> ErrorCode {
        if let error = error as? PSQLError, error.code == .authMechanismRequiresPassword || error.code == .unsupportedAuthMechanism {
            return .unauthenticated
        }
        if isConnectionFailure(error) { return .temporarilyUnavailable }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                if state.hasPrefix("28") { return .unauthenticated }
                if state == "3D000" { return .resourceDoesNotExist }
                if state == "42501" { return .permissionDenied }
            }
        }
        return .internalError
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
            }
            if error.code == .authMechanismRequiresPassword {
                return "the server asks for a password: put it in the address (postgres://user:password@…) or in PGPASSWORD"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension PostgresEngine {
    /// Grants `role` what a serving `trail server` needs and no more: SELECT and INSERT on every
    /// fact table (those with an append-only trigger), SELECT, INSERT, UPDATE and DELETE on the
    /// entity and projection tables (whose every state is also a fact, checked by `ledger verify`),
    /// SELECT on `trail_migrations`, and the sequences. UPDATE, DELETE and TRUNCATE on facts are
    /// revoked, and the role does not own the tables, so it cannot drop a trigger either.
    /// Run as the tables' owner. Returns the fact tables and the other tables.
    func grantServingRole(_ role: String) async throws -> (facts: [String], others: [String]) {
        guard let first = role.unicodeScalars.first, first == "_" || ("a"..."z").contains(first), role.utf8.count <= 63,
            role.unicodeScalars.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) })
        else {
            throw TrailError.invalid("role", "a role name is 1–63 lower-case ASCII letters, digits or underscores, not starting with a digit")
        }
        return try await Self.onThread { [pool] in
            try pool.transaction(begin: "BEGIN") { db in
                let facts = try String.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                        WHERE t.tgname LIKE '%\\_append\\_only' AND c.relnamespace = current_schema()::regnamespace ORDER BY 1
                        """)
                let tables = try String.fetchAll(db, sql: "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
                let others = tables.filter { !facts.contains($0) && $0 != "trail_migrations" }
                try db.execute(sql: "GRANT USAGE ON SCHEMA \"\(try Self.currentSchema(db))\" TO \(role)")
                for table in facts {
                    try db.execute(sql: "REVOKE UPDATE, DELETE, TRUNCATE ON \(table) FROM \(role)")
                    try db.execute(sql: "GRANT SELECT, INSERT ON \(table) TO \(role)")
                    // Retention removes rows of these, which their trigger lets through only for
                    // writes recorded as retired in the same transaction.
                    if RetiredWrite.tables.contains(table) { try db.execute(sql: "GRANT DELETE ON \(table) TO \(role)") }
                }
                for table in others { try db.execute(sql: "GRANT SELECT, INSERT, UPDATE, DELETE ON \(table) TO \(role)") }
                try db.execute(sql: "GRANT SELECT ON trail_migrations TO \(role)")
                try db.execute(sql: "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA \"\(try Self.currentSchema(db))\" TO \(role)")
                return (facts, others)
            }
        }
    }

    static func currentSchema(_ db: any SQLDatabase) throws -> String {
        guard let schema = try String.fetchOne(db, sql: "SELECT current_schema()"),
            schema.unicodeScalars.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) })
        else { throw TrailError(.internalError, "the PostgreSQL schema has an unexpected name") }
        return schema
    }
}
