import Foundation
import Testing
import TrailCore

/// The verifier's fast path must never call a body canonical that the general parser and
/// writer would not give back byte for byte, and must read the same fields.
@Suite("Canonical event scan: the fast path agrees with parse + canonicalBytes")
struct CanonicalEventScanTests {
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static let alphabet: [String] = ["a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1f}", "é", "✓", "𝄞", "\u{7f}", "\u{2028}", "_", "."]

    static func string(_ r: inout Random) -> String {
        String((0..<r.below(6)).map { _ in alphabet[r.below(alphabet.count)] }.joined())
    }

    static func value(_ r: inout Random, depth: Int) -> JSONValue {
        switch depth > 3 ? r.below(5) : r.below(8) {
        case 0: return .null
        case 1: return .bool(r.below(2) == 0)
        case 2: return .int(Int64(bitPattern: r.next()) >> Int64(r.below(63)))
        case 3: return .double([0.5, -1.25, 1e21, 1e-7, 123.456, 5e-324, 1.7976931348623157e308, -0.1, 100.0, 3.0][r.below(10)])
        case 4: return .string(string(&r))
        case 5: return .array((0..<r.below(4)).map { _ in value(&r, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<r.below(5) { members[string(&r)] = value(&r, depth: depth + 1) }
            return .object(members)
        }
    }

    static func event(_ r: inout Random) -> JSONValue {
        var writes: [String: JSONValue] = [:]
        for t in 0..<r.below(3) { writes["t\(t)\(string(&r))"] = ["digest": .string("sha256:\(r.next())"), "rows": .int(Int64(r.below(9)))] }
        if r.below(4) == 0 { writes["odd"] = value(&r, depth: 3) }
        return [
            "schema": 1, "index": .int(Int64(r.below(1_000_000))), "event_id": .string("e\(r.next())\(string(&r))"),
            "action": .string(["metrics.log", "run.create", string(&r)][r.below(3)]),
            "actor": ["type": .string(r.below(2) == 0 ? "user" : "service"), "id": .string(string(&r))],
            "time": .int(Int64(r.below(Int(Int32.max)))), "subject": ["type": "run", "id": .string(string(&r))],
            "related": .object([string(&r): .string(string(&r))]), "facts": value(&r, depth: 1),
            "digests": ["facts": .string("sha256:x"), "artifacts": [], "writes": .object(writes)],
        ]
    }

    /// The fields as the verifier's general path reads them.
    static func slowFields(_ body: [UInt8]) -> CanonicalEventFields? {
        guard let value = try? JSONValue.parse(body), case .object = value, value.canonicalBytes == body else { return nil }
        var fields = CanonicalEventFields()
        fields.index = value["index"]?.intValue.flatMap { value["index"] == .int($0) ? $0 : nil }
        fields.eventID = value["event_id"]?.stringValue
        fields.action = value["action"]?.stringValue
        fields.actorType = value["actor"]?["type"]?.stringValue
        fields.actorID = value["actor"]?["id"]?.stringValue
        fields.subjectType = value["subject"]?["type"]?.stringValue
        fields.subjectID = value["subject"]?["id"]?.stringValue
        fields.time = value["time"].flatMap { if case .int(let t) = $0 { t } else { nil } }
        if case .object(let tables)? = value["digests"]?["writes"] {
            for (table, entry) in tables {
                var write = CanonicalEventFields.WriteEntry()
                write.digest = entry["digest"]?.stringValue ?? ""
                if case .int(let rows)? = entry["rows"] { write.rows = Int(rows) }
                fields.writes[table] = write
            }
        }
        return fields
    }

    @Test("canonical bodies scan, with the same fields", arguments: 0..<4)
    func canonicalBodiesScan(_ seed: Int) {
        var r = Random(state: UInt64(seed) &* 7919)
        for _ in 0..<500 {
            let body = Self.event(&r).canonicalBytes
            let fast = CanonicalEventFields.scan(body)
            #expect(fast != nil, "\(String(decoding: body, as: UTF8.self))")
            #expect(fast == Self.slowFields(body))
            // The verifier's byte-wise comparison with the columns agrees.
            if let f = fast, let index = f.index, let id = f.eventID, let action = f.action, let actorType = f.actorType, let actorID = f.actorID,
                let subjectType = f.subjectType, let subjectID = f.subjectID, let time = f.time
            {
                let same = CanonicalEventFields.check(
                    body, index: index, eventID: id, action: action, actorType: actorType, actorID: actorID, subjectType: subjectType,
                    subjectID: subjectID, time: time)
                #expect(same?.columnsMatch == true && same?.writes == f.writes)
                let other = CanonicalEventFields.check(
                    body, index: index, eventID: id, action: action, actorType: actorType, actorID: actorID + "x", subjectType: subjectType,
                    subjectID: subjectID, time: time)
                #expect(other?.columnsMatch == false)
            } else {
                Issue.record("a generated event lacks a field")
            }
        }
    }

    /// Changed bodies: whatever the scanner accepts, the general path accepts byte for byte,
    /// with the same fields.
    @Test("a changed body is never accepted unless it is canonical", arguments: 0..<4)
    func changedBodies(_ seed: Int) {
        var r = Random(state: UInt64(seed) &* 104_729 &+ 1)
        let edits: [UInt8] = Array(" \t\n\"\\{}[],:0123456789-+.eEuabf\u{7f}".utf8) + [0x00, 0x1f, 0xc3, 0xa9, 0xff, 0xed, 0xa0, 0x80]
        var accepted = 0
        for _ in 0..<3000 {
            var body = Self.event(&r).canonicalBytes
            for _ in 0..<(1 + r.below(2)) {
                let position = r.below(body.count)
                switch r.below(3) {
                case 0: body[position] = edits[r.below(edits.count)]
                case 1: body.insert(edits[r.below(edits.count)], at: position)
                default: body.remove(at: position)
                }
            }
            guard let fast = CanonicalEventFields.scan(body) else { continue }
            accepted += 1
            #expect(fast == Self.slowFields(body), "accepted a non-canonical or misread body: \(String(decoding: body, as: UTF8.self))")
        }
        #expect(accepted > 0)
    }

    @Test func refusesWhatTheWriterNeverWrites() {
        for text in [
            #"{"a":1,"a":2}"#, #"{"b":1,"a":2}"#, #"{ "a":1}"#, #"{"a":1.0}"#, #"{"a":-0}"#, #"{"a":"\/"}"#, #"{"a":"\u0041"}"#,
            #"{"a":"\u000A"}"#, #"{"a":"\u001F"}"#, #"{"a":1e2}"#, #"{"a":01}"#, #"[1]"#, #"{"a":1} "#, "{\"a\":\"\u{01}\"}",
        ] {
            #expect(CanonicalEventFields.scan(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(CanonicalEventFields.scan(Array(#"{"a":"\u001f","b":[true,false,null],"c":{}}"#.utf8)) != nil)
    }
}
