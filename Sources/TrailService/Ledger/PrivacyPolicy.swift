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

    public init(sensitiveKeys: Set<String>, salt: [UInt8]) {
        self.sensitiveKeys = sensitiveKeys
        self.salt = salt
    }

    public static let none = PrivacyPolicy(sensitiveKeys: [], salt: [])

    /// The value as the ledger may show it.
    public func shown(key: String, value: String) -> String {
        guard sensitiveKeys.contains(key) else { return value }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(value.utf8), using: SymmetricKey(data: salt))
        return "hmac-sha256:" + Array(mac).hexString
    }

    /// Loads or creates the home's salt file (mode 0600, like the log key).
    public static func loadOrCreateSalt(at path: URL) throws -> [UInt8] {
        try LedgerKey.loadOrCreate(at: path)
    }
}
