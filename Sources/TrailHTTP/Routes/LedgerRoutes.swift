import Foundation
import Hummingbird
import TrailCore
import TrailLedger
import TrailService
import TrailStore

/// `/api/v1/ledger`: checkpoint, public key, events, proofs and export, for auditors and
/// monitors that check the log from outside.
struct LedgerRoutes {
    let ledger: LedgerService
    let verifier: LedgerVerifier

    static func raw(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.canonicalBytes)))
    }

    func add(to api: SecuredRoutes) {
        api.get("ledger/checkpoint", .read) { _, _ in
            // The signed checkpoint, and the same note with every witness cosignature stored for it.
            let (checkpoint, cosigned) = try await ledger.cosignedNote()
            return Self.raw([
                "size": .int(Int64(clamping: checkpoint.size)), "note": .string(checkpoint.note), "cosigned_note": .string(cosigned),
                "verifier_key": .string(ledger.verifierKey),
            ])
        }
        api.get("ledger/public-key", .read) { _, _ in
            Self.raw(["origin": .string(ledger.origin), "verifier_key": .string(ledger.verifierKey)])
        }
        api.get("ledger/events", .read) { request, context in
            let query = request.uri.queryParameters
            let events = try await ledger.events(
                EventQuery(
                    subjectType: query.get("subject_type"), subjectID: query.get("subject_id"), actorID: query.get("actor"),
                    action: query.get("action"), fromTimeMillis: try NativeRoutes.int(query.get("since"), field: "since").map(Int64.init),
                    toTimeMillis: try NativeRoutes.int(query.get("until"), field: "until").map(Int64.init),
                    fromIndex: Int64(
                        try NativeRoutes.int(query.get("from"), field: "from").map { from in
                            guard from >= 0 else { throw TrailError.invalid("from", "from must not be negative") }
                            return from
                        } ?? 0),
                    limit: try NativeRoutes.int(query.get("limit"), field: "limit") ?? 100))
            return Self.raw(["events": .array(events.map(\.presentation))])
        }
        api.get("ledger/events/:reference", .read) { _, context in
            let reference = try context.parameters.require("reference")
            let event: StoredEvent
            if let index = Int64(reference) {
                event = try await ledger.event(index: index)
            } else {
                event = try await ledger.event(id: reference)
            }
            return Self.raw(event.presentation)
        }
        api.get("ledger/proofs/inclusion", .read) { request, context in
            let query = request.uri.queryParameters
            guard let index = try NativeRoutes.int(query.get("index"), field: "index") else { throw TrailError.invalid("index", "index is required") }
            let size = try NativeRoutes.int(query.get("size"), field: "size").map { size in
                guard size > 0 else { throw TrailError.invalid("size", "size must be a positive tree size") }
                return UInt64(size)
            }
            return try JSONResponse.make(try await ledger.inclusionProof(index: Int64(index), checkpointSize: size))
        }
        api.get("ledger/proofs/consistency", .read) { request, context in
            let query = request.uri.queryParameters
            guard let first = try NativeRoutes.int(query.get("first"), field: "first"),
                let second = try NativeRoutes.int(query.get("second"), field: "second")
            else { throw TrailError.invalid("first", "first and second are required") }
            guard first > 0, second >= first else { throw TrailError.invalid("first", "need 0 < first ≤ second") }
            return try JSONResponse.make(try await ledger.consistencyProof(first: UInt64(first), second: UInt64(second)))
        }
        api.get("ledger/export", .read) { request, context in
            // Streamed in chunks of about 1 MiB: years of records never sit in the server's memory.
            let actor = context.actor
            let body = ResponseBody { writer in
                var chunk: [UInt8] = []
                chunk.reserveCapacity(1 << 20 + 4096)
                _ = try await ledger.exportLines(
                    actor: actor,
                    write: { line in
                        chunk += line
                        chunk.append(UInt8(ascii: "\n"))
                        if chunk.count >= 1 << 20 {
                            try await writer.write(ByteBuffer(bytes: chunk))
                            chunk.removeAll(keepingCapacity: true)
                        }
                    })
                if !chunk.isEmpty { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
        }
        api.post("ledger/verify", .admin) { _, context in
            // The full verify where the data is (rows, blobs, tree), for admins; recorded.
            _ = try await ledger.checkpointIfBehind()
            let report = try await verifier.verify()
            try await ledger.record(report, actor: context.actor)
            return try JSONResponse.make(report)
        }
    }
}
