/// Who performed an action. Every mutation in ModelTrail names one.
public struct Actor: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case user, service }

    public var type: Kind
    public var id: String

    public init(type: Kind, id: String) {
        self.type = type
        self.id = id
    }

    public static func user(_ id: String) -> Actor { Actor(type: .user, id: id) }
    public static func service(_ id: String) -> Actor { Actor(type: .service, id: id) }

    public var description: String { "\(type.rawValue):\(id)" }
}
