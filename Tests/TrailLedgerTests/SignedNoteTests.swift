import Foundation
import Testing
import TrailLedger

@Suite("Signed notes and checkpoints (C2SP)")
struct SignedNoteTests {
    static var notes: [String: [String: String]] {
        get throws { try Vectors.load("tlog_vectors")["signed_note"] as! [String: [String: String]] }
    }

    @Test func goAndC2SPExamplesVerify() throws {
        for name in ["go_example", "c2sp_example"] {
            let example = try Self.notes[name]!
            let verifier = try NoteVerifier(vkey: example["vkey"]!)
            #expect(verifier.vkey == example["vkey"]!)
            _ = try SignedNote.open(example["signed_note"]!, verifier: verifier)
        }
    }

    @Test func testCheckpointIsReproducedByteForByte() throws {
        let vector = try Self.notes["test_checkpoint"]!
        let signer = try NoteSigner(name: vector["key_name"]!, seed: Vectors.hex(vector["ed25519_seed_hex"]!))
        #expect(signer.verifier.vkey == vector["vkey"]!)
        #expect(String(format: "%08x", signer.verifier.keyID) == vector["key_id_hex"]!)
        let checkpoint = Checkpoint(
            origin: vector["key_name"]!, size: 7, root: Array(Data(base64Encoded: "CwB/uRXrmyoUb1SxyG7FO2ZPjkVbdmCwtu4T7cDZIcA=")!))
        #expect(checkpoint.text == vector["checkpoint_body"]!)
        #expect(try signer.sign(checkpoint.text) == vector["signed_checkpoint"]!)
        let empty = Checkpoint(origin: vector["key_name"]!, size: 0, root: Merkle.emptyRoot)
        #expect(try signer.sign(empty.text) == vector["signed_empty_checkpoint"]!)
        #expect(try Checkpoint.open(vector["signed_checkpoint"]!, verifier: signer.verifier) == checkpoint)
    }

    @Test func anyChangedByteIsRejected() throws {
        let vector = try Self.notes["test_checkpoint"]!
        let verifier = try NoteVerifier(vkey: vector["vkey"]!)
        let note = Array(vector["signed_checkpoint"]!.utf8)
        var rejected = 0
        for position in note.indices {
            var changed = note
            changed[position] ^= 0x01
            guard let text = String(validating: changed, as: UTF8.self) else {
                rejected += 1
                continue
            }
            if (try? Checkpoint.open(text, verifier: verifier)) == nil { rejected += 1 }
        }
        #expect(rejected == note.count)
    }

    @Test func unknownSignersAreIgnoredButNeeded() throws {
        let vector = try Self.notes["test_checkpoint"]!
        let other = try NoteSigner(name: "example.com/other", seed: Array(repeating: 7, count: 32))
        let verifier = try NoteVerifier(vkey: vector["vkey"]!)
        #expect(throws: NoteError.unknownSigner) { try SignedNote.open(try other.sign("hello\n"), verifier: verifier) }
        let cosigned = vector["signed_checkpoint"]! + (try other.sign(vector["checkpoint_body"]!)).split(separator: "\n").last! + "\n"
        #expect(try Checkpoint.open(cosigned, verifier: verifier).size == 7)
    }

    @Test func malformedCheckpointsAreRejected() {
        for text in [
            "o\n007\nCwB/uRXrmyoUb1SxyG7FO2ZPjkVbdmCwtu4T7cDZIcA=\n", "o\n7\nAAAA\n", "\n7\nCwB/uRXrmyoUb1SxyG7FO2ZPjkVbdmCwtu4T7cDZIcA=\n", "o\n7\n",
        ] {
            #expect(throws: NoteError.self) { try Checkpoint(text: text) }
        }
    }
}
