import Crypto
import Foundation
import TrailCore

/// Which values must never appear in the ledger in clear: the values of params and tags whose
/// keys the operator marks sensitive. In event facts they become `hmac-sha256:<hex>` with a
/// per-home secret salt, so equal values can still be matched by whoever holds the salt, and
/// nobody else learns them. (Rows are covered by digests only, never copied into events.)
public struct PrivacyPolicy: Sendable {
    public var sensitiveKeys: Set<String>
    let salt: [UInt8]

    /// The sensitive keys as matched: trimmed and lower-cased, so that `SSN` and `ssn ` are `ssn`.
    let normalized: Set<String>

    public init(sensitiveKeys: Set<String>, salt: [UInt8]) {
        self.sensitiveKeys = sensitiveKeys
        self.salt = salt
        self.normalized = Set(sensitiveKeys.map(Self.normalize).filter { !$0.isEmpty })
    }

    static func normalize(_ key: String) -> String { key.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }

    /// Whether values of `key` are sensitive (matched trimmed and case-insensitively).
    public func isSensitive(_ key: String) -> Bool { !normalized.isEmpty && normalized.contains(Self.normalize(key)) }

    /// Sensitive values are sealed only where they can be erased, on runs: elsewhere (experiment,
    /// registry and logged-model tags and params) a sensitive key is refused.
    public func refuseSensitive(_ keys: [String], field: String, on place: String) throws {
        guard let key = keys.first(where: isSensitive) else { return }
        throw TrailError.invalid(
            field, "'\(key.prefix(100))' is a sensitive key: its values are sealed, masked and erasable only on runs, so \(place) cannot hold it")
    }

    public static let none = PrivacyPolicy(sensitiveKeys: [], salt: [])

    /// The value as the ledger may show it.
    public func shown(key: String, value: String) -> String {
        guard isSensitive(key) else { return value }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(value.utf8), using: SymmetricKey(data: salt))
        return "hmac-sha256:" + Array(mac).hexString
    }

    /// Loads or creates the home's salt file (mode 0600, like the log key).
    public static func loadOrCreateSalt(at path: URL) throws -> [UInt8] {
        try LedgerKey.loadOrCreate(at: path)
    }
}
