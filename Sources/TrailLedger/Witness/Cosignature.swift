import Crypto
import Foundation

/// A witness's verifier key (C2SP `tlog-cosignature`, signature type 0x04, timestamped Ed25519):
/// `<name>+<hex key id>+<base64(0x04 ‖ key)>`.
public struct CosignatureVerifier: Sendable, Hashable {
    public let name: String
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
    }

    /// Parses a 0x04 verifier key; the key id must recompute. A 0x01 (log) key is refused: one
    /// key never serves both roles.
    public init(vkey: String) throws {
        let (name, key) = try SignedNote.parseVKey(vkey, type: 0x04)
        self.init(name: name, publicKey: key)
    }

    /// First 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)`, big-endian.
    public var keyID: UInt32 { SignedNote.keyID(name: name, type: 0x04, publicKey: publicKey) }

    public var vkey: String {
        "\(name)+\(String(format: "%08x", keyID))+\(Data([4] + publicKey).base64EncodedString())"
    }
}

/// A witness's signing key: cosigns checkpoints (C2SP `cosignature/v1`).
public struct CosignatureSigner: Sendable {
    public let name: String
    let key: Curve25519.Signing.PrivateKey

    public init(name: String, seed: [UInt8]) throws {
        guard SignedNote.isValidKeyName(name) else { throw NoteError.invalidKeyName }
        self.name = name
        key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    public var verifier: CosignatureVerifier { CosignatureVerifier(name: name, publicKey: Array(key.publicKey.rawRepresentation)) }

    /// The signature line `— <name> <base64(key id ‖ t big-endian ‖ signature)>\n` over
    /// `cosignature/v1\ntime <t>\n<checkpoint text>`.
    public func cosign(checkpointText: String, time: UInt64) throws -> String {
        guard time <= UInt64(Int64.max) else { throw NoteError.malformed("a cosignature time is at most 2^63-1") }
        let signature = try key.signature(for: Data(Cosignature.message(checkpointText: checkpointText, time: time)))
        let id = verifier.keyID
        var payload: [UInt8] = [UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)]
        for shift in stride(from: 56, through: 0, by: -8) { payload.append(UInt8(time >> UInt64(shift) & 0xff)) }
        payload += Array(signature)
        return "\u{2014} \(name) \(Data(payload).base64EncodedString())\n"
    }
}

public enum Cosignature {
    /// The signed message: `cosignature/v1\ntime <t>\n` then the checkpoint note's text.
    public static func message(checkpointText: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(checkpointText.utf8)
    }

    /// A note split into its text and signature lines (`SignedNote.split`), with at least one line.
    public static func split(_ note: String) throws -> (text: String, lines: [(name: String, payload: [UInt8])]) {
        let parts = try SignedNote.split(note)
        guard !parts.lines.isEmpty else { throw NoteError.malformed("a note has at least one signature") }
        return parts
    }

    static func keyID(_ payload: [UInt8]) -> UInt32 { SignedNote.keyID(of: payload) }

    /// Verifies one cosignature payload (76 bytes) for `text`; returns its time.
    public static func verify(payload: [UInt8], text: String, by witness: CosignatureVerifier) -> UInt64? {
        guard payload.count == 76, keyID(payload) == witness.keyID else { return nil }
        let time = payload[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time <= UInt64(Int64.max), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: witness.publicKey),
            key.isValidSignature(Array(payload[12...]), for: Data(message(checkpointText: text, time: time)))
        else { return nil }
        return time
    }

    /// The witnesses (of `witnesses`) whose cosignature on `note` verifies, with its time.
    /// Lines of unknown keys are ignored; a known witness's line that fails rejects the note;
    /// repeated lines of one witness count once (the first).
    public static func cosigners(of note: String, among witnesses: [CosignatureVerifier]) throws -> [CosignatureVerifier: UInt64] {
        let (text, lines) = try split(note)
        var found: [CosignatureVerifier: UInt64] = [:]
        for (name, payload) in lines {
            guard let witness = witnesses.first(where: { $0.name == name && $0.keyID == keyID(payload) }), found[witness] == nil else { continue }
            guard let time = verify(payload: payload, text: text, by: witness) else {
                throw NoteError.malformed("cosignature from \(witness.name) does not verify")
            }
            found[witness] = time
        }
        return found
    }

    /// A client's check: the log signed `note` and at least `quorum` of `witnesses` cosigned
    /// it. Returns the checkpoint and the witnesses that cosigned; throws naming what failed.
    public static func verifyQuorum(note: String, log: NoteVerifier, witnesses: [CosignatureVerifier], quorum: Int) throws -> (
        checkpoint: Checkpoint, cosigners: [String]
    ) {
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.open(note, verifier: log)
        } catch {
            throw NoteError.malformed("no valid log signature")
        }
        let cosigners = try self.cosigners(of: note, among: witnesses)
        guard cosigners.count >= quorum else {
            throw NoteError.malformed("only \(cosigners.count) of the required \(quorum) cosignatures")
        }
        return (checkpoint, cosigners.keys.map(\.name).sorted())
    }
}
