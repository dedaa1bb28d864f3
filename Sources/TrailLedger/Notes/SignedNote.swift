import Crypto
import Foundation

/// An Ed25519 note signer (C2SP `signed-note`, signature type 0x01).
public struct NoteSigner: Sendable {
    public let name: String
    let key: Curve25519.Signing.PrivateKey

    /// - Parameter seed: the 32-byte Ed25519 private key seed.
    public init(name: String, seed: [UInt8]) throws {
        guard SignedNote.isValidKeyName(name) else { throw NoteError.invalidKeyName }
        self.name = name
        key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    public var verifier: NoteVerifier { NoteVerifier(name: name, publicKey: Array(key.publicKey.rawRepresentation)) }

    /// Signs `text` (which must end in a newline) and returns the whole note.
    public func sign(_ text: String) throws -> String {
        guard text.hasSuffix("\n") else { throw NoteError.malformed("note text must end with a newline") }
        let signature = try key.signature(for: Data(text.utf8))
        let keyID = verifier.keyID
        let blob = [UInt8(keyID >> 24), UInt8(keyID >> 16 & 0xff), UInt8(keyID >> 8 & 0xff), UInt8(keyID & 0xff)] + Array(signature)
        return text + "\n" + "\u{2014} \(name) \(Data(blob).base64EncodedString())\n"
    }
}

/// An Ed25519 note verifier, written as a C2SP verifier key `<name>+<hex id>+<base64(0x01 ‖ key)>`.
public struct NoteVerifier: Sendable, Hashable {
    public let name: String
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
    }

    /// Parses a verifier key; checks that the key id recomputes.
    public init(vkey: String) throws {
        let (name, key) = try SignedNote.parseVKey(vkey, type: 0x01)
        self.init(name: name, publicKey: key)
    }

    /// First 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`, big-endian.
    public var keyID: UInt32 { SignedNote.keyID(name: name, type: 0x01, publicKey: publicKey) }

    public var vkey: String {
        "\(name)+\(String(format: "%08x", keyID))+\(Data([1] + publicKey).base64EncodedString())"
    }

    func isValid(signature: [UInt8], for text: String) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: Data(text.utf8))
    }
}

public enum NoteError: Error, Sendable, Equatable {
    case malformed(String)
    case invalidKeyName
    case unknownSigner
    case badSignature
}

/// C2SP signed notes: text, a blank line, then signature lines.
public enum SignedNote {
    static func isValidKeyName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.properties.isWhitespace }
    }

    /// First 4 bytes of `SHA-256(name ‖ 0x0A ‖ type ‖ public key)`, big-endian.
    static func keyID(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
        let digest = Array(SHA256.hash(data: Array(name.utf8) + [0x0a, type] + publicKey))
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    /// Parses `<name>+<hex key id>+<base64(type ‖ Ed25519 key)>`; the key id must recompute.
    static func parseVKey(_ vkey: String, type: UInt8) throws -> (name: String, publicKey: [UInt8]) {
        let parts = vkey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 8, let id = UInt32(parts[1], radix: 16),
            let blob = Data(base64Encoded: String(parts[2])), blob.count == 33, blob.first == type
        else { throw NoteError.malformed("not an Ed25519 verifier key of type 0x0\(type)") }
        let name = String(parts[0])
        let key = Array(blob.dropFirst())
        guard isValidKeyName(name), keyID(name: name, type: type, publicKey: key) == id else {
            throw NoteError.malformed("verifier key id does not match its key")
        }
        return (name, key)
    }

    /// A note split into its text (through the last line before the blank line, newline
    /// included) and its signature lines `(name, key id ‖ signature bytes)`.
    public static func split(_ note: String) throws -> (text: String, lines: [(name: String, payload: [UInt8])]) {
        guard note.hasSuffix("\n"), !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
            throw NoteError.malformed("a note is newline-terminated text without control characters")
        }
        guard let split = note.range(of: "\n\n", options: .backwards) else { throw NoteError.malformed("no signature block") }
        let text = String(note[..<split.lowerBound]) + "\n"
        var lines: [(String, [UInt8])] = []
        for line in note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard line.hasPrefix("\u{2014} ") else { throw NoteError.malformed("signature line without the em dash") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let blob = Data(base64Encoded: String(fields[1])), blob.count >= 5 else {
                throw NoteError.malformed("malformed signature line")
            }
            lines.append((String(fields[0]), Array(blob)))
        }
        return (text, lines)
    }

    static func keyID(of payload: [UInt8]) -> UInt32 {
        UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])
    }

    /// Verifies `note` with `verifier` and returns its text. Signatures by unknown keys are
    /// ignored; a known key's bad signature, or no known signature at all, fails.
    public static func open(_ note: String, verifier: NoteVerifier) throws -> String {
        let (text, lines) = try split(note)
        var verified = false
        for (name, payload) in lines where name == verifier.name && keyID(of: payload) == verifier.keyID {
            guard verifier.isValid(signature: Array(payload.dropFirst(4)), for: text) else { throw NoteError.badSignature }
            verified = true
        }
        guard verified else { throw NoteError.unknownSigner }
        return text
    }
}

/// A C2SP `tlog-checkpoint`: origin, tree size, base64 root, then optional extension lines.
public struct Checkpoint: Sendable, Hashable {
    public var origin: String
    public var size: UInt64
    public var root: TreeHash
    public var extensions: [String]

    public init(origin: String, size: UInt64, root: TreeHash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The signed text: `origin\nsize\nbase64(root)\n` plus extension lines.
    public var text: String {
        ([origin, String(size), Data(root).base64EncodedString()] + extensions).joined(separator: "\n") + "\n"
    }

    /// Parses checkpoint text, applying the checklist of `transparency-dev/formats`.
    public init(text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.last == "", lines.count >= 4 else { throw NoteError.malformed("a checkpoint has at least three lines") }
        lines.removeLast()
        guard !lines[0].isEmpty, let size = UInt64(lines[1]), String(size) == lines[1],
            let root = Data(base64Encoded: lines[2]), root.count == 32
        else { throw NoteError.malformed("bad checkpoint origin, size or root") }
        self.init(origin: lines[0], size: size, root: Array(root), extensions: Array(lines.dropFirst(3)))
    }

    /// Verifies a signed checkpoint note and parses it; the origin must be the signer's name.
    public static func open(_ note: String, verifier: NoteVerifier) throws -> Checkpoint {
        let checkpoint = try Checkpoint(text: SignedNote.open(note, verifier: verifier))
        guard checkpoint.origin == verifier.name else { throw NoteError.malformed("checkpoint origin is not the log's key name") }
        return checkpoint
    }
}
