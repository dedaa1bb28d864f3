import Foundation
import TrailCore

/// Where a PostgreSQL store is: `postgres://user:password@host:port/database?sslmode=…&pool=…`
/// (also `postgresql://`). Validated like any client input: every refusal names the field.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS (loopback, or a private network you trust).
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, checking the certificate chain and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// Connections this process keeps open at most.
    public var poolSize: Int

    /// Parses and checks `uri`; `field` names the flag or variable it came from in refusals.
    public init(_ uri: String, field: String = "store") throws {
        guard uri.utf8.count <= 4096 else { throw TrailError.invalid(field, "the PostgreSQL address is longer than 4096 bytes") }
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw TrailError.invalid(field, "expected postgres://user:password@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else { throw TrailError.invalid(field, "the PostgreSQL address names no host") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let port = components.port {
            guard (1...65535).contains(port) else { throw TrailError.invalid(field, "the port must be between 1 and 65535") }
            self.port = port
        } else {
            port = 5432
        }
        guard let user = components.user, !user.isEmpty else { throw TrailError.invalid(field, "the PostgreSQL address names no user") }
        self.user = user
        password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else { throw TrailError.invalid(field, "the PostgreSQL address names no database (…/database)") }
        database = path
        sslMode = .prefer
        poolSize = 10
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw TrailError.invalid(field, "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "pool":
                guard let size = item.value.flatMap({ Int($0) }), (1...200).contains(size) else {
                    throw TrailError.invalid(field, "pool must be a number of connections between 1 and 200")
                }
                poolSize = size
            default:
                throw TrailError.invalid(field, "unknown parameter '\(item.name.prefix(64))' in the PostgreSQL address (sslmode and pool are known)")
            }
        }
    }

    /// Whether `uri` names a PostgreSQL store (rather than a SQLite file).
    public static func isPostgres(_ uri: String) -> Bool {
        let lower = uri.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// The address without its password (for logs, reports and records).
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)"
    }
}

extension PostgresLocation {
    /// The same server and role, another database.
    public func database(_ name: String) -> PostgresLocation {
        var copy = self
        copy.database = name
        return copy
    }

    /// Creates the database `name` (letters, digits and underscores) on this server, connecting
    /// to this location's database to do it; the role needs CREATEDB. For tests and first setups.
    public func createDatabase(_ name: String) async throws {
        guard !name.isEmpty, name.utf8.count <= 63, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw TrailError.invalid("database", "a database name is 1–63 ASCII letters, digits or underscores")
        }
        let pool = PostgresPool(location: self)
        do {
            try await PostgresEngine.onThread {
                let connection = try pool.checkout()
                defer { pool.checkin(connection, reusable: false) }
                _ = try PGConnection(connection, logger: pool.logger).run(sql: "CREATE DATABASE \"\(name)\"", arguments: [])
            }
        } catch {
            throw TrailError(.temporarilyUnavailable, "cannot create database \(name) at \(self): \(PostgresErrorText.describe(error))", cause: error)
        }
    }
}
