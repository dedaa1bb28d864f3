import Foundation
import Testing
import TrailCore

/// `trail server --blobs s3://…` against moto on loopback (signatures checked; `compat/moto.sh`).
@Suite("trail server with S3 blobs", .enabled(if: ProcessInfo.processInfo.environment["TRAIL_TEST_S3_ENDPOINT"] != nil, "set by compat/moto.sh"))
struct S3CLITests {
    typealias CLI = CLIEndToEndTests
    static let environment = ProcessInfo.processInfo.environment

    static func s3Environment(secret: String? = nil) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": environment["TRAIL_TEST_S3_ACCESS_KEY_ID"] ?? "",
            "AWS_SECRET_ACCESS_KEY": secret ?? environment["TRAIL_TEST_S3_SECRET_ACCESS_KEY"] ?? "",
            "AWS_ENDPOINT_URL_S3": environment["TRAIL_TEST_S3_ENDPOINT"] ?? "",
        ]
    }

    static func uri() -> String { "s3://\(environment["TRAIL_TEST_S3_BUCKET"] ?? "modeltrail-test")/cli-\(UUID().uuidString.lowercased())" }

    /// Runs curl with its output in a file (a pipe read for a minute-long upload can be
    /// interrupted by a signal, which Foundation's `readDataToEndOfFile` turns into a trap).
    static func curl(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("trail-curl-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-S"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test func aWrongSecretStopsTheServerAtStartUp() throws {
        let result = try CLI.trail(
            ["server", "--port", String(CLI.freePort()), "--blobs", Self.uri()], home: CLI.temporaryHome(),
            environment: Self.s3Environment(secret: "not-the-secret"))
        #expect(result.status != 0)
        #expect(result.stderr.contains("SignatureDoesNotMatch"), "\(result.stderr)")
    }

    /// Free bytes on the temporary folder's file system (the test's spool, moto's copy and the
    /// download need about 4 GiB at once).
    static var freeTemporaryBytes: Int64 {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: FileManager.default.temporaryDirectory.path)
        return (attributes?[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
    }

    /// An artifact above 1 GiB goes up through the server and comes back, while the server's
    /// resident memory stays far below the artifact's size (streamed, spooled, uploaded in parts).
    @Test(.enabled(if: S3CLITests.freeTemporaryBytes > 6 << 30, "needs about 4 GiB of free disk in the temporary folder"))
    func aBlobAboveOneGiBStreamsThroughInBoundedMemory() throws {
        let home = CLI.temporaryHome()
        let port = CLI.freePort()
        let server = Process()
        server.executableURL = CLI.binary
        server.arguments = ["server", "--port", String(port), "--local-only", "--blobs", Self.uri()]
        var environment = ProcessInfo.processInfo.environment
        environment["TRAIL_HOME"] = home.path
        environment["TRAIL_SERVER"] = ""
        environment.merge(Self.s3Environment()) { _, new in new }
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)"
        var created = ""
        for _ in 0..<100 {
            created = try Self.curl(["-H", "Content-Type: application/json", "-d", #"{"experiment_id": "0"}"#, url + "/api/2.0/mlflow/runs/create"]).stdout
            if created.contains("run_id") { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let run = try #require(
            (((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"]
                as? String, "\(created)")
        // 1 GiB + 17 MiB + 3 bytes of zeros, as a sparse file: nothing to generate.
        let size: Int64 = (1 << 30) + (17 << 20) + 3
        let file = home.appendingPathComponent("big.bin")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        var hasher = StreamingSHA256()
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var left = size
        while left > 0 {
            let count = Int(min(left, Int64(zeros.count)))
            zeros.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            left -= Int64(count)
        }
        let digest = hasher.finalize()

        let put = try Self.curl(["-T", file.path, "-H", "Content-Type: application/octet-stream", "\(url)/api/v1/runs/\(run)/artifacts/big.bin"])
        #expect(put.stdout.contains(digest.description), "\(put.stdout)")
        let back = home.appendingPathComponent("back.bin")
        let get = try Self.curl(["-o", back.path, "-w", "%{http_code}", "\(url)/api/v1/runs/\(run)/artifacts/big.bin"])
        #expect(get.stdout == "200")
        // The bytes that came back hash to the digest (read in chunks, never whole).
        let reader = try FileHandle(forReadingFrom: back)
        var again = StreamingSHA256()
        var total: Int64 = 0
        while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { again.update($0) }
            total += Int64(chunk.count)
        }
        try reader.close()
        #expect(total == size)
        #expect(again.finalize() == digest)
        // The server's peak resident memory, from the kernel, while it still runs.
        let status = try String(contentsOfFile: "/proc/\(server.processIdentifier)/status", encoding: .utf8)
        let peakKiB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int64($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        print("S3 1 GiB round trip: server peak RSS \(peakKiB) KiB for a \(size)-byte artifact")
        #expect(peakKiB > 0 && peakKiB < 320 * 1024, "server peak RSS \(peakKiB) KiB for a \(size)-byte artifact")
        try? FileManager.default.removeItem(at: home)
    }
}
