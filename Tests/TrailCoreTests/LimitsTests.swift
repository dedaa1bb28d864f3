import Testing
import TrailCore

@Suite("Length limits")
struct LimitsTests {
    /// Limits count code points, as MLflow's Python `len()` does, so they bound the bytes too:
    /// one grapheme built of a base and 300 combining marks is 301 long, not 1.
    @Test func lengthsCountCodePointsSoTheyBoundBytes() throws {
        let zalgo = "e" + String(repeating: "\u{0301}", count: 300)
        #expect(zalgo.count == 1)
        let error = #expect(throws: TrailError.self) { try Limits.checkLength(zalgo, max: Limits.maxKeyLength, field: "key") }
        #expect(error?.field == "key" && error?.message.contains("301 characters") == true)
        try Limits.checkLength(String(repeating: "😀", count: Limits.maxKeyLength), max: Limits.maxKeyLength, field: "key")
        #expect(throws: TrailError.self) { try Limits.checkLength(String(repeating: "😀", count: Limits.maxKeyLength + 1), max: Limits.maxKeyLength, field: "key") }
    }
}
