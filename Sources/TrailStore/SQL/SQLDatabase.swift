import Foundation
import TrailCore

// The small SQL surface the store is written against, so that one implementation of every
// read and every apply runs on SQLite (GRDB) and on PostgreSQL (PostgresNIO). Each backend is an
// `SQLEngine`: it runs a synchronous body inside one transaction on one connection. SQL is
// written once, with `?` or `?N` placeholders; the PostgreSQL engine rewrites them to `$N`.

/// Which SQL the engine speaks, where the two differ (pattern matching, a few functions).
enum SQLDialect: Sendable {
    case sqlite, postgres
}

/// A value bound to or read from a statement (the storage classes both backends share).
enum SQLValue: Sendable, Hashable {
    case null
    case int64(Int64)
    case double(Double)
    case string(String)
    case blob(Data)

    /// The same value (mirrors GRDB's `SQLValue.storage`, which the store switches on).
    var storage: SQLValue { self }
    var isNull: Bool { if case .null = self { true } else { false } }
}

/// A Swift value that binds as an `SQLValue`.
protocol SQLValueConvertible: Sendable {
    var sqlValue: SQLValue { get }
}

/// A Swift value decoded from an `SQLValue` (nil when the value has another type or is NULL).
protocol SQLDecodable {
    static func fromDatabaseValue(_ value: SQLValue) -> Self?
}

typealias SQLArguments = [(any SQLValueConvertible)?]

extension SQLValue: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { self }
    static func fromDatabaseValue(_ value: SQLValue) -> SQLValue? { value }
}

extension Int64: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { .int64(self) }
    static func fromDatabaseValue(_ value: SQLValue) -> Int64? {
        switch value {
        case .int64(let i): i
        case .double(let d): Int64(exactly: d)
        default: nil
        }
    }
}

extension Int: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { .int64(Int64(self)) }
    static func fromDatabaseValue(_ value: SQLValue) -> Int? { Int64.fromDatabaseValue(value).flatMap { Int(exactly: $0) } }
}

extension Int32: SQLValueConvertible {
    var sqlValue: SQLValue { .int64(Int64(self)) }
}

extension UInt8: SQLValueConvertible {
    var sqlValue: SQLValue { .int64(Int64(self)) }
}

extension Double: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { .double(self) }
    static func fromDatabaseValue(_ value: SQLValue) -> Double? {
        switch value {
        case .double(let d): d
        case .int64(let i): Double(i)
        default: nil
        }
    }
}

extension Bool: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { .int64(self ? 1 : 0) }
    static func fromDatabaseValue(_ value: SQLValue) -> Bool? {
        switch value {
        case .int64(let i): i != 0
        case .double(let d): d != 0
        default: nil
        }
    }
}

extension String: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { .string(self) }
    static func fromDatabaseValue(_ value: SQLValue) -> String? {
        switch value {
        case .string(let s): s
        case .blob(let b): String(data: b, encoding: .utf8)
        default: nil
        }
    }
}

extension Data: SQLValueConvertible, SQLDecodable {
    var sqlValue: SQLValue { .blob(self) }
    static func fromDatabaseValue(_ value: SQLValue) -> Data? {
        switch value {
        case .blob(let b): b
        case .string(let s): Data(s.utf8)
        default: nil
        }
    }
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One result row: its values by position (and by column name).
struct SQLRow: Sendable {
    let columns: [String]
    let databaseValues: [SQLValue]

    init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.databaseValues = values
    }

    var count: Int { databaseValues.count }

    /// The value at `index`; a NULL or a value of another type is a schema bug and traps, as
    /// GRDB's does (no client input reaches this: columns are the store's own).
    subscript<T: SQLDecodable>(_ index: Int) -> T {
        guard index < databaseValues.count, let value = T.fromDatabaseValue(databaseValues[index]) else {
            fatalError("column \(index) of \(columns) is \(index < databaseValues.count ? "\(databaseValues[index])" : "absent"), not \(T.self)")
        }
        return value
    }

    subscript<T: SQLDecodable>(_ index: Int) -> T? {
        guard index < databaseValues.count else { return nil }
        return T.fromDatabaseValue(databaseValues[index])
    }

    subscript<T: SQLDecodable>(_ name: String) -> T {
        guard let index = columns.firstIndex(of: name) else { fatalError("no column \(name) in \(columns)") }
        return self[index]
    }

    subscript<T: SQLDecodable>(_ name: String) -> T? {
        guard let index = columns.firstIndex(of: name) else { return nil }
        return self[index]
    }
}

