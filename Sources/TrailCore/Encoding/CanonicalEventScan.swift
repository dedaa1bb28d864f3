/// One pass over an event body that both proves it is canonical JSON (RFC 8785 as
/// `JSONValue.canonicalBytes` writes it: sorted unique keys, no whitespace, minimal string
/// escapes, ECMAScript numbers, valid UTF-8) and reads the fields verification compares with
/// the indexed columns, without building a `JSONValue`. It answers nil whenever it is not sure;
/// callers then take the general path (`JSONValue.parse` and `canonicalBytes`), so a nil costs
/// time, never a wrong verdict.
public struct CanonicalEventFields: Sendable, Hashable {
    public var index: Int64?
    public var eventID: String?
    public var action: String?
    public var actorType: String?
    public var actorID: String?
    public var subjectType: String?
    public var subjectID: String?
    public var time: Int64?
    /// Table → (digest, rows) from `digests.writes`.
    public var writes: [String: WriteEntry] = [:]

    public init() {}

    public struct WriteEntry: Sendable, Hashable {
        public var digest: String = ""
        public var rows: Int = -1
        public init() {}
    }

    /// The fields of a canonical event body, or nil if the body is not canonical JSON or not
    /// an object (or uses anything this scanner does not handle).
    public static func scan(_ body: [UInt8]) -> CanonicalEventFields? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = CanonicalScanner(bytes: buffer)
            var raw = RawEventFields()
            guard scanner.peek == UInt8(ascii: "{"), scanner.value(.root, &raw), scanner.i == buffer.count else { return nil }
            var fields = CanonicalEventFields()
            fields.index = raw.index
            fields.time = raw.time
            fields.writes = raw.writes
            let strings = [raw.eventID, raw.action, raw.actorType, raw.actorID, raw.subjectType, raw.subjectID].map { field in
                field.flatMap { scanner.decode($0.range, plain: $0.plain) }
            }
            (fields.eventID, fields.action, fields.actorType, fields.actorID, fields.subjectType, fields.subjectID) = (
                strings[0], strings[1], strings[2], strings[3], strings[4], strings[5]
            )
            return fields
        }
    }

    /// The verifier's check of one stored event: nil if the body is not canonical (or the
    /// scanner is unsure); else whether the body's fields equal the indexed columns, compared
    /// as bytes, and the rows it says it wrote.
    public static func check(
        _ body: [UInt8], index: Int64, eventID: String, action: String, actorType: String, actorID: String, subjectType: String, subjectID: String,
        time: Int64
    ) -> (columnsMatch: Bool, writes: [String: WriteEntry])? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = CanonicalScanner(bytes: buffer)
            var raw = RawEventFields()
            guard scanner.peek == UInt8(ascii: "{"), scanner.value(.root, &raw), scanner.i == buffer.count else { return nil }
            func same(_ field: (range: Range<Int>, plain: Bool)?, _ expected: String) -> Bool {
                guard let field else { return false }
                if field.plain {
                    var expected = expected
                    return expected.withUTF8 { $0.elementsEqual(UnsafeBufferPointer(rebasing: buffer[field.range])) }
                }
                return scanner.decode(field.range, plain: false) == expected
            }
            let match =
                raw.index == index && raw.time == time && same(raw.eventID, eventID) && same(raw.action, action) && same(raw.actorType, actorType)
                && same(raw.actorID, actorID) && same(raw.subjectType, subjectType) && same(raw.subjectID, subjectID)
            return (match, raw.writes)
        }
    }
}

/// What the scanner captures: string fields as byte ranges of their contents.
struct RawEventFields {
    var index: Int64?
    var time: Int64?
    var eventID: (range: Range<Int>, plain: Bool)?
    var action: (range: Range<Int>, plain: Bool)?
    var actorType: (range: Range<Int>, plain: Bool)?
    var actorID: (range: Range<Int>, plain: Bool)?
    var subjectType: (range: Range<Int>, plain: Bool)?
    var subjectID: (range: Range<Int>, plain: Bool)?
    var writes: [String: CanonicalEventFields.WriteEntry] = [:]
}

/// Where a value sits, for the fields `CanonicalEventFields` captures.
enum ScanContext: Equatable {
    case root, other, topIndex, topEventID, topAction, topTime, actor, actorType, actorID, subject, subjectType, subjectID, digests, writes
    case table(String), tableDigest(String), tableRows(String)
}

