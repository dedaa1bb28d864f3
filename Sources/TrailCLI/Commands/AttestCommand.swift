import ArgumentParser
import Crypto
import Foundation
import TrailCore
import TrailLedger
import TrailService

/// `trail attest NAME VERSION --predicate-type T --file F`: submits a DSSE envelope (verified on
/// arrival), or signs a bare in-toto statement with `--key` first.
struct AttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Attach a signed in-toto statement (DSSE envelope) to a model version; verified on arrival.",
        discussion: """
            FILE is a DSSE envelope. With --key, FILE may instead be a bare in-toto Statement v1, which is signed with that
            Ed25519 key (a file written by `trail keys generate`) before it is submitted. The signing key must be trusted for
            the statement's predicate type (`trail keys trust`).
            """)
    @OptionGroup var options: GlobalOptions
    @Argument var name: String
    @Argument var version: Int64
    @Option(name: .customLong("predicate-type"), help: "The predicate type the statement must have.") var predicateType: String
    @Option(help: "The envelope (or, with --key, the statement) as JSON.") var file: String
    @Option(help: "Sign a bare statement with this key file first.") var key: String?

    func run() async throws {
        try await runReporting(options) {
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            if let key {
                let seed = try KeysCommand.loadSeed(key)
                bytes = try DSSE.Envelope.sign(
                    payloadType: DSSE.inTotoPayloadType, payload: bytes, key: try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
                ).json
            }
            let attestation = try await options.backend().attest(name: name, version: version, predicateType: predicateType, envelope: bytes)
            options.json
                ? Output.printJSON(attestation)
                : print(
                    "attested \(name) version \(version): \(attestation.predicateType), subject \(attestation.subjectDigest), envelope \(attestation.envelopeDigest) (event #\(attestation.eventIndex))"
                )
        }
    }
}

/// `trail keys`: the signing keys trusted for attestations.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Signing keys trusted for attestations (admins).",
        subcommands: [Generate.self, Trust.self, List.self, Revoke.self])

    static func loadSeed(_ path: String) throws -> [UInt8] {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count == 64, let seed = [UInt8](hex: text) else {
            throw TrailError.invalid("key", "\(path) must hold an Ed25519 seed as 64 hexadecimal characters")
        }
        return seed
    }


    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an Ed25519 signing key (seed file, mode 0600) and print its public key.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Where to write the seed.") var out: String

        func run() async throws {
            try await runReporting(options) {
                guard !FileManager.default.fileExists(atPath: out) else {
                    throw TrailError(.resourceAlreadyExists, "\(out) exists; a key file is never overwritten", field: "out")
                }
                let key = Curve25519.Signing.PrivateKey()
                guard
                    FileManager.default.createFile(
                        atPath: out, contents: Data((Array(key.rawRepresentation).hexString + "\n").utf8), attributes: [.posixPermissions: 0o600])
                else { throw TrailError.invalid("out", "cannot write \(out)") }
                let publicKey = Array(key.publicKey.rawRepresentation).hexString
                let keyID = DSSE.keyID(ed25519PublicKey: Array(key.publicKey.rawRepresentation))
                options.json
                    ? Output.printJSON(["public_key": publicKey, "keyid": keyID, "file": out])
                    : print("wrote \(out)\npublic key \(publicKey)\nkeyid      \(keyID)")
            }
        }
    }

    struct Trust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Trust a public key to sign attestations of the given predicate types.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "A name for the key (who holds it).") var name: String
        @Option(name: .customLong("public-key"), help: "Raw Ed25519 public key, 64 hex.") var publicKey: String
        @Option(name: .customLong("predicate-type"), help: "Repeat for each type.") var predicateTypes: [String]

        func run() async throws {
            try await runReporting(options) {
                let key = try await options.backend().trustKey(name: name, publicKeyHex: publicKey, predicateTypes: predicateTypes)
                options.json ? Output.printJSON(key) : print("trusted \(key.name) (keyid \(key.keyID)) for \(key.predicateTypes.joined(separator: ", "))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List trusted (and revoked) keys.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let keys = try await options.backend().trustedKeys()
                if options.json { return Output.printJSON(keys) }
                Output.table(
                    ["KEYID", "NAME", "STATE", "PREDICATE TYPES", "BY", "EVENT"],
                    keys.map {
                        [$0.keyID, $0.name, $0.revoked ? "revoked" : "trusted", $0.predicateTypes.joined(separator: " "), $0.actor, "#\($0.eventIndex)"]
                    })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw trust in a key; its attestations stop counting at the gate.")
        @OptionGroup var options: GlobalOptions
        @Argument var keyid: String

        func run() async throws {
            try await runReporting(options) {
                let key = try await options.backend().revokeKey(keyID: keyid)
                options.json ? Output.printJSON(key) : print("revoked \(key.name) (keyid \(key.keyID))")
            }
        }
    }
}
