/// One change in a tag's history: a set (with `value`) or a delete (`value == nil`).
/// Tags are never overwritten in place; the current tags are the last change per key.
public struct TagChange: Sendable, Hashable, Codable {
    public var key: String
    public var value: String?
    public var timeMillis: Int64
    public var actor: Actor
    public var eventIndex: Int64?

    public init(key: String, value: String?, timeMillis: Int64, actor: Actor, eventIndex: Int64? = nil) {
        self.key = key
        self.value = value
        self.timeMillis = timeMillis
        self.actor = actor
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey { case key, value, timeMillis = "time", actor, eventIndex = "event_index" }
}
