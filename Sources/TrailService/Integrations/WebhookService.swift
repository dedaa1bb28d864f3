import Crypto
import Foundation
import TrailCore
import TrailStore

/// How the outbox is delivered: bounded attempts with jittered exponential backoff.
public struct OutboxSettings: Sendable {
    /// Attempts per message before it is marked failed.
    public var maxAttempts: Int64
    /// The wait after the first failed attempt; doubled after each one, up to `maxDelayMillis`.
    public var baseDelayMillis: Int64
    public var maxDelayMillis: Int64
    /// How long a claimed message is kept from other workers (longer than one attempt can take).
    public var leaseMillis: Int64
    /// Per request: connecting, and the whole exchange.
    public var connectTimeoutMillis: Int64
    public var requestTimeoutMillis: Int64
    /// Messages claimed per round, sent concurrently.
    public var batchSize: Int

    /// 16 attempts, from 1 s doubling to 30 min (each wait jittered down by up to half):
    /// a receiver down for about 1.5 to 3 hours loses nothing.
    public init(
        maxAttempts: Int64 = 16, baseDelayMillis: Int64 = 1000, maxDelayMillis: Int64 = 1_800_000, leaseMillis: Int64 = 60_000,
        connectTimeoutMillis: Int64 = 5000, requestTimeoutMillis: Int64 = 10_000, batchSize: Int = 16
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelayMillis = baseDelayMillis
        self.maxDelayMillis = maxDelayMillis
        self.leaseMillis = leaseMillis
        self.connectTimeoutMillis = connectTimeoutMillis
        self.requestTimeoutMillis = requestTimeoutMillis
        self.batchSize = batchSize
    }

    /// The wait before attempt `failed + 1`, given `failed` failed attempts (`unit` in [0, 1)
    /// jitters it between half and all of the exponential delay).
    public func delayMillis(afterFailures failed: Int64, unit: Double) -> Int64 {
        let exponent = min(max(failed - 1, 0), 40)
        let (raw, overflow) = baseDelayMillis.multipliedReportingOverflow(by: Int64(1) << exponent)
        let capped = overflow ? maxDelayMillis : min(raw, maxDelayMillis)
        return max(1, Int64(Double(capped) * (0.5 + 0.5 * min(max(unit, 0), 1))))
    }
}

/// Resolves a host name to its addresses (4 or 16 bytes each).
public protocol HostResolver: Sendable {
    func resolve(_ host: String) async throws -> [[UInt8]]
}

/// One signed request, as the transport sends it.
public struct WebhookRequest: Sendable {
    /// Where to connect: the checked address for http (so a second lookup cannot rebind it),
    /// the URL itself for https (TLS checks the name).
    public var url: String
    /// The `Host` header (set when `url` names the address instead of the host).
    public var hostHeader: String?
    public var headers: [(String, String)]
    public var body: [UInt8]
}

/// Sends a request without following redirects; answers the status code.
public protocol WebhookTransport: Sendable {
    func send(_ request: WebhookRequest, connectTimeoutMillis: Int64, timeoutMillis: Int64) async throws -> Int
}

/// Webhooks (issue #19): admins register endpoints for registry events; the store writes one
/// outbox message per subscribed endpoint in the transaction of the event that causes it;
/// `deliverDue` (run by `trail server`'s worker) sends them signed as MLflow 3 signs its
/// webhooks, retrying with backoff. Targets are checked against the address policy when
/// registered and again, re-resolved, before every attempt.
public struct WebhookService: Sendable {
    public let store: any MetadataStore & OutboxStore
    public let clock: any TrailClock
    public let resolver: any HostResolver
    public let transport: any WebhookTransport
    public let settings: OutboxSettings

    public init(
        store: any MetadataStore & OutboxStore, clock: any TrailClock, resolver: any HostResolver = SystemHostResolver(),
        transport: any WebhookTransport = HTTPWebhookTransport.shared, settings: OutboxSettings = OutboxSettings()
    ) {
        self.store = store
        self.clock = clock
        self.resolver = resolver
        self.transport = transport
        self.settings = settings
    }

    public static let maxEndpoints = 100
    static let maxDescriptionLength = 1000
    static let maxReasonLength = 2000

