import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TrailCore
import TrailHTTP
import TrailService
import TrailStore

/// What a test receiver got: one entry per request.
actor Inbox {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }
    private(set) var received: [Received] = []
    func add(_ item: Received) { received.append(item) }
    func on(_ path: String) -> [Received] { received.filter { $0.path == path } }
}

/// A tiny webhook receiver on loopback: `/hook` answers 200, `/redirect` answers 302 to `/hook`,
/// `/fail` answers 500. Stops when its task is cancelled.
struct Receiver {
    let port: Int
    let task: Task<Void, any Error>

    static func start(port: Int = 0, inbox: Inbox) async throws -> Receiver {
        let router = Router()
        for path in ["hook", "redirect", "fail"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
                headers["host"] = request.head.authority
                await inbox.add(.init(path: "/" + path, headers: headers, body: Array(body.readableBytesView)))
                switch path {
                case "redirect": return Response(status: .found, headers: [.location: "/hook"])
                case "fail": return Response(status: .internalServerError)
                default: return Response(status: .ok)
                }
            }
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: Logger(label: "receiver"))
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else { throw TrailError.internalError("the receiver did not start") }
        return Receiver(port: bound, task: task)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Resolves every name to what a test says, now (DNS rebinding).
final class ScriptedResolver: HostResolver, @unchecked Sendable {
    private let lock = NSLock()
    private var answer: [[UInt8]]
    init(_ answer: [[UInt8]]) { self.answer = answer }
    func set(_ answer: [[UInt8]]) { lock.withLock { self.answer = answer } }
    func resolve(_ host: String) async throws -> [[UInt8]] { lock.withLock { answer } }
}

/// Issue #19, webhooks: the outbox written with the facts, signed deliveries (MLflow 3's
/// headers and signature), retries with backoff, the address policy at registration and at
/// delivery, admin-only routes and hostile bodies.
@Suite("Webhooks: outbox, signed deliveries, retries, SSRF")
struct WebhookTests {
    static let admin = Actor.user("root")
    static let alice = Actor.user("alice")
    static let fast = OutboxSettings(maxAttempts: 30, baseDelayMillis: 40, maxDelayMillis: 200, leaseMillis: 5000, requestTimeoutMillis: 1500)

    static func home() async throws -> TrailHome {
        try await TrailHome.open(
            FileManager.default.temporaryDirectory.appendingPathComponent("trail-wh-\(UUID().uuidString)"), store: try await StoreSettings.testing())
    }

    /// A home with a registered model `bc` (version 1 from a run's `model/` files).
    static func homeWithVersion() async throws -> TrailHome {
        let home = try await home()
        let run = try await home.tracking.createRun(experimentID: nil, actor: alice).info.runID
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/weights.json"), bytes: Array("[1,2,3]".utf8), actor: alice)
        _ = try await home.registry.createModel(name: "bc", actor: alice)
        _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: alice)
        return home
    }

    static func app(_ home: TrailHome, _ hooks: WebhookService) -> some ApplicationProtocol {
        let router = TrailApplication.router(
            home: home, config: TrailServerConfig(port: 0, localActor: .user("nobody")), logger: Logger(label: "test"), table: RouteTable(),
            webhooks: hooks)
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)", .contentType: "application/json"] }

