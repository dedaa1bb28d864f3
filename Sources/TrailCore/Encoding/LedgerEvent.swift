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

/// An event in the ledger, with its position. `body` is the canonical JSON that is the leaf.
public struct LedgerEvent: Sendable, Hashable {
    public static let schemaVersion: Int64 = 1

    public var index: Int64
    public var eventID: String
    public var draft: EventDraft

    public init(index: Int64, eventID: String, draft: EventDraft) {
        self.index = index
        self.eventID = eventID
        self.draft = draft
    }

    /// The event as a JSON value; its canonical bytes are the Merkle leaf.
    public var json: JSONValue {
        var related: [String: JSONValue] = [:]
        for (k, v) in draft.related { related[k] = .string(v) }
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
            ],
        ])
    }

    public var canonicalBytes: [UInt8] { json.canonicalBytes }
}
