import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import TrailCore
import TrailService

/// Prometheus metrics (swift-metrics' model, swift-prometheus' registry and text format) for
/// `trail server` and `trail serve`: requests and their latency by route and status, and,
/// read from the record when scraped, the ledger's size, the last checkpoint's age, the last
/// verification, predictions and refusals per model version, the outbox backlog and each
/// OpenLineage receiver's lag. Served at `/metrics` to admins, or on a separate listen address
/// (`--metrics-listen`), never to the public by default.
public final class TrailMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]
    private let lastScrape = LockedBox<(time: Date, values: [String: [([(String, String)], Double)]])?>(nil)

    public init() {}

    static func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Counts one answered request (route is the matched pattern, so labels stay bounded).
    public func observe(route: String, method: String, status: Int, seconds: Double) {
        let route = String(route.prefix(200))
        registry.makeCounter(
            descriptor: Self.describe("trail_http_requests_total", "HTTP requests answered, by route pattern, method and status."),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.describe("trail_http_request_duration_seconds", "Time to answer, by route pattern and method."),
            labels: [("route", route), ("method", method)], buckets: Self.buckets
        ).recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    /// The last verification's verdict (the server's scheduled verify and the admin route).
    public func observe(_ report: VerificationReport) {
        registry.makeGauge(descriptor: Self.describe("trail_ledger_verify_ok", "1 if the last ledger verification passed, else 0.")).set(Double(report.ok ? 1 : 0))
        registry.makeGauge(descriptor: Self.describe("trail_ledger_verify_findings", "Findings of the last ledger verification.")).set(Double(report.findings.count))
        let now: Double = Date().timeIntervalSince1970
        registry.makeGauge(descriptor: Self.describe("trail_ledger_verify_timestamp_seconds", "When the last ledger verification finished.")).set(now)
    }

    /// One answer of a model server (`trail serve`): counted per model version and outcome.
    public func observePrediction(model: String, version: String, status: Int) {
        registry.makeCounter(
            descriptor: Self.describe("trail_serve_answers_total", "Scoring requests answered by this model server, by model version and outcome."),
            labels: [("model", model), ("version", version), ("outcome", (200..<300).contains(status) ? "ok" : "refused")]
        ).increment()
    }

    /// Reads the record's gauges (at most once every 15 seconds) and renders everything in the
    /// Prometheus text format 0.0.4.
    public func render(home: TrailHome?, workers: Int? = nil) async -> String {
        if let home { await refresh(home) }
        if let workers { registry.makeGauge(descriptor: Self.describe("trail_serve_workers_live", "Live scoring worker processes.")).set(Double(workers)) }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func refresh(_ home: TrailHome) async {
        if let last = lastScrape.value, Date().timeIntervalSince(last.time) < 15 { return }
        lastScrape.value = (Date(), [:])
        let store = home.tracking.store
        if let size = try? await store.eventCount() {
            registry.makeGauge(descriptor: Self.describe("trail_ledger_events", "Events in the ledger.")).set(Double(size))
            for cursor in (try? await store.openLineageCursors()) ?? [] {
                let labels = [("receiver", String(cursor.receiver.prefix(200)))]
                registry.makeGauge(descriptor: Self.describe("trail_openlineage_pending_events", "Ledger events not yet delivered to an OpenLineage receiver."), labels: labels)
                    .set(Double(max(0, size - cursor.nextIndex)))
                registry.makeGauge(descriptor: Self.describe("trail_openlineage_failures", "Consecutive failed deliveries to an OpenLineage receiver."), labels: labels)
                    .set(Double(cursor.failures))
            }
        }
        if let checkpoint = try? await store.latestCheckpoint() {
            registry.makeGauge(descriptor: Self.describe("trail_ledger_checkpoint_size", "Events covered by the latest signed checkpoint.")).set(Double(checkpoint.size))
            let age: Double = max(0, Date().timeIntervalSince1970 - Double(checkpoint.timeMillis) / 1000)
            registry.makeGauge(descriptor: Self.describe("trail_ledger_checkpoint_age_seconds", "Seconds since the latest signed checkpoint.")).set(age)
        }
        for row in (try? await store.predictionCounts()) ?? [] {
            registry.makeGauge(
                descriptor: Self.describe(
                    "trail_predictions_recorded", "Predictions and refusals recorded, by model version and outcome (refusals have outcome refused)."),
                labels: [("model", row.model), ("version", String(row.version)), ("outcome", row.outcome)]
            ).set(Double(row.count))
        }
        if let endpoints = try? await home.store.webhookEndpoints() {
            registry.makeGauge(descriptor: Self.describe("trail_webhooks_active", "Registered webhook endpoints.")).set(Double(endpoints.filter(\.isActive).count))
        }
        if let backlog = try? await home.store.outboxBacklog() {
            registry.makeGauge(descriptor: Self.describe("trail_outbox_backlog", "Webhook messages waiting to be delivered.")).set(Double(backlog))
        }
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func response(home: TrailHome?, workers: Int? = nil) async -> Response {
        Response(
            status: .ok, headers: [.contentType: Self.contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: await render(home: home, workers: workers))))
    }
}

/// A value behind a lock.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Counts every request with the route pattern that answered it (outermost, so errors turned
/// into responses are counted with their status).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: TrailMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        func seconds() -> Double {
            let elapsed = ContinuousClock.now - started
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        do {
            let response = try await next(request, context)
            metrics.observe(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code), seconds: seconds())
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            metrics.observe(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(status), seconds: seconds())
            throw error
        }
    }
}

/// A listener that serves only `/metrics`, without authentication: bind it to an address only
/// the scraper reaches (`--metrics-listen 127.0.0.1:9464`).
public enum MetricsApplication {
    public static func router(metrics: TrailMetrics, home: TrailHome?, workers: (@Sendable () async -> Int?)? = nil) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("metrics") { _, _ in await metrics.response(home: home, workers: await workers?()) }
        return router
    }
}
