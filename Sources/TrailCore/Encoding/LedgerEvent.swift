import Foundation

/// The subject of an event: what it is about.
public struct Subject: Sendable, Hashable, Codable {
    public var type: String
    public var id: String
    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }
}

/// An event as the service layer drafts it, before the store gives it its index.
///
/// `facts` carries the facts the mutation records (or their digests) so that the stored rows
/// can later be checked against the ledger.
public struct EventDraft: Sendable, Hashable {
    public var action: String
    public var actor: Actor
    public var timeMillis: Int64
    public var subject: Subject
    public var related: [String: String]
    public var facts: JSONValue
    public var artifactDigests: [Digest]

    public init(
        action: String, actor: Actor, timeMillis: Int64, subject: Subject, related: [String: String] = [:],
        facts: JSONValue = .object([:]), artifactDigests: [Digest] = []
    ) {
        self.action = action
        self.actor = actor
        self.timeMillis = timeMillis
        self.subject = subject
        self.related = related
        self.facts = facts
        self.artifactDigests = artifactDigests
    }
}

/// The digest of the rows one event wrote to one table.
public struct WriteDigest: Sendable, Hashable {
    public var digest: Digest
    public var rows: Int
    public init(digest: Digest, rows: Int) {
        self.digest = digest
        self.rows = rows
    }

    /// The digest of `rows`: each row a canonical JSON array of its recorded columns, the rows
    /// sorted by their canonical bytes, hashed as one canonical JSON array.
    public static func of(rows: [[JSONValue]]) -> WriteDigest {
        of(encodedRows: rows.map { JSONValue.array($0).canonicalBytes })
    }

    /// The same digest from rows already encoded as canonical JSON arrays.
    public static func of(encodedRows: [[UInt8]]) -> WriteDigest {
        let encoded = encodedRows.sorted { $0.lexicographicallyPrecedes($1) }
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for (i, row) in encoded.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: row)
        }
        bytes.append(UInt8(ascii: "]"))
        return WriteDigest(digest: Digest.of(bytes), rows: encoded.count)
    }
}

/// An event in the ledger, with its position. Its canonical JSON is the Merkle leaf.
///
/// `writes` holds, per table, the digest and count of the rows this event wrote; verification
/// recomputes them from the rows that carry this event's index.
public struct LedgerEvent: Sendable, Hashable {
    public static let schemaVersion: Int64 = 1

    public var index: Int64
    public var eventID: String
    public var draft: EventDraft
    public var writes: [String: WriteDigest]

    public init(index: Int64, eventID: String, draft: EventDraft, writes: [String: WriteDigest] = [:]) {
        self.index = index
        self.eventID = eventID
        self.draft = draft
        self.writes = writes
    }

    /// The event as a JSON value; its canonical bytes are the Merkle leaf.
    public var json: JSONValue {
        var related: [String: JSONValue] = [:]
        for (k, v) in draft.related { related[k] = .string(v) }
        var writeDigests: [String: JSONValue] = [:]
        for (table, write) in writes { writeDigests[table] = ["digest": .string(write.digest.description), "rows": .int(Int64(write.rows))] }
        return .object([
            "schema": .int(Self.schemaVersion),
            "index": .int(index),
            "event_id": .string(eventID),
            "action": .string(draft.action),
            "actor": ["type": .string(draft.actor.type.rawValue), "id": .string(draft.actor.id)],
            "time": .int(draft.timeMillis),
            "subject": ["type": .string(draft.subject.type), "id": .string(draft.subject.id)],
            "related": .object(related),
            "facts": draft.facts,
            "digests": [
                "facts": .string(Digest.of(draft.facts.canonicalBytes).description),
                "artifacts": .array(draft.artifactDigests.map { .string($0.description) }),
                "writes": .object(writeDigests),
            ],
        ])
    }

    public var canonicalBytes: [UInt8] { json.canonicalBytes }
}
