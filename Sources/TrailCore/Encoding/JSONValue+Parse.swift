import Foundation

extension JSONValue {
    /// Parses JSON bytes (RFC 8259). Integers without a fraction or exponent that fit in Int64
    /// become `.int`; other numbers `.double`. Faster than `Codable` decoding into `JSONValue`,
    /// which tries each type in turn.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("trailing characters") }
        return value
    }

    /// Parses JSON as Python's `json` module writes it by default: the bare tokens `NaN`,
    /// `Infinity` and `-Infinity` are numbers too. Only for answers from trusted programs (the
    /// pyfunc worker), never for a client's request.
    public static func parseAllowingNonFinite(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.allowNonFinite = true
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("trailing characters") }
        return value
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var position = 0
    var depth = 0
    var allowNonFinite = false

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> TrailError {
        TrailError(.malformedRequest, "invalid JSON at byte \(position): \(message)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0a || bytes[position] == 0x0d || bytes[position] == 0x09 {
            position += 1
        }
    }

    mutating func expect(_ literal: String) throws {
        for byte in literal.utf8 {
            guard position < bytes.count, bytes[position] == byte else { throw error("expected \(literal)") }
            position += 1
        }
    }

    mutating func value() throws -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default: return try number()
        }
    }

    mutating func object() throws -> JSONValue {
        depth += 1
        guard depth < 256 else { throw error("nested too deeply") }
        defer { depth -= 1 }
        position += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            members[key] = try value()
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect("}")
            return .object(members)
        }
    }

    mutating func array() throws -> JSONValue {
        depth += 1
        guard depth < 256 else { throw error("nested too deeply") }
        defer { depth -= 1 }
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect("]")
            return .array(items)
        }
    }

    mutating func string() throws -> String {
        position += 1
        var out: [UInt8] = []
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xd800..<0xdc00).contains(scalar) {
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xdc00..<0xe000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw error("invalid escape")
                }
            case 0..<0x20: throw error("control character in string")
            default: out.append(byte)
            }
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[position..<(position + 4)] {
            guard byte.isHexDigit else { throw error("bad \\u escape") }
            value = value << 4 | UInt32(byte.hexValue)
        }
        position += 4
        return value
    }

    mutating func number() throws -> JSONValue {
        let start = position
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        if allowNonFinite, position < bytes.count {
            if bytes[position] == UInt8(ascii: "N"), start == position {
                try expect("NaN")
                return .double(.nan)
            }
            if bytes[position] == UInt8(ascii: "I") {
                let negative = start != position
                try expect("Infinity")
                return .double(negative ? -.infinity : .infinity)
            }
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte >= 48 && byte <= 57 {
                position += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: "-")
            {
                isInteger = false
                position += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard !text.isEmpty, let double = Double(text) else { throw error("invalid number") }
        return .double(double)
    }
}
