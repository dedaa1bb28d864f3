import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailArtifacts
import TrailCore
import TrailHTTP
import TrailService
import TrailStore

/// A clock tests move forward (retention windows).
final class ShiftingClock: TrailClock, @unchecked Sendable {
    private let lock = NSLock()
    private var offset: Int64 = 0
    func nowMillis() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        return Int64(Date().timeIntervalSince1970 * 1000) + offset
    }
    func advance(days: Int64) {
        lock.lock()
        defer { lock.unlock() }
        offset += days * 86_400_000
    }
}

/// Issue #18: sensitive values sealed and masked in every read, erasure by destroying keys
/// (the ledger still verifies and counts them), legal holds, retention of raw inputs.
@Suite("Data protection: sealing, masking, erasure, holds and retention")
struct DataProtectionTests {
    static let admin = Actor.user("root")

    static func securedApp(_ home: TrailHome) -> some ApplicationProtocol {
        let router = TrailApplication.router(
            home: home, config: TrailServerConfig(port: 0, localActor: .user("nobody")), logger: Logger(label: "test"), table: RouteTable())
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)", .contentType: "application/json"] }

    @Test func sensitiveValuesAreSealedMaskedForNonAuditorsAndErasable() async throws {
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-dp-\(UUID().uuidString)"), sensitiveKeys: ["ssn", "patient_id"],
            store: try await StoreSettings.testing())
        let tracking = home.tracking
        let carol = Actor.user("carol")
        let run = try await tracking.createRun(experimentID: nil, tags: [TrailCore.Tag(key: "patient_id", value: "P-1")], actor: carol).info.runID
        try await tracking.logBatch(run, params: [Param(key: "ssn", value: "123-45-6789"), Param(key: "C", value: "1.0")], actor: carol)
        try await tracking.setTag(run, key: "patient_id", value: "P-2", actor: carol)

