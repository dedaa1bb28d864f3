import Crypto
import Foundation
import TrailCore
import TrailArtifacts
import TrailStore

/// Erasure, retention and legal holds (issue #18), on top of sealed values: raw prediction
/// inputs and the values of sensitive params and tags are stored sealed, each under a key of
/// its own, so erasing them destroys keys and changes no recorded row. `trail ledger verify`
/// keeps passing and counts what was shredded. Every erasure, retention run, hold and setting
/// is one transaction and one ledger event naming what it removed by digest.
public struct DataProtectionService: Sendable {
    public let tracking: TrackingService
    public let registry: RegistryService

    public init(tracking: TrackingService, registry: RegistryService) {
        self.tracking = tracking
        self.registry = registry
    }

    var store: any MetadataStore { tracking.store }
    var clock: any TrailClock { tracking.clock }
    var blobs: any BlobStore { tracking.blobs }

    static let maxReasonLength = 2000
    /// Keys destroyed per retention event (each named in the event by its record's digest).
    public static let retentionBatch = 500

    /// "prediction 'x' does not exist", saying so when retention removes prediction records.
    static func predictionNotFound(_ id: String, store: any MetadataStore) async -> TrailError {
        var error = TrailError.notFound("prediction", id, field: "prediction_id")
        if let setting = try? await store.retentionSettings().first(where: { $0.kind == .predictionRecords }) {
            error.message += " (prediction records older than \(setting.days) days are removed by retention; each removal is a retention.apply event)"
        }
        return error
    }

