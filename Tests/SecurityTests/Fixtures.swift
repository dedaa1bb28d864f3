import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import TrailCore
import TrailHTTP
import TrailService
import TrailStore

enum SecurityFixtures {
    static func directory(_ label: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("trail-security-\(label)-\(UUID().uuidString)")
    }

    static func home() async throws -> TrailHome {
        try await TrailHome.open(directory("home"), store: try await StoreSettings.testing())
    }

    static let environment = TrainingEnvironment(
        gitCommit: "0123456789abcdef0123456789abcdef01234567", gitRemote: "none", gitBranch: "main", gitDirty: false, gitDiffSHA256: nil,
        swiftToolchain: "Swift", os: "Linux", cpu: "test", trailBinarySHA256: "sha256:test", dependencyLockSHA256: "absent")

    /// A home with `bc` version 1 trained from the bundled data, at @live.
    static func servedHome() async throws -> (TrailHome, ServingService) {
        let home = try await TrailHome.open(directory("serve"), store: try await StoreSettings.testing())
        _ = try await home.pipeline(as: .user("carol")).train(
            TrainingConfig(dataPath: "bundled:breast_cancer.csv", registerAs: "bc"), environment: environment)
        try await home.registry.setAlias(name: "bc", alias: "live", version: 1, actor: .user("carol"))
        return (home, ServingService(tracking: home.tracking, registry: home.registry))
    }

    /// The first row of the bundled data, as a request row.
    static func row() throws -> [String: JSONValue] {
        let (bytes, _) = try TrainingPipeline.loadData("bundled:breast_cancer.csv")
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        let names = lines[0].split(separator: ",").map(String.init)
        let values = lines[1].split(separator: ",").map { Double($0)! }
        var row: [String: JSONValue] = [:]
        for (name, value) in zip(names, values) where name != "target" { row[name] = .double(value) }
        return row
    }

    /// The tracking server's app over `home`: local-only (requests without a token act as
    /// `owner` with every role), or requiring tokens.
    static func app(_ home: TrailHome, localOnly: Bool) -> some ApplicationProtocol {
        let config = TrailServerConfig(port: 0, maxBodyBytes: 1 << 20, maxArtifactBytes: 8 << 20, localActor: .user("owner"), localOnly: localOnly)
        let router = TrailApplication.router(home: home, config: config, logger: Logger(label: "security"))
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Raw access to the home's database, as an attacker with the `sqlite3` shell has it.
    static func tamper(_ home: TrailHome, _ body: (Database) throws -> Void) throws {
        let queue = try DatabaseQueue(path: home.url.appendingPathComponent("trail.sqlite").path)
        try queue.writeWithoutTransaction { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            try body(db)
        }
    }

    /// The built `trail` executable (next to the test bundle).
    static var binary: URL {
        var url = Bundle.main.bundleURL
        while url.path != "/" {
            let candidate = url.appendingPathComponent("trail")
            if FileManager.default.isExecutableFile(atPath: candidate.path), !candidate.hasDirectoryPath { return candidate }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/trail")
    }

    /// Runs `trail` on `home`; returns the exit status and how it ended (a trap is a signal).
    static func trail(_ arguments: [String], home: URL) throws -> (status: Int32, signaled: Bool, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        environment["TRAIL_SERVER"] = ""
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, String(decoding: data, as: UTF8.self))
    }
}
