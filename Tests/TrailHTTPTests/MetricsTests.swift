import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailCore
import TrailHTTP
import TrailService

/// A strict reader of the Prometheus text exposition format (0.0.4): every line is a HELP, a
/// TYPE or a sample of a declared family; names and label names match the grammar, label
/// values are escaped, values are floats; histogram buckets are cumulative and end at +Inf,
/// which equals `_count`.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }
    var types: [String: String] = [:]
    var samples: [Sample] = []

    enum Failure: Error, CustomStringConvertible {
        case line(Int, String)
        var description: String { if case .line(let n, let why) = self { "line \(n): \(why)" } else { "" } }
    }

    static func isName(_ text: Substring, colons: Bool = true) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter || first == "_" || (colons && first == ":") else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || (colons && $0 == ":")) }
    }

    static func value(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Failure.line(0, "the exposition must end with a newline") }
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, Self.isName(parts[2]) else { throw Failure.line(n, "bad metric name in \(line)") }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw Failure.line(n, "bad TYPE \(line)")
                    }
                    guard types[String(parts[2])] == nil else { throw Failure.line(n, "TYPE declared twice for \(parts[2])") }
                    types[String(parts[2])] = String(parts[3])
                }
                continue
            }
            guard !line.hasPrefix("#") else { continue }
            guard !line.isEmpty else { throw Failure.line(n, "empty line") }
            // name{labels} value
            var rest = line[...]
            let nameEnd = rest.firstIndex(where: { $0 == "{" || $0 == " " }) ?? rest.endIndex
            let name = rest[..<nameEnd]
            guard Self.isName(name) else { throw Failure.line(n, "bad sample name \(name)") }
            rest = rest[nameEnd...]
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    guard let eq = rest.firstIndex(of: "=") else { throw Failure.line(n, "label without =") }
                    let labelName = rest[..<eq]
                    guard Self.isName(labelName, colons: false) else { throw Failure.line(n, "bad label name \(labelName)") }
                    rest = rest[rest.index(after: eq)...]
                    guard rest.first == "\"" else { throw Failure.line(n, "label value not quoted") }
                    rest = rest.dropFirst()
                    var value = ""
                    while true {
                        guard let c = rest.first else { throw Failure.line(n, "unterminated label value") }
                        rest = rest.dropFirst()
                        if c == "\"" { break }
                        if c == "\\" {
                            guard let e = rest.first else { throw Failure.line(n, "dangling escape") }
                            rest = rest.dropFirst()
                            switch e {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw Failure.line(n, "bad escape \\\(e)")
                            }
                        } else {
                            value.append(c)
                        }
                    }
                    guard labels[String(labelName)] == nil else { throw Failure.line(n, "label \(labelName) twice") }
                    labels[String(labelName)] = value
                    if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { throw Failure.line(n, "expected , or }") }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " " else { throw Failure.line(n, "no space before the value") }
            let fields = rest.dropFirst().split(separator: " ")
            guard (1...2).contains(fields.count), let value = Self.value(fields[0]) else { throw Failure.line(n, "bad value in \(line)") }
            if fields.count == 2, Int64(fields[1]) == nil { throw Failure.line(n, "bad timestamp") }
            let base = ["_bucket", "_sum", "_count"].compactMap { suffix in name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : nil }
                .first { types[$0] == "histogram" } ?? String(name)
            guard types[base] != nil else { throw Failure.line(n, "sample \(name) before its TYPE") }
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
        // Histograms: cumulative buckets ending at +Inf = _count, per label set.
        for (family, type) in types where type == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            for sample in samples where sample.name == family + "_bucket" {
                var key = sample.labels
                guard let le = key.removeValue(forKey: "le"), let bound = Self.value(le[...]) else { throw Failure.line(0, "\(family) bucket without le") }
                series[key, default: []].append((bound, sample.value))
            }
            for (key, buckets) in series {
                guard buckets.last?.0 == .infinity else { throw Failure.line(0, "\(family) \(key) does not end at +Inf") }
                for i in buckets.indices.dropFirst() where buckets[i].0 <= buckets[i - 1].0 || buckets[i].1 < buckets[i - 1].1 {
                    throw Failure.line(0, "\(family) \(key) buckets not cumulative")
                }
                let count = samples.first { $0.name == family + "_count" && $0.labels == key }?.value
                guard count == buckets.last?.1 else { throw Failure.line(0, "\(family) \(key): _count \(String(describing: count)) ≠ +Inf bucket") }
            }
        }
    }
}

@Suite("Prometheus metrics")
struct MetricsTests {
    @Test func strictParserRefusesMalformedText() {
        for bad in ["x 1", "# TYPE x counter\nx{a=b} 1\n", "# TYPE x counter\nx 1 2 3\n", "# TYPE x counter\n1x 1\n", "y 1\n", "# TYPE x counter\nx{a=\"1\",a=\"2\"} 1\n"] {
            #expect(throws: (any Error).self, "\(bad)") { try PrometheusText(bad) }
        }
        #expect(throws: (any Error).self) {
            try PrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0.5\n")
        }
        #expect((try? PrometheusText("# TYPE x counter\nx{a=\"q\\\"\"} 1\n"))?.samples.first?.labels["a"] == "q\"")
    }

    @Test func metricsAreForAdminsAndParseAsPrometheusText() async throws {
        let home = try await WebhookTests.homeWithVersion()
        let (adminToken, otherToken) = try await WebhookTests.tokens(home)
        _ = try await home.webhooks(settings: OutboxSettings(), resolver: ScriptedResolver([[93, 184, 216, 34]])).create(url: "https://example.com/hook", events: ["model_version_alias.created"], actor: WebhookTests.admin)
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, actor: WebhookTests.alice)
        _ = try await home.ledger.checkpointIfBehind()
        let app = WebhookTests.app(home, home.webhooks)
        let text = try await app.test(.router) { client -> String in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: WebhookTests.bearer(otherToken)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/runs/0123456789abcdef0123456789abcdef", method: .get, headers: WebhookTests.bearer(otherToken)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            return try await client.execute(uri: "/metrics", method: .get, headers: WebhookTests.bearer(adminToken)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
        }
        let parsed = try PrometheusText(text)
        #expect(parsed.types["trail_http_requests_total"] == "counter")
        #expect(parsed.types["trail_http_request_duration_seconds"] == "histogram")
        let requests = parsed.samples.filter { $0.name == "trail_http_requests_total" }
        #expect(requests.contains { $0.labels["route"]?.contains("run_id") == true && $0.labels["status"] == "404" && $0.value == 1 }, "\(requests)")
        #expect(requests.contains { $0.labels["route"] == "/metrics" && $0.labels["status"] == "403" })
        #expect(requests.contains { $0.labels["route"] == "/metrics" && $0.labels["status"] == "401" })
        #expect(requests.contains { $0.labels["route"] == "/health" && $0.labels["status"] == "200" && $0.labels["method"] == "GET" })
        #expect(!requests.contains { $0.labels["route"]?.contains("0123456789abcdef") == true }, "routes are patterns, never raw paths")
        func gauge(_ name: String) -> Double? { parsed.samples.first { $0.name == name }?.value }
        #expect(gauge("trail_ledger_events_count") == Double(try await home.store.eventCount()))
        #expect(gauge("trail_outbox_backlog_count") == 1)
        #expect(gauge("trail_webhooks_active_count") == 1)
        #expect((gauge("trail_ledger_checkpoint_age_seconds") ?? -1) >= 0)
    }
}
