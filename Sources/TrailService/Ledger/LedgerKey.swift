import Crypto
import Foundation
import TrailCore
import TrailLedger

#if canImport(Glibc)
    import Glibc
#endif

/// The log's Ed25519 key: created on first start as a file of mode 0600 holding the base64
/// 32-byte seed; the public half is served and printed as a C2SP verifier key.
public enum LedgerKey {
    /// Loads the seed at `path`, creating it (and refusing a readable-by-others file) as needed.
    public static func loadOrCreate(at path: URL) throws -> [UInt8] {
        if FileManager.default.fileExists(atPath: path.path) {
            let attributes = try FileManager.default.attributesOfItem(atPath: path.path)
            if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
                throw TrailError(.invalidState, "the ledger key file is readable by other users; run 'chmod 600' on it")
            }
            let text = try String(contentsOf: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let seed = Data(base64Encoded: text), seed.count == 32 else {
                throw TrailError(.invalidState, "the ledger key file does not hold a base64 Ed25519 seed")
            }
            return Array(seed)
        }
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        let seed = Array(Curve25519.Signing.PrivateKey().rawRepresentation)
        let descriptor = open(path.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TrailError(.internalError, "cannot create the ledger key file (errno \(errno))") }
        defer { close(descriptor) }
        let text = Array((Data(seed).base64EncodedString() + "\n").utf8)
        guard write(descriptor, text, text.count) == text.count, fsync(descriptor) == 0 else {
            throw TrailError(.internalError, "cannot write the ledger key file")
        }
        return seed
    }

    /// The log's origin (and key name): stable for a key, unique between keys.
    public static func origin(for seed: [UInt8]) throws -> String {
        let publicKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation
        return "modeltrail.local/ledger-" + Array(SHA256.hash(data: publicKey)).prefix(6).hexString
    }
}
