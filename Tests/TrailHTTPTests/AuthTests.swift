import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrailCore
import TrailHTTP
import TrailService
import TrailStore

/// A server that requires tokens (the default), with its route table.
func makeSecuredApp() async throws -> (some ApplicationProtocol, TrailHome, RouteTable, Router<TrailRequestContext>) {
    let home = try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-auth-\(UUID().uuidString)"), store: try await StoreSettings.testing())
    let table = RouteTable()
    let router = TrailApplication.router(
        home: home, config: TrailServerConfig(port: 0, localActor: .user("nobody")), logger: Logger(label: "test"), table: table)
    return (Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))), home, table, router)
}

@Suite("Identities, tokens and deny-by-default routes")
struct AuthTests {
    @Test func everyRouteDeclaresItsAccessAndRefusesAnonymousCallers() async throws {
        let (app, home, table, router) = try await makeSecuredApp()
        let routes = router.routes.map { ("\($0.method)", "\($0.path)") }
        #expect(routes.count >= 40)
        for (method, path) in routes {
            #expect(table.access(for: "\(method) \(path)") != nil, "\(method) \(path) has no access declaration")
        }
        let startMinute = Int64(Date().timeIntervalSince1970 * 1000) / 60_000
        try await app.test(.router) { client in
            for (method, path) in routes where table.access(for: "\(method) \(path)") != .public {
                let concrete = path.split(separator: "/").map { segment -> String in
                    if segment == "**" { return "x.bin" }
                    if segment.hasPrefix(":run_id") { return "0123456789abcdef0123456789abcdef" }
                    if segment.hasPrefix(":") { return "1" }
                    return String(segment)
                }.joined(separator: "/")
                try await client.execute(uri: "/" + concrete, method: HTTPRequest.Method(method)!, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .unauthorized, "\(method) \(path) answered \(response.status) without credentials")
                }
            }
        }
        let denied = try await home.ledger.events(EventQuery(action: "auth.denied", limit: 1000))
        let protected = routes.filter { table.access(for: "\($0.0) \($0.1)") != .public }
        #expect(protected.count == routes.count - 9, "only the health checks, /version, MLflow's server-info probe, and the UI's / redirect, static files, sign-in and sign-out are public")
        // Every refusal is recorded, up to the per-source bound a minute (the rest are counted
        // into the source's next recorded refusal).
        // (The walk may straddle minute boundaries on a slow machine: the bound holds per clock minute.)
        let bound = home.identity.deniedLimiter.perSourcePerMinute
        let minutes = Int(Int64(Date().timeIntervalSince1970 * 1000) / 60_000 - startMinute + 1)
        #expect(denied.count >= min(protected.count, bound) && denied.count <= min(protected.count, minutes * bound), "refusals are in the ledger, bounded")
    }

    @Test func rolesTokensAndTheAuthenticatedActor() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: admin)
        _ = try await home.identity.createUser(name: "carl", roles: [.contributor], actor: admin)
        let viewer = try await home.identity.createToken(user: "vic", actor: admin).secret
        let (contributor, carlToken) = try await home.identity.createToken(user: "carl", actor: admin)
        let expiring = try await home.identity.createToken(user: "carl", expiresInSeconds: 1, actor: admin).secret
        try await app.test(.router) { client in
            let create = ByteBuffer(string: #"{"experiment_id": "0", "user_id": "mallory"}"#)
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: [.authorization: "Bearer \(viewer)", .contentType: "application/json"], body: create) { response in
                #expect(response.status == .forbidden)
                let error = try decode(NativeAPI.ErrorBody.self, response).error
                #expect(error.code == "PERMISSION_DENIED")
            }
            try await client.execute(uri: "/api/v1/experiments/0", method: .get, headers: [.authorization: "Bearer \(viewer)"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: [.authorization: "Bearer \(contributor)", .contentType: "application/json"], body: create) {
                #expect($0.status == .ok)
            }
            let basic = Data("carl:\(contributor)".utf8).base64EncodedString()
            try await client.execute(uri: "/api/v1/experiments", method: .get, headers: [.authorization: "Basic \(basic)"]) {
                #expect($0.status == .ok)
            }
            let wrongUser = Data("vic:\(contributor)".utf8).base64EncodedString()
            try await client.execute(uri: "/api/v1/experiments", method: .get, headers: [.authorization: "Basic \(wrongUser)"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/experiments", method: .get, headers: [.authorization: "Bearer mtk_nope_00"]) {
                #expect($0.status == .unauthorized)
            }
        }
        let created = try await home.ledger.events(EventQuery(action: "run.create", limit: 10))
        #expect(created.map(\.actor) == [.user("carl")], "the actor is the token's user, never the body's user_id")
        try await home.identity.revokeToken(id: carlToken.id, actor: admin)
        try await Task.sleep(for: .milliseconds(1100))
        try await app.test(.router) { client in
            for secret in [contributor, expiring] {
                try await client.execute(uri: "/api/v1/experiments", method: .get, headers: [.authorization: "Bearer \(secret)"]) {
                    #expect($0.status == .unauthorized)
                }
            }
        }
        let bodies = try await home.tracking.store.events(from: 0, to: 1000).map { String(decoding: $0.body, as: UTF8.self) }
        for secret in [viewer, contributor, expiring] { #expect(!bodies.contains { $0.contains(secret) }, "a token leaked into the ledger") }
        #expect(try await home.ledger.events(EventQuery(action: "auth.denied", limit: 100)).count >= 5)
        try await home.ledger.checkpointIfBehind()
        #expect(try await home.verifier.verify().ok)
    }
}
