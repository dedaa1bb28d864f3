import Foundation
import TrailCore
import TrailLedger
import TrailStore

/// A witness the log sends its checkpoints to: where (`url` of its `add-checkpoint`) and its
/// verifier key (C2SP 0x04).
public struct WitnessEndpoint: Sendable, Hashable {
    public var url: String
    public var verifier: CosignatureVerifier

    public init(url: String, vkey: String) throws {
        self.url = url
        do { verifier = try CosignatureVerifier(vkey: vkey) } catch { throw TrailError.invalid("witness", "'\(vkey.prefix(120))' is not a witness verifier key (0x04)") }
    }

    /// `URL=VKEY`, as given on the command line.
    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "="), text[..<equals].hasPrefix("http") else {
            throw TrailError.invalid("witness", "give a witness as URL=VKEY, e.g. http://127.0.0.1:7380/add-checkpoint=witness.example/w1+1234abcd+B…")
        }
        try self.init(url: String(text[..<equals]), vkey: String(text[text.index(after: equals)...]))
    }
}

/// How the log reaches a witness: POST `body` to `url`, return status, body and content type.
public typealias WitnessTransport = @Sendable (_ url: String, _ body: [UInt8]) async throws -> (status: Int, body: String, contentType: String?)

extension LedgerService {
    /// The `add-checkpoint` body: `old N`, the consistency proof from N, an empty line, the note.
    func witnessRequest(old: UInt64, checkpoint: StoredCheckpoint) async throws -> [UInt8] {
        let proof = old > 0 && old < checkpoint.size ? try await consistencyPath(first: old, second: checkpoint.size) : []
        var text = "old \(old)\n"
        for hash in proof { text += Data(hash).base64EncodedString() + "\n" }
        return Array((text + "\n" + checkpoint.note).utf8)
    }

    /// Sends the latest checkpoint to every witness that has not cosigned it and stores each
    /// cosignature that verifies. A witness that answers 409 with its size gets one retry with
    /// a proof from that size; any other refusal (a fork, a rollback, a bad proof) is reported
    /// in the returned lines, which the server logs loudly. Returns one line per witness.
    @discardableResult
    public func collectCosignatures(witnesses: [WitnessEndpoint], post: WitnessTransport) async -> [String] {
        guard !witnesses.isEmpty, let checkpoint = try? await latestCheckpoint(), checkpoint.size > 0 else { return [] }
        guard (try? SignedNote.open(checkpoint.note, verifier: signer.verifier)) != nil else {
            return ["the latest checkpoint does not verify with the log key; nothing sent"]
        }
        let have = (try? await store.cosignatures(size: checkpoint.size)) ?? [:]
        var report: [String] = []
        for witness in witnesses where have[witness.verifier.vkey] == nil {
            var old = (try? await store.lastCosignedSize(witness: witness.verifier.vkey)) ?? 0
            if old > checkpoint.size {
                report.append("ALARM \(witness.verifier.name): it cosigned size \(old) here, larger than the log's \(checkpoint.size): the log went back")
                continue
            }
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let (status, body, type) = try await post(witness.url, try await witnessRequest(old: old, checkpoint: checkpoint))
                    if status == 200 {
                        let lines = body.split(separator: "\n").map { String($0) + "\n" }
                        guard
                            let line = lines.first(where: { line in
                                (try? Cosignature.cosigners(of: checkpoint.note + line, among: [witness.verifier]))?.isEmpty == false
                            })
                        else {
                            report.append("\(witness.verifier.name): answered 200 without a cosignature that verifies")
                            break
                        }
                        try await store.insertCosignature(size: checkpoint.size, witness: witness.verifier.vkey, line: line, timeMillis: clock.nowMillis())
                        report.append("\(witness.verifier.name): cosigned size \(checkpoint.size)")
                    } else if status == 409, type?.hasPrefix("text/x.tlog.size") == true, attempt == 1,
                        let size = UInt64(body.trimmingCharacters(in: .whitespacesAndNewlines))
                    {
                        if size > checkpoint.size {
                            report.append("ALARM \(witness.verifier.name): it has seen size \(size), larger than the log's \(checkpoint.size): the log went back")
                            break
                        }
                        old = size
                        continue
                    } else {
                        report.append(
                            "\(status == 422 || status == 409 ? "ALARM " : "")\(witness.verifier.name): refused size \(checkpoint.size) from \(old) (\(status)): \(body.prefix(200).trimmingCharacters(in: .whitespacesAndNewlines))"
                        )
                    }
                } catch {
                    report.append("\(witness.verifier.name): unreachable (\(error))")
                }
                break
            }
        }
        return report
    }

    /// The checkpoint of `size` (or the latest) with every stored cosignature line appended.
    public func cosignedNote(size: UInt64? = nil) async throws -> (checkpoint: StoredCheckpoint, note: String) {
        let checkpoint = try await self.checkpoint(size: size)
        let lines = try await store.cosignatures(size: checkpoint.size).sorted { $0.key < $1.key }.map(\.value)
        return (checkpoint, checkpoint.note + lines.joined())
    }

    /// A quorum check on the latest checkpoint: the log signed it and at least `quorum` of
    /// `witnesses` cosigned it. Throws naming what is missing.
    public func verifyWitnessed(witnesses: [CosignatureVerifier], quorum: Int) async throws -> (size: UInt64, cosigners: [String]) {
        guard quorum >= 0, quorum <= witnesses.count else {
            throw TrailError.invalid("quorum", "the quorum is 0 to the number of witnesses given (\(witnesses.count))")
        }
        let (checkpoint, note) = try await cosignedNote()
        do {
            let (_, cosigners) = try Cosignature.verifyQuorum(note: note, log: signer.verifier, witnesses: witnesses, quorum: quorum)
            return (checkpoint.size, cosigners)
        } catch {
            throw TrailError(
                .dataLoss, "the latest checkpoint (size \(checkpoint.size)) is not witnessed as required: \(error)", field: "witness")
        }
    }
}