        // Stored sealed: the rows hold no clear value, the ledger only salted digests.
        let stored = try #require(try await tracking.store.run(id: run))
        #expect(stored.params.first { $0.key == "ssn" }.map { Sealer.isSealed($0.value) } == true)
        #expect(stored.tags.first { $0.key == "patient_id" }.map { Sealer.isSealed($0.value) } == true)
        #expect(stored.params.first { $0.key == "C" }?.value == "1.0")
        let bodies = try await tracking.store.events(from: 0, to: 1000).map { String(decoding: $0.body, as: UTF8.self) }
        for secret in ["123-45-6789", "P-1", "P-2"] { #expect(!bodies.contains { $0.contains("\"\(secret)\"") }, "\(secret) in the ledger") }

        // Masked by default, in clear for a privileged reader.
        let masked = try await tracking.run(run)
        #expect(masked.params.first { $0.key == "ssn" }?.value == Sealer.masked)
        #expect(masked.tags.first { $0.key == "patient_id" }?.value == Sealer.masked)
        #expect(masked.params.first { $0.key == "C" }?.value == "1.0")
        let clear = try await tracking.run(run, reader: .privileged)
        #expect(clear.params.first { $0.key == "ssn" }?.value == "123-45-6789")
        #expect(clear.tags.first { $0.key == "patient_id" }?.value == "P-2")
        #expect(try await tracking.tagHistory(run).filter { $0.key == "patient_id" }.allSatisfy { $0.value == Sealer.masked })
        #expect(try await tracking.tagHistory(run, reader: .privileged).filter { $0.key == "patient_id" }.compactMap(\.value) == ["P-1", "P-2"])
        // A sensitive param is logged once: re-logging is refused whatever the value, and the
        // refusal echoes nothing (comparing would answer "is it X?").
        for guess in ["123-45-6789", "999-99-9999"] {
            let error = await #expect(throws: TrailError.self) { try await tracking.logParam(run, key: "ssn", value: guess, actor: carol) }
            #expect(error?.message.contains("123-45-6789") == false && error?.message.contains("sealed:") == false)
        }
        // The ledger's digest of a sensitive value is keyed per run and key: the same value
        // logged by anyone on another run gives another digest (no oracle).
        let other = try await tracking.createRun(experimentID: nil, actor: carol).info.runID
        try await tracking.logParam(other, key: "ssn", value: "123-45-6789", actor: carol)
        func ssnDigests() async throws -> [String] {
            try await tracking.store.events(matching: EventQuery(action: "params.log", limit: 100)).compactMap { event in
                try JSONValue.parse(event.body)["facts"]?["params"]?.items.first { $0["key"]?.stringValue == "ssn" }?["value"]?.stringValue
            }
        }
        let digests = try await ssnDigests()
        #expect(digests.count == 2 && Set(digests).count == 2 && digests.allSatisfy { $0.hasPrefix("hmac-sha256:") }, "\(digests)")
        // Keys match trimmed and case-insensitively; outside runs (where values cannot be sealed
        // and erased) a sensitive key is refused.
        try await tracking.setTag(other, key: "SSN ", value: "555-55-5555", actor: carol)
        #expect(try await tracking.run(other).tags.first { $0.key == "SSN " }?.value == Sealer.masked)
        for attempt in [
            { try await tracking.setExperimentTag(.defaultExperiment, key: "ssn", value: "1", actor: carol) },
            { _ = try await tracking.createExperiment(name: "e-ssn", tags: [TrailCore.Tag(key: "Patient_ID", value: "1")], actor: carol) },
            { _ = try await home.registry.createModel(name: "m-ssn", tags: [TrailCore.Tag(key: "ssn", value: "1")], actor: carol) },
            {
                _ = try await tracking.createLoggedModel(
                    experimentID: .defaultExperiment, name: "lm", sourceRunID: nil, params: [Param(key: "ssn", value: "1")], actor: carol)
            },
        ] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: TrailError.self) { try await attempt() }
            #expect(error?.message.contains("sensitive key") == true)
        }
        // A search cannot compare or order by a sensitive value (an oracle for a masked one).
        for (filter, order) in [("params.ssn = '123-45-6789'", [String]()), ("tags.patient_id LIKE 'P-%'", []), ("", ["params.ssn"])] {
            let error = await #expect(throws: TrailError.self) {
                _ = try await tracking.searchRuns(experimentIDs: [.defaultExperiment], filter: filter, orderBy: order)
            }
            #expect(error?.field == (order.isEmpty ? "filter" : "order_by"))
        }
        let found = try await tracking.searchRuns(experimentIDs: [.defaultExperiment], filter: "params.ssn IS NOT NULL")
        #expect(Set(found.items.map(\.info.runID)) == [run, other])
        #expect(found.items.allSatisfy { $0.params.first { $0.key == "ssn" }?.value == Sealer.masked })

        // Over HTTP: a viewer sees masks (native and MLflow API), an auditor the values.
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: Self.admin)
        _ = try await home.identity.createUser(name: "audrey", roles: [.auditor], actor: Self.admin)
        _ = try await home.identity.createUser(name: "ada", roles: [.admin], actor: Self.admin)
        let viewer = try await home.identity.createToken(user: "vic", actor: Self.admin).secret
        let auditor = try await home.identity.createToken(user: "audrey", actor: Self.admin).secret
        let adminToken = try await home.identity.createToken(user: "ada", actor: Self.admin).secret
        let app = Self.securedApp(home)
        try await app.test(.router) { client in
            for (token, expected) in [(viewer, Sealer.masked), (auditor, "123-45-6789")] {
                try await client.execute(uri: "/api/v1/runs/\(run.value)", method: .get, headers: Self.bearer(token)) { response in
                    #expect(response.status == .ok)
                    let body = String(buffer: response.body)
                    #expect(body.contains(expected), "\(body.prefix(400))")
                    if expected == Sealer.masked { #expect(!body.contains("123-45-6789") && !body.contains("P-2")) }
                }
                try await client.execute(uri: "/api/2.0/mlflow/runs/get?run_id=\(run.value)", method: .get, headers: Self.bearer(token)) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains(expected))
                }
            }
            // Erasure is for admins: an auditor is refused, and nothing changes.
            let body = ByteBuffer(string: #"{"run_id": "\#(run.value)", "keys": ["ssn"], "reason": "DSR-1"}"#)
            try await client.execute(uri: "/api/v1/erasures", method: .post, headers: Self.bearer(auditor), body: body) { response in
                #expect(response.status == .forbidden)
            }
        }

        // A key logged in clear cannot be erased (its value is in the ledger): refused, nothing recorded.
        let before = try await tracking.store.eventCount()
        let clearKey = await #expect(throws: TrailError.self) {
            _ = try await home.dataProtection.erase(run: run, keys: ["C"], reason: "DSR-0", actor: Self.admin)
        }
        #expect(clearKey?.field == "keys")
        // A legal hold on the run blocks erasure until it is released, checked again inside the
        // erasure's transaction (a hold placed between the check and the write wins).
        let hold = try await home.dataProtection.placeHold(.run, run.value, reason: "litigation L-7", actor: Self.admin)
        let raced = await #expect(throws: TrailError.self) {
            _ = try await tracking.store.apply(
                WriteBatch(
                    preconditions: [.noActiveHold([Subject(type: "run", id: run.value)])],
                    changes: [.shredSealKeys([SealKey.runValueKeyID(run: run, key: "ssn")], timeMillis: 1)],
                    event: EventDraft(action: "data.erase", actor: Self.admin, timeMillis: 1, subject: Subject(type: "run", id: run.value))))
        }
        #expect(raced?.field == "hold")
        let held = await #expect(throws: TrailError.self) {
            _ = try await home.dataProtection.erase(run: run, keys: ["ssn"], reason: "DSR-1", actor: Self.admin)
        }
        #expect(held?.field == "hold")
        #expect(try await tracking.store.eventCount() == before + 1, "only hold.place was recorded")
        _ = try await home.dataProtection.releaseHold(hold.holdID, reason: "case closed", actor: Self.admin)
        #expect(try await home.dataProtection.holds().map(\.isActive) == [false])

        // Erased through the API by an admin: unreadable everywhere, for everyone.
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"run_id": "\#(run.value)", "keys": ["ssn", "patient_id"], "reason": "DSR-1"}"#)
            try await client.execute(uri: "/api/v1/erasures", method: .post, headers: Self.bearer(adminToken), body: body) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("\"keys_destroyed\":2"))
            }
            try await client.execute(uri: "/api/v1/runs/\(run.value)", method: .get, headers: Self.bearer(auditor)) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(Sealer.erased) && !text.contains("123-45-6789") && !text.contains("P-2"), "\(text.prefix(400))")
            }
        }
        let erased = try await tracking.run(run, reader: .privileged)
        #expect(erased.params.first { $0.key == "ssn" }?.value == Sealer.erased)
        #expect(erased.tags.first { $0.key == "patient_id" }?.value == Sealer.erased)
        #expect(try await tracking.tagHistory(run, reader: .privileged).filter { $0.key == "patient_id" }.allSatisfy { $0.value == Sealer.erased })
        let event = try #require(try await tracking.store.events(matching: EventQuery(action: "data.erase")).first)
        let facts = try JSONValue.parse(event.body)["facts"]
        #expect(facts?["reason"] == .string("DSR-1"))
        #expect(facts?["values"]?.items.count == 3, "ssn's value and patient_id's two, as salted digests")
        #expect(!String(decoding: event.body, as: UTF8.self).contains("123-45-6789"))
        // The erased key takes no new value; erasing twice is refused.
        await #expect(throws: TrailError.self) { try await tracking.setTag(run, key: "patient_id", value: "P-3", actor: carol) }
        await #expect(throws: TrailError.self) { _ = try await home.dataProtection.erase(run: run, keys: ["ssn"], reason: "again", actor: Self.admin) }

        // The ledger verifies, every row included, and counts what was shredded.
        try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
        #expect(report.shredded["run_value"] == 2)
        #expect(report.verdict.contains("2 sealed values shredded"))
    }

    @Test func rawInputsAreSealedErasedHeldAndRetained() async throws {
        let clock = ShiftingClock()
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-dp-serve-\(UUID().uuidString)"), clock: clock,
            store: try await StoreSettings.testing())
        _ = try await home.pipeline(as: .user("carol")).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: ServingTests.environment)
        try await home.registry.setAlias(name: "bc", alias: "live", version: 1, actor: .user("carol"))
        let serving = ServingService(tracking: home.tracking, registry: home.registry)
        let loaded = try await serving.load(name: "bc", reference: "live")
        let server = ModelServer(
            serving: serving, model: loaded, configuration: .init(name: "bc", reference: "live", keepInputs: true), deploymentID: "dkeep")
        let row = try ServingTests.row(home)
        var ids: [String] = []
        for _ in 0..<4 {
            let answer = try await server.predict(JSONValue.object(row).canonicalBytes)
            #expect(answer.status == 200)
            ids += answer.predictionIDs
        }
        _ = try await server.stop()
        #expect(ids.count == 4)
        let protection = home.dataProtection
        let canonical = JSONValue.object(row).canonicalString

        // Stored sealed; shown only to privileged readers.
        let raw = try #require(try await home.tracking.store.prediction(id: ids[0])?.record.rawInput)
        #expect(Sealer.isSealed(raw) && !raw.contains("mean_radius"))
        let masked = try await protection.prediction(id: ids[0], reader: .masked)
        #expect(masked.rawInput == nil && masked.rawInputState == "masked")
        let shown = try await protection.prediction(id: ids[0], reader: .privileged)
        #expect(shown.rawInput == canonical && shown.rawInputState == "shown")
        #expect(try await home.lineage.prediction(id: ids[0]).prediction.rawInput == nil)
        // The server re-scores with the stored input.
        #expect(try await serving.rescore(predictionID: ids[0], input: nil, actor: .user("audrey")).outcome == "REPRODUCED")

        // Erase one: unreadable, re-scoring asks for the row, the record and its proof stay.
        // Eight erasures of the same input at once: exactly one succeeds and is recorded; the
        // others are refused inside their transactions (none reports success unrecorded).
        let target = ids[0]
        let outcomes = await withTaskGroup(of: DataProtectionService.Erasure?.self) { group in
            for i in 0..<8 {
                group.addTask { try? await protection.erase(prediction: target, reason: "DSR-9/\(i)", actor: Self.admin) }
            }
            var all: [DataProtectionService.Erasure?] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let succeeded = outcomes.compactMap { $0 }
        #expect(succeeded.count == 1 && succeeded.allSatisfy { $0.eventIndex != nil }, "\(outcomes)")
        #expect(try await home.tracking.store.events(matching: EventQuery(action: "data.erase")).count == 1)
        let erasure = try #require(succeeded.first)
        #expect(erasure.keysDestroyed == 1 && erasure.digests.count == 1)
        let gone = try await protection.prediction(id: ids[0], reader: .privileged)
        #expect(gone.rawInput == nil && gone.rawInputState == "erased")
        let rescore = await #expect(throws: TrailError.self) { _ = try await serving.rescore(predictionID: ids[0], input: nil, actor: .user("audrey")) }
        #expect(rescore?.message.contains("erased") == true)
        #expect(try await serving.rescore(predictionID: ids[0], input: row, actor: .user("audrey")).outcome == "REPRODUCED")
        _ = try await home.lineage.prediction(id: ids[0])

        // Retention: nothing is due until the window has passed; a model's hold keeps its inputs.
        _ = try await protection.setRetention(.rawInputs, days: 1, actor: Self.admin)
        #expect(try await protection.applyRetention(actor: .service("retention")).applied.first?.removed == 0)
        clock.advance(days: 2)
        let hold = try await protection.placeHold(.model, "bc", reason: "regulator inquiry R-3", actor: Self.admin)
        #expect(try await protection.applyRetention(actor: .service("retention")).applied.first?.removed == 0)
        let heldErase = await #expect(throws: TrailError.self) { _ = try await protection.erase(prediction: ids[1], reason: "DSR-10", actor: Self.admin) }
        #expect(heldErase?.field == "hold")
        _ = try await protection.releaseHold(hold.holdID, reason: "inquiry closed", actor: Self.admin)
        let dry = try await protection.applyRetention(dryRun: true, actor: Self.admin)
        #expect(dry.applied.first?.removed == 3)
        let result = try await protection.applyRetention(actor: .service("retention"))
        #expect(result.applied.first?.removed == 3)
        #expect(result.applied.first?.eventIndexes.count == 1)
        for id in ids { #expect(try await protection.prediction(id: id, reader: .privileged).rawInputState == "erased") }
        let applied = try #require(try await home.tracking.store.events(matching: EventQuery(action: "retention.apply")).first)
        let records = try JSONValue.parse(applied.body)["facts"]?["records"]?.items ?? []
        #expect(Set(records.compactMap { $0["prediction_id"]?.stringValue }) == Set(ids[1...]))
        #expect(try await protection.applyRetention(actor: .service("retention")).applied.first?.removed == 0, "idempotent")

        try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
        #expect(report.shredded["raw_input"] == 4)
    }

    /// Retention of prediction records, served-input histograms and deleted runs' files: rows
    /// and blobs go, their events stay, `ledger verify` passes and counts what was removed.
    @Test func recordsHistogramsAndDeletedRunFilesRetireAndTheLedgerStillVerifies() async throws {
        let clock = ShiftingClock()
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-dp-retire-\(UUID().uuidString)"), clock: clock,
            store: try await StoreSettings.testing())
        let carol = Actor.user("carol")
        _ = try await home.pipeline(as: carol).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: ServingTests.environment)
        try await home.registry.setAlias(name: "bc", alias: "live", version: 1, actor: carol)
        let serving = ServingService(tracking: home.tracking, registry: home.registry)
        let server = ModelServer(
            serving: serving, model: try await serving.load(name: "bc", reference: "live"),
            configuration: .init(name: "bc", reference: "live", keepInputs: true), deploymentID: "dret")
        let row = try ServingTests.row(home)
        var ids: [String] = []
        for _ in 0..<4 { ids += try await server.predict(JSONValue.object(row).canonicalBytes).predictionIDs }
        _ = try await server.stop()
        #expect(ids.count == 4)

        // Runs deleted with files: bytes of their own, bytes a live run shares, and a run under hold.
        let tracking = home.tracking
        let live = try await tracking.createRun(experimentID: nil, actor: carol).info.runID
        _ = try await tracking.putArtifact(live, path: try ArtifactPath(validating: "shared.txt"), bytes: Array("shared bytes".utf8), actor: carol)
        let gone = try await tracking.createRun(experimentID: nil, actor: carol).info.runID
        let own = try await tracking.putArtifact(gone, path: try ArtifactPath(validating: "own.txt"), bytes: Array("only \(gone)".utf8), actor: carol)
        let shared = try await tracking.putArtifact(gone, path: try ArtifactPath(validating: "shared.txt"), bytes: Array("shared bytes".utf8), actor: carol)
        let kept = try await tracking.createRun(experimentID: nil, actor: carol).info.runID
        let keptFile = try await tracking.putArtifact(kept, path: try ArtifactPath(validating: "k.txt"), bytes: Array("only \(kept)".utf8), actor: carol)
        try await tracking.deleteRun(gone, actor: carol)
        try await tracking.deleteRun(kept, actor: carol)
        let protection = home.dataProtection
        _ = try await protection.placeHold(.run, kept.value, reason: "litigation L-7", actor: Self.admin)

        for kind in [RetentionKind.predictionRecords, .servedHistograms, .deletedRunArtifacts] {
            _ = try await protection.setRetention(kind, days: 1, actor: Self.admin)
        }
        func removed(_ run: DataProtectionService.RetentionRun) -> [RetentionKind: Int] {
            Dictionary(uniqueKeysWithValues: run.applied.map { ($0.kind, $0.removed) })
        }
        // Nothing is due inside the window.
        #expect(removed(try await protection.applyRetention(actor: .service("retention"))).values.allSatisfy { $0 == 0 })
        clock.advance(days: 2)
        // A model's hold keeps its predictions and histograms.
        let modelHold = try await protection.placeHold(.model, "bc", reason: "regulator inquiry R-4", actor: Self.admin)
        let whileHeld = removed(try await protection.applyRetention(dryRun: true, actor: Self.admin))
        #expect(whileHeld[.predictionRecords] == 0 && whileHeld[.servedHistograms] == 0 && whileHeld[.deletedRunArtifacts] == 1)
        _ = try await protection.releaseHold(modelHold.holdID, reason: "closed", actor: Self.admin)
        let dry = removed(try await protection.applyRetention(dryRun: true, actor: Self.admin))
        #expect((dry[.predictionRecords] ?? 0) >= 1 && (dry[.servedHistograms] ?? 0) >= 1 && dry[.deletedRunArtifacts] == 1)
        #expect(try await protection.prediction(id: ids[0], reader: .privileged).predictionID == ids[0], "a dry run removes nothing")

        let result = try await protection.applyRetention(actor: .service("retention"))
        let counts = removed(result)
        #expect(counts[.predictionRecords] == 4, "\(counts)")
        #expect((counts[.servedHistograms] ?? 0) >= 1 && counts[.deletedRunArtifacts] == 1, "\(counts)")
        #expect(result.applied.allSatisfy { $0.removed == 0 || !$0.eventIndexes.isEmpty })

        // Gone through every read: the prediction, its sealed input's key, the deleted run's own file.
        for id in ids { await #expect(throws: TrailError.self) { _ = try await protection.prediction(id: id, reader: .privileged) } }
        #expect(try await tracking.store.sealKeys(ids: ids.map(SealKey.inputKeyID(prediction:))).values.allSatisfy { $0.bytes == nil })
        #expect(try await tracking.blobs.contains(own.digest) == false)
        let read = await #expect(throws: TrailError.self) { _ = try await tracking.openArtifact(gone, path: own.path, actor: carol) }
        #expect(read?.code == .resourceDoesNotExist && read?.message.contains("retention") == true)
        // Shared bytes and a held run's bytes stay; the artifact rows (the record) stay.
        let sharedStored = try await tracking.blobs.contains(shared.digest)
        let keptStored = try await tracking.blobs.contains(keptFile.digest)
        #expect(sharedStored && keptStored)
        #expect(try await tracking.artifacts(gone).count == 2)
        let applied = try await tracking.store.events(matching: EventQuery(action: "retention.apply"))
        let blobsListed = applied.compactMap { try? JSONValue.parse($0.body)["facts"]?["blobs"]?.items }.flatMap { $0 }.compactMap(\.stringValue)
        #expect(blobsListed == [own.digest.description])
        let writesListed = applied.compactMap { try? JSONValue.parse($0.body)["facts"]?["writes"]?.items }.flatMap { $0 }
        #expect(writesListed.contains { $0["table"]?.stringValue == "predictions" && $0["digest"]?.stringValue?.isEmpty == false })

        // Idempotent; the ledger verifies and counts what retention removed.
        #expect(removed(try await protection.applyRetention(actor: .service("retention"))).values.allSatisfy { $0 == 0 })
        try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
        #expect(report.retired["predictions"] == 4 && report.retired["blobs"] == 1 && (report.retired["served_feature_counts"] ?? 0) >= 1, "\(report.retired)")
        #expect(report.verdict.contains("removed by retention"))

        // A removed blob put back behind ModelTrail's back is reported, and the next run removes it.
        let writer = try tracking.blobs.makeWriter()
        try Array("only \(gone)".utf8).withUnsafeBytes { try writer.write($0) }
        _ = try await writer.commit()
        #expect(try await home.verifier.verify().findings.contains { $0.kind == "blob-retired-kept" })
        #expect(removed(try await protection.applyRetention(actor: .service("retention")))[.deletedRunArtifacts] == 1)
        #expect(try await home.verifier.verify().ok)
    }

    @Test func refusalsNameTheirFieldAndChangeNothing() async throws {
        let home = try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-dp-refuse-\(UUID().uuidString)"), store: try await StoreSettings.testing())
        _ = try await home.identity.createUser(name: "ada", roles: [.admin], actor: Self.admin)
        let token = try await home.identity.createToken(user: "ada", actor: Self.admin).secret
        let before = try await home.tracking.store.eventCount()
        let app = Self.securedApp(home)
        try await app.test(.router) { client in
            for (method, uri, body, field) in [
                (HTTPRequest.Method.post, "/api/v1/erasures", #"{"reason": "x"}"#, "prediction_id"),
                (.post, "/api/v1/erasures", #"{"prediction_id": "nope", "reason": "x"}"#, "prediction"),
                (.post, "/api/v1/erasures", #"{"prediction_id": "p", "run_id": "0123456789abcdef0123456789abcdef", "reason": "x"}"#, "prediction_id"),
                (.post, "/api/v1/erasures", #"{"prediction_id": "p", "reason": "  "}"#, "reason"),
                (.post, "/api/v1/erasures", #"{"run_id": "../../etc", "keys": ["a"], "reason": "x"}"#, "run_id"),
                (.post, "/api/v1/erasures", #"{"run_id": "0123456789abcdef0123456789abcdef", "keys": [], "reason": "x"}"#, "keys"),
                (.post, "/api/v1/holds", #"{"subject_type": "planet", "subject_id": "x", "reason": "x"}"#, "subject_type"),
                (.post, "/api/v1/holds", #"{"subject_type": "model", "subject_id": "nope", "reason": "x"}"#, "name"),
                (.post, "/api/v1/holds", #"{"subject_type": "dataset", "subject_id": "md5:1", "reason": "x"}"#, "dataset"),
                (.post, "/api/v1/holds/hold-x/release", #"{"reason": "x"}"#, "hold_id"),
                (.put, "/api/v1/retention/raw_inputs", #"{"days": 0}"#, "days"),
                (.put, "/api/v1/retention/raw_inputs", #"{"days": 9223372036854775807}"#, "days"),
                (.put, "/api/v1/retention/everything", #"{"days": 3}"#, "kind"),
                (.post, "/api/v1/retention/apply", "{}", "dry_run"),
                (.post, "/api/v1/erasures", #"{"prediction_id": "\#(String(repeating: "p", count: 5000))", "reason": "x"}"#, "prediction"),
                (.post, "/api/v1/erasures", #"{"run_id": "0123456789abcdef0123456789abcdef", "keys": ["\#(String(repeating: "k", count: 5000))"], "reason": "x"}"#, "keys"),
            ] {
                try await client.execute(uri: uri, method: method, headers: Self.bearer(token), body: ByteBuffer(string: body)) { response in
                    #expect((400..<500).contains(Int(response.status.code)), "\(uri) \(body): \(response.status)")
                    let text = String(buffer: response.body)
                    #expect(text.contains(field), "\(uri) \(body): \(text)")
                }
            }
        }
        let after = try await home.tracking.store.events(from: before, to: before + 100)
        #expect(after.allSatisfy { $0.action == "auth.denied" || $0.action.hasSuffix(".refused") } || after.isEmpty, "\(after.map(\.action))")
        #expect(try await home.dataProtection.retentionSettings().isEmpty)
        #expect(try await home.dataProtection.holds().isEmpty)
    }
}

extension JSONValue {
    fileprivate var items: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}
