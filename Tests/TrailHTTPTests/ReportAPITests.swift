import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrailCore
import TrailHTTP
import TrailService

@Suite("Audit report HTTP API")
struct ReportAPITests {
    /// Readers get the report; running the verification for it is an admin's request; bad
    /// queries are 400s, unknown references 404s.
    @Test func readersGetTheReportAndOnlyAdminsRunTheVerification() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let root = Actor.user("root")
        let engineer = Actor.user("eng")
        let run = try await home.tracking.createRun(experimentID: nil, name: "<b>run</b>", actor: engineer).info.runID
        _ = try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/w.json"), bytes: [1, 2, 3], actor: engineer)
        let version = try await home.registry.registerVersion(name: "bc", runID: run, path: "model", actor: engineer)
        try await home.registry.setAlias(name: "bc", alias: "candidate", version: 1, reason: "try it", actor: engineer)
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: root)
        _ = try await home.identity.createUser(name: "ada", roles: [.admin], actor: root)
        let viewer = try await home.identity.createToken(user: "vic", actor: root).secret
        let admin = try await home.identity.createToken(user: "ada", actor: root).secret
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/models/bc/report?ref=candidate", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/models/bc/report?ref=candidate", method: .get, headers: [.authorization: "Bearer \(viewer)"]) {
                response in
                #expect(response.status == .ok)
                let report = try decode(AuditReport.self, response)
                #expect(report.identity.rootDigest == version.manifest.root.description && report.generatedBy == .user("vic"))
                #expect(report.training?.runName == "<b>run</b>" && report.integrity.verification == nil)
                #expect(report.promotions.history.items.first?.reason == "try it")
            }
            try await client.execute(
                uri: "/api/v1/models/bc/report?ref=candidate&verify=true", method: .get, headers: [.authorization: "Bearer \(viewer)"]
            ) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/models/bc/report?ref=1&verify=true", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                response in
                #expect(response.status == .ok)
                let report = try decode(AuditReport.self, response)
                #expect(report.integrity.verification?.performed == "now" && report.integrity.verification?.ok == true)
            }
            for (query, status) in [
                ("", HTTPResponse.Status.badRequest), ("?ref=candidate&verify=yes", .badRequest), ("?ref=candidate&window_ms=1", .badRequest),
                ("?ref=candidate&window_ms=x", .badRequest), ("?ref=candidate&target=%40Bad%20alias", .badRequest), ("?ref=nothing", .notFound),
                ("?ref=99", .notFound),
            ] {
                try await client.execute(uri: "/api/v1/models/bc/report\(query)", method: .get, headers: [.authorization: "Bearer \(viewer)"]) {
                    #expect($0.status == status, "\(query)")
                }
            }
            try await client.execute(uri: "/api/v1/models/nope/report?ref=1", method: .get, headers: [.authorization: "Bearer \(viewer)"]) {
                #expect($0.status == .notFound)
            }
        }
    }
}
