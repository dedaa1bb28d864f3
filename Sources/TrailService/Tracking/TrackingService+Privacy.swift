import Crypto
import Foundation
import TrailCore
import TrailStore

/// Values of sensitive params and tags (issue #18): sealed when written (their key per run and
/// param/tag key, in `seal_keys`), shown in clear only to readers with an auditor or admin
/// role, masked for everyone else, and `[erased]` for everyone once their key is destroyed.
extension TrackingService {
    /// What a write stores and records once sensitive values are sealed.
    struct SealedWrite: Sendable {
        var params: [Param]
        var tags: [Tag]
        /// The keys used: each must still be live when the write commits.
        var keyIDs: [String]
        /// Sensitive values as the ledger shows them: an HMAC under the value's own sealing key,
        /// so nobody can test a guess against it (a guess logged elsewhere has another key), and
        /// nobody at all once the key is destroyed.
        var digests: [String: [UInt8]]

        func fact(key: String, value: String) -> String {
            guard let material = digests[key] else { return value }
            return Sealer.factDigest(value, key: material)
        }

        var preconditions: [Precondition] { keyIDs.isEmpty ? [] : [.sealKeysLive(keyIDs, field: "keys")] }
    }

    /// `params` and `tags` with the values of sensitive keys sealed under their run's key for
    /// that key. A sensitive param is logged once: a second logging is refused whatever its
    /// value (comparing values would answer "is it X?").
    func sealSensitive(_ id: RunID, params: [Param], tags: [Tag], field: String) async throws -> SealedWrite {
        let keys = Set((params.map(\.key) + tags.map(\.key)).filter(privacy.isSensitive))
        guard !keys.isEmpty else { return SealedWrite(params: params, tags: tags, keyIDs: [], digests: [:]) }
        let sensitiveParams = Set(params.map(\.key).filter(privacy.isSensitive))
        if !sensitiveParams.isEmpty, let stored = try await store.run(id: id),
            let again = stored.params.first(where: { sensitiveParams.contains($0.key) })
        {
            throw TrailError.invalid(
                "params", "param '\(again.key)' is already logged; a sensitive param is logged once (values are not compared, so that a refusal reveals nothing)")
        }
        var material: [String: (id: String, bytes: [UInt8])] = [:]
        for key in keys.sorted() {
            let keyID = SealKey.runValueKeyID(run: id, key: key)
            let stored = try await store.ensureSealKey(
                SealKey(keyID: keyID, kind: .runValue, scope: id.value, bytes: Sealer.newKeyBytes(), creationTimeMillis: clock.nowMillis()))
            guard let bytes = stored.bytes else {
                let event = try await store.sealKeyShreds(ids: [keyID])[keyID]?.eventIndex
                throw TrailError(
                    .invalidState,
                    "the values of '\(key.prefix(100))' in run \(id) were erased\(event.map { " (ledger event \($0))" } ?? ""); this run takes no new values for it",
                    field: field)
            }
            material[key] = (keyID, bytes)
        }
        func seal(_ key: String, _ value: String) throws -> String {
            guard let (keyID, bytes) = material[key] else { return value }
            return try Sealer.seal(value, keyID: keyID, key: bytes)
        }
        return SealedWrite(
            params: try params.map { Param(key: $0.key, value: try seal($0.key, $0.value)) },
            tags: try tags.map { Tag(key: $0.key, value: try seal($0.key, $0.value)) }, keyIDs: material.values.map(\.id).sorted(),
            digests: material.mapValues(\.bytes))
    }

    /// Resolves stored values for `reader`: sealed values in clear (privileged readers),
    /// masked (others) or erased; clear values of sensitive keys masked for unprivileged readers.
    func presenter(for values: [(key: String, value: String)], reader: Reader) async throws -> ValuePresenter {
        let sealedIDs = Set(values.compactMap { Sealer.keyID(of: $0.value) })
        guard !sealedIDs.isEmpty else { return ValuePresenter(privacy: privacy, reader: reader, keys: [:]) }
        let keys = try await store.sealKeys(ids: Array(sealedIDs))
        return ValuePresenter(privacy: privacy, reader: reader, keys: keys)
    }

    /// A run as `reader` may see it.
    public func present(_ run: Run, reader: Reader) async throws -> Run {
        let values = run.params.map { ($0.key, $0.value) } + run.tags.map { ($0.key, $0.value) }
        let presenter = try await presenter(for: values, reader: reader)
        guard presenter.changesAnything(values) else { return run }
        var out = run
        out.params = run.params.map { Param(key: $0.key, value: presenter.show(key: $0.key, value: $0.value)) }
        out.tags = run.tags.map { Tag(key: $0.key, value: presenter.show(key: $0.key, value: $0.value)) }
        return out
    }

    /// Refuses filters and orderings on sensitive keys: their values are sealed (a comparison
    /// cannot match them) and, where an older value is in clear, a comparison would reveal it.
    func checkSearchable(filter: RunFilter, orders: [RunOrder]) throws {
        for clause in filter.clauses where (clause.entity == .param || clause.entity == .tag) && privacy.isSensitive(clause.key) {
            guard clause.comparator == .isNull || clause.comparator == .isNotNull else {
                throw TrailError.invalid(
                    "filter", "\(clause.entity.rawValue)s.\(clause.key) is sensitive: its values are sealed and cannot be compared (IS NULL / IS NOT NULL only)")
            }
        }
        for order in orders where (order.entity == .param || order.entity == .tag) && privacy.isSensitive(order.key) {
            throw TrailError.invalid("order_by", "\(order.entity.rawValue)s.\(order.key) is sensitive: runs cannot be ordered by its values")
        }
    }
}

/// Shows stored param and tag values to one reader.
struct ValuePresenter: Sendable {
    let privacy: PrivacyPolicy
    let reader: Reader
    let keys: [String: SealKey]

    func show(key: String, value: String) -> String {
        if let keyID = Sealer.keyID(of: value) {
            guard let bytes = keys[keyID]?.bytes else { return Sealer.erased }
            guard reader.reveal else { return Sealer.masked }
            return (try? Sealer.open(value, key: bytes)) ?? Sealer.erased
        }
        if !reader.reveal && privacy.isSensitive(key) { return Sealer.masked }
        return value
    }

    func changesAnything(_ values: [(key: String, value: String)]) -> Bool {
        values.contains { Sealer.isSealed($0.value) || (!reader.reveal && privacy.isSensitive($0.key)) }
    }
}
