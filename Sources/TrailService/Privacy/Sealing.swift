import Crypto
import Foundation
import TrailCore

/// Sealed values: `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, AES-256-GCM with
/// the key id as associated data. The nonce is the first 12 bytes of HMAC-SHA256(key,
/// plaintext) (a synthetic nonce, as in SIV): sealing is deterministic, so a param re-logged
/// with its value seals to the same bytes (params are immutable and compared as stored), and
/// a nonce repeats only with its plaintext. The sealed text is what the append-only row holds
/// and its event's write digest covers; destroying the key erases the value and leaves every
/// digest as it was.
public enum Sealer {
    public static let prefix = "sealed:v1:"

    public static func isSealed(_ value: String) -> Bool { value.hasPrefix(prefix) }

    /// The id of the key that sealed `value`, if it is sealed.
    public static func keyID(of value: String) -> String? {
        guard value.hasPrefix(prefix) else { return nil }
        let rest = value.dropFirst(prefix.count)
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        return String(rest[..<colon])
    }

    /// A new random 256-bit key.
    public static func newKeyBytes() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    public static func seal(_ plaintext: String, keyID: String, key: [UInt8]) throws -> String {
        let symmetric = SymmetricKey(data: key)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: Array(plaintext.utf8), using: symmetric))
        let nonce = try AES.GCM.Nonce(data: mac[0..<12])
        let box = try AES.GCM.seal(Array(plaintext.utf8), using: symmetric, nonce: nonce, authenticating: Array(keyID.utf8))
        guard let combined = box.combined else { throw TrailError.internalError("AES-GCM gave no combined box") }
        return prefix + keyID + ":" + combined.base64EncodedString()
    }

    /// The plaintext of `value` under `key`; throws when it is not sealed under that key or was altered.
    public static func open(_ value: String, key: [UInt8]) throws -> String {
        guard let keyID = keyID(of: value) else { throw TrailError.internalError("not a sealed value") }
        let encoded = value.dropFirst(prefix.count + keyID.utf8.count + 1)
        guard let combined = Data(base64Encoded: String(encoded)) else { throw TrailError(.dataLoss, "a sealed value is not base64", field: nil) }
        let box = try AES.GCM.SealedBox(combined: combined)
        let plain = try AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: Array(keyID.utf8))
        guard let text = String(bytes: plain, encoding: .utf8) else { throw TrailError(.dataLoss, "a sealed value is not UTF-8", field: nil) }
        return text
    }

    /// A sensitive value as the ledger shows it: an HMAC under the value's own sealing key, so
    /// a guess logged elsewhere (another key) tells nothing, and once the key is destroyed
    /// nobody can recompute it.
    public static func factDigest(_ value: String, key: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("modeltrail.fact/v1\n\(value)".utf8), using: SymmetricKey(data: key))
        return "hmac-sha256:" + Array(mac).hexString
    }

    /// What a reader is shown in place of a value it may not see, and of an erased one.
    public static let masked = "[sensitive]"
    public static let erased = "[erased]"
}

/// Who is reading: whether sensitive values are shown in clear (auditors and admins), or masked.
public struct Reader: Sendable, Hashable {
    public var reveal: Bool
    public init(reveal: Bool) { self.reveal = reveal }
    /// Readers without an auditor or admin role see sensitive values masked.
    public init(roles: Set<Role>) { self.reveal = roles.contains(.auditor) || roles.contains(.admin) }
    public static let masked = Reader(reveal: false)
    public static let privileged = Reader(reveal: true)
}
