import Foundation
import Testing
import TrailCore
@testable import TrailStore

/// On PostgreSQL the database itself refuses to change a fact: every UPDATE, DELETE and
/// TRUNCATE of an append-only table fails in a trigger, whoever connects.
@Suite("PostgreSQL: facts are append-only in the database", .enabled(if: StoreBackend.postgresServer != nil))
struct PostgresAppendOnlyTests {
    @Test func updatesDeletesAndTruncatesOfFactsAreRefused() async throws {
        let store = try await StoreBackend.postgres.make()
        let experiment = try await Fixtures.createExperiment(store, "kept")
        let run = try await Fixtures.createRun(store, experiment)
        try await Fixtures.log(store, run, metrics: [Metric(key: "m", value: 1, timestampMillis: 1, step: 0)], params: [Param(key: "p", value: "v")],
            tags: [TrailCore.Tag(key: "t", value: "1")])
        let before = try await store.eventCount()
        let statements = [
            "UPDATE ledger_events SET action = 'x'", "DELETE FROM ledger_events", "TRUNCATE ledger_events CASCADE",
            "UPDATE merkle_nodes SET hash = hash", "DELETE FROM state_history", "UPDATE params SET value = 'w'", "DELETE FROM metrics",
            "UPDATE run_tag_history SET value = 'x'",
        ]
        for sql in statements {
            // Every table here has rows (a row trigger fires per row), and TRUNCATE has a statement trigger.
            let error = await #expect(throws: (any Error).self, "\(sql)") { try await store.engine.write { db in try db.execute(sql: sql) } }
            guard let error else { continue }
            #expect(PostgresErrorText.describe(error).contains("append-only"), "\(sql): \(PostgresErrorText.describe(error))")
        }
        #expect(try await store.eventCount() == before)
        #expect(try await store.run(id: run)?.params.first?.value == "v")
    }

    /// The role the servers connect as (`trail store grant`) writes, but cannot change a fact:
    /// no UPDATE, DELETE or TRUNCATE grant, and not the owner, so it cannot drop a trigger.
    @Test func aServingRoleWritesButCannotChangeAFact() async throws {
        let admin = try #require(StoreBackend.postgresServer)
        let database = "trail_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await admin.createDatabase(database)
        let owner = try await SQLMetadataStore(postgres: admin.database(database))
        let role = "trail_app_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(10))"
        try await owner.engine.write { db in try db.execute(sql: "CREATE ROLE \(role) LOGIN PASSWORD 'app-secret'") }
        let granted = try await owner.grantServingRole(role)
        #expect(granted.facts.contains("ledger_events") && granted.facts.contains("metrics") && granted.others.contains("runs"))
        #expect(!granted.facts.contains("runs") && !granted.others.contains("ledger_events"))
        await #expect(throws: TrailError.self) { _ = try await owner.grantServingRole("x; DROP TABLE runs") }

        var app = admin.database(database)
        app.user = role
        app.password = "app-secret"
        let store = try await SQLMetadataStore(postgres: app)
        let experiment = try await Fixtures.createExperiment(store, "written-by-the-app-role")
        let run = try await Fixtures.createRun(store, experiment)
        try await Fixtures.log(
            store, run, metrics: [Metric(key: "m", value: 1, timestampMillis: 1, step: 0)], params: [Param(key: "p", value: "v")],
            tags: [TrailCore.Tag(key: "t", value: "1")])
        try await Fixtures.log(store, run, tags: [TrailCore.Tag(key: "t", value: "2")])
        let before = try await store.eventCount()
        for sql in [
            "UPDATE ledger_events SET action = 'x'", "DELETE FROM metrics", "TRUNCATE params", "ALTER TABLE ledger_events DISABLE TRIGGER ALL",
            "DROP TRIGGER ledger_events_append_only ON ledger_events", "UPDATE trail_migrations SET id = 'x'",
        ] {
            let error = await #expect(throws: (any Error).self, "\(sql)") { try await store.engine.write { db in try db.execute(sql: sql) } }
            guard let error else { continue }
            let text = PostgresErrorText.describe(error)
            #expect(text.contains("permission denied") || text.contains("must be owner"), "\(sql): \(text)")
        }
        #expect(try await store.eventCount() == before)
        #expect(try await store.run(id: run)?.tags.first { $0.key == "t" }?.value == "2")
        try await owner.engine.write { db in
            for sql in [
                "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \(role)", "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM \(role)",
                "REVOKE ALL ON SCHEMA public FROM \(role)", "DROP ROLE \(role)",
            ] { try db.execute(sql: sql) }
        }
    }

    @Test func theAddressIsCheckedAndThePasswordNeverShown() throws {
        let location = try PostgresLocation("postgres://alice:s3cret@db.example:6543/trail?sslmode=require&pool=4")
        #expect(location.description == "postgres://alice@db.example:6543/trail")
        #expect(location.password == "s3cret" && location.poolSize == 4 && location.sslMode == .require)
        for bad in [
            "mysql://a@h/db", "postgres://h/db", "postgres://a@h", "postgres://a@h:70000/db", "postgres://a@h/db?sslmode=maybe",
            "postgres://a@h/db?pool=0", "postgres://a@h/db?pool=201", "postgres://a@h/db?options=-c", "postgres://a@/db",
        ] {
            let error = #expect(throws: TrailError.self, "\(bad)") { _ = try PostgresLocation(bad) }
            #expect(error?.field == "store")
        }
    }
}
