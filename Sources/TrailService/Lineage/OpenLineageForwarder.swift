import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TrailCore
import TrailStore

/// Delivers ModelTrail's own runs to an OpenLineage receiver (Marquez, or any consumer of
/// `POST /api/v1/lineage`), durably: the ledger is the outbox, since every fact's event is
/// written in the fact's own transaction, and a cursor per receiver says how far delivery got.
/// A receiver that is down loses nothing: delivery stops at the first failure, backs off
/// (doubling, jittered, at most 5 minutes) and resumes from the same event, also after a
/// restart. Delivery is at least once, in ledger order; receivers key runs by `runId`.
public struct OpenLineageForwarder: Sendable {
    public let emitter: OpenLineageEmitter
    public let receiver: String
    let endpoint: URL
    let apiKey: String?
    let send: @Sendable (_ url: URL, _ body: [UInt8], _ apiKey: String?) async throws -> Int

    public static let maxBackoffMillis: Int64 = 300_000

    /// `url` is the receiver's base (`http://marquez:5000`, events go to `/api/v1/lineage`) or a
    /// full endpoint (ending in `/lineage`).
    public init(
        emitter: OpenLineageEmitter, url: String, apiKey: String? = nil,
        send: (@Sendable (_ url: URL, _ body: [UInt8], _ apiKey: String?) async throws -> Int)? = nil
    ) throws {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme), parsed.host != nil else {
            throw TrailError.invalid("openlineage-url", "the OpenLineage receiver is an http(s) URL, e.g. http://marquez:5000")
        }
        self.emitter = emitter
        receiver = url
        endpoint = parsed.path.hasSuffix("/lineage") ? parsed : parsed.appendingPathComponent("api/v1/lineage")
        self.apiKey = apiKey
        self.send = send ?? Self.post
    }

    public struct Pass: Sendable, Codable, Hashable {
        public var delivered: Int
        public var skipped: Int
        public var failed: Bool
        public var cursor: OpenLineageCursor
    }

    /// Delivers what is due, in order, up to `limit` events; stops at the first failure.
    public func deliver(limit: Int = 500) async throws -> Pass {
        let store = emitter.tracking.store
        let clock = emitter.tracking.clock
        var cursor = try await store.openLineageCursor(receiver: receiver)
        var pass = Pass(delivered: 0, skipped: 0, failed: false, cursor: cursor)
        guard clock.nowMillis() >= cursor.nextAttemptMillis else { return pass }
        let size = try await store.eventCount()
        while cursor.nextIndex < size, pass.delivered + pass.skipped < limit {
            let to = min(cursor.nextIndex + 200, size)
            for event in try await store.events(from: cursor.nextIndex, to: to) {
                guard let payload = try await emitter.runEvent(for: event) else {
                    cursor.nextIndex = event.index + 1
                    pass.skipped += 1
                    continue
                }
                let now = clock.nowMillis()
                cursor.lastAttemptMillis = now
                do {
                    let status = try await send(endpoint, payload.canonicalBytes, apiKey)
                    guard (200..<300).contains(status) else { throw TrailError(.temporarilyUnavailable, "the receiver answered \(status)") }
                    cursor.nextIndex = event.index + 1
                    cursor.delivered += 1
                    cursor.failures = 0
                    cursor.lastError = nil
                    cursor.nextAttemptMillis = 0
                    pass.delivered += 1
                } catch {
                    cursor.failures += 1
                    cursor.lastError = String(String(describing: error).prefix(500))
                    let shift = min(cursor.failures - 1, 12)
                    let backoff = min(Self.maxBackoffMillis, 1000 << shift)
                    cursor.nextAttemptMillis = now + backoff / 2 + Int64.random(in: 0...(backoff / 2))
                    pass.failed = true
                    try await store.saveOpenLineageCursor(cursor)
                    pass.cursor = cursor
                    return pass
                }
            }
            try await store.saveOpenLineageCursor(cursor)
        }
        try await store.saveOpenLineageCursor(cursor)
        pass.cursor = cursor
        return pass
    }

    /// Delivers until caught up or a failure (used by `trail train` after a run).
    public func drain() async throws -> Pass {
        var total = Pass(delivered: 0, skipped: 0, failed: false, cursor: try await emitter.tracking.store.openLineageCursor(receiver: receiver))
        while true {
            let pass = try await deliver()
            total.delivered += pass.delivered
            total.skipped += pass.skipped
            total.failed = pass.failed
            total.cursor = pass.cursor
            if pass.failed || pass.delivered + pass.skipped == 0 { return total }
        }
    }

    static let http = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(30))))

    /// POST one event as JSON, a bearer token if configured; redirects are not followed.
    @Sendable static func post(_ url: URL, _ body: [UInt8], _ apiKey: String?) async throws -> Int {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "modeltrail/\(TrailVersion.current)")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try? await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }
}
