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

/// The web UI's server side: escaping, sessions, CSRF, roles, artifact previews. (The pages in a
/// real browser are tested by ui/test_pages.py.)
@Suite("Web UI: escaping, sessions, CSRF and previews")
struct WebUITests {
    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    /// The session cookie from a sign-in response.
    static func cookie(_ response: TestResponse) -> String? {
        guard let header = response.headers[.setCookie], header.hasPrefix("trail_session=") else { return nil }
        return String(header.dropFirst("trail_session=".count).prefix { $0 != ";" })
    }

    static func form(_ fields: [String: String]) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
    }

    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func aRunNamedLikeAScriptIsTextAndPagesCarryTheirPolicy() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: admin)
        let token = try await home.identity.createToken(user: "vic", actor: admin).secret
        let experiment = try await home.tracking.createExperiment(name: "x<b>y</b>", tags: [], actor: admin)
        let run = try await home.tracking.createRun(experimentID: experiment.id, name: "<script>alert(1)</script>", actor: admin)
        try await home.tracking.logParam(run.info.runID, key: "p", value: "\"><img src=x onerror=alert(2)>", actor: admin)
        try await app.test(.router) { client in
            for uri in ["/ui/experiments", "/ui/experiments/\(experiment.id)", "/ui/runs/\(run.info.runID.value)", "/ui/compare?run=\(run.info.runID.value)"] {
                try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                    let page = Self.text(response.body)
                    #expect(response.status == .ok, "\(uri)")
                    #expect(!page.contains("<script>alert"), "\(uri) renders the name as text")
                    #expect(!page.contains("<img src=x"), "\(uri) renders the value as text")
                    #expect(!page.contains("<b>y</b>"), "\(uri)")
                    #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'self'") == true)
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                }
            }
            try await client.execute(uri: "/ui/runs/\(run.info.runID.value)", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(Self.text(response.body).contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
        }
    }

    @Test func withoutCredentialsThePageIsTheSignInAndLocalOnlyNeedsNone() async throws {
        let (app, _, _, _) = try await makeSecuredApp()
        try await app.test(.router) { client in
            try await client.execute(uri: "/ui/models", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.text(response.body).contains("action=\"/ui/signin\""))
            }
        }
        let home = try await TrailHome.open(FileManager.default.temporaryDirectory.appendingPathComponent("trail-ui-\(UUID().uuidString)"), store: try await StoreSettings.testing())
        let router = TrailApplication.router(home: home, config: TrailServerConfig(port: 0, localActor: .user("me"), localOnly: true), logger: Logger(label: "test"))
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/ui/models", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Self.text(response.body).contains("No registered models yet"), "an empty state says what to do")
            }
        }
    }

    @Test func aSessionIsATokenExchangedSignedOutAndRevoked() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "carl", roles: [.contributor], actor: admin)
        let token = try await home.identity.createToken(user: "carl", actor: admin).secret
        try await app.test(.router) { client in
            let wrong = try await client.execute(uri: "/ui/signin", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: Self.form(["token": "mtk_nope_x"]))
            #expect(wrong.status == .unauthorized)
            #expect(Self.cookie(wrong) == nil)
            let signIn = try await client.execute(
                uri: "/ui/signin", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Self.form(["token": token, "next": "//evil.example/"]))
            #expect(signIn.status == .seeOther)
            #expect(signIn.headers[.location] == "/ui/", "next is only ever a page of this UI")
            let setCookie = try #require(signIn.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
            let session = try #require(Self.cookie(signIn))
            #expect(session != token, "the browser holds a session token, not the token it was given")
            let cookie: HTTPFields = [.cookie: "trail_session=\(session)"]
            let page = try await client.execute(uri: "/ui/experiments", method: .get, headers: cookie)
            #expect(page.status == .ok)
            let csrf = try #require(Self.csrf(in: Self.text(page.body)))
            // A write outside the forms with only the cookie needs the page's token in a header.
            let body = ByteBuffer(string: #"{"name": "by-cookie"}"#)
            let bare = try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, headers: cookie + [.contentType: "application/json"], body: body)
            #expect(bare.status == .forbidden)
            #expect(try await home.tracking.searchExperiments(filter: "name = 'by-cookie'").items.isEmpty, "the refused write changed nothing")
            let withToken = try await client.execute(
                uri: "/api/2.0/mlflow/experiments/create", method: .post,
                headers: cookie + [.contentType: "application/json", HTTPField.Name("X-CSRF-Token")!: csrf], body: body)
            #expect(withToken.status == .ok)
            // Sign-out needs the form token, then the session opens nothing.
            let forged = try await client.execute(uri: "/ui/signout", method: .post, headers: cookie + [.contentType: "application/x-www-form-urlencoded"], body: Self.form(["csrf": "0"]))
            #expect(forged.status == .forbidden)
            let out = try await client.execute(uri: "/ui/signout", method: .post, headers: cookie + [.contentType: "application/x-www-form-urlencoded"], body: Self.form(["csrf": csrf]))
            #expect(out.status == .seeOther)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await client.execute(uri: "/ui/experiments", method: .get, headers: cookie)
            #expect(after.status == .unauthorized)
        }
        let started = try await home.ledger.events(EventQuery(action: "session.start", limit: 10))
        let ended = try await home.ledger.events(EventQuery(action: "session.end", limit: 10))
        #expect(started.count == 1 && ended.count == 1, "sign-in and sign-out are in the ledger")
        #expect(started.first?.actor == .user("carl"))
    }

    @Test func aDecisionNeedsTheApproverRoleAndTheFormToken() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: admin)
        _ = try await home.identity.createUser(name: "ann", roles: [.approver], actor: admin)
        let viewer = try await home.identity.createToken(user: "vic", actor: admin).secret
        let approver = try await home.identity.createToken(user: "ann", actor: admin).secret
        let fields = ["target": "@production", "decision": "approve", "reviewed_digest": "sha256:" + String(repeating: "0", count: 64)]
        try await app.test(.router) { client in
            let headers: (String) -> HTTPFields = { [.authorization: "Bearer \($0)", .contentType: "application/x-www-form-urlencoded"] }
            let asViewer = try await client.execute(uri: "/ui/models/m/versions/1/decision", method: .post, headers: headers(viewer), body: Self.form(fields))
            #expect(asViewer.status == .forbidden, "a viewer's decision is refused by the server, form or not")
            let noToken = try await client.execute(uri: "/ui/models/m/versions/1/decision", method: .post, headers: headers(approver), body: Self.form(fields))
            #expect(noToken.status == .forbidden)
            #expect(Self.text(noToken.body).contains("csrf"), "the refusal names the field")
        }
        let denied = try await home.ledger.events(EventQuery(action: "auth.denied", limit: 100))
        #expect(denied.contains { $0.actor == .user("vic") }, "the viewer's attempt is recorded")
    }

    @Test func artifactPreviewsNeverRenderHTMLAndServeImagesSandboxed() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: admin)
        let token = try await home.identity.createToken(user: "vic", actor: admin).secret
        let run = try await home.tracking.createRun(experimentID: nil, name: "r", actor: admin)
        let id = run.info.runID
        _ = try await home.tracking.putArtifact(id, path: try ArtifactPath(validating: "report.html"), bytes: Array("<script>alert(3)</script>".utf8), actor: admin)
        _ = try await home.tracking.putArtifact(id, path: try ArtifactPath(validating: "plot.png"), bytes: [0x89, 0x50, 0x4e, 0x47], actor: admin)
        _ = try await home.tracking.putArtifact(id, path: try ArtifactPath(validating: "confusion_matrix.json"), bytes: Array(#"{"matrix": [[40, 2], [1, 71]]}"#.utf8), actor: admin)
        try await app.test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer \(token)"]
            let raw = try await client.execute(uri: "/ui/runs/\(id.value)/raw?path=report.html", method: .get, headers: auth)
            #expect(raw.headers[.contentType] == "application/octet-stream")
            #expect(raw.headers[.contentDisposition]?.hasPrefix("attachment") == true)
            #expect(raw.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("sandbox") == true)
            #expect(raw.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            let preview = try await client.execute(uri: "/ui/runs/\(id.value)/preview?path=report.html", method: .get, headers: auth)
            #expect(!Self.text(preview.body).contains("<script>alert(3)"), "HTML is shown as escaped source")
            let image = try await client.execute(uri: "/ui/runs/\(id.value)/raw?path=plot.png", method: .get, headers: auth)
            #expect(image.headers[.contentType] == "image/png" && image.headers[.contentDisposition] == nil)
            #expect(image.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("sandbox") == true)
            let matrix = try await client.execute(uri: "/ui/runs/\(id.value)/preview?path=confusion_matrix.json", method: .get, headers: auth)
            let page = Self.text(matrix.body)
            #expect(page.contains("Confusion matrix") && page.contains(">71<"))
            let traversal = try await client.execute(uri: "/ui/runs/\(id.value)/preview?path=../x", method: .get, headers: auth)
            #expect(traversal.status == .badRequest)
        }
    }

    @Test func theServedAssetsAreTheCommittedFiles() async throws {
        let (app, _, _, _) = try await makeSecuredApp()
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/TrailHTTP/UI/assets")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".js") || $0.hasSuffix(".css") }
        #expect(names.count >= 3)
        try await app.test(.router) { client in
            for name in names {
                let file = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                try await client.execute(uri: "/ui/static/\(name)", method: .get) { response in
                    #expect(Self.text(response.body) == file, "\(name) differs from UIAssets.swift: run python3 Sources/TrailHTTP/UI/generate.py")
                }
            }
        }
    }

    @Test func hostileQueryValuesAreRefusedAndTheServerStaysUp() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: admin)
        let token = try await home.identity.createToken(user: "vic", actor: admin).secret
        let run = try await home.tracking.createRun(experimentID: nil, name: "r", actor: admin)
        let eleven = (0..<11).map { _ in "run=\(run.info.runID.value)" }.joined(separator: "&")
        let refused = [
            "/ui/ledger?subject=%3A", "/ui/ledger?subject=%3A%3A", "/ui/ledger?since=2026-12-03T10:00&tz=-9223372036854775808",
            "/ui/ledger?since=2026-12-03T10:00&tz=9223372036854775807", "/ui/ledger?since=292278995-12-03T10:00",
            "/ui/ledger?since=9999999999999999999", "/ui/ledger?from=-1", "/ui/ledger?from=99999999999999999999",
            "/ui/compare?" + (0..<11).map { "run=\($0)0000000000000000000000000000000" }.joined(separator: "&"),
            "/ui/ledger/-1", "/ui/ledger/99999999999999999999", "/ui/models/x/versions/99999999999999999999",
            "/ui/experiments/0?columns=nodot", "/ui/experiments/0?page_token=%FF%FE", "/ui/runs/\(run.info.runID.value)/preview?path=",
        ]
        try await app.test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer \(token)"]
            for uri in refused {
                let response = try await client.execute(uri: uri, method: .get, headers: auth)
                #expect((400..<500).contains(Int(response.status.code)), "\(uri) answered \(response.status)")
            }
            // The same run named many times is one column.
            let same = try await client.execute(uri: "/ui/compare?" + eleven, method: .get, headers: auth)
            #expect(same.status == .ok)
            let ledger = try await client.execute(uri: "/ui/ledger?subject=run%3A\(run.info.runID.value)", method: .get, headers: auth)
            #expect(ledger.status == .ok && Self.text(ledger.body).contains("run.create"))
        }
    }

    @Test func aSessionEndsWithItsTokenAndIsNeitherRenewableNorAnAPIToken() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let admin = Actor.user("root")
        _ = try await home.identity.createUser(name: "carl", roles: [.contributor], actor: admin)
        let (token, info) = try await home.identity.createToken(user: "carl", actor: admin)
        try await app.test(.router) { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let signIn = try await client.execute(uri: "/ui/signin", method: .post, headers: form, body: Self.form(["token": token]))
            let session = try #require(Self.cookie(signIn))
            let renew = try await client.execute(uri: "/ui/signin", method: .post, headers: form, body: Self.form(["token": session]))
            #expect(renew.status == .unauthorized && Self.cookie(renew) == nil, "a session cannot be exchanged for a new one")
            let asBearer = try await client.execute(uri: "/api/v1/experiments", method: .get, headers: [.authorization: "Bearer \(session)"])
            #expect(asBearer.status == .unauthorized, "a session is not an API token")
            let before = try await client.execute(uri: "/ui/experiments", method: .get, headers: [.cookie: "trail_session=\(session)"])
            #expect(before.status == .ok)
            try await home.identity.revokeToken(id: info.id, actor: admin)
            let after = try await client.execute(uri: "/ui/experiments", method: .get, headers: [.cookie: "trail_session=\(session)"])
            #expect(after.status == .unauthorized, "revoking the token ends the sessions it opened")
        }
    }
}
