import Foundation
import TrailCore

/// The store's numbered migrations on PostgreSQL: the same numbers and tables as SQLite's,
/// translated (types, keys, append-only triggers), each in a transaction of its own and
/// recorded in `trail_migrations`. Replicas that start together take an advisory lock, so each
/// migration runs once.
enum PostgresMigrations {
    static func migrate(_ pool: PostgresPool) throws {
        let connection = try pool.checkout()
        let db = PGConnection(connection, logger: pool.logger)
        var reusable = false
        defer { pool.checkin(connection, reusable: reusable) }
        _ = try db.run(sql: "SELECT pg_advisory_lock(?)", arguments: [.int64(PostgresEngine.migrationLock)])
        defer { _ = try? db.run(sql: "SELECT pg_advisory_unlock(?)", arguments: [.int64(PostgresEngine.migrationLock)]) }
        // A serving role without CREATE on the schema reads the record; only the owner creates it.
        if try db.run(sql: "SELECT to_regclass('trail_migrations') IS NULL", arguments: []).first?[0] as Bool? ?? true {
            _ = try db.run(sql: "CREATE TABLE trail_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", arguments: [])
        }
        let applied = Set(try db.run(sql: "SELECT id FROM trail_migrations", arguments: []).compactMap { $0[0] as String? })
        let known = Set(StoreSchema.migrations.map(\.id))
        if let unknown = applied.subtracting(known).sorted().last {
            throw TrailError(
                .invalidState,
                "the PostgreSQL database was migrated by a newer ModelTrail (migration \(unknown)); upgrade this binary", field: "store")
        }
        for migration in StoreSchema.migrations where !applied.contains(migration.id) {
            _ = try db.run(sql: "BEGIN", arguments: [])
            do {
                for statement in statements(migration.sql, first: migration.id == StoreSchema.migrations[0].id) {
                    _ = try db.run(sql: statement, arguments: [])
                }
                _ = try db.run(
                    sql: "INSERT INTO trail_migrations (id, applied_at) VALUES (?, ?)",
                    arguments: [.string(migration.id), .int64(Int64(Date().timeIntervalSince1970 * 1000))])
                _ = try db.run(sql: "COMMIT", arguments: [])
            } catch {
                _ = try? db.run(sql: "ROLLBACK", arguments: [])
                throw error
            }
        }
        reusable = true
    }

    /// The function every append-only trigger calls.
    static let appendOnlyFunction = """
        CREATE OR REPLACE FUNCTION trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
        END
        $fn$
        """

    /// The trigger of tables whose rows retention may remove: a delete goes through only for
    /// rows of an event recorded in `retired_writes` (inserted earlier in the same transaction).
    static let retirableFunction = """
        CREATE OR REPLACE FUNCTION trail_retirable() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'DELETE' AND EXISTS (
                SELECT 1 FROM retired_writes r WHERE r.table_name = TG_TABLE_NAME::text AND r.written_event = OLD.event_index) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
        END
        $fn$
        """

    /// A migration's SQLite text as PostgreSQL statements.
    static func statements(_ sqlite: String, first: Bool) -> [String] {
        var text = sqlite
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { line -> Substring in
                guard let range = line.range(of: "--") else { return line }
                return line[..<range.lowerBound]
            }
            .joined(separator: "\n")
        // SQLite's append-only triggers become PostgreSQL's (one function, row and TRUNCATE triggers).
        var appendOnly: [String] = []
        let trigger = try! NSRegularExpression(pattern: #"CREATE TRIGGER (\w+)_no_(update|delete) BEFORE (UPDATE|DELETE) ON \w+\s+BEGIN .*?END;"#, options: [.dotMatchesLineSeparators])
        for match in trigger.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text), let kind = Range(match.range(at: 2), in: text), text[kind] == "update" {
                appendOnly.append(String(text[range]))
            }
        }
        text = trigger.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
        // Retirable tables: SQLite's conditional no-delete trigger becomes `trail_retirable()`
        // in place of the table's append-only trigger.
        var retirable: [String] = []
        let conditional = try! NSRegularExpression(
            pattern: #"DROP TRIGGER \w+_no_delete;\s*CREATE TRIGGER (\w+)_no_delete BEFORE DELETE ON \w+ WHEN NOT EXISTS .*?END;"#,
            options: [.dotMatchesLineSeparators])
        for match in conditional.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text) { retirable.append(String(text[range])) }
        }
        text = conditional.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
        let replacements: [(String, String)] = [
            (#"\bINTEGER PRIMARY KEY\b"#, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
            (#"\bINTEGER\b"#, "BIGINT"),
            (#"\bREAL\b"#, "DOUBLE PRECISION"),
            (#"\bBLOB\b"#, "BYTEA"),
            (#"\bTEXT\b"#, #"TEXT COLLATE "C""#),
            (#"\)\s*WITHOUT ROWID"#, ")"),
        ]
        // A B-tree entry holds at most about 2.7 kB: param and tag values (up to 6,000 and 8,000
        // characters) are found by key, then compared, rather than indexed.
        for table in ["params", "run_tags"] {
            text = text.replacingOccurrences(of: "CREATE INDEX \(table)_key_value ON \(table)(key, value)", with: "CREATE INDEX \(table)_key_value ON \(table)(key)")
        }
        for (pattern, template) in replacements {
            text = text.replacingOccurrences(of: pattern, with: template, options: .regularExpression)
        }
        var out: [String] = first ? [appendOnlyFunction] : []
        out += text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        for table in appendOnly {
            out.append("CREATE TRIGGER \(table)_append_only BEFORE UPDATE OR DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION trail_append_only()")
            out.append("CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION trail_append_only()")
        }
        if !retirable.isEmpty { out.append(retirableFunction) }
        for table in retirable {
            out.append("DROP TRIGGER \(table)_append_only ON \(table)")
            out.append("CREATE TRIGGER \(table)_append_only BEFORE UPDATE OR DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION trail_retirable()")
        }
        return out
    }
}
