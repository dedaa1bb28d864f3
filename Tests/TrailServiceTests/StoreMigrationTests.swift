import Foundation
import Testing
import TrailCore
@testable import TrailService
import TrailStore

/// `trail migrate --to postgres://…` and back: every leaf, node and checkpoint byte for byte.
@Suite("Store migration: SQLite ↔ PostgreSQL", .enabled(if: ProcessInfo.processInfo.environment["TRAIL_TEST_POSTGRES"] != nil))
struct StoreMigrationTests {
    @Test func aHomeMovesToPostgreSQLAndBackKeepingEveryLeafAndRoot() async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trail-migrate-\(UUID().uuidString)")
        let home = try await TrailHome.open(url, store: StoreSettings(environment: [:]))
        #expect(home.store.backend == "sqlite")
        try await populate(home, seed: 11)
        _ = try await home.ledger.checkpointIfBehind()
        let count = try await home.store.eventCount()
        let bodies = try await home.store.events(from: 0, to: count).map(\.body)
        let checkpoints = try await home.store.checkpoints()
        #expect(!checkpoints.isEmpty)

        let server = try PostgresLocation(try #require(ProcessInfo.processInfo.environment["TRAIL_TEST_POSTGRES"]))
        let database = "trail_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await server.createDatabase(database)
        let password = server.password.map { ":\($0)" } ?? ""
        let uri = "postgres://\(server.user)\(password)@\(server.host):\(server.port)/\(database)?sslmode=disable"

        let report = try await home.migrateStore(to: uri, environment: [:], actor: .user("operator"))
        #expect(report.events == count && report.from == "sqlite" && report.to == "postgres")
        let moved = try await TrailHome.open(url, store: StoreSettings(uri: uri, environment: [:]))
        #expect(moved.store.backend == "postgres")
        #expect(try await moved.store.eventCount() == count + 1, "the move is one event, on the target")
        #expect(try await moved.store.events(from: 0, to: count).map(\.body) == bodies)
        #expect(try await Array(moved.store.checkpoints().prefix(checkpoints.count)) == checkpoints)
        #expect(try await moved.store.events(from: count, to: count + 1).first?.action == "store.migrate")
        // The copy goes on as the record: a write after the move gets the next index.
        _ = try await moved.tracking.createExperiment(name: "after-the-move", tags: [], actor: alice)
        _ = try await moved.ledger.checkpointIfBehind()
        let verified = try await moved.verifier.verify()
        #expect(verified.ok, "\(verified.findings.prefix(5))")
        // A second migration into the same (now non-empty) database is refused.
        let again = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-migrate-\(UUID().uuidString)"), store: StoreSettings(environment: [:]))
        let refused = await #expect(throws: TrailError.self) { _ = try await again.migrateStore(to: uri, environment: [:], actor: .user("operator")) }
        #expect(refused?.field == "to")

        // And back into SQLite (the old file moved aside first).
        try FileManager.default.moveItem(at: url.appendingPathComponent("trail.sqlite"), to: url.appendingPathComponent("trail.sqlite.before"))
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.moveItem(
                at: url.appendingPathComponent("trail.sqlite\(suffix)"), to: url.appendingPathComponent("trail.sqlite.before\(suffix)"))
        }
        let total = try await moved.store.eventCount()
        let back = try await moved.migrateStore(to: nil, environment: [:], actor: .user("operator"))
        #expect(back.from == "postgres" && back.to == "sqlite")
        let returned = try await TrailHome.open(url, store: StoreSettings(environment: [:]))
        #expect(returned.store.backend == "sqlite")
        #expect(try await returned.store.events(from: 0, to: count).map(\.body) == bodies)
        #expect(try await returned.store.eventCount() == total + 1)
        _ = try await returned.ledger.checkpointIfBehind()
        let verifiedBack = try await returned.verifier.verify()
        #expect(verifiedBack.ok, "\(verifiedBack.findings.prefix(5))")
    }
}
