import Foundation
import Testing
import TrailCore
import TrailLedger
import TrailService
import TrailStore

/// OpenLineage out: ModelTrail's runs as RunEvents that ModelTrail's own (Marquez-strict) check
/// accepts, each carrying the ledger event and an inclusion proof that verifies offline.
@Suite("OpenLineage out: RunEvents from the ledger")
struct OpenLineageEmitterTests {
    @Test func aTrainingRunBecomesStartCompleteAndItsVersionAnOutput() async throws {
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-ol-out-\(UUID().uuidString)"), store: try await StoreSettings.testing())
        _ = try await home.pipeline(as: .user("carol")).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: ServingTests.environment)
        let emitter = OpenLineageEmitter(tracking: home.tracking, registry: home.registry, ledger: home.ledger)
        let events = try await home.tracking.store.events(from: 0, to: try await home.tracking.store.eventCount())
        var emitted: [String: JSONValue] = [:]
        for event in events {
            guard let runEvent = try await emitter.runEvent(for: event) else { continue }
            let type = try #require(runEvent["eventType"]?.stringValue)
            #expect(emitted[type] == nil, "one \(type)")
            emitted[type] = runEvent
            // What ModelTrail sends passes what ModelTrail accepts (the spec's required fields,
            // the facets' _producer and _schemaURL, RFC 3339 times, a UUID run id).
            let parsed = try OpenLineageEvent.parse(runEvent.canonicalBytes)
            #expect(parsed.kind == .run && parsed.jobNodeID?.hasPrefix("job:modeltrail:") == true)
            // The ledger facet: the event, and a proof of it against a signed checkpoint.
            let facet = try #require(runEvent["run"]?["facets"]?["modeltrail_ledger"])
            #expect(facet["eventIndex"]?.intValue == event.index)
            let note = try #require(facet["checkpoint"]?.stringValue)
            let checkpoint = try Checkpoint.open(note, verifier: home.ledger.signer.verifier)
            guard case .array(let path)? = facet["inclusionProof"] else {
                Issue.record("no inclusion proof")
                continue
            }
            let hashes = path.compactMap { $0.stringValue.flatMap { Data(base64Encoded: $0) }.map { Array($0) } }
            #expect(
                Merkle.verifyInclusion(
                    index: UInt64(event.index), size: checkpoint.size, leaf: Merkle.leafHash(event.body), path: hashes, root: checkpoint.root))
        }
        #expect(Set(emitted.keys) == ["START", "COMPLETE", "OTHER"], "\(emitted.keys)")
        let start = try #require(emitted["START"])
        let runID = try #require(start["run"]?["runId"]?.stringValue)
        #expect(OpenLineageEvent.isUUID(runID) && emitted["COMPLETE"]?["run"]?["runId"]?.stringValue == runID)
        let input = try #require(try OpenLineageEvent.parse(start.canonicalBytes).datasets.first)
        #expect(input.role == "input" && input.version?.hasPrefix("sha256:") == true && input.schemaJSON?.contains("mean_radius") == true)
        let other = try #require(emitted["OTHER"])
        let output = try #require(try OpenLineageEvent.parse(other.canonicalBytes).datasets.first { $0.role == "output" })
        #expect(output.namespace == "modeltrail" && output.name == "models/bc/1" && output.datasetType == "MODEL")
        #expect(OpenLineageEmitter.runUUID("5d2b1b4c37fa4031b17d57de64f0699c") == "5d2b1b4c-37fa-4031-b17d-57de64f0699c")
        #expect(OpenLineageEmitter.rfc3339(1_736_935_200_007) == "2025-01-15T10:00:00.007Z")
    }
}

/// A receiver that is down until told otherwise, and records what it accepts.
final class FlakyReceiver: @unchecked Sendable {
    private let lock = NSLock()
    private var up = false
    private(set) var received: [[UInt8]] = []
    private(set) var refused = 0

    func bringUp() {
        lock.withLock { up = true }
    }

    func send(_ url: URL, _ body: [UInt8], _ key: String?) async throws -> Int {
        #expect(url.absoluteString == "http://receiver.test:5000/api/v1/lineage" && key == "k")
        guard accept(body) else { throw URLError(.cannotConnectToHost) }
        return 201
    }

    private func accept(_ body: [UInt8]) -> Bool {
        lock.withLock {
            guard up else {
                refused += 1
                return false
            }
            received.append(body)
            return true
        }
    }
}

@Suite("OpenLineage out: durable delivery")
struct OpenLineageDeliveryTests {
    @Test func aReceiverDownForAWhileLosesNothingAndGetsEachEventOnceInOrder() async throws {
        // Time moves only when the test says so: the backoff is judged without a race against
        // a slow machine.
        let clock = SteppedClock()
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-ol-deliver-\(UUID().uuidString)"), clock: clock,
            store: try await StoreSettings.testing())
        _ = try await home.pipeline(as: .user("carol")).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: ServingTests.environment)
        let receiver = FlakyReceiver()
        let emitter = OpenLineageEmitter(tracking: home.tracking, registry: home.registry, ledger: home.ledger)
        let forwarder = try OpenLineageForwarder(emitter: emitter, url: "http://receiver.test:5000", apiKey: "k", send: receiver.send)

        // Down: nothing delivered, the cursor stays at the first reportable event, and the
        // next attempt waits (backing off) instead of hammering.
        let first = try await forwarder.deliver()
        #expect(first.failed && first.delivered == 0 && receiver.refused == 1)
        let waiting = try await forwarder.deliver()
        #expect(!waiting.failed && receiver.refused == 1, "backing off")
        clock.advance(days: 1)
        #expect(try await forwarder.deliver().failed && receiver.refused == 2)
        #expect(try await home.tracking.store.openLineageCursor(receiver: "http://receiver.test:5000").failures == 2)

        // More happens while it is down; then it comes back: everything arrives, in order, once.
        let run = try await home.tracking.createRun(experimentID: nil, actor: .user("dave")).info.runID
        _ = try await home.tracking.updateRun(run, status: .failed, endTimeMillis: clock.nowMillis(), name: nil, actor: .user("dave"))
        receiver.bringUp()
        clock.advance(days: 1)
        let caughtUp = try await forwarder.drain()
        let size = try await home.tracking.store.eventCount()
        #expect(!caughtUp.failed && caughtUp.cursor.failures == 0 && caughtUp.cursor.nextIndex == size)
        let types = try receiver.received.map { try OpenLineageEvent.parse($0).eventType ?? "" }
        #expect(types == ["START", "OTHER", "COMPLETE", "START", "FAIL"], "\(types)")  // ledger order: the version is registered before the run ends
        // A restart (a new forwarder on the same home) resumes from the cursor: nothing twice.
        let again = try OpenLineageForwarder(emitter: emitter, url: "http://receiver.test:5000", apiKey: "k", send: receiver.send)
        #expect(try await again.drain().delivered == 0 && receiver.received.count == 5)
        // Refused receivers' URLs.
        for bad in ["ftp://x", "not a url", "http://"] {
            #expect(throws: TrailError.self, "\(bad)") { _ = try OpenLineageForwarder(emitter: emitter, url: bad) }
        }
    }
}

/// A clock that stands still until advanced.
final class SteppedClock: TrailClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now = Int64(Date().timeIntervalSince1970 * 1000)
    func nowMillis() -> Int64 { lock.withLock { now } }
    func advance(days: Int64) { lock.withLock { now += days * 86_400_000 } }
}
