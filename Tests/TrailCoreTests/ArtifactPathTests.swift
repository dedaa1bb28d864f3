import Testing
import TrailCore

@Suite("Artifact paths")
struct ArtifactPathTests {
    /// Inputs from MLflow's path-traversal CVE history, as they arrive after one URL decoding.
    static let refusedDecoded = [
        "../x", "a/../../x", "/etc/passwd", "\\..\\x", "x#/../..", "x?/../..", "x;/../..", "//proc/self/root/x", "%2e%2e/x",
        "a/%2e%2e/x", "x\u{0}y", "a//b", "a/", "", ".", "./a", "a/./b", "..", "C:\\windows", "a\\b",
    ]

    @Test("refuses every traversal and ambiguous form", arguments: refusedDecoded)
    func refusesDecoded(_ text: String) {
        #expect(throws: TrailError.self) { try ArtifactPath(validating: text) }
    }

    /// The same inputs as they appear in a URL: decoded exactly once, then validated.
    static let refusedEncoded = [
        "..%2Fx", "%2e%2e/x", "%2E%2E/x", "a/..%2F..%2Fx", "%252e%252e/x", "%252e%252e%252fx", "%2Fetc%2Fpasswd", "%5C..%5Cx", "x%00y",
        "x%23/../..", "x%3F/../..", "x%3B/../..", "%2F%2Fproc/self/root/x", "%zz", "a%2F%2Fb",
    ]

    @Test("refuses encoded traversal, including double encoding", arguments: refusedEncoded)
    func refusesEncoded(_ text: String) {
        #expect(throws: TrailError.self) { try ArtifactPath(urlEncoded: text) }
    }

    @Test("accepts ordinary names", arguments: ["model.pkl", "plots/roc curve.png", "a/b/c/d.json", "repro/run.sh", "x..y/z", "%", "100%"])
    func accepts(_ text: String) throws {
        #expect(try ArtifactPath(validating: text).value == text)
    }

    @Test func errorNamesTheField() {
        let error = #expect(throws: TrailError.self) { try ArtifactPath(validating: "../x", field: "artifact_path") }
        #expect(error?.field == "artifact_path")
        #expect(error?.code == .invalidParameterValue)
    }

    @Test func decodesPercentEscapesOnce() throws {
        #expect(try ArtifactPath(urlEncoded: "plots/roc%20curve.png").value == "plots/roc curve.png")
    }
}
