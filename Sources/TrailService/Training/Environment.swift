import Foundation
import TrailCore

/// Where and with what a training ran: the code (git), the toolchain and machine, the `trail`
/// binary and the dependency lock. Collected once per run and recorded as tags; its canonical
/// digest is the run's `environment_sha256`.
public struct TrainingEnvironment: Sendable, Hashable {
    public var gitCommit: String
    public var gitRemote: String
    public var gitBranch: String
    public var gitDirty: Bool
    /// sha256 of `git diff HEAD` when the work tree is dirty.
    public var gitDiffSHA256: String?
    public var swiftToolchain: String
    public var os: String
    public var cpu: String
    public var trailBinarySHA256: String
    public var dependencyLockSHA256: String

    public init(
        gitCommit: String, gitRemote: String, gitBranch: String, gitDirty: Bool, gitDiffSHA256: String?, swiftToolchain: String, os: String,
        cpu: String, trailBinarySHA256: String, dependencyLockSHA256: String
    ) {
        self.gitCommit = gitCommit
        self.gitRemote = gitRemote
        self.gitBranch = gitBranch
        self.gitDirty = gitDirty
        self.gitDiffSHA256 = gitDiffSHA256
        self.swiftToolchain = swiftToolchain
        self.os = os
        self.cpu = cpu
        self.trailBinarySHA256 = trailBinarySHA256
        self.dependencyLockSHA256 = dependencyLockSHA256
    }

    /// The run tags, MLflow's names for the code provenance.
    public var tags: [Tag] {
        var tags = [
            Tag(key: "mlflow.source.git.commit", value: gitCommit), Tag(key: "mlflow.source.git.repoURL", value: gitRemote),
            Tag(key: "mlflow.source.git.branch", value: gitBranch), Tag(key: "git_dirty", value: gitDirty ? "true" : "false"),
            Tag(key: "swift_toolchain", value: swiftToolchain), Tag(key: "os", value: os), Tag(key: "cpu", value: cpu),
            Tag(key: "trail_binary_sha256", value: trailBinarySHA256), Tag(key: "dependency_lock_sha256", value: dependencyLockSHA256),
            Tag(key: "environment_sha256", value: digest.description),
        ]
        if let gitDiffSHA256 { tags.append(Tag(key: "git_diff_sha256", value: gitDiffSHA256)) }
        return tags
    }

    public var json: JSONValue {
        [
            "git_commit": .string(gitCommit), "git_remote": .string(gitRemote), "git_branch": .string(gitBranch), "git_dirty": .bool(gitDirty),
            "git_diff_sha256": gitDiffSHA256.map(JSONValue.string) ?? .null, "swift_toolchain": .string(swiftToolchain), "os": .string(os),
            "cpu": .string(cpu), "trail_binary_sha256": .string(trailBinarySHA256), "dependency_lock_sha256": .string(dependencyLockSHA256),
        ]
    }

    /// sha256 of the canonical JSON of everything above.
    public var digest: Digest { Digest.of(json.canonicalBytes) }

    /// Probes the machine, with `directory` as the code's work tree.
    public static func probe(directory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> TrainingEnvironment {
        let git = { (args: [String]) -> String? in run("/usr/bin/env", ["git", "-C", directory.path] + args) }
        let commit = git(["rev-parse", "HEAD"])?.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = git(["status", "--porcelain", "--untracked-files=no"]) ?? ""
        let dirty = commit != nil && !status.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        let diff = dirty ? git(["diff", "HEAD"]).map { Digest.of(Array($0.utf8)).description } : nil
        let top = git(["rev-parse", "--show-toplevel"])?.trimmingCharacters(in: .whitespacesAndNewlines)
        let lockCandidates = [top, directory.path].compactMap { $0 }.map { URL(fileURLWithPath: $0).appendingPathComponent("Package.resolved") }
        let lock = lockCandidates.lazy.compactMap { try? Data(contentsOf: $0) }.first.map { Digest.of($0).description } ?? "absent"
        let cpu =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        let toolchain = run("/usr/bin/env", ["swift", "--version"])?.split(separator: "\n").first.map(String.init)
        return TrainingEnvironment(
            gitCommit: commit ?? "unknown (not a git work tree)",
            gitRemote: git(["remote", "get-url", "origin"])?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "none",
            gitBranch: git(["rev-parse", "--abbrev-ref", "HEAD"])?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "none",
            gitDirty: dirty, gitDiffSHA256: diff, swiftToolchain: toolchain ?? "unknown",
            os: "\(ProcessInfo.processInfo.operatingSystemVersionString) \(architecture)",
            cpu: "\(cpu ?? "unknown") × \(ProcessInfo.processInfo.activeProcessorCount)",
            trailBinarySHA256: binaryDigest(), dependencyLockSHA256: lock)
    }

    static var architecture: String {
        #if arch(x86_64)
            "x86_64"
        #elseif arch(arm64)
            "arm64"
        #else
            "other"
        #endif
    }

    /// sha256 of the running executable.
    public static func binaryDigest() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        guard let handle = FileHandle(forReadingAtPath: path) else { return "unknown" }
        defer { try? handle.close() }
        var hasher = StreamingSHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { hasher.update($0) } }
        return hasher.finalize().description
    }

    /// Runs a command and returns its standard output, or nil if it failed.
    static func run(_ executable: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