    static func tokens(_ home: TrailHome) async throws -> (admin: String, viewer: String) {
        _ = try await home.identity.createUser(name: "ada", roles: [.admin], actor: admin)
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer, .contributor, .approver], actor: admin)
        return (
            try await home.identity.createToken(user: "ada", actor: admin).secret, try await home.identity.createToken(user: "vic", actor: admin).secret
        )
    }

    static func json(_ buffer: ByteBuffer) throws -> JSONValue { try JSONValue.parse(Array(buffer.readableBytesView)) }

    /// Runs worker rounds until `done` or the deadline.
    static func deliver(_ hooks: WebhookService, seconds: Double = 60, until done: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            try await hooks.deliverDue()
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("not delivered within \(seconds) s")
    }

    /// HMAC-SHA256 over "{id}.{timestamp}.{body}", base64, "v1," — computed here, not by the code under test.
    static func expectedSignature(secret: String, id: String, timestamp: String, body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return "v1," + Data(mac).base64EncodedString()
    }

    @Test func signatureMatchesMLflowsAlgorithm() {
        // Python: base64(hmac.new(b"whsec_test_secret_123", b'd-1.1700000000.{"a":1}', sha256).digest())
        let signature = WebhookSignature.sign(secret: "whsec_test_secret_123", deliveryID: "d-1", timestamp: 1_700_000_000, payload: Array(#"{"a":1}"#.utf8))
        #expect(signature == "v1,F3QXyP/hvRdfL6lbAi5Sw0BexQOz62wJUe+9C2Zq/sw=")
        #expect(WebhookSignature.verify(signature: signature, secret: "whsec_test_secret_123", deliveryID: "d-1", timestamp: 1_700_000_000, payload: Array(#"{"a":1}"#.utf8)))
        #expect(!WebhookSignature.verify(signature: signature, secret: "whsec_test_secret_123", deliveryID: "d-1", timestamp: 1_700_000_001, payload: Array(#"{"a":1}"#.utf8)))
    }

    @Test func addressPolicyRefusesInternalRangesUnlessAllowed() throws {
        func refused(_ text: String, allowed: [String] = []) throws -> Bool {
            let address = try #require(IPAddressBytes.parse(text), "\(text) parses")
            return WebhookAddressPolicy.refusal(for: address, allowed: try allowed.map { try NetworkRange(parsing: $0) }) != nil
        }
        for text in [
            "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200",
            "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
            "64:ff9b::a00:1", "2002:7f00:1::", "ff02::1",
        ] {
            #expect(try refused(text), "\(text) must be refused")
        }
        for external in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(try !refused(external), "\(external) is public")
        }
        #expect(try !refused("127.0.0.1", allowed: ["127.0.0.1/32"]))
        #expect(try refused("127.0.0.2", allowed: ["127.0.0.1/32"]))
        #expect(try !refused("::ffff:10.1.2.3", allowed: ["10.0.0.0/8"]))
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "10.0.0/8", "10.0.0.0", "::1/129", "x/8", "010.0.0.0/8", "10.0.0.0/-1", "10.0.0.0/ 8"] {
            #expect(throws: TrailError.self, "\(bad)") { try NetworkRange(parsing: bad) }
        }
        #expect(try NetworkRange(parsing: "fd00::/8").description == "fd00:0:0:0:0:0:0:0/8")
    }

    @Test func signedDeliveriesOfAPromotionReachALoopbackReceiver() async throws {
        let home = try await Self.homeWithVersion()
        let hooks = home.webhooks(settings: Self.fast)
        let inbox = Inbox()
        let receiver = try await Receiver.start(inbox: inbox)
        defer { receiver.task.cancel() }
        let (adminToken, otherToken) = try await Self.tokens(home)
        let url = "http://127.0.0.1:\(receiver.port)/hook"
        let create = ByteBuffer(string: #"{"url": "\#(url)", "events": ["model_version_alias.created", "model_version.created"], "description": "ci"}"#)
        let (webhookID, secret) = try await Self.app(home, hooks).test(.router) { client -> (String, String) in
            // Admins only.
            try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: Self.bearer(otherToken), body: create) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/webhooks", method: .get, headers: Self.bearer(otherToken)) { #expect($0.status == .forbidden) }
            // Loopback is refused until an admin allows it.
            try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: Self.bearer(adminToken), body: create) { response in
                #expect(response.status == .badRequest)
                let json = try Self.json(response.body)
                #expect(json["error"]?["field"]?.stringValue == "url")
            }
            try await client.execute(
                uri: "/api/v1/webhooks/allowances", method: .post, headers: Self.bearer(otherToken),
                body: ByteBuffer(string: #"{"cidr": "127.0.0.1/32", "reason": "x"}"#)
            ) { #expect($0.status == .forbidden) }
            try await client.execute(
                uri: "/api/v1/webhooks/allowances", method: .post, headers: Self.bearer(adminToken),
                body: ByteBuffer(string: #"{"cidr": "127.0.0.1/32", "reason": "the test's receiver"}"#)
            ) { response in
                #expect(response.status == .ok)
                let json = try Self.json(response.body)
                #expect(json["cidr"]?.stringValue == "127.0.0.1/32")
            }
            return try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: Self.bearer(adminToken), body: create) { response in
                #expect(response.status == .created)
                let body = try Self.json(response.body)
                return (body["webhook"]?["webhook_id"]?.stringValue ?? "", body["secret"]?.stringValue ?? "")
            }
        }
        #expect(webhookID.hasPrefix("wh-") && secret.hasPrefix("whsec_") && secret.count == 70)
        // Registering is recorded, without the secret.
        let created = try await home.ledger.events(EventQuery(action: "webhook.create", limit: 10))
        #expect(created.count == 1)
        #expect(try await home.ledger.events(EventQuery(action: "webhook.allow", limit: 10)).count == 1)
        #expect(try await home.store.events(from: 0, to: 10_000).allSatisfy { !String(decoding: $0.body, as: UTF8.self).contains(secret) })

        // The promotion: its outbox message commits with its event.
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, reason: "go", actor: Self.alice)
        let aliasEvent = try #require(try await home.ledger.events(EventQuery(action: "alias.set", limit: 10)).first)
        #expect(try await home.store.outboxBacklog() == 1)
        // A refused batch writes no message.
        await #expect(throws: TrailError.self) { try await home.registry.setAlias(name: "bc", alias: "staging", version: 9, actor: Self.alice) }
        #expect(try await home.store.outboxBacklog() == 1)

        try await Self.deliver(hooks) { await inbox.on("/hook").count == 1 }
        let delivery = try #require(await inbox.on("/hook").first)
        let id = try #require(delivery.headers["x-mlflow-delivery-id"])
        let timestamp = try #require(delivery.headers["x-mlflow-timestamp"])
        #expect(abs((Int64(timestamp) ?? 0) - Int64(Date().timeIntervalSince1970)) < 60)
        #expect(delivery.headers["x-mlflow-signature"] == Self.expectedSignature(secret: secret, id: id, timestamp: timestamp, body: delivery.body))
        #expect(delivery.headers["x-mlflow-signature"] != Self.expectedSignature(secret: secret + "x", id: id, timestamp: timestamp, body: delivery.body))
        #expect(delivery.headers["content-type"] == "application/json")
        let payload = try JSONValue.parse(delivery.body)
        #expect(payload["entity"]?.stringValue == "model_version_alias")
        #expect(payload["action"]?.stringValue == "created")
        #expect(payload["data"] == ["name": "bc", "alias": "production", "version": "1"])
        #expect(payload["modeltrail"]?["event_index"]?.intValue == aliasEvent.index)
        #expect(payload["timestamp"]?.stringValue?.hasSuffix("Z") == true)

        // The delivery and its attempt are visible; the version created before the webhook existed was not sent.
        try await Self.app(home, hooks).test(.router) { client in
            try await client.execute(uri: "/api/v1/webhooks/\(webhookID)/deliveries", method: .get, headers: Self.bearer(adminToken)) { response in
                #expect(response.status == .ok)
                guard case .array(let items)? = try Self.json(response.body)["deliveries"] else {
                    Issue.record("no deliveries")
                    return
                }
                #expect(items.count == 1)
                #expect(items.first?["delivery_id"]?.stringValue == id)
                #expect(items.first?["status"]?.stringValue == "delivered")
                guard case .array(let history)? = items.first?["history"] else {
                    Issue.record("no history")
                    return
                }
                #expect(history.first?["status_code"]?.intValue == 200)
            }
            // A ping, now.
            try await client.execute(uri: "/api/v1/webhooks/\(webhookID)/test", method: .post, headers: Self.bearer(adminToken)) { response in
                #expect(response.status == .ok)
                let json = try Self.json(response.body)
                #expect(json["status"]?.stringValue == "delivered")
            }
        }
        #expect(await inbox.on("/hook").count == 2)
        let ping = try JSONValue.parse(try #require(await inbox.on("/hook").last).body)
        #expect(ping["entity"]?.stringValue == "webhook")

        // A new version is sent in MLflow's shape.
        let run = try await home.tracking.createRun(experimentID: nil, actor: Self.alice).info.runID
        try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/w.json"), bytes: [1], actor: Self.alice)
        _ = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: Self.alice)
        try await Self.deliver(hooks) { await inbox.on("/hook").count == 3 }
        let version = try JSONValue.parse(try #require(await inbox.on("/hook").last).body)
        #expect(version["entity"]?.stringValue == "model_version" && version["action"]?.stringValue == "created")
        #expect(version["data"]?["version"]?.stringValue == "2" && version["data"]?["run_id"]?.stringValue == run.value)

        // Removed: recorded, and nothing more is queued for it.
        try await Self.app(home, hooks).test(.router) { client in
            try await client.execute(uri: "/api/v1/webhooks/\(webhookID)", method: .delete, headers: Self.bearer(adminToken)) { response in
                #expect(response.status == .ok)
                let json = try Self.json(response.body)
                #expect(json["removed_time"]?.intValue != nil)
            }
        }
        #expect(try await home.ledger.events(EventQuery(action: "webhook.remove", limit: 10)).count == 1)
        try await home.registry.setAlias(name: "bc", alias: "production", version: 2, actor: Self.alice)
        #expect(try await home.store.outboxBacklog() == 0)
        #expect(try await home.store.webhookSecret(id: webhookID) == nil)
        _ = try await home.ledger.checkpointIfBehind()
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
    }

    @Test func aReceiverDownForAWhileGetsTheDeliveryAfterRetries() async throws {
        let home = try await Self.homeWithVersion()
        let hooks = home.webhooks(settings: Self.fast)
        _ = try await hooks.allow("127.0.0.1/32", reason: "test receiver", actor: Self.admin)
        let inbox = Inbox()
        // Find a free port, then leave it closed: the receiver is down.
        let probe = try await Receiver.start(inbox: inbox)
        let port = probe.port
        await probe.stop()
        let created = try await hooks.create(
            url: "http://127.0.0.1:\(port)/hook", events: ["model_version_alias.created"], actor: Self.admin)
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, actor: Self.alice)

        // Attempts fail and are retried later, each recorded.
        let deadline = Date().addingTimeInterval(120)  // an upper bound: each refused attempt lasts its 1.5 s deadline, longer on a loaded machine
        while Date() < deadline, (try await hooks.deliveries(created.webhook.webhookID).first?.attempts ?? 0) < 3 {
            try await hooks.deliverDue()
            try await Task.sleep(for: .milliseconds(20))
        }
        let pending = try #require(try await hooks.deliveries(created.webhook.webhookID).first)
        #expect(pending.status == .pending)
        #expect(pending.attempts >= 3 && pending.history.count == Int(pending.attempts))
        #expect(pending.history.allSatisfy { $0.statusCode == nil && $0.error != nil })
        #expect(pending.nextAttemptMillis > pending.history.last!.timeMillis, "backed off")
        #expect(await inbox.received.isEmpty)

        // The receiver comes back; a fresh worker (a restarted server) resumes from the store.
        let receiver = try await Receiver.start(port: port, inbox: inbox)
        defer { receiver.task.cancel() }
        let restarted = home.webhooks(settings: Self.fast)
        try await Self.deliver(restarted) { await inbox.on("/hook").count == 1 }
        let delivered = try #require(try await hooks.deliveries(created.webhook.webhookID).first)
        #expect(delivered.status == .delivered)
        #expect(delivered.attempts > pending.attempts)
        #expect(await inbox.on("/hook").first?.headers["x-mlflow-delivery-id"] == pending.deliveryID, "one delivery id across retries")
        let payload = try JSONValue.parse(try #require(await inbox.on("/hook").first).body)
        #expect(payload["data"]?["alias"]?.stringValue == "production")
        // Delivered once: further rounds send nothing.
        try await restarted.deliverDue()
        #expect(await inbox.on("/hook").count == 1)
    }

    @Test func aNameIsSentToTheAddressThatWasCheckedWithItsHostHeader() async throws {
        let home = try await Self.homeWithVersion()
        let resolver = ScriptedResolver([[127, 0, 0, 1]])
        let hooks = home.webhooks(settings: Self.fast, resolver: resolver)
        // Refused by name as by address until the network is allowed.
        await #expect(throws: TrailError.self) { _ = try await hooks.create(url: "http://receiver.test:1/hook", events: ["model_version.created"], actor: Self.admin) }
        _ = try await hooks.allow("127.0.0.1/32", reason: "test receiver", actor: Self.admin)
        let inbox = Inbox()
        let receiver = try await Receiver.start(inbox: inbox)
        defer { receiver.task.cancel() }
        _ = try await hooks.create(url: "http://receiver.test:\(receiver.port)/hook", events: ["model_version_alias.created"], actor: Self.admin)
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, actor: Self.alice)
        try await Self.deliver(hooks) { await inbox.on("/hook").count == 1 }
        #expect(await inbox.on("/hook").first?.headers["host"] == "receiver.test:\(receiver.port)")
    }

    @Test func redirectsAreNotFollowed() async throws {
        let home = try await Self.homeWithVersion()
        let hooks = home.webhooks(settings: Self.fast)
        _ = try await hooks.allow("127.0.0.1/32", reason: "test receiver", actor: Self.admin)
        let inbox = Inbox()
        let receiver = try await Receiver.start(inbox: inbox)
        defer { receiver.task.cancel() }
        let created = try await hooks.create(url: "http://127.0.0.1:\(receiver.port)/redirect", events: ["model_version_alias.created"], actor: Self.admin)
        try await home.registry.setAlias(name: "bc", alias: "production", version: 1, actor: Self.alice)
        try await Self.deliver(hooks) { await inbox.on("/redirect").count >= 1 }
        let delivery = try #require(try await hooks.deliveries(created.webhook.webhookID).first)
        #expect(delivery.status == .pending)
        #expect(delivery.lastStatusCode == 302)
        #expect(delivery.lastError?.contains("redirects are not followed") == true)
        #expect(await inbox.on("/hook").isEmpty, "the redirect's target was never requested")
    }

    @Test func internalTargetsAreRefusedAndRecorded() async throws {
        let home = try await Self.home()
        let resolver = ScriptedResolver([[93, 184, 216, 34]])
        let hooks = home.webhooks(settings: Self.fast, resolver: resolver)
        let (adminToken, _) = try await Self.tokens(home)
        let attempts = [
            "http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/", "file:///etc/passwd",
            "gopher://127.0.0.1:70/_x", "http://[::ffff:169.254.169.254]/", "http://192.168.0.10:8080/hook", "http://100.100.100.200/",
            "http://[fd00:ec2::254]/", "ftp://example.com/", "http://user:pw@example.com/", "javascript:alert(1)", "http:///nohost",
        ]
        try await Self.app(home, hooks).test(.router) { client in
            for url in attempts {
                let body = JSONValue.object(["url": .string(url), "events": ["model_version.created"]]).canonicalString
                try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: Self.bearer(adminToken), body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == .badRequest, "\(url)")
                    let json = try Self.json(response.body)
                    #expect(json["error"]?["field"]?.stringValue == "url", "\(url)")
                }
            }
        }
        #expect(try await hooks.webhooks().isEmpty)
        let refusals = try await home.ledger.events(EventQuery(action: "webhook.refused", limit: 100))
        #expect(refusals.count == attempts.count)
        let bodies = try refusals.map { try JSONValue.parse($0.body) }
        #expect(bodies.contains { $0["facts"]?["url"]?.stringValue == "http://169.254.169.254/latest/meta-data/" })
        #expect(refusals.allSatisfy { $0.actor.id == "ada" })
        #expect(try await home.ledger.events(EventQuery(action: "webhook.create", limit: 10)).isEmpty)

        // A name that resolved to a public address when registered, then to loopback (DNS
        // rebinding): checked again before the attempt, which sends nothing.
        let home2 = try await Self.homeWithVersion()
        let hooks2 = home2.webhooks(settings: Self.fast, resolver: resolver)
        let created = try await hooks2.create(url: "http://rebind.example/hook", events: ["model_version_alias.created"], actor: Self.admin)
        resolver.set([[127, 0, 0, 1]])
        try await home2.registry.setAlias(name: "bc", alias: "production", version: 1, actor: Self.alice)
        try await hooks2.deliverDue()
        let delivery = try #require(try await hooks2.deliveries(created.webhook.webhookID).first)
        #expect(delivery.status == .pending && delivery.attempts == 1)
        #expect(delivery.lastStatusCode == nil)
        #expect(delivery.lastError?.contains("127.0.0.1, a loopback address") == true)
    }

    @Test func hostileBodiesAreRefusedNamingTheField() async throws {
        let home = try await Self.home()
        let hooks = home.webhooks(settings: Self.fast, resolver: ScriptedResolver([[93, 184, 216, 34]]))
        let (adminToken, _) = try await Self.tokens(home)
        let long = "https://example.com/" + String(repeating: "a", count: 5000)
        let cases: [(String, String, String?)] = [
            ("/api/v1/webhooks", #"{"url": "\#(long)", "events": ["model_version.created"]}"#, "url"),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": ["model_version.created""#, nil),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": ["model.deleted"]}"#, "events"),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": ["webhook.ping"]}"#, "events"),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": []}"#, "events"),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": "model_version.created"}"#, nil),
            ("/api/v1/webhooks", #"{"url": 7, "events": ["model_version.created"]}"#, nil),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": ["model_version.created"], "secret": "short"}"#, "secret"),
            ("/api/v1/webhooks", #"{"url": "https://exa mple.com/", "events": ["model_version.created"]}"#, "url"),
            ("/api/v1/webhooks", #"{"url": "https://example.com/#frag", "events": ["model_version.created"]}"#, "url"),
            ("/api/v1/webhooks", #"{"url": "https://example.com/", "events": ["model_version.created"], "description": "\#(String(repeating: "d", count: 1001))"}"#, "description"),
            ("/api/v1/webhooks/allowances", #"{"cidr": "10.0.0.1/8", "reason": "x"}"#, "cidr"),
            ("/api/v1/webhooks/allowances", #"{"cidr": "10.0.0.0/8", "reason": "  "}"#, "reason"),
            ("/api/v1/webhooks/allowances", #"{"cidr": "\#(String(repeating: "1", count: 100))", "reason": "x"}"#, "cidr"),
            ("/api/v1/webhooks/allowances/withdraw", #"{"cidr": "10.0.0.0/8", "reason": "never allowed"}"#, "cidr"),
        ]
        try await Self.app(home, hooks).test(.router) { client in
            for (path, body, field) in cases {
                try await client.execute(uri: path, method: .post, headers: Self.bearer(adminToken), body: ByteBuffer(string: body)) { response in
                    #expect((400..<500).contains(response.status.code), "\(body.prefix(80))")
                    let json = try Self.json(response.body)
                    if let field { #expect(json["error"]?["field"]?.stringValue == field, "\(body.prefix(80))") }
                }
            }
            // A JSON body must say so.
            try await client.execute(
                uri: "/api/v1/webhooks", method: .post, headers: [.authorization: "Bearer \(adminToken)", .contentType: "text/plain"],
                body: ByteBuffer(string: #"{"url": "https://example.com/", "events": ["model_version.created"]}"#)
            ) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/v1/webhooks/wh-nope/deliveries", method: .get, headers: Self.bearer(adminToken)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/webhooks/wh-nope", method: .delete, headers: Self.bearer(adminToken)) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/webhooks/wh-nope/test", method: .post, headers: Self.bearer(adminToken)) { #expect($0.status == .notFound) }
        }
        // Nothing was registered or allowed.
        #expect(try await hooks.webhooks().isEmpty)
        #expect(try await hooks.allowances().isEmpty)
        #expect(try await home.ledger.events(EventQuery(action: "webhook.create", limit: 10)).isEmpty)
        #expect(try await home.ledger.events(EventQuery(action: "webhook.allow", limit: 10)).isEmpty)
        // A valid one, with the limit checked.
        let created = try await hooks.create(url: "https://example.com/hook", events: ["drift.alerted"], secret: "0123456789abcdef-supplied", actor: Self.admin)
        #expect(created.secret == "0123456789abcdef-supplied")
        try await Self.app(home, hooks).test(.router) { client in
            for limit in ["0", "abc", "1001"] {
                try await client.execute(
                    uri: "/api/v1/webhooks/\(created.webhook.webhookID)/deliveries?limit=\(limit)", method: .get, headers: Self.bearer(adminToken)
                ) { #expect($0.status == .badRequest, "limit \(limit)") }
            }
        }
    }
}
