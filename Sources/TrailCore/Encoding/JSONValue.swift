import Foundation

/// A JSON value with an RFC 8785 (JCS) canonical serialisation: object members sorted by
/// their UTF-16 code units, no insignificant whitespace, numbers in ECMAScript's shortest form,
/// strings with the minimal escapes. The ledger hashes these exact bytes.
public indirect enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(FlexibleDouble(d))
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9.007_199_254_740_992e15: return Int64(d)
        default: return nil
        }
    }

    /// The canonical bytes. Non-finite doubles are written as the strings `"NaN"`,
    /// `"Infinity"`, `"-Infinity"` (JSON has no such numbers; this is MLflow's convention).
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    public var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isNaN {
                JSONValue.string("NaN").write(into: &out)
            } else if d.isInfinite {
                JSONValue.string(d > 0 ? "Infinity" : "-Infinity").write(into: &out)
            } else {
                JSONValue.writeNumber(d, into: &out)
            }
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            let keys = o.keys.sorted(by: JSONValue.canonicalKeyOrder)
            for (i, k) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(k, into: &out)
                out.append(UInt8(ascii: ":"))
                o[k]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// RFC 8785 orders object keys by UTF-16 code units. For ASCII (the usual case) that is
    /// byte order, compared without building UTF-16 views; anything else takes the UTF-16 path.
    @inlinable
    public static func canonicalKeyOrder(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?):
                if x >= 0x80 || y >= 0x80 { return a.utf16.lexicographicallyPrecedes(b.utf16) }
                if x != y { return x < y }
            }
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a canonical JSON string.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        writeString(utf8: s.utf8, into: &out)
    }

    /// Appends UTF-8 text, given as bytes, as a canonical JSON string.
    public static func writeString<Bytes: Sequence>(utf8 bytes: Bytes, into out: inout [UInt8]) where Bytes.Element == UInt8 {
        let hex = hexDigits
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x08: out.append(contentsOf: [92, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x0a: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0c: out.append(contentsOf: [92, UInt8(ascii: "f")])
            case 0x0d: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0..<0x20: out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// ECMAScript `Number.prototype.toString` for a finite double (RFC 8785 §3.2.2.3).
    /// Swift's `description` already yields the shortest round-tripping digits; only the layout
    /// differs, so the digits and exponent are taken from it and laid out as ECMAScript does.
    public static func ecmaScriptNumber(_ value: Double) -> String {
        var out: [UInt8] = []
        writeNumber(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `ecmaScriptNumber(value)` to `out`, working on bytes (this is on every hot path
    /// that writes an event or a digest).
    public static func writeNumber(_ value: Double, into out: inout [UInt8]) {
        if value == 0 { return out.append(UInt8(ascii: "0")) }
        let magnitude = value.magnitude
        if value < 0 { out.append(UInt8(ascii: "-")) }
        // Integral values below 2^53 print as their integer digits.
        if magnitude < 9_007_199_254_740_992, magnitude.rounded(.towardZero) == magnitude {
            return out.append(contentsOf: String(UInt64(magnitude)).utf8)
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        var pointPosition = -1
        var exponent = 0
        var exponentNegative = false
        var inExponent = false
        var sawExponentDigit = false
        for byte in magnitude.description.utf8 {
            if inExponent {
                if byte == UInt8(ascii: "-") { exponentNegative = true } else if byte != UInt8(ascii: "+") {
                    exponent = exponent * 10 + Int(byte &- 48)
                    sawExponentDigit = true
                }
            } else if byte == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                inExponent = true
            } else {
                digits.append(byte)
            }
        }
        _ = sawExponentDigit
        if exponentNegative { exponent = -exponent }
        if pointPosition < 0 { pointPosition = digits.count }
        var leading = 0
        while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") { leading += 1 }
        if leading > 0 {
            digits.removeFirst(leading)
            pointPosition -= leading
        }
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let k = digits.count
        let n = pointPosition + exponent
        if k <= n && n <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: digits[0..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: digits)
        } else {
            let e = n - 1
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out.append(contentsOf: String(abs(e)).utf8)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral
{
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
