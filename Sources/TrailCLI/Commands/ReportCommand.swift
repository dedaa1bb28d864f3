import ArgumentParser
import Foundation
import TrailCore
import TrailService

#if canImport(Glibc)
    import Glibc
#endif

/// `trail report NAME@ref`: one model version's audit document, gathered where the records
/// are (`AuditReportBuilder`, locally or on the server) and rendered here.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "One model version's audit document: identity, lineage, evidence, gate, approvals, attestations, history, deployments, drift, integrity, model card.",
        discussion: """
            NAME@REF names the version as elsewhere: an alias (NAME@production), a stage spelled as the stage (NAME@Production) \
            or a version (NAME@3, or NAME/3). HTML (the default) is one self-contained file; json is the schema in docs/report.md \
            (also what --json prints); md is Markdown; pdf renders the HTML with headless Chromium (chromium, chromium-browser or \
            google-chrome on PATH). The full ledger verification runs for the report unless --no-verify (remotely it needs the \
            admin role; without it, the report cites the latest recorded verification).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case html, json, md, pdf
    }

    @OptionGroup var options: GlobalOptions
    @Argument(help: "NAME@alias, NAME@Stage, NAME@VERSION or NAME/VERSION.") var reference: String
    @Option(help: "html, json, md or pdf (pdf needs Chromium; default html, or json with --json).") var format: Format?
    @Option(name: [.short, .long], help: "Write the report to this file (required for pdf) instead of standard output.") var output: String?
    @Option(name: .customLong("target"), help: "A gate target to check (@alias or a stage); repeatable. Default: the reference's own.")
    var targets: [String] = []
    @Option(help: "Window for prediction counts, e.g. 1h, 24h, 7d.") var window: String = "24h"
    @Flag(inversion: .prefixedNo, help: "Run the full ledger verification for the report (--no-verify: cite the latest recorded one).")
    var verify = true

    /// `NAME@REF` or `NAME/VERSION` (a model name holds neither `@` nor `/`).
    static func parse(_ text: String) throws -> (name: String, reference: String) {
        if let at = text.firstIndex(of: "@") {
            let name = String(text[..<at]), reference = String(text[text.index(after: at)...])
            if !name.isEmpty, !reference.isEmpty { return (name, reference) }
        } else if let slash = text.lastIndex(of: "/") {
            let name = String(text[..<slash]), version = String(text[text.index(after: slash)...])
            if !name.isEmpty, let number = Int64(version), number > 0 { return (name, String(number)) }
        }
        throw TrailError.invalid("reference", "name the version as NAME@alias, NAME@Stage, NAME@VERSION or NAME/VERSION")
    }

    func run() async throws {
        try await runReporting(options) {
            let format: Format
            switch (self.format, options.json) {
            case (nil, true), (.json?, _): format = .json
            case (nil, false): format = .html
            case (let given?, false): format = given
            case (_?, true): throw TrailError.invalid("format", "--json prints the JSON report; drop --json or --format")
            }
            let (name, reference) = try Self.parse(reference)
            let windowMillis = try DriftCommand.duration(window)
            var chromium: String?
            if format == .pdf {
                guard output != nil else { throw TrailError.invalid("output", "--format pdf writes a file: give --output FILE.pdf") }
                chromium = try Self.chromium()
            }
            let status = TerminalStatus()
            status.say("gathering the report of \(name)@\(reference)…")
            let client = try await options.backend()
            let bar = TerminalProgress(label: "verify", enabled: true)
            let report = try await client.auditReport(
                name: name, reference: reference, targets: targets, windowMillis: windowMillis, verify: verify,
                progress: { phase, done, total in bar.update(done, total, phase: phase) })
            let bytes: [UInt8]
            switch format {
            case .json: bytes = try report.json()
            case .md: bytes = Array(report.markdown().utf8)
            case .html, .pdf:
                status.say("fetching the evidence images…")
                bytes = Array(report.html(images: await client.auditReportImages(report)).utf8)
            }
            if format == .pdf, let output, let chromium {
                status.say("printing the PDF with \(chromium)…")
                try await Self.printPDF(html: bytes, to: URL(fileURLWithPath: output), chromium: chromium)
            } else if let output {
                do {
                    try Data(bytes).write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    throw TrailError.invalid("output", "cannot write \(output): \(error.localizedDescription)")
                }
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
            if let output { status.say("wrote \(output) (\(name) version \(report.identity.version), \(format.rawValue))") }
        }
    }

    /// The first of Chromium's usual names on PATH.
    static func chromium(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let folders = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for folder in folders where !folder.isEmpty {
                let path = folder + "/" + name
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        throw TrailError(
            .notImplemented,
            "--format pdf needs Chromium (chromium, chromium-browser or google-chrome on PATH; e.g. apt-get install chromium); use --format html and print it from a browser",
            field: "format")
    }

    /// Prints `html` to a PDF at `destination` with headless Chromium, in a temporary folder
    /// of its own (the page, a throwaway browser profile, the PDF), removed afterwards.
    static func printPDF(html: [UInt8], to destination: URL, chromium: String, timeoutSeconds: Double = 180) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trail-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("report.html")
        let pdf = folder.appendingPathComponent("report.pdf")
        let log = folder.appendingPathComponent("chromium.log")
        try Data(html).write(to: page)
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--print-to-pdf=\(pdf.path)", page.absoluteString,
        ]
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        process.standardOutput = logHandle
        process.standardError = logHandle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw TrailError(.internalError, "cannot start \(chromium): \(error.localizedDescription)") }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw TrailError(.temporarilyUnavailable, "\(chromium) did not print the PDF within \(Int(timeoutSeconds)) s", field: "format")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let printed = (try? Data(contentsOf: pdf)) ?? Data()
        guard process.terminationStatus == 0, printed.starts(with: Array("%PDF-".utf8)) else {
            let tail = String(decoding: ((try? Data(contentsOf: log)) ?? Data()).suffix(800), as: UTF8.self)
            throw TrailError(
                .internalError,
                "\(chromium) exited with status \(process.terminationStatus) without a PDF: \(tail.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        do {
            try printed.write(to: destination, options: .atomic)
        } catch {
            throw TrailError.invalid("output", "cannot write \(destination.path): \(error.localizedDescription)")
        }
    }
}

/// One-line status messages on standard error, only when it is a terminal.
struct TerminalStatus {
    let enabled = isatty(STDERR_FILENO) == 1

    func say(_ text: String) {
        if enabled { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
}
