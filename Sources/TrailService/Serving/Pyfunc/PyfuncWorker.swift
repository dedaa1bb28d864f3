import Foundation
import TrailCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a worker gave no answer.
public enum PyfuncWorkerFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case exited(String)
    case timedOut(seconds: Double)
    case protocolError(String)

    public var description: String {
        switch self {
        case .exited(let how): "the model worker exited (\(how))"
        case .timedOut(let seconds): "the model worker did not answer within \(seconds) s and was replaced"
        case .protocolError(let what): "the model worker broke the protocol: \(what)"
        }
    }
}

/// One Python process running `pyfunc_worker.py` on one model: length-prefixed JSON frames over
/// its stdin and stdout, one request at a time. Reads block a thread of their own, never the
/// cooperative pool.
final class PyfuncWorker: @unchecked Sendable {
    let process: Process
    let toWorker: Int32
    let fromWorker: Int32
    let pid: Int32
    private let lock = NSLock()
    private var dead = false

    init(python: String, script: URL, model: URL, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        // A write to a worker that has died must be an error, not a signal that ends `trail serve`.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        if python.contains("/") {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script.path, model.path]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, script.path, model.path]
        }
        var env = environment
        env["PYTHONUNBUFFERED"] = "1"
        env["_MLFLOW_IS_IN_SERVING_ENVIRONMENT"] = "true"
        env.removeValue(forKey: "MLFLOW_TRACKING_URI")
        process.environment = env
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw TrailError.invalid("python", "cannot start the model worker with '\(python)': \(error.localizedDescription)")
        }
        self.process = process
        pid = process.processIdentifier
        toWorker = input.fileHandleForWriting.fileDescriptor
        fromWorker = output.fileHandleForReading.fileDescriptor
        // Keep the pipe objects' descriptors open for the worker's life: the handles own them.
        handles = [input.fileHandleForWriting, output.fileHandleForReading]
    }

    private let handles: [FileHandle]

    var isDead: Bool { lock.withLock { dead } }

    /// Ends the worker now (SIGKILL).
    func kill() {
        lock.withLock { dead = true }
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
    }

    /// Asks the worker to finish (EOF on its stdin), then kills it after `grace` seconds.
    func shutdown(grace: Double = 5) async {
        lock.withLock { dead = true }
        try? handles[0].close()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
    }

    /// Sends one frame (unless `frame` is nil) and reads the answer frame, or fails when the
    /// worker exits, breaks the protocol, or takes longer than `timeout` seconds (it is then killed).
    func exchange(_ frame: [UInt8]?, timeout: Double) async throws -> [UInt8] {
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                if once.claim() {
                    kill()
                    continuation.resume(throwing: PyfuncWorkerFailure.timedOut(seconds: timeout))
                }
            }
            DispatchQueue.global().async { [self] in
                let result: Result<[UInt8], any Error>
                do {
                    if let frame { try send(frame) }
                    result = .success(try receive())
                } catch {
                    result = .failure(error)
                }
                if once.claim() {
                    if case .failure = result { kill() }
                    continuation.resume(with: result)
                }
            }
        }
    }

    private func send(_ frame: [UInt8]) throws {
        guard let size = UInt32(exactly: frame.count) else { throw PyfuncWorkerFailure.protocolError("a request of \(frame.count) bytes is too large") }
        var bytes: [UInt8] = [UInt8(size >> 24), UInt8((size >> 16) & 0xff), UInt8((size >> 8) & 0xff), UInt8(size & 0xff)]
        bytes.append(contentsOf: frame)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(toWorker, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw PyfuncWorkerFailure.exited(exitDescription())
            }
            offset += written
        }
    }

    private func receive() throws -> [UInt8] {
        let head = try readExactly(4)
        let size = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
        guard size <= 1 << 30 else { throw PyfuncWorkerFailure.protocolError("an answer of \(size) bytes") }
        return try readExactly(size)
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = out.withUnsafeMutableBytes { Glibc.read(fromWorker, $0.baseAddress! + offset, count - offset) }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { throw PyfuncWorkerFailure.exited(exitDescription()) }
            offset += got
        }
        return out
    }

    private func exitDescription() -> String {
        // The pipe closed: give the process a moment to be reaped for its status.
        for _ in 0..<50 where process.isRunning { usleep(10_000) }
        if process.isRunning { return "its output closed" }
        return process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
    }
}

/// A flag that can be claimed once, from any thread.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false

    func claim() -> Bool {
        lock.withLock {
            if claimed { return false }
            claimed = true
            return true
        }
    }
}