struct CanonicalScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0

    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - i >= count else { return false }
        let matches = text.withUTF8Buffer { literal in
            (0..<count).allSatisfy { bytes[i + $0] == literal[$0] }
        }
        if matches { i += count }
        return matches
    }

    mutating func value(_ context: ScanContext, _ fields: inout RawEventFields) -> Bool {
        guard let byte = peek else { return false }
        switch byte {
        case UInt8(ascii: "{"): return object(context, &fields)
        case UInt8(ascii: "["): return array(&fields)
        case UInt8(ascii: "\""):
            guard let (range, plain) = string() else { return false }
            let capture: Bool
            switch context {
            case .topEventID, .topAction, .actorType, .actorID, .subjectType, .subjectID, .tableDigest: capture = true
            default: capture = false
            }
            guard capture else { return true }
            switch context {
            case .topEventID: fields.eventID = (range, plain)
            case .topAction: fields.action = (range, plain)
            case .actorType: fields.actorType = (range, plain)
            case .actorID: fields.actorID = (range, plain)
            case .subjectType: fields.subjectType = (range, plain)
            case .subjectID: fields.subjectID = (range, plain)
            case .tableDigest(let table):
                guard let text = decode(range, plain: plain) else { return false }
                fields.writes[table, default: .init()].digest = text
            default: break
            }
            return true
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default:
            guard let integer = number() else { return false }
            switch context {
            case .topIndex: fields.index = integer.value
            case .topTime: fields.time = integer.value
            case .tableRows(let table):
                guard let value = integer.value, let rows = Int(exactly: value) else { return false }
                fields.writes[table, default: .init()].rows = rows
            default: break
            }
            return true
        }
    }

    mutating func object(_ context: ScanContext, _ fields: inout RawEventFields) -> Bool {
        depth += 1
        guard depth <= 64 else { return false }
        defer { depth -= 1 }
        i += 1  // {
        if peek == UInt8(ascii: "}") {
            i += 1
            return true
        }
        var previous: (range: Range<Int>, plain: Bool)?
        while true {
            guard peek == UInt8(ascii: "\""), let (range, plain) = string() else { return false }
            // Keys strictly increasing in UTF-16 order (sorted, no duplicates).
            if let previous {
                if previous.plain && plain {
                    guard lessBytes(previous.range, range) else { return false }
                } else {
                    guard let a = decode(previous.range, plain: previous.plain), let b = decode(range, plain: plain),
                        JSONValue.canonicalKeyOrder(a, b)
                    else { return false }
                }
            }
            previous = (range, plain)
            guard peek == UInt8(ascii: ":") else { return false }
            i += 1
            let inner: ScanContext
            if context == .other {
                inner = .other
            } else if plain, context != .writes {
                inner = Self.child(of: context, key: UnsafeBufferPointer(rebasing: bytes[range]))
            } else {
                guard let key = decode(range, plain: plain) else { return false }
                inner = context == .writes ? .table(key) : Array(key.utf8).withUnsafeBufferPointer { Self.child(of: context, key: $0) }
                // Every table named under digests.writes is an entry, whatever its value holds.
                if case .table(let table) = inner, fields.writes[table] == nil { fields.writes[table] = .init() }
            }
            guard value(inner, &fields) else { return false }
            guard let next = peek else { return false }
            i += 1
            if next == UInt8(ascii: "}") { return true }
            guard next == UInt8(ascii: ",") else { return false }
        }
    }

    static func child(of context: ScanContext, key: UnsafeBufferPointer<UInt8>) -> ScanContext {
        func equals(_ text: StaticString) -> Bool {
            text.withUTF8Buffer { $0.elementsEqual(key) }
        }
        switch context {
        case .root:
            if equals("index") { return .topIndex }
            if equals("event_id") { return .topEventID }
            if equals("action") { return .topAction }
            if equals("time") { return .topTime }
            if equals("actor") { return .actor }
            if equals("subject") { return .subject }
            if equals("digests") { return .digests }
            return .other
        case .actor: return equals("type") ? .actorType : equals("id") ? .actorID : .other
        case .subject: return equals("type") ? .subjectType : equals("id") ? .subjectID : .other
        case .digests: return equals("writes") ? .writes : .other
        case .table(let table): return equals("digest") ? .tableDigest(table) : equals("rows") ? .tableRows(table) : .other
        default: return .other
        }
    }

    mutating func array(_ fields: inout RawEventFields) -> Bool {
        depth += 1
        guard depth <= 64 else { return false }
        defer { depth -= 1 }
        i += 1  // [
        if peek == UInt8(ascii: "]") {
            i += 1
            return true
        }
        while true {
            guard value(.other, &fields) else { return false }
            guard let next = peek else { return false }
            i += 1
            if next == UInt8(ascii: "]") { return true }
            guard next == UInt8(ascii: ",") else { return false }
        }
    }

    func lessBytes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        var x = a.lowerBound
        var y = b.lowerBound
        while x < a.upperBound, y < b.upperBound {
            if bytes[x] != bytes[y] { return bytes[x] < bytes[y] }
            x += 1
            y += 1
        }
        return x == a.upperBound && y < b.upperBound
    }

    /// A canonical string: returns the range of its contents (between the quotes) and whether
    /// they are plain ASCII with no escapes. Only the escapes the canonical writer emits are
    /// accepted; raw bytes must be valid UTF-8.
    mutating func string() -> (Range<Int>, Bool)? {
        i += 1  // "
        let start = i
        var plain = true
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                let range = start..<i
                i += 1
                if !plain, !validUTF8(range) { return nil }
                return (range, plain)
            }
            if byte < 0x20 { return nil }
            if byte >= 0x80 {
                plain = false
                i += 1
                continue
            }
            if byte == UInt8(ascii: "\\") {
                plain = false
                guard i + 1 < bytes.count else { return nil }
                switch bytes[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"), UInt8(ascii: "f"),
                    UInt8(ascii: "r"):
                    i += 2
                case UInt8(ascii: "u"):
                    // Only \u00XX (lowercase hex) for a control byte without a short escape.
                    guard i + 5 < bytes.count, bytes[i + 2] == UInt8(ascii: "0"), bytes[i + 3] == UInt8(ascii: "0"),
                        let high = Self.lowerHex(bytes[i + 4]), let low = Self.lowerHex(bytes[i + 5])
                    else { return nil }
                    let control = high << 4 | low
                    guard control < 0x20, ![0x08, 0x09, 0x0a, 0x0c, 0x0d].contains(control) else { return nil }
                    i += 6
                default: return nil
                }
                continue
            }
            i += 1
        }
        return nil
    }

    static func lowerHex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    func validUTF8(_ range: Range<Int>) -> Bool {
        String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) != nil
    }

    /// The string's value (escapes resolved), for captured fields and non-plain keys.
    func decode(_ range: Range<Int>, plain: Bool) -> String? {
        let raw = UnsafeBufferPointer(rebasing: bytes[range])
        if plain { return String(decoding: raw, as: UTF8.self) }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted += raw
        quoted.append(UInt8(ascii: "\""))
        return (try? JSONValue.parse(quoted))?.stringValue
    }

    /// A number token, canonical only if the general parser and writer give back the same
    /// bytes (so integers and ECMAScript doubles follow exactly one rule). `value` is its
    /// integer value when it is one.
    mutating func number() -> (value: Int64?, Void)? {
        let start = i
        while i < bytes.count {
            let byte = bytes[i]
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            else { break }
            i += 1
        }
        guard i > start else { return nil }
        // Plain integers (the usual case): canonical when written as Int64's own digits.
        var j = start
        let negative = bytes[j] == UInt8(ascii: "-")
        if negative { j += 1 }
        if i - j >= 1, i - j <= 18, (j..<i).allSatisfy({ bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") }) {
            guard bytes[j] != UInt8(ascii: "0") || i - j == 1, !(negative && bytes[j] == UInt8(ascii: "0")) else { return nil }
            var magnitude: Int64 = 0
            for k in j..<i { magnitude = magnitude * 10 + Int64(bytes[k] - UInt8(ascii: "0")) }
            return (negative ? -magnitude : magnitude, ())
        }
        let token = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        guard let parsed = try? JSONValue.parse(token), parsed.canonicalBytes == token else { return nil }
        if case .int(let integer) = parsed { return (integer, ()) }
        return (nil, ())
    }
}
