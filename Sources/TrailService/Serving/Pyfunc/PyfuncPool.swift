import Foundation
import TrailCore

/// A pool of Python workers serving one MLflow model version. Concurrent requests are batched:
/// while every worker is busy, requests queue, and a worker that frees up takes all queued
/// requests with the same params (up to `maxBatchRows` rows) in one predict call, so batches
/// grow with load and the wait is bounded by one batch's scoring time. A worker that exits or
/// hangs past `timeout` is killed and replaced; the requests it held fail with the reason.
public actor PyfuncPool {
    public struct Settings: Sendable, Hashable {
        public var python: String
        public var workers: Int
        /// Seconds a worker may take for one batch before it is killed and replaced.
        public var timeout: Double
        public var startTimeout: Double
        public var maxBatchRows: Int

        public init(python: String = "python3", workers: Int = 2, timeout: Double = 60, startTimeout: Double = 300, maxBatchRows: Int = 2000) {
            self.python = python
            self.workers = workers
            self.timeout = timeout
            self.startTimeout = startTimeout
            self.maxBatchRows = maxBatchRows
        }
    }

    /// What the first worker reported after loading the model.
    public struct Loaded: Sendable {
        public var signature: MLflowSignature
        public var mlflowVersion: String
        public var pythonVersion: String
        public var predictFunction: String
    }

    /// One request's answer from the model: MLflow's `{"predictions": …}` bytes, or the error the
    /// model (or MLflow's parsing) raised.
    public enum Outcome: Sendable {
        case predictions([UInt8])
        case modelError(status: Int, errorCode: String, message: String)
    }

    struct Job {
        var columns: [String]
        var rows: [[JSONValue]]
        var params: [String: JSONValue]
        var raw: (format: String, value: JSONValue)?
        var continuation: CheckedContinuation<Outcome, any Error>
    }

    /// The interpreter a re-scoring (`trail reproduce prediction --python`) starts its worker with.
    @TaskLocal public static var interpreter: String = ProcessInfo.processInfo.environment["TRAIL_PYTHON"] ?? "python3"

    public nonisolated let settings: Settings
    public nonisolated let loaded: Loaded
    let script: URL
    let model: URL
    private var idle: [PyfuncWorker] = []
    private var live: [Int32: PyfuncWorker] = [:]
    private var busy = 0
    private var queue: [Job] = []
    private var closed = false
    /// Workers that failed (exited or hung) since start, for /health.
    public private(set) var failures = 0
    public private(set) var lastFailure: String?

    init(settings: Settings, loaded: Loaded, script: URL, model: URL, workers: [PyfuncWorker]) {
        self.settings = settings
        self.loaded = loaded
        self.script = script
        self.model = model
        idle = workers
        for worker in workers { live[worker.pid] = worker }
    }

    /// Starts `settings.workers` workers on the model in `model` and waits until each has loaded
    /// it. Fails, naming them, when the model's requirements are missing from the interpreter,
    /// or with the worker's own error when MLflow cannot load the model.
    public static func start(model: URL, cache: URL, settings: Settings) async throws -> PyfuncPool {
        guard (1...64).contains(settings.workers) else { throw TrailError.invalid("workers", "workers must be 1 to 64") }
        let script = try PyfuncWorkerProgram.install(in: cache)
        var workers: [PyfuncWorker] = []
        var hello: JSONValue?
        do {
            for _ in 0..<settings.workers { workers.append(try PyfuncWorker(python: settings.python, script: script, model: model)) }
            for worker in workers {
                let answer = try await Self.hello(worker, settings: settings)
                if hello == nil { hello = answer }
            }
        } catch {
            for worker in workers { worker.kill() }
            throw error
        }
        guard let hello else { throw TrailError.internalError("no worker answered") }
        let signature = try MLflowSignature(inputs: hello["signature"]?["inputs"], params: hello["signature"]?["params"])
        let loaded = Loaded(
            signature: signature, mlflowVersion: hello["mlflow_version"]?.stringValue ?? "", pythonVersion: hello["python"]?.stringValue ?? "",
            predictFunction: hello["predict_fn"]?.stringValue ?? "predict")
        return PyfuncPool(settings: settings, loaded: loaded, script: script, model: model, workers: workers)
    }

    static func hello(_ worker: PyfuncWorker, settings: Settings) async throws -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = try await worker.exchange(nil, timeout: settings.startTimeout)
        } catch let failure as PyfuncWorkerFailure {
            throw TrailError(
                .invalidState,
                "the model worker (\(settings.python)) did not start: \(failure). Is \(settings.python) a Python with mlflow installed (--python PATH)?",
                field: "python")
        }
        let hello = try JSONValue.parseAllowingNonFinite(bytes)
        guard hello["ready"] == .bool(true) else {
            if case .array(let missing)? = hello["missing"], !missing.isEmpty {
                throw TrailError(
                    .invalidState,
                    "the model's Python requirements are missing from \(settings.python): \(missing.compactMap(\.stringValue).joined(separator: ", ")). Install them (pip install -r requirements.txt of the model) or name another interpreter with --python",
                    field: "python")
            }
            throw TrailError(
                .invalidState, "MLflow could not load the model with \(settings.python): \(hello["error"]?.stringValue ?? "unknown error")", field: "python")
        }
        return hello
    }

    /// Scores rows (values in `columns` order) with `params`, batched with other requests.
    public func score(columns: [String], rows: [[JSONValue]], params: [String: JSONValue]) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(Job(columns: columns, rows: rows, params: params, raw: nil, continuation: continuation))
        }
    }

    /// Scores a request body's tensor input as MLflow parses it (never batched).
    public func score(raw format: String, value: JSONValue, params: [String: JSONValue]) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(Job(columns: [], rows: [], params: params, raw: (format, value), continuation: continuation))
        }
    }

    private func enqueue(_ job: Job) {
        guard !closed else {
            job.continuation.resume(throwing: TrailError(.temporarilyUnavailable, "the model's workers are shutting down", field: "model"))
            return
        }
        queue.append(job)
        dispatch()
    }

    private func dispatch() {
        while !queue.isEmpty, let worker = idle.popLast() {
            if worker.isDead || !worker.process.isRunning {
                worker.kill()
                live[worker.pid] = nil
                failures += 1
                lastFailure = "a worker exited while idle"
                replace()
                continue
            }
            var jobs = [queue.removeFirst()]
            if jobs[0].raw == nil {
                var rows = jobs[0].rows.count
                var i = 0
                while i < queue.count, rows < settings.maxBatchRows {
                    let next = queue[i]
                    if next.raw == nil, next.params == jobs[0].params, next.columns == jobs[0].columns, rows + next.rows.count <= settings.maxBatchRows {
                        jobs.append(queue.remove(at: i))
                        rows += next.rows.count
                    } else {
                        i += 1
                    }
                }
            }
            busy += 1
            let frame = Self.frame(jobs)
            let timeout = settings.timeout
            Task { [jobs] in
                do {
                    let answer = try await worker.exchange(frame, timeout: timeout)
                    await self.finished(worker, jobs, .success(answer))
                } catch {
                    await self.finished(worker, jobs, .failure(error))
                }
            }
        }
    }

    static func frame(_ jobs: [Job]) -> [UInt8] {
        var object: [String: JSONValue] = ["params": jobs[0].params.isEmpty ? .null : .object(jobs[0].params)]
        if let raw = jobs[0].raw {
            object["raw"] = .object([raw.format: raw.value])
        } else {
            object["columns"] = .array(jobs[0].columns.map(JSONValue.string))
            object["data"] = .array(jobs.flatMap { $0.rows.map(JSONValue.array) })
            object["sizes"] = .array(jobs.map { .int(Int64($0.rows.count)) })
        }
        return JSONValue.object(object).canonicalBytes
    }

    private func finished(_ worker: PyfuncWorker, _ jobs: [Job], _ result: Result<[UInt8], any Error>) {
        busy -= 1
        switch result {
        case .success(let bytes):
            if case .array(let results)? = try? JSONValue.parseAllowingNonFinite(bytes)["results"], results.count == jobs.count {
                for (job, result) in zip(jobs, results) {
                    if result["status"]?.intValue == 200, let body = result["body"]?.stringValue {
                        job.continuation.resume(returning: .predictions(Array(body.utf8)))
                    } else {
                        job.continuation.resume(
                            returning: .modelError(
                                status: Int(clamping: result["status"]?.intValue ?? 500), errorCode: result["error_code"]?.stringValue ?? "INTERNAL_ERROR",
                                message: result["message"]?.stringValue ?? "the model failed"))
                    }
                }
                idle.append(worker)
            } else {
                fail(worker, jobs, PyfuncWorkerFailure.protocolError("an answer that is not one result per request"))
            }
        case .failure(let error):
            fail(worker, jobs, error)
        }
        dispatch()
    }

    private func fail(_ worker: PyfuncWorker, _ jobs: [Job], _ error: any Error) {
        worker.kill()
        live[worker.pid] = nil
        failures += 1
        lastFailure = "\(error)"
        for job in jobs { job.continuation.resume(throwing: error) }
        if !closed { replace() }
    }

    /// Starts a worker in place of one that failed; retries with backoff while it cannot start.
    private func replace() {
        let settings = self.settings
        let script = self.script
        let model = self.model
        Task {
            var delay: UInt64 = 200_000_000
            while true {
                if await self.isClosed { break }
                do {
                    let worker = try PyfuncWorker(python: settings.python, script: script, model: model)
                    _ = try await Self.hello(worker, settings: settings)
                    await self.adopt(worker)
                    return
                } catch {
                    await self.noteFailure("replacing a worker: \(error)")
                    try? await Task.sleep(nanoseconds: delay)
                    delay = min(delay * 2, 10_000_000_000)
                }
            }
        }
    }

    var isClosed: Bool { closed }

    /// A replacement could not start. While no worker is alive, the queued requests would wait
    /// for one without bound: they fail now with the reason (503 to their clients).
    private func noteFailure(_ text: String) {
        lastFailure = text
        if live.isEmpty { failQueued(TrailError(.temporarilyUnavailable, "no model worker is running: \(text)", field: "model")) }
    }

    private func failQueued(_ error: any Error) {
        let waiting = queue
        queue.removeAll()
        for job in waiting { job.continuation.resume(throwing: error) }
    }

    private func adopt(_ worker: PyfuncWorker) {
        if closed {
            Task { await worker.shutdown() }
            return
        }
        idle.append(worker)
        live[worker.pid] = worker
        dispatch()
    }

    /// Workers ready or scoring now.
    public var liveWorkers: Int { live.count }

    /// The pids of the live workers (tests kill one).
    public var workerPIDs: [Int32] { live.keys.sorted() }

    /// Finishes the queued and running requests, then ends every worker.
    public func drain() async {
        closed = true
        while busy > 0 || !queue.isEmpty {
            // With no worker left to take them, queued requests fail rather than wait forever.
            if busy == 0, live.isEmpty { failQueued(TrailError(.temporarilyUnavailable, "the model's workers have stopped", field: "model")) }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        let workers = Array(live.values)
        idle.removeAll()
        live.removeAll()
        for worker in workers { await worker.shutdown() }
    }
}
