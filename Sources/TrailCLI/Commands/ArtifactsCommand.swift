import ArgumentParser
import Foundation
import TrailCore

struct ArtifactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts", abstract: "List and download a run's artifacts.", subcommands: [List.self, Download.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a run's artifacts with their sha256 digests.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Option(help: "Only paths under this prefix.") var prefix: String?

        func run() async throws {
            try await runReporting(options) {
                let entries = try await options.backend().artifacts(try RunID(parsing: runID), prefix: prefix)
                if options.json { return Output.printJSON(NativeAPI.ArtifactList(artifacts: entries)) }
                Output.table(["PATH", "SIZE", "DIGEST"], entries.map { [$0.path.value, String($0.sizeBytes), $0.digest.description] })
            }
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download an artifact; its sha256 is checked against the record before the file appears.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument(help: "Artifact path inside the run.") var path: String
        @Option(name: [.short, .long], help: "Where to write it (default: the artifact's file name in the current folder).")
        var output: String?

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let id = try RunID(parsing: runID)
                let artifactPath = try ArtifactPath(validating: path)
                let destination = URL(fileURLWithPath: output ?? String(artifactPath.value.split(separator: "/").last!))
                let size = try await backend.artifacts(id, prefix: artifactPath.value).first { $0.path == artifactPath }?.sizeBytes ?? 0
                let progress = Progress(total: size, label: "download", json: options.json)
                let entry = try await backend.downloadArtifact(id, path: artifactPath, to: destination, progress: progress)
                if options.json {
                    return Output.printJSON(["path": entry.path.value, "digest": entry.digest.description, "file": destination.path])
                }
                print("downloaded \(entry.path) (\(entry.sizeBytes) bytes, \(entry.digest)) to \(destination.path)")
            }
        }
    }
}
