import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailCore
import TrailHTTP
import TrailService

/// Prometheus `/metrics`: admins only on the main port, the text format Prometheus parses,
/// requests by route pattern and status, and the record's gauges.
@Suite("Prometheus metrics")
struct MetricsTests {
    /// A strict reader of the text format 0.0.4: every line a comment (`# HELP name text`,
    /// `# TYPE name counter|gauge|histogram|summary|untyped`) or `name{label="value",…} number`;
    /// each sample's family declared by a TYPE line first. Returns samples by name.
    static func parse(_ text: String) throws -> [String: [(labels: [String: String], value: Double)]] {
        struct Bad: Error, CustomStringConvertible { let description: String }
        var types: [String: String] = [:]
        var samples: [String: [(labels: [String: String], value: Double)]] = [:]
        let name = #/^[a-zA-Z_:][a-zA-Z0-9_:]*/#
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw Bad(description: "bad TYPE: \(line)") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            guard let match = line.prefixMatch(of: name) else { throw Bad(description: "bad sample: \(line)") }
            let metric = String(match.output)
            var rest = line[match.range.upperBound...]
            var labels: [String: String] = [:]
            if rest.hasPrefix("{") {
                // name="value" pairs, values quoted with \\, \" and \n escapes, separated by commas.
                var chars = Array(rest.dropFirst())
                while true {
                    if chars.first == "}" { chars.removeFirst(); break }
                    guard let equals = chars.firstIndex(of: "="), equals > 0, chars.count > equals + 1, chars[equals + 1] == "\"" else {
                        throw Bad(description: "bad label: \(line)")
                    }
                    let key = String(chars[..<equals])
                    var value = ""
                    var i = equals + 2
                    var closed = false
                    while i < chars.count {
                        if chars[i] == "\\", i + 1 < chars.count {
                            value.append(chars[i + 1] == "n" ? "\n" : chars[i + 1])
                            i += 2
                        } else if chars[i] == "\"" {
                            closed = true
                            i += 1
                            break
                        } else {
                            value.append(chars[i])
                            i += 1
                        }
                    }
                    guard closed else { throw Bad(description: "unclosed label value: \(line)") }
                    labels[key] = value
                    chars.removeFirst(i)
                    if chars.first == "," { chars.removeFirst() }
                }
                rest = Substring(String(chars))
            }
            guard rest.hasPrefix(" "), let value = Double(rest.dropFirst().split(separator: " ").first ?? "") else { throw Bad(description: "bad value: \(line)") }
            let family = [metric, metric.replacingOccurrences(of: "_bucket", with: ""), metric.replacingOccurrences(of: "_sum", with: ""),
                metric.replacingOccurrences(of: "_count", with: "")].first { types[$0] != nil }
            guard family != nil else { throw Bad(description: "sample before its TYPE: \(line)") }
            samples[metric, default: []].append((labels, value))
        }
        return samples
    }

    @Test func adminsScrapeTheTextFormatWithRequestsAndTheRecordsGauges() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let root = Actor.user("root")
        _ = try await home.identity.createUser(name: "ada", roles: [.admin], actor: root)
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: root)
        let admin = try await home.identity.createToken(user: "ada", actor: root).secret
        let viewer = try await home.identity.createToken(user: "vic", actor: root).secret
        _ = try await home.tracking.createRun(experimentID: nil, actor: root)
        _ = try await home.ledger.checkpointIfBehind()
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(viewer)"]) { #expect($0.status == .forbidden) }
            for _ in 0..<3 {
                try await client.execute(uri: "/api/v1/experiments/0", method: .get, headers: [.authorization: "Bearer \(viewer)"]) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/api/v1/experiments/999", method: .get, headers: [.authorization: "Bearer \(viewer)"]) {
                #expect($0.status == .notFound)
            }
            let response = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(admin)"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = try Self.parse(String(buffer: response.body))
            let requests = samples["trail_http_requests_total"] ?? []
            #expect(requests.contains { $0.labels["route"] == "/api/v1/experiments/{experiment_id}" && $0.labels["status"] == "200" && $0.value == 3 }, "\(requests)")
            #expect(requests.contains { $0.labels["status"] == "404" && $0.value == 1 })
            #expect(requests.contains { $0.labels["status"] == "401" })
            #expect(samples["trail_http_request_duration_seconds_count"]?.isEmpty == false)
            #expect((samples["trail_ledger_events"]?.first?.value ?? 0) >= 3)
            #expect(samples["trail_ledger_checkpoint_age_seconds"]?.first.map { $0.value >= 0 } == true)
            #expect(samples["trail_outbox_backlog"]?.first?.value == 0)
        }
        // The parser is strict: it refuses what Prometheus would.
        for bad in ["metric 1", "# TYPE m counter\nm{a=b} 1", "# TYPE m counter\nm NaNx", "# TYPE m wrong\nm 1"] {
            #expect(throws: (any Error).self, "\(bad)") { _ = try Self.parse(bad) }
        }
    }
}
