import Foundation
import Testing

/// `trail report` end to end: after `trail demo`, the report of the production model in every
/// format, locally and from a server, and the PDF turned into pages where Chromium and
/// poppler-utils are installed.
@Suite("trail report end to end", .serialized)
struct ReportCLITests {
    typealias CLI = CLIEndToEndTests
    static let model = "breast_cancer_classifier"

    /// The first executable named `name` on PATH.
    static func tool(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func reportAfterTheDemoInEveryFormat() throws {
        let home = CLI.temporaryHome()
        let demo = try CLI.trail(["demo", "--json"], home: home)
        #expect(demo.status == 0, "\(demo.stderr)")

        let json = try CLI.trail(["report", "\(Self.model)@production", "--json"], home: home)
        #expect(json.status == 0, "\(json.stderr)")
        let report = try json.json()
        #expect(report["schema_version"] as? Int == 1)
        let identity = try #require(report["identity"] as? [String: Any])
        let version = try #require(identity["version"] as? Int)
        let shown = try CLI.trail(["models", "get", Self.model, String(version), "--json"], home: home).json()
        #expect(identity["root_digest"] as? String == (shown["manifest"] as? [String: Any])?["root"] as? String)
        let verification = (report["integrity"] as? [String: Any])?["verification"] as? [String: Any]
        #expect(verification?["ok"] as? Bool == true && verification?["performed"] as? String == "now")
        let links = try #require((report["lineage"] as? [String: Any])?["links"] as? [[String: Any]])
        #expect(!links.isEmpty && links.allSatisfy { $0["event_index"] is Int && $0["proven"] as? Bool == true })
        // The same with --format json; NAME/VERSION names the version; a bad reference is refused.
        #expect(try CLI.trail(["report", "\(Self.model)/\(version)", "--format", "json", "--no-verify"], home: home).json()["subject"] != nil)
        let refused = try CLI.trail(["report", "\(Self.model)@nothing"], home: home)
        #expect(refused.status == 1 && refused.stderr.contains("RESOURCE_DOES_NOT_EXIST"), "\(refused.stderr)")
        #expect(try CLI.trail(["report", Self.model], home: home).status == 1)

        let folder = home.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let html = folder.appendingPathComponent("report.html")
        let written = try CLI.trail(["report", "\(Self.model)@production", "--no-verify", "--output", html.path], home: home)
        #expect(written.status == 0, "\(written.stderr)")
        let page = try String(contentsOf: html, encoding: .utf8)
        for id in ["summary", "identity", "lineage", "training", "policy", "approvals", "attestations", "integrity", "model-card"] {
            #expect(page.contains("<section id=\"\(id)\">"), "section \(id)")
        }
        #expect(page.contains("data:image/png;base64,") && !page.contains("<script"))
        let markdown = try CLI.trail(["report", "\(Self.model)@production", "--no-verify", "--format", "md"], home: home)
        #expect(markdown.status == 0 && markdown.stdout.contains("## 10. Integrity"), "\(markdown.stderr)")
        #expect(try CLI.trail(["report", "\(Self.model)@production", "--format", "pdf"], home: home).stderr.contains("--output"))

        // PDF: only where Chromium and poppler-utils (pdftoppm) are installed (CI installs both).
        guard let pdftoppm = Self.tool("pdftoppm"), ["chromium", "chromium-browser", "google-chrome"].contains(where: { Self.tool($0) != nil })
        else { return }
        let pdf = folder.appendingPathComponent("report.pdf")
        let printed = try CLI.trail(["report", "\(Self.model)@production", "--no-verify", "--format", "pdf", "--output", pdf.path], home: home)
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(try Data(contentsOf: pdf).starts(with: Array("%PDF-".utf8)))
        let prefix = folder.appendingPathComponent("page").path
        #expect(try Self.run(pdftoppm, ["-png", "-r", "50", pdf.path, prefix]).status == 0)
        let pages = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("page") && $0.hasSuffix(".png") }
        #expect(pages.count >= 1, "\(pages)")
        guard let pdftotext = Self.tool("pdftotext") else { return }
        let text = try Self.run(pdftotext, [pdf.path, "-"]).stdout
        for heading in [
            "Summary", "1. Identity", "2. Lineage", "3. Training evidence", "4. Policy and gate", "5. Approvals", "10. Integrity", "11. Model card",
        ] {
            #expect(text.contains(heading), "PDF heading \(heading)")
        }
        #expect(text.contains("NOT for clinical use"))
    }

    @Test func withoutChromiumThePDFIsRefusedNamingTheFormatOption() throws {
        let home = CLI.temporaryHome()
        let result = try CLI.trail(
            ["report", "\(Self.model)@production", "--format", "pdf", "--output", "/tmp/never.pdf"], home: home, environment: ["PATH": "/nonexistent"]
        )
        #expect(result.status == 1 && result.stderr.contains("--format") && result.stderr.contains("Chromium"), "\(result.stderr)")
    }

    /// From a server: a reader gets the report with the latest recorded verification and
    /// re-checks its proofs against the pinned key; running the verification needs an admin.
    @Test func reportFromAServer() throws {
        let home = CLI.temporaryHome()
        #expect(try CLI.trail(["demo"], home: home).status == 0)
        let adminToken = try RemoteCLITests.bootstrap(home, "ada", roles: ["admin"])
        let viewerToken = try RemoteCLITests.bootstrap(home, "val", roles: ["viewer"])
        let port = CLI.freePort()
        let server = try RemoteCLITests.startServer(home: home, port: port, token: adminToken)
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)"
        let ada = RemoteCLITests.Person(token: adminToken, url: url)
        let val = RemoteCLITests.Person(token: viewerToken, url: url)

        let report = try val.json(["report", "\(Self.model)@production", "--no-verify"])
        #expect(report["generated_by"] as? [String: String] == ["type": "user", "id": "val"])
        let integrity = try #require(report["integrity"] as? [String: Any])
        #expect((integrity["verification"] as? [String: Any])?["performed"] as? String == "recorded")
        #expect((integrity["checkpoint"] as? [String: Any])?["signature_verified"] as? Bool == true)
        let lineage = try #require(report["lineage"] as? [String: Any])
        #expect(lineage["unproven"] as? Int == 0 && (lineage["proven"] as? Int ?? 0) > 5, "\(lineage)")
        let denied = try val.trail(["report", "\(Self.model)@production"], expect: 1)
        #expect(denied.stderr.contains("PERMISSION_DENIED"), "\(denied.stderr)")
        let verified = try ada.json(["report", "\(Self.model)@production"])
        #expect(((verified["integrity"] as? [String: Any])?["verification"] as? [String: Any])?["performed"] as? String == "now")
        let html = try val.trail(["report", "\(Self.model)@production", "--no-verify", "--format", "html"]).stdout
        #expect(html.contains("data:image/png;base64,") && html.contains("<section id=\"integrity\">"))
    }
}
