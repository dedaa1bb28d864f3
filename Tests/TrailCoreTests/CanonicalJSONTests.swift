import Foundation
import Testing
import TrailCore

@Suite("Canonical JSON (RFC 8785)")
struct CanonicalJSONTests {
    /// Number serialisation examples from RFC 8785 Appendix B and ECMAScript.
    @Test(
        "numbers use ECMAScript's shortest form",
        arguments: [
            (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.5, "-1.5"), (0.1, "0.1"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
            (1e-7, "1e-7"), (0.000001, "0.000001"), (123456789012345680000.0, "123456789012345680000"),
            (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (9007199254740992.0, "9007199254740992"),
            (0.1 + 0.2, "0.30000000000000004"), (333333333.3333333, "333333333.3333333"), (1.5e-9, "1.5e-9"), (2.5e25, "2.5e+25"),
        ])
    func numbers(_ value: Double, _ expected: String) {
        #expect(JSONValue.ecmaScriptNumber(value) == expected)
    }

    @Test func sortsKeysByUTF16AndEscapesMinimally() {
        let value: JSONValue = ["b": 1, "a": ["z": true, "\u{20ac}": "€", "\r": "x"], "A": "line\nbreak \"q\" \u{1}"]
        #expect(value.canonicalString == #"{"A":"line\nbreak \"q\" \u0001","a":{"\r":"x","z":true,"€":"€"},"b":1}"#)
    }

    @Test func nonFiniteNumbersBecomeStrings() {
        let value: JSONValue = .array([.double(.nan), .double(.infinity), .double(-.infinity)])
        #expect(value.canonicalString == #"["NaN","Infinity","-Infinity"]"#)
    }

    @Test func roundTripsThroughCodable() throws {
        let value: JSONValue = ["n": .null, "i": 3, "d": .double(2.5), "s": "x", "a": [1, "2"]]
        let decoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(decoded.canonicalString == value.canonicalString)
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesWhatTheCanonicalWriterWrites() throws {
        let value: JSONValue = [
            "a": [1, -2, .double(0.5), .double(1e-7), .double(-1.5e300), .null, true, false],
            "s": "quote \" backslash \\ newline \n tab \t control \u{1} é € 😀", "e": [:], "l": [],
        ]
        #expect(try JSONValue.parse(value.canonicalBytes) == value)
        #expect(try JSONValue.parse(Array(#" { "x" : [ 1 , 2 ] , "u": "\u00e9\ud83d\ude00" } "#.utf8)) == ["x": [1, 2], "u": "é😀"])
    }

    @Test("refuses malformed JSON", arguments: ["", "{", "[1,]", "{\"a\" 1}", "\"unterminated", "01x", "[1] 2", "{\"a\":\"\\q\"}", "nul"])
    func refuses(_ text: String) {
        #expect(throws: TrailError.self) { try JSONValue.parse(Array(text.utf8)) }
    }
}