    /// A registered endpoint and its secret, shown this once.
    public struct Created: Sendable, Codable {
        public var webhook: WebhookEndpoint
        public var secret: String
        public init(webhook: WebhookEndpoint, secret: String) {
            self.webhook = webhook
            self.secret = secret
        }
    }

    // MARK: - Endpoints

    public func webhooks() async throws -> [WebhookEndpoint] { try await store.webhookEndpoints() }

    public func webhook(_ id: String) async throws -> WebhookEndpoint {
        guard let found = try await store.webhookEndpoints().first(where: { $0.webhookID == id }) else {
            throw TrailError.notFound("webhook", String(id.prefix(100)), field: "webhook_id")
        }
        return found
    }

    /// Registers an endpoint for `events` (names as in `WebhookEvent`). The secret is generated
    /// unless one is supplied (16 to 256 visible ASCII characters). A URL that is not http(s) or
    /// whose host resolves to a refused address is refused naming `url`, and the refusal is
    /// recorded (`webhook.refused`). Recorded as `webhook.create`, without the secret.
    public func create(url: String, events: [String], description: String = "", secret: String? = nil, actor: Actor) async throws -> Created {
        let target = try await checkedURL(url, actor: actor)
        let chosen = try Self.checkEvents(events)
        try Limits.checkLength(description, max: Self.maxDescriptionLength, field: "description")
        let supplied = secret != nil
        let secret = try secret.map(Self.checkSecret) ?? ("whsec_" + Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).hexString)
        guard try await store.webhookEndpoints().filter(\.isActive).count < Self.maxEndpoints else {
            throw TrailError(.invalidState, "at most \(Self.maxEndpoints) webhooks can be active; remove one first", field: "url")
        }
        let now = clock.nowMillis()
        var endpoint = WebhookEndpoint(
            webhookID: "wh-" + Array(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }.prefix(8)).hexString, url: target.text,
            events: chosen, description: description, createdBy: actor.id, creationTimeMillis: now)
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.createWebhook(endpoint, secret: secret)],
                event: EventDraft(
                    action: "webhook.create", actor: actor, timeMillis: now, subject: Subject(type: "webhook", id: endpoint.webhookID),
                    facts: [
                        "url": .string(target.text), "events": .array(chosen.map { .string($0.rawValue) }), "description": .string(description),
                        "secret_supplied": .bool(supplied),
                    ])))
        endpoint.eventIndex = receipt.eventIndex ?? 0
        return Created(webhook: endpoint, secret: secret)
    }

    /// Removes an endpoint: nothing more is sent to it, its secret is destroyed and its pending
    /// messages are cancelled. Recorded as `webhook.remove`.
    public func remove(_ id: String, actor: Actor) async throws -> WebhookEndpoint {
        let endpoint = try await webhook(id)
        guard endpoint.isActive else { throw TrailError(.invalidState, "webhook '\(id)' was already removed", field: "webhook_id") }
        let now = clock.nowMillis()
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.removeWebhook(id: id, timeMillis: now)],
                event: EventDraft(
                    action: "webhook.remove", actor: actor, timeMillis: now, subject: Subject(type: "webhook", id: id),
                    facts: ["url": .string(endpoint.url)])))
        var removed = endpoint
        removed.removedTimeMillis = now
        removed.eventIndex = receipt.eventIndex ?? endpoint.eventIndex
        return removed
    }

    static func checkEvents(_ names: [String]) throws -> [WebhookEvent] {
        guard !names.isEmpty else {
            throw TrailError.invalid("events", "name the events to send: \(WebhookEvent.subscribable.map(\.rawValue).joined(separator: ", "))")
        }
        guard names.count <= 50 else { throw TrailError.invalid("events", "at most 50 event names") }
        var out: [WebhookEvent] = []
        for name in names {
            guard let event = WebhookEvent(rawValue: name), event != .ping else {
                throw TrailError.invalid(
                    "events", "unknown event '\(name.prefix(60))'; one of \(WebhookEvent.subscribable.map(\.rawValue).joined(separator: ", "))")
            }
            if !out.contains(event) { out.append(event) }
        }
        return out
    }

    static func checkSecret(_ secret: String) throws -> String {
        guard (16...256).contains(secret.utf8.count), secret.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw TrailError.invalid("secret", "a supplied secret is 16 to 256 visible ASCII characters (or leave it out and one is generated)")
        }
        return secret
    }

    // MARK: - Allowed networks

    public func allowances() async throws -> [WebhookAllowance] { try await store.webhookAllowances() }

    /// Lets webhooks reach `cidr` although it is private, loopback or link-local. Recorded as
    /// `webhook.allow` with the reason.
    public func allow(_ cidr: String, reason: String, actor: Actor) async throws -> WebhookAllowance {
        try await setAllowance(cidr, reason: reason, removed: false, actor: actor)
    }

    /// Withdraws an allowance. Recorded as `webhook.disallow`.
    public func disallow(_ cidr: String, reason: String, actor: Actor) async throws -> WebhookAllowance {
        try await setAllowance(cidr, reason: reason, removed: true, actor: actor)
    }

    func setAllowance(_ cidr: String, reason: String, removed: Bool, actor: Actor) async throws -> WebhookAllowance {
        let range = try NetworkRange(parsing: cidr)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw TrailError.invalid("reason", "say why this network may be reached") }
        try Limits.checkLength(reason, max: Self.maxReasonLength, field: "reason")
        let now = clock.nowMillis()
        var allowance = WebhookAllowance(
            cidr: range.description, reason: reason, actor: actor.id, timeMillis: now, removedTimeMillis: removed ? now : nil)
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.setWebhookAllowance(allowance)],
                event: EventDraft(
                    action: removed ? "webhook.disallow" : "webhook.allow", actor: actor, timeMillis: now,
                    subject: Subject(type: "network", id: range.description), facts: ["cidr": .string(range.description), "reason": .string(reason)])))
        guard let index = receipt.eventIndex else {
            // Nothing changed: say how it stands.
            return try await store.webhookAllowances().first { $0.cidr == range.description } ?? allowance
        }
        allowance.eventIndex = index
        return allowance
    }

    // MARK: - The address policy

    /// The addresses `url` may be reached at, or why not: http(s) only, every address the host
    /// resolves to outside the refused ranges unless an allowance covers it.
    public func resolveTarget(_ url: WebhookURL) async throws -> [[UInt8]] {
        let addresses: [[UInt8]]
        if let literal = IPAddressBytes.parse(url.host) {
            addresses = [literal]
        } else {
            do {
                addresses = try await resolver.resolve(url.host)
            } catch {
                throw TrailError.invalid("url", "the host '\(url.host.prefix(200))' does not resolve")
            }
            guard !addresses.isEmpty else { throw TrailError.invalid("url", "the host '\(url.host.prefix(200))' does not resolve") }
        }
        let allowed = try await store.webhookAllowances().filter(\.isActive).compactMap { try? NetworkRange(parsing: $0.cidr) }
        for address in addresses {
            if let reason = WebhookAddressPolicy.refusal(for: address, allowed: allowed) {
                throw TrailError.invalid(
                    "url",
                    "'\(url.host.prefix(200))' resolves to \(IPAddressBytes.format(address)), \(reason); webhooks may not reach it unless an admin allows its network ('trail webhooks allow CIDR --reason …')"
                )
            }
        }
        return addresses
    }

    /// Parses and checks a URL at registration; a refusal is recorded as `webhook.refused`.
    func checkedURL(_ text: String, actor: Actor) async throws -> WebhookURL {
        do {
            let url = try WebhookURL(parsing: text)
            _ = try await resolveTarget(url)
            return url
        } catch let error as TrailError where error.field == "url" {
            let bytes = Array(text.utf8)
            var shown = String(decoding: bytes.prefix(200), as: UTF8.self)
            if shown.unicodeScalars.last == "\u{FFFD}" { shown = String(shown.dropLast()) }
            _ = try? await store.record(
                EventDraft(
                    action: "webhook.refused", actor: actor, timeMillis: clock.nowMillis(), subject: Subject(type: "webhook", id: "refused"),
                    facts: [
                        "url": .string(shown), "url_bytes": .int(Int64(bytes.count)), "url_sha256": .string(Digest.of(bytes).description),
                        "reason": .string(String(error.message.prefix(400))),
                    ]))
            throw TrailError.recorded(error.code, error.message, field: "url")
        }
    }

    // MARK: - Delivery

    /// Messages to one endpoint, newest first, with every attempt.
    public func deliveries(_ id: String, limit: Int = 100) async throws -> [WebhookDelivery] {
        _ = try await webhook(id)
        guard (1...1000).contains(limit) else { throw TrailError.invalid("limit", "limit must be 1 to 1000") }
        return try await store.webhookDeliveries(webhookID: id, limit: limit)
    }

    /// Sends a `webhook.ping` to an endpoint now (one attempt, visible in its deliveries).
    public func test(_ id: String, actor: Actor) async throws -> WebhookDelivery {
        let endpoint = try await webhook(id)
        guard endpoint.isActive else { throw TrailError(.invalidState, "webhook '\(id)' was removed", field: "webhook_id") }
        let ping = try await store.enqueueWebhookPing(webhookID: id, timeMillis: clock.nowMillis())
        await attempt(ping, endpoints: [id: endpoint])
        return try await store.webhookDeliveries(webhookID: id, limit: 50).first { $0.deliveryID == ping.deliveryID } ?? ping
    }

    /// One round of the worker: claims due messages and attempts each. Returns how many were attempted.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let due = try await store.claimDueDeliveries(nowMillis: clock.nowMillis(), leaseMillis: settings.leaseMillis, limit: settings.batchSize)
        guard !due.isEmpty else { return 0 }
        let endpoints = Dictionary(try await store.webhookEndpoints().map { ($0.webhookID, $0) }, uniquingKeysWith: { a, _ in a })
        await withTaskGroup(of: Void.self) { group in
            for delivery in due { group.addTask { await self.attempt(delivery, endpoints: endpoints) } }
        }
        return due.count
    }

    /// Attempts one message and records the outcome: delivered on a 2xx, else pending with the
    /// next attempt backed off, or failed after the last attempt (a ping is tried once).
    func attempt(_ delivery: WebhookDelivery, endpoints: [String: WebhookEndpoint]) async {
        let number = delivery.attempts + 1
        let started = clock.nowMillis()
        var statusCode: Int64?
        var failure: String?
        do {
            guard let endpoint = endpoints[delivery.webhookID], endpoint.isActive, let secret = try await store.webhookSecret(id: endpoint.webhookID)
            else { throw TrailError(.invalidState, "the webhook was removed") }
            let url = try WebhookURL(parsing: endpoint.url)
            // Resolved again now: what the name pointed to at registration proves nothing.
            let addresses = try await resolveTarget(url)
            let payload = try await payload(for: delivery)
            let timestamp = clock.nowMillis() / 1000
            var request = WebhookRequest(
                url: url.text, hostHeader: nil,
                headers: [
                    ("Content-Type", "application/json"), (WebhookSignature.deliveryIDHeader, delivery.deliveryID),
                    (WebhookSignature.timestampHeader, String(timestamp)),
                    (
                        WebhookSignature.signatureHeader,
                        WebhookSignature.sign(secret: secret, deliveryID: delivery.deliveryID, timestamp: timestamp, payload: payload)
                    ),
                    ("User-Agent", "ModelTrail-Webhooks/\(TrailVersion.current)"),
                ], body: payload)
            if url.scheme == "http", IPAddressBytes.parse(url.host) == nil, let first = addresses.first {
                request.url = Self.pinned(url, to: first)
                request.hostHeader = url.port == 80 ? url.host : "\(url.host):\(url.port)"
            }
            let code = try await transport.send(request, connectTimeoutMillis: settings.connectTimeoutMillis, timeoutMillis: settings.requestTimeoutMillis)
            statusCode = Int64(code)
            if !(200..<300).contains(code) {
                failure = (300..<400).contains(code) ? "HTTP \(code): redirects are not followed" : "HTTP \(code)"
            }
        } catch let error as TrailError {
            failure = String(error.message.prefix(500))
        } catch {
            failure = String("\(error)".prefix(300))
        }
        let now = clock.nowMillis()
        let status: WebhookDelivery.Status
        var next = Int64.max
        if failure == nil {
            status = .delivered
        } else if delivery.event == .ping || number >= settings.maxAttempts {
            status = .failed
        } else {
            status = .pending
            next = now + settings.delayMillis(afterFailures: number, unit: Double.random(in: 0..<1))
        }
        let record = WebhookDelivery.Attempt(attempt: number, timeMillis: now, statusCode: statusCode, error: failure, durationMillis: max(0, now - started))
        try? await store.finishDeliveryAttempt(deliveryID: delivery.deliveryID, attempt: record, status: status, nextAttemptMillis: next)
    }

    /// `url` with its host replaced by `address` (http only; the Host header keeps the name).
    static func pinned(_ url: WebhookURL, to address: [UInt8]) -> String {
        let literal = address.count == 16 ? "[\(IPAddressBytes.format(address))]" : IPAddressBytes.format(address)
        let afterScheme = url.text.dropFirst(url.scheme.count + 3)
        let rest = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }).map { String(afterScheme[$0...]) } ?? "/"
        return "http://\(literal):\(url.port)\(rest)"
    }

    // MARK: - Payloads

    /// MLflow's webhook body: `{entity, action, timestamp, data}`, `data` in MLflow's shape
    /// where MLflow has the event, plus `modeltrail` with the ledger event that caused it.
    public func payload(for delivery: WebhookDelivery) async throws -> [UInt8] {
        var data: [String: JSONValue] = [:]
        var trail: [String: JSONValue] = ["delivery_id": .string(delivery.deliveryID)]
        var time = delivery.creationTimeMillis
        if let index = delivery.eventIndex, let stored = try await store.events(from: index, to: index + 1).first {
            let body = try JSONValue.parse(stored.body)
            let facts = body["facts"] ?? .object([:])
            time = stored.timeMillis
            trail["event_index"] = .int(index)
            trail["event_id"] = .string(stored.eventID)
            trail["ledger_action"] = .string(stored.action)
            trail["actor"] = .string(stored.actor.id)
            let name = delivery.modelName ?? stored.subject.id
            data["name"] = .string(name)
            let version = delivery.modelVersion.map { String($0) }
            switch delivery.event {
            case .registeredModelCreated:
                data["tags"] = Self.tagObject(facts["tags"])
                data["description"] = facts["description"] ?? .null
            case .modelVersionCreated:
                data["version"] = version.map(JSONValue.string) ?? .null
                data["source"] = facts["source"] ?? .null
                data["tags"] = Self.tagObject(facts["tags"])
                if let version = delivery.modelVersion, let found = try await store.modelVersion(name: name, version: version) {
                    data["run_id"] = found.runID.map { .string($0.value) } ?? .null
                    data["description"] = .string(found.description)
                    data["root_digest"] = .string(found.manifest.root.description)
                }
            case .modelVersionAliasCreated:
                data["alias"] = facts["alias"] ?? .null
                data["version"] = (facts["to"]?.intValue ?? facts["version"]?.intValue).map { .string(String($0)) } ?? .null
            case .modelVersionAliasDeleted:
                data["alias"] = facts["alias"] ?? .null
            default:
                // ModelTrail's own events: the event's facts, the version as MLflow spells it.
                if case .object(let all) = facts { for (key, value) in all where data[key] == nil { data[key] = value } }
                if let version { data["version"] = .string(version) }
            }
        } else {
            data = ["webhook_id": .string(delivery.webhookID), "message": .string("ping from ModelTrail")]
        }
        let body: JSONValue = [
            "entity": .string(delivery.event.entity), "action": .string(delivery.event.action),
            "timestamp": .string(Self.iso8601(time)), "data": .object(data), "modeltrail": .object(trail),
        ]
        return body.canonicalBytes
    }

    static func tagObject(_ value: JSONValue?) -> JSONValue {
        guard case .array(let items)? = value else { return .object([:]) }
        var out: [String: JSONValue] = [:]
        for item in items { if let key = item["key"]?.stringValue { out[key] = item["value"] ?? .null } }
        return .object(out)
    }

    static func iso8601(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
