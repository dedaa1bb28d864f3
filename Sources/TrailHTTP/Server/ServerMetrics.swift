import Foundation
import Hummingbird
import Prometheus
import TrailCore
import TrailService

/// `GET /metrics` (issue #19, part 5): Prometheus text format, for admins only (never public).
/// Request counts and latency histograms by route pattern (bounded: `/api/v1/runs/{run_id}`,
/// never a raw path), method and status, kept in a registry of this server's own (not the
/// process-wide `MetricsSystem`, so several servers in one process, as in tests, do not mix);
/// the ledger's size, the last checkpoint's age and the outbox backlog are read at each scrape.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    static let buckets: [Duration] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000].map { .milliseconds($0) }

    public init() {}

    func record(route: String, method: String, status: Int, elapsed: Duration) {
        let labels = [("route", String(route.prefix(200))), ("method", method), ("status", String(status))]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "trail", metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "trail", metricName: "http_request_duration", unitName: "seconds", helpText: "Time to answer an HTTP request"),
            labels: labels, buckets: Self.buckets
        ).record(elapsed)
    }

    func gauge(_ name: String, _ unit: String, _ help: String, _ value: Double) {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "trail", metricName: name, unitName: unit, helpText: help)).set(value)
    }

    /// Reads the gauges from the home, then renders everything.
    func scrape(home: TrailHome) async throws -> [UInt8] {
        let events = try await home.store.eventCount()
        gauge("ledger_events", "count", "Events in the ledger", Double(events))
        if let checkpoint = try await home.store.latestCheckpoint() {
            gauge("ledger_checkpoint_size", "count", "Events covered by the latest signed checkpoint", Double(checkpoint.size))
            let age = Double(max(0, home.tracking.clock.nowMillis() - checkpoint.timeMillis)) / 1000
            gauge("ledger_checkpoint_age", "seconds", "Seconds since the latest signed checkpoint", age)
        }
        gauge("outbox_backlog", "count", "Outbox messages waiting to be delivered", Double(try await home.store.outboxBacklog()))
        let active = try await home.store.webhookEndpoints().filter(\.isActive).count
        gauge("webhooks_active", "count", "Registered webhook endpoints", Double(active))
        return registry.emitToBuffer()
    }
}

/// Counts and times every request by its route pattern and final status. Added before the
/// error middleware, so refusals are counted with the status the client saw.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = TrailRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.record(
                route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code),
                elapsed: ContinuousClock.now - start)
            return response
        } catch {
            let status: Int
            if let error = error as? TrailError {
                status = Int(ErrorStatus.status(for: error.code).code)
            } else if let error = error as? any HTTPResponseError {
                status = Int(error.status.code)
            } else {
                status = 500
            }
            metrics.record(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, elapsed: ContinuousClock.now - start)
            throw error
        }
    }
}
