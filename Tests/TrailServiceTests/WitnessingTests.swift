import Foundation
import GRDB
import Testing
import TrailCore
import TrailLedger
import TrailService
import TrailStore

/// The log sends its checkpoints to a witness and keeps the cosignatures; a log cut back and
/// re-signed with its real key is refused by the witness and fails a quorum check.
@Suite("Witnessing the ledger")
struct WitnessingTests {
    @Test(.enabled(if: homesAreSQLite)) func cosignaturesAreCollectedAndACutLogIsCaught() async throws {
        let home = try await makeHome()
        for i in 0..<5 { _ = try await home.tracking.createExperiment(name: "e\(i)", tags: [], actor: .user("ann")) }
        try await home.ledger.checkpointIfBehind()
        let witness = try WitnessService(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("witness-\(UUID().uuidString)"), name: "w.test/w1",
            logs: [home.ledger.verifierKey])
        let transport: WitnessTransport = { _, body in
            let answer = await witness.addCheckpoint(body)
            return (answer.status, answer.body, answer.contentType)
        }
        let endpoint = try WitnessEndpoint(url: "http://witness.test/add-checkpoint", vkey: await witness.vkey)
        let first = try await home.ledger.latestCheckpoint().size
        #expect(await home.ledger.collectCosignatures(witnesses: [endpoint], post: transport) == ["w.test/w1: cosigned size \(first)"])
        #expect(await home.ledger.collectCosignatures(witnesses: [endpoint], post: transport).isEmpty, "nothing new to cosign")
        #expect(try await home.ledger.verifyWitnessed(witnesses: [endpoint.verifier], quorum: 1).cosigners == ["w.test/w1"])
        // The log grows: the witness checks the consistency proof from what it cosigned.
        for i in 5..<9 { _ = try await home.tracking.createExperiment(name: "e\(i)", tags: [], actor: .user("ann")) }
        try await home.ledger.checkpointIfBehind()
        let grown = try await home.ledger.latestCheckpoint().size
        #expect(await home.ledger.collectCosignatures(witnesses: [endpoint], post: transport) == ["w.test/w1: cosigned size \(grown)"])
        #expect(try await home.verifier.verify().ok, "stored cosignatures verify")
        #expect(await witness.state().first?.size == grown)

        // The operator cuts the last events (and their checkpoints and cosignatures) and signs
        // a shorter checkpoint with the real log key.
        let cut = Int64(grown) - 2
        try tamper(home) { db in
            try db.execute(sql: "DELETE FROM ledger_events WHERE idx >= ?", arguments: [cut])
            try db.execute(sql: "DELETE FROM merkle_nodes WHERE (idx + 1) << level > ?", arguments: [cut])
            for table in ["checkpoints", "checkpoint_records", "checkpoint_cosignatures"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE size >= ?", arguments: [cut])
            }
        }
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.ledger.latestCheckpoint().size == UInt64(cut))
        let refused = await home.ledger.collectCosignatures(witnesses: [endpoint], post: transport)
        #expect(refused.count == 1 && refused[0].hasPrefix("ALARM") && refused[0].contains("went back"), "\(refused)")
        #expect(await witness.state().first?.size == grown, "the witness keeps its record")
        let error = await #expect(throws: TrailError.self) { _ = try await home.ledger.verifyWitnessed(witnesses: [endpoint.verifier], quorum: 1) }
        #expect(error?.message.contains("size \(cut)") == true, "\(String(describing: error))")
    }
}

@Suite("The auditor's pinned log key")
struct AuditorStoreTests {
    @Test func firstUsePinsAChangedKeyIsRefusedAnExplicitKeyRePins() throws {
        let store = AuditorStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("auditor-\(UUID().uuidString)"))
        let first = try NoteSigner(name: "log.test/a", seed: [UInt8](repeating: 1, count: 32)).verifier.vkey
        let second = try NoteSigner(name: "log.test/a", seed: [UInt8](repeating: 2, count: 32)).verifier.vkey
        #expect(try store.trust(origin: "log.test/a", offered: first, explicit: nil).newlyPinned)
        #expect(!(try store.trust(origin: "log.test/a", offered: first, explicit: nil).newlyPinned))
        let changed = #expect(throws: TrailError.self) { _ = try store.trust(origin: "log.test/a", offered: second, explicit: nil) }
        #expect(changed?.message.contains("changed") == true)
        #expect(try store.trust(origin: "log.test/a", offered: second, explicit: second).newlyPinned, "an explicit key re-pins")
        #expect(store.pinnedKey(origin: "log.test/a") == second)
        #expect(throws: TrailError.self) { _ = try store.trust(origin: "log.test/a", offered: second, explicit: first) }
    }
}