    static func checkReason(_ reason: String) throws -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TrailError.invalid("reason", "say why (a data-subject request's reference, a court order, …)") }
        try Limits.checkLength(trimmed, max: maxReasonLength, field: "reason")
        return trimmed
    }

    // MARK: - Reading raw inputs

    /// A prediction record as `reader` may see it: the raw input in clear for privileged
    /// readers, else removed, with `raw_input_state` saying which.
    public func present(_ record: PredictionRecord, reader: Reader) async throws -> PredictionRecord {
        var out = record
        guard let raw = record.rawInput else { return out }
        guard let keyID = Sealer.keyID(of: raw) else {
            // Kept in clear before sealing existed (migration 012).
            if !reader.reveal {
                out.rawInput = nil
                out.rawInputState = "masked"
            } else {
                out.rawInputState = "shown"
            }
            return out
        }
        guard let bytes = try await store.sealKeys(ids: [keyID])[keyID]?.bytes else {
            out.rawInput = nil
            out.rawInputState = "erased"
            return out
        }
        guard reader.reveal else {
            out.rawInput = nil
            out.rawInputState = "masked"
            return out
        }
        out.rawInput = try Sealer.open(raw, key: bytes)
        out.rawInputState = "shown"
        return out
    }

    /// A stored prediction, presented to `reader`.
    public func prediction(id: String, reader: Reader) async throws -> PredictionRecord {
        guard let (record, _, _) = try await store.prediction(id: id) else { throw await Self.predictionNotFound(id, store: store) }
        return try await present(record, reader: reader)
    }

    // MARK: - Legal holds

    /// Every legal hold (active and released), oldest first.
    public func holds() async throws -> [LegalHold] { try await store.legalHolds() }

    /// Places a hold on a model, a run or a dataset digest: while it is active, nothing it
    /// covers is erased or removed by retention. Recorded as `hold.place`.
    public func placeHold(_ type: LegalHold.SubjectType, _ subject: String, reason: String, actor: Actor) async throws -> LegalHold {
        let reason = try Self.checkReason(reason)
        switch type {
        case .model: _ = try await registry.model(subject)
        case .run: _ = try await tracking.run(RunID(parsing: subject, field: "run"))
        case .dataset:
            guard (try? Digest(parsing: subject)) != nil else { throw TrailError.invalid("dataset", "a dataset is named by its digest, sha256:<64 hex>") }
        }
        let now = clock.nowMillis()
        var hold = LegalHold(
            holdID: "hold-" + Array(Sealer.newKeyBytes().prefix(8)).hexString, subjectType: type, subjectID: subject, reason: reason,
            actor: actor.id, creationTimeMillis: now)
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.placeLegalHold(hold)],
                event: EventDraft(
                    action: "hold.place", actor: actor, timeMillis: now, subject: Subject(type: type.rawValue, id: subject),
                    facts: ["hold_id": .string(hold.holdID), "reason": .string(reason)])))
        hold.eventIndex = receipt.eventIndex ?? 0
        return hold
    }

    /// Releases an active hold. Recorded as `hold.release`.
    public func releaseHold(_ id: String, reason: String, actor: Actor) async throws -> LegalHold {
        let reason = try Self.checkReason(reason)
        guard let hold = try await store.legalHolds().first(where: { $0.holdID == id && $0.isActive }) else {
            throw TrailError.notFound("active legal hold", id, field: "hold_id")
        }
        let now = clock.nowMillis()
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.releaseLegalHold(id: id, reason: reason, timeMillis: now)],
                event: EventDraft(
                    action: "hold.release", actor: actor, timeMillis: now, subject: Subject(type: hold.subjectType.rawValue, id: hold.subjectID),
                    facts: ["hold_id": .string(id), "reason": .string(reason)])))
        var released = hold
        released.releasedTimeMillis = now
        released.releaseReason = reason
        released.eventIndex = receipt.eventIndex ?? hold.eventIndex
        return released
    }

    /// The active holds that cover a run: on the run, on a dataset it read, or on a model one of
    /// whose versions it produced.
    func holds(coveringRun run: Run) async throws -> [LegalHold] {
        let active = try await store.legalHolds().filter(\.isActive)
        guard !active.isEmpty else { return [] }
        let digests = Set(run.inputs.map(\.digest))
        var models: Set<String> = []
        for hold in active where hold.subjectType == .model {
            if try await registry.versions(hold.subjectID).contains(where: { $0.runID == run.info.runID }) { models.insert(hold.subjectID) }
        }
        return active.filter { hold in
            switch hold.subjectType {
            case .run: hold.subjectID == run.info.runID.value
            case .dataset: digests.contains(hold.subjectID)
            case .model: models.contains(hold.subjectID)
            }
        }
    }

    static func refuseHeld(_ holds: [LegalHold], what: String) throws {
        guard let hold = holds.first else { return }
        throw TrailError(
            .invalidState,
            "\(what) is under legal hold \(hold.holdID) on \(hold.subjectType.rawValue) \(hold.subjectID) (\(hold.reason)); release it first",
            field: "hold")
    }

    // MARK: - Erasure

    public struct Erasure: Sendable, Codable, Hashable {
        public var subject: String
        public var keysDestroyed: Int
        public var digests: [String]
        public var eventIndex: Int64?

        enum CodingKeys: String, CodingKey { case subject, keysDestroyed = "keys_destroyed", digests, eventIndex = "event_index" }
    }

    /// Erases one prediction's raw input (a data-subject request): its key is destroyed; the
    /// record, its input digest and its Merkle leaf stay. Recorded as `data.erase`.
    public func erase(prediction id: String, reason: String, actor: Actor) async throws -> Erasure {
        let reason = try Self.checkReason(reason)
        try Limits.checkLength(id, max: 300, field: "prediction")
        guard let (record, _, _) = try await store.prediction(id: id) else { throw TrailError.notFound("prediction", id, field: "prediction") }
        try Self.refuseHeld(try await store.legalHolds().filter { $0.isActive && $0.subjectType == .model && $0.subjectID == record.modelName },
            what: "prediction \(id)")
        guard let raw = record.rawInput else {
            throw TrailError(.invalidState, "prediction \(id) kept no raw input: only its digest \(record.inputDigest) is stored", field: "prediction")
        }
        guard let keyID = Sealer.keyID(of: raw) else {
            throw TrailError(
                .invalidState,
                "prediction \(id)'s raw input was stored in clear, before inputs were sealed; it is covered by its event's write digest and cannot be erased without breaking verification",
                field: "prediction")
        }
        guard try await store.sealKeys(ids: [keyID])[keyID]?.bytes != nil else {
            let event = try await store.sealKeyShreds(ids: [keyID])[keyID]?.eventIndex
            throw TrailError(.invalidState, "prediction \(id)'s raw input was already erased\(event.map { " (ledger event \($0))" } ?? "")", field: "prediction")
        }
        let now = clock.nowMillis()
        // Decided again inside the transaction: a hold placed, or an erasure made, meanwhile wins.
        let receipt = try await store.apply(
            WriteBatch(
                preconditions: [.sealKeysLive([keyID], field: "prediction"), .noActiveHold([Subject(type: "model", id: record.modelName)])],
                changes: [.shredSealKeys([keyID], timeMillis: now)],
                event: EventDraft(
                    action: "data.erase", actor: actor, timeMillis: now, subject: Subject(type: "prediction", id: id),
                    related: ["model": "\(record.modelName)/\(record.modelVersion)"],
                    facts: [
                        "reason": .string(reason), "kind": .string(SealKey.Kind.rawInput.rawValue),
                        "input_digest": .string(record.inputDigest.description), "keys_destroyed": .int(1),
                    ])))
        return Erasure(subject: "prediction \(id)", keysDestroyed: 1, digests: [record.inputDigest.description], eventIndex: receipt.eventIndex)
    }

    /// Erases the values of sensitive params and tags `keys` of a run: their key is destroyed,
    /// so every read shows `[erased]`; the event keeps the values' salted digests (as the
    /// ledger showed them) and the reason. A key whose values were logged in clear (before it
    /// was made sensitive) is refused, changing nothing: those values are in ledger events,
    /// which cannot forget them without breaking their proofs.
    public func erase(run id: RunID, keys: [String], reason: String, actor: Actor) async throws -> Erasure {
        let reason = try Self.checkReason(reason)
        guard keys.count <= 100 else { throw TrailError.invalid("keys", "at most 100 keys per erasure, got \(keys.count)") }
        for key in keys { try Limits.checkKey(key, field: "keys") }
        let keys = Array(Set(keys)).sorted()
        guard !keys.isEmpty else { throw TrailError.invalid("keys", "name the param or tag keys to erase") }
        let since = try await store.eventCount()
        guard let run = try await store.run(id: id) else { throw TrailError.notFound("run", id.value, field: "run") }
        try Self.refuseHeld(try await holds(coveringRun: run), what: "run \(id)")
        // What a hold on it could name: the run, the datasets it read, the models it produced.
        var covering = [Subject(type: "run", id: id.value)] + Set(run.inputs.map(\.digest)).sorted().map { Subject(type: "dataset", id: $0) }
        covering += Set(try await store.allModelVersions().filter { $0.runID == id }.map(\.name)).sorted().map { Subject(type: "model", id: $0) }
        let history = try await store.runTagHistory(run: id)
        var keyIDs: [String] = []
        var digests: [JSONValue] = []
        var shown: [String] = []
        for key in keys {
            let values = run.params.filter { $0.key == key }.map(\.value) + history.filter { $0.key == key }.compactMap(\.value)
            guard !values.isEmpty else { throw TrailError.notFound("param or tag", key, field: "keys") }
            if values.contains(where: { !Sealer.isSealed($0) }) {
                throw TrailError(
                    .invalidState,
                    "'\(key)' of run \(id) was logged in clear (it was not a sensitive key then): its value is in the ledger's events, which cannot forget it without breaking their proofs. Declare keys that may hold personal data with --sensitive-keys before they are logged",
                    field: "keys")
            }
            let keyID = SealKey.runValueKeyID(run: id, key: key)
            guard let bytes = try await store.sealKeys(ids: [keyID])[keyID]?.bytes else {
                throw TrailError(.invalidState, "the values of '\(key)' in run \(id) were already erased", field: "keys")
            }
            keyIDs.append(keyID)
            for value in Set(values).sorted() {
                let plain = try Sealer.open(value, key: bytes)
                let digest = Sealer.factDigest(plain, key: bytes)
                digests.append(["key": .string(key), "digest": .string(digest)])
                shown.append(digest)
            }
        }
        let now = clock.nowMillis()
        // Decided again inside the transaction: a value logged, a hold placed or an erasure made
        // since the values above were read makes this one retry or fail, never incomplete.
        let receipt = try await store.apply(
            WriteBatch(
                preconditions: [
                    .sealKeysLive(keyIDs, field: "keys"), .noActiveHold(covering), .noEventsSince(since, subjects: [Subject(type: "run", id: id.value)]),
                ],
                changes: [.shredSealKeys(keyIDs, timeMillis: now)],
                event: EventDraft(
                    action: "data.erase", actor: actor, timeMillis: now, subject: Subject(type: "run", id: id.value),
                    facts: [
                        "reason": .string(reason), "kind": .string(SealKey.Kind.runValue.rawValue), "keys": .array(keys.map(JSONValue.string)),
                        "values": .array(digests), "keys_destroyed": .int(Int64(keyIDs.count)),
                    ])))
        return Erasure(subject: "run \(id)", keysDestroyed: keyIDs.count, digests: shown, eventIndex: receipt.eventIndex)
    }

    // MARK: - Retention

    public func retentionSettings() async throws -> [RetentionSetting] { try await store.retentionSettings() }

    /// Sets how many days `kind` is kept (0 < days ≤ 36500). Recorded as `retention.set`.
    public func setRetention(_ kind: RetentionKind, days: Int64, actor: Actor) async throws -> RetentionSetting {
        guard (1...36_500).contains(days) else { throw TrailError.invalid("days", "days must be between 1 and 36500, got \(days)") }
        let now = clock.nowMillis()
        var setting = RetentionSetting(kind: kind, days: days, timeMillis: now, actor: actor.id)
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.setRetention(setting)],
                event: EventDraft(
                    action: "retention.set", actor: actor, timeMillis: now, subject: Subject(type: "retention", id: kind.rawValue),
                    facts: ["kind": .string(kind.rawValue), "days": .int(days)])))
        setting.eventIndex = receipt.eventIndex ?? 0
        return setting
    }

    public struct RetentionRun: Sendable, Codable, Hashable {
        public struct Applied: Sendable, Codable, Hashable {
            public var kind: RetentionKind
            public var days: Int64
            public var cutoffMillis: Int64
            public var removed: Int
            public var held: [String]
            public var eventIndexes: [Int64]

            enum CodingKeys: String, CodingKey { case kind, days, cutoffMillis = "cutoff", removed, held, eventIndexes = "event_indexes" }
        }
        public var applied: [Applied]
        public var dryRun: Bool

        enum CodingKeys: String, CodingKey { case applied, dryRun = "dry_run" }
    }

    /// Applies every retention setting: raw inputs older than their window have their keys
    /// destroyed (in events of at most `retentionBatch` records, each naming the records by
    /// prediction id and input digest), except under a model's legal hold. Idempotent; a dry
    /// run counts and records nothing.
    public func applyRetention(dryRun: Bool = false, actor: Actor, progress: (@Sendable (Int) -> Void)? = nil) async throws -> RetentionRun {
        var out = RetentionRun(applied: [], dryRun: dryRun)
        let now = clock.nowMillis()
        let held = try await store.legalHolds().filter { $0.isActive && $0.subjectType == .model }.map(\.subjectID)
        for setting in try await store.retentionSettings() {
            let (window, overflow) = setting.days.multipliedReportingOverflow(by: 86_400_000)
            let cutoff = overflow ? Int64.min : now &- window
            var applied = RetentionRun.Applied(kind: setting.kind, days: setting.days, cutoffMillis: cutoff, removed: 0, held: held.sorted(), eventIndexes: [])
            switch setting.kind {
            case .rawInputs:
                while true {
                    let due = try await store.liveInputKeys(beforeMillis: cutoff, excluding: Set(held), limit: dryRun ? 100_000 : Self.retentionBatch)
                    if dryRun {
                        applied.removed = due.count
                        break
                    }
                    guard !due.isEmpty else { break }
                    let records: [JSONValue] = due.map { ["prediction_id": .string($0.predictionID), "input_digest": .string($0.inputDigest)] }
                    let receipt = try await store.apply(
                        WriteBatch(
                            preconditions: [.noActiveHold(Set(due.map(\.key.scope)).sorted().map { Subject(type: "model", id: $0) })],
                            changes: [.shredSealKeys(due.map(\.key.keyID), timeMillis: now)],
                            event: EventDraft(
                                action: "retention.apply", actor: actor, timeMillis: now, subject: Subject(type: "retention", id: setting.kind.rawValue),
                                facts: [
                                    "kind": .string(setting.kind.rawValue), "days": .int(setting.days), "cutoff": .int(cutoff),
                                    "records": .array(records), "keys_destroyed": .int(Int64(due.count)),
                                    "held_models": .array(held.sorted().map(JSONValue.string)),
                                ])))
                    applied.removed += due.count
                    if let index = receipt.eventIndex { applied.eventIndexes.append(index) }
                    progress?(applied.removed)
                    if due.count < Self.retentionBatch { break }
                }
            case .predictionRecords, .servedHistograms:
                try await retireRows(setting, cutoff: cutoff, heldModels: Set(held), dryRun: dryRun, actor: actor, into: &applied, progress: progress)
            case .deletedRunArtifacts:
                try await retireBlobs(setting, cutoff: cutoff, dryRun: dryRun, actor: actor, into: &applied, progress: progress)
            }
            out.applied.append(applied)
        }
        return out
    }

    /// Group commits retired per retention event.
    public static let retirementBatch = 200

    /// Removes the rows of group commits whose predictions (or drift counts) are all older than
    /// the cutoff, none of a held model: per event, its rows in the kind's tables go, a
    /// `retired_writes` row keeps the event's digest and count, and (for records) the sealed
    /// inputs' keys are destroyed too. Each retention event names what it removed by event and
    /// write digest.
    func retireRows(
        _ setting: RetentionSetting, cutoff: Int64, heldModels: Set<String>, dryRun: Bool, actor: Actor, into applied: inout RetentionRun.Applied,
        progress: (@Sendable (Int) -> Void)?
    ) async throws {
        let records = setting.kind == .predictionRecords
        let table = records ? "predictions" : "served_feature_counts"
        let tables = records ? ["predictions", "prediction_outputs"] : ["served_feature_counts"]
        while true {
            let due = try await store.retirableEvents(
                table: table, beforeMillis: cutoff, excludingModels: heldModels, limit: dryRun ? 1_000_000 : Self.retirementBatch)
            if dryRun {
                // Rows, as a real run counts them: each prediction, or each commit's histogram row.
                applied.removed = records ? due.reduce(0) { $0 + $1.predictionIDs.count } : due.count
                return
            }
            guard !due.isEmpty else { return }
            var writes: [RetiredWrite] = []
            var listed: [JSONValue] = []
            for (event, _, _) in due {
                guard let stored = try await store.events(from: event, to: event + 1).first,
                    let recorded = try JSONValue.parse(stored.body)["digests"]?["writes"]
                else { throw TrailError.internalError("event \(event) is missing or unreadable") }
                for name in tables {
                    guard let digest = recorded[name]?["digest"]?.stringValue, let rows = recorded[name]?["rows"]?.intValue else { continue }
                    writes.append(RetiredWrite(table: name, writtenEvent: event, rows: rows, digest: digest))
                    listed.append(["table": .string(name), "event": .int(event), "rows": .int(rows), "digest": .string(digest)])
                }
            }
            let inputKeys = records ? due.flatMap(\.predictionIDs).map(SealKey.inputKeyID(prediction:)) : []
            let now = clock.nowMillis()
            let receipt = try await store.apply(
                WriteBatch(
                    // A hold placed on one of these models since they were read wins.
                    preconditions: [.noActiveHold(Set(due.flatMap(\.models)).sorted().map { Subject(type: "model", id: $0) })],
                    changes: (inputKeys.isEmpty ? [] : [.shredSealKeys(inputKeys, timeMillis: now)]) + [.retireWrites(writes, timeMillis: now)],
                    event: EventDraft(
                        action: "retention.apply", actor: actor, timeMillis: now, subject: Subject(type: "retention", id: setting.kind.rawValue),
                        facts: [
                            "kind": .string(setting.kind.rawValue), "days": .int(setting.days), "cutoff": .int(cutoff),
                            "writes": .array(listed), "events_retired": .int(Int64(due.count)),
                            "rows_removed": .int(writes.filter { $0.table == table }.reduce(0) { $0 &+ $1.rows }),
                            "held_models": .array(heldModels.sorted().map(JSONValue.string)),
                        ])))
            applied.removed += Int(clamping: writes.filter { $0.table == table }.reduce(0) { $0 &+ $1.rows })
            if let index = receipt.eventIndex { applied.eventIndexes.append(index) }
            progress?(applied.removed)
            if due.count < Self.retirementBatch { return }
        }
    }

    /// Removes the blobs that only runs deleted before the cutoff refer to (no live run, no
    /// registered version, logged model or attestation shares the bytes; no hold on the run or
    /// a dataset it read): first a retention event records them by digest, then each is removed
    /// from the artifact store. A blob recorded but still stored (a crash in between) is
    /// removed by the next application.
    func retireBlobs(
        _ setting: RetentionSetting, cutoff: Int64, dryRun: Bool, actor: Actor, into applied: inout RetentionRun.Applied,
        progress: (@Sendable (Int) -> Void)?
    ) async throws {
        let candidates = try await store.deletedRunBlobs(beforeMillis: cutoff)
        let active = try await store.legalHolds().filter(\.isActive)
        var heldRuns = Set(active.filter { $0.subjectType == .run }.map(\.subjectID))
        for hold in active where hold.subjectType == .dataset {
            heldRuns.formUnion(try await store.runs(datasetDigest: hold.subjectID).map(\.value))
        }
        let retired = try await store.retiredBlobs()
        let revived = try await store.digestsReferencedSince(retired.mapValues { $0 &+ 1 })
        var due: [TrailCore.Digest] = []
        var leftover: [TrailCore.Digest] = []
        for (digest, runs) in candidates.sorted(by: { $0.key.description < $1.key.description }) where runs.isDisjoint(with: heldRuns) {
            if retired[digest] != nil, !revived.contains(digest) {
                // Recorded already: removed unless a crash came between the record and the removal.
                if try await blobs.contains(digest) { leftover.append(digest) }
            } else {
                due.append(digest)
            }
        }
        if dryRun {
            applied.removed = due.count + leftover.count
            return
        }
        for digest in leftover { try await blobs.remove(digest) }
        applied.removed += leftover.count
        var start = 0
        while start < due.count {
            let batch = Array(due[start..<min(start + Self.retentionBatch, due.count)])
            start += batch.count
            let now = clock.nowMillis()
            let receipt = try await store.apply(
                WriteBatch(
                    changes: [.retireBlobs(batch, timeMillis: now)],
                    event: EventDraft(
                        action: "retention.apply", actor: actor, timeMillis: now, subject: Subject(type: "retention", id: setting.kind.rawValue),
                        facts: [
                            "kind": .string(setting.kind.rawValue), "days": .int(setting.days), "cutoff": .int(cutoff),
                            "blobs": .array(batch.map { .string($0.description) }),
                            "runs": .array(Set(batch.flatMap { candidates[$0] ?? [] }).sorted().map(JSONValue.string)),
                        ])))
            if let index = receipt.eventIndex { applied.eventIndexes.append(index) }
            // Removed only once the record of it has committed.
            for digest in batch { try await blobs.remove(digest) }
            applied.removed += batch.count
            progress?(applied.removed)
        }
    }

    // MARK: - Verification

    /// How many keys of each kind were destroyed (for `ledger verify`).
    public func shredCounts() async throws -> [SealKey.Kind: Int64] { try await store.sealKeyShredCounts() }
}
