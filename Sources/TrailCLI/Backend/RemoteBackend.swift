import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TrailCore

/// Talks to a `trail server` over the native API, with the same request and response types the
/// server uses.
struct RemoteBackend: TrailBackend {
    let baseURL: String
    let client: HTTPClient
    let token: String?

    init(server: String, token: String?) throws {
        self.token = token
        var base = server
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw TrailError.invalid("server", "--server must be an http:// or https:// URL, got '\(server)'")
        }
        baseURL = base + "/api/v1"
        client = Self.sharedClient
    }

    static let encoder = JSONEncoder()

    /// One client for the process. A server that is down fails within the connect timeout
    /// instead of being retried for minutes.
    static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(600))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The server checkpoints on its own schedule.
    func finish() async throws {}

    /// Encodes one path segment (so `/` inside a key stays inside it).
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    /// Encodes a logical artifact path, keeping its `/` separators.
    static func artifactPath(_ path: ArtifactPath) -> String {
        path.value.split(separator: "/").map { segment(String($0)) }.joined(separator: "/")
    }

    func call<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<NativeAPI.Empty>.none, as: Response.Type
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try Self.encoder.encode(body)))
        }
        return try await send(request, as: Response.self)
    }

    func send<Response: Decodable>(_ request: HTTPClientRequest, as: Response.Type) async throws -> Response {
        var request = request
        authorize(&request)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(600))
        } catch {
            throw TrailError(.internalError, "cannot reach the ModelTrail server at \(baseURL): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 256 << 20)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            if let envelope = try? JSONDecoder().decode(NativeAPI.ErrorBody.self, from: data) {
                throw TrailError(ErrorCode(rawValue: envelope.error.code) ?? .internalError, envelope.error.message, field: envelope.error.field)
            }
            throw TrailError(.internalError, "server answered HTTP \(response.status.code)")
        }
        do {
            return try JSONDecoder().decode(Response.self, from: data)
        } catch {
            throw TrailError(.internalError, "server sent a response this client cannot read", cause: error)
        }
    }

    /// GETs `path` and returns the body's bytes (refusals raised as their error).
    func bytes(_ path: String, limit: Int = 4 << 30) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + path)
        authorize(&request)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(600))
        } catch {
            throw TrailError(.internalError, "cannot reach the ModelTrail server at \(baseURL): \(error)")
        }
        let buffer = try await response.body.collect(upTo: limit)
        guard (200..<300).contains(response.status.code) else {
            if let envelope = try? JSONDecoder().decode(NativeAPI.ErrorBody.self, from: Data(buffer.readableBytesView)) {
                throw TrailError(ErrorCode(rawValue: envelope.error.code) ?? .internalError, envelope.error.message, field: envelope.error.field)
            }
            throw TrailError(.internalError, "server answered HTTP \(response.status.code)")
        }
        return Array(buffer.readableBytesView)
    }

    static func remote(_ options: GlobalOptions) throws -> RemoteBackend? {
        guard let server = options.serverURL else { return nil }
        let environment = ProcessInfo.processInfo.environment
        return try RemoteBackend(server: server, token: options.token ?? environment["TRAIL_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
    }

    func authorize(_ request: inout HTTPClientRequest) {
        if let token { request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)") }
    }

    func createExperiment(name: String, tags: [Tag]) async throws -> Experiment {
        try await call(.POST, "/experiments", body: NativeAPI.CreateExperiment(name: name, tags: tags), as: NativeAPI.ExperimentBody.self).experiment
    }

    func experiments(view: ViewType) async throws -> [Experiment] {
        var all: [Experiment] = []
        var token: String?
        let viewName = view == .all ? "all" : view == .deletedOnly ? "deleted" : "active"
        repeat {
            let page = try await call(
                .GET, "/experiments?view=\(viewName)" + (token.map { "&page_token=\(Self.segment($0))" } ?? ""), as: NativeAPI.ExperimentList.self)
            all += page.experiments
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func experiment(_ idOrName: String) async throws -> Experiment {
        if let id = parseExperimentReference(idOrName),
            let found = try? await call(.GET, "/experiments/\(id)", as: NativeAPI.ExperimentBody.self)
        {
            return found.experiment
        }
        return try await call(.GET, "/experiments?name=\(Self.segment(idOrName))", as: NativeAPI.ExperimentBody.self).experiment
    }

    func deleteExperiment(_ id: ExperimentID) async throws {
        _ = try await call(.POST, "/experiments/\(id)/delete", as: NativeAPI.ExperimentBody.self)
    }

    func restoreExperiment(_ id: ExperimentID) async throws {
        _ = try await call(.POST, "/experiments/\(id)/restore", as: NativeAPI.ExperimentBody.self)
    }

    func renameExperiment(_ id: ExperimentID, to name: String) async throws {
        _ = try await call(.POST, "/experiments/\(id)/rename", body: NativeAPI.RenameExperiment(newName: name), as: NativeAPI.ExperimentBody.self)
    }

    func setExperimentTag(_ id: ExperimentID, key: String, value: String) async throws {
        _ = try await call(.POST, "/experiments/\(id)/tags", body: NativeAPI.SetTag(key: key, value: value), as: NativeAPI.Empty.self)
    }

    func createRun(_ request: NativeAPI.CreateRun) async throws -> Run {
        try await call(.POST, "/runs", body: request, as: NativeAPI.RunBody.self).run
    }

    func run(_ id: RunID) async throws -> Run {
        try await call(.GET, "/runs/\(id)", as: NativeAPI.RunBody.self).run
    }

    func updateRun(_ id: RunID, _ request: NativeAPI.UpdateRun) async throws -> RunInfo {
        try await call(.PATCH, "/runs/\(id)", body: request, as: NativeAPI.RunInfoBody.self).runInfo
    }

    func deleteRun(_ id: RunID) async throws { _ = try await call(.POST, "/runs/\(id)/delete", as: NativeAPI.Empty.self) }
    func restoreRun(_ id: RunID) async throws { _ = try await call(.POST, "/runs/\(id)/restore", as: NativeAPI.Empty.self) }

    func logBatch(_ id: RunID, _ batch: NativeAPI.LogBatch) async throws {
        _ = try await call(.POST, "/runs/\(id)/batch", body: batch, as: NativeAPI.Empty.self)
    }

    func setTag(_ id: RunID, key: String, value: String?) async throws {
        if let value {
            _ = try await call(.POST, "/runs/\(id)/tags", body: NativeAPI.SetTag(key: key, value: value), as: NativeAPI.Empty.self)
        } else {
            _ = try await call(.DELETE, "/runs/\(id)/tags/\(Self.segment(key))", as: NativeAPI.Empty.self)
        }
    }

    func tagHistory(_ id: RunID) async throws -> [TagChange] {
        try await call(.GET, "/runs/\(id)/tags/history", as: NativeAPI.TagHistory.self).changes
    }

    func logInputs(_ id: RunID, _ inputs: [DatasetInput]) async throws {
        _ = try await call(.POST, "/runs/\(id)/inputs", body: NativeAPI.LogInputs(datasets: inputs), as: NativeAPI.Empty.self)
    }

    func searchRuns(_ request: NativeAPI.SearchRuns) async throws -> Page<Run> {
        let list = try await call(.POST, "/runs/search", body: request, as: NativeAPI.RunList.self)
        return Page(items: list.runs, nextPageToken: list.nextPageToken)
    }

    func metricHistory(_ id: RunID, key: String) async throws -> [Metric] {
        var all: [Metric] = []
        var token: String?
        repeat {
            let page = try await call(
                .GET, "/runs/\(id)/metrics/\(Self.segment(key))/history" + (token.map { "?page_token=\(Self.segment($0))" } ?? ""),
                as: NativeAPI.MetricHistory.self)
            all += page.metrics
            token = page.nextPageToken
        } while token != nil
        return all
    }

    func uploadArtifact(_ id: RunID, path: ArtifactPath, file: URL, progress: Progress?) async throws -> ArtifactEntry {
        let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0
        var request = HTTPClientRequest(url: baseURL + "/runs/\(id)/artifacts/\(Self.artifactPath(path))")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(FileChunks(path: file.path, progress: progress), length: .known(size))
        return try await send(request, as: NativeAPI.ArtifactBody.self).artifact
    }

    func artifacts(_ id: RunID, prefix: String?) async throws -> [ArtifactEntry] {
        try await call(.GET, "/runs/\(id)/artifacts" + (prefix.map { "?prefix=\(Self.segment($0))" } ?? ""), as: NativeAPI.ArtifactList.self)
            .artifacts
    }

    func downloadArtifact(_ id: RunID, path: ArtifactPath, to destination: URL, progress: Progress?) async throws -> ArtifactEntry {
        let listing = try await artifacts(id, prefix: path.value).first { $0.path == path }
        guard let entry = listing else { throw TrailError.notFound("artifact", path.value, field: "path") }
        var request = HTTPClientRequest(url: baseURL + "/runs/\(id)/artifacts/\(Self.artifactPath(path))")
        request.method = .GET
        authorize(&request)
        let response = try await client.execute(request, timeout: .hours(6))
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            if let envelope = try? JSONDecoder().decode(NativeAPI.ErrorBody.self, from: Data(bytes.readableBytesView)) {
                throw TrailError(ErrorCode(rawValue: envelope.error.code) ?? .internalError, envelope.error.message, field: envelope.error.field)
            }
            throw TrailError(.internalError, "server answered HTTP \(response.status.code)")
        }
        let sink = try VerifyingFileSink(destination: destination, expected: entry.digest)
        for try await buffer in response.body {
            try buffer.withUnsafeReadableBytes { try sink.write($0) }
            progress?.advance(by: buffer.readableBytes)
        }
        try sink.finish()
        return entry
    }
}