/// One connection inside one transaction. Not shared between threads.
protocol SQLDatabase: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs one statement and returns its rows; `changesCount` then holds the rows it changed.
    func run(sql: String, arguments: [SQLValue]) throws -> [SQLRow]
    /// Rows inserted, updated or deleted by the last statement.
    var changesCount: Int { get }
    /// The key the last insert into a table with an integer key allocated.
    var lastInsertedRowID: Int64 { get throws }
}

/// A statement by its SQL (each engine caches what it prepares).
struct SQLStatement {
    let sql: String
    let db: any SQLDatabase

    func execute(arguments: SQLArguments = []) throws {
        _ = try db.run(sql: sql, arguments: arguments.map { $0?.sqlValue ?? .null })
    }
}

extension SQLDatabase {
    func cachedStatement(sql: String) throws -> SQLStatement { SQLStatement(sql: sql, db: self) }

    func execute(sql: String, arguments: SQLArguments = []) throws {
        _ = try run(sql: sql, arguments: arguments.map { $0?.sqlValue ?? .null })
    }

    func fetch(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
        try run(sql: sql, arguments: arguments.map { $0?.sqlValue ?? .null })
    }
}

/// Rows one at a time (mirrors GRDB's cursor; the rows are already read).
final class SQLCursor {
    private var rows: [SQLRow]
    private var position = 0
    init(_ rows: [SQLRow]) { self.rows = rows }
    func next() throws -> SQLRow? {
        guard position < rows.count else { return nil }
        defer { position += 1 }
        return rows[position]
    }
}

extension SQLRow {
    static func fetchAll(_ db: any SQLDatabase, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        try db.fetch(sql: sql, arguments: arguments)
    }
    static func fetchAll(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> [SQLRow] {
        try statement.db.fetch(sql: statement.sql, arguments: arguments)
    }
    static func fetchOne(_ db: any SQLDatabase, sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try db.fetch(sql: sql, arguments: arguments).first
    }
    static func fetchOne(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> SQLRow? {
        try statement.db.fetch(sql: statement.sql, arguments: arguments).first
    }
    static func fetchCursor(_ db: any SQLDatabase, sql: String, arguments: SQLArguments = []) throws -> SQLCursor {
        SQLCursor(try db.fetch(sql: sql, arguments: arguments))
    }
    static func fetchCursor(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> SQLCursor {
        SQLCursor(try statement.db.fetch(sql: statement.sql, arguments: arguments))
    }
}

extension SQLDecodable {
    /// The first column of the first row (nil when there is no row or the value is NULL).
    static func fetchOne(_ db: any SQLDatabase, sql: String, arguments: SQLArguments = []) throws -> Self? {
        guard let row = try db.fetch(sql: sql, arguments: arguments).first, row.count > 0 else { return nil }
        return fromDatabaseValue(row.databaseValues[0])
    }
    static func fetchOne(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> Self? {
        try fetchOne(statement.db, sql: statement.sql, arguments: arguments)
    }
    /// The first column of every row (rows whose value is NULL or of another type are skipped).
    static func fetchAll(_ db: any SQLDatabase, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.fetch(sql: sql, arguments: arguments).compactMap { $0.count > 0 ? fromDatabaseValue($0.databaseValues[0]) : nil }
    }
    static func fetchAll(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> [Self] {
        try fetchAll(statement.db, sql: statement.sql, arguments: arguments)
    }
}

/// A backend: runs a body in a read-only or a read-write transaction on a connection of its own.
protocol SQLEngine: Sendable {
    var dialect: SQLDialect { get }
    /// A read-only transaction: every statement of `body` sees one state.
    func read<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T
    /// A read-write transaction, serialised with every other write to the same store (the
    /// ledger's sequencer): it commits when `body` returns, and rolls back when it throws.
    func write<T: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) throws -> T) async throws -> T
    /// An engine whose every read sees the same state (one long read-only transaction).
    func snapshot() async throws -> any SQLEngine
    /// A unique-constraint violation (mapped to RESOURCE_ALREADY_EXISTS by the store).
    func isUniqueViolation(_ error: any Error) -> Bool
    /// An error that says the request could not be served now (the database is unreachable).
    func isUnavailable(_ error: any Error) -> Bool
    /// A value too long for an index entry (PostgreSQL's B-tree entries hold about 2.7 kB).
    func isTooLargeToIndex(_ error: any Error) -> Bool
}
