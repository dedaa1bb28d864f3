import Foundation
import Hummingbird
import TrailCore
import TrailService

/// `/api/v1/users` and `/api/v1/tokens`: identities, for admins only, as a thin translation to
/// `IdentityService` (the CLI's `trail users` and `trail tokens` with `--server`).
struct IdentityRoutes {
    let identity: IdentityService
    let config: TrailServerConfig

    struct CreateUser: Decodable {
        var name: String
        var roles: [String]
    }

    struct SetRoles: Decodable { var roles: [String] }

    struct CreateToken: Decodable {
        var user: String
        var expiresInSeconds: Int64?
        enum CodingKeys: String, CodingKey { case user, expiresInSeconds = "expires_in_seconds" }
    }

    struct NewToken: Codable {
        var token: String
        var tokenInfo: TokenInfo
        enum CodingKeys: String, CodingKey { case token, tokenInfo = "token_info" }
    }

    struct Users: Codable { var users: [User] }
    struct Tokens: Codable { var tokens: [TokenInfo] }

    static func roles(_ items: [String]) throws -> Set<Role> {
        guard items.count <= 16 else { throw TrailError.invalid("roles", "at most 16 roles") }
        return Set(
            try items.map { item in
                guard let role = Role(rawValue: item.lowercased()) else {
                    throw TrailError.invalid("roles", "role must be viewer, auditor, contributor, approver or admin; got '\(item.prefix(40))'")
                }
                return role
            })
    }

    func add(to api: SecuredRoutes) {
        api.get("users", .admin) { _, _ in try JSONResponse.make(Users(users: try await identity.users())) }
        api.post("users", .admin) { request, context in
            let input = try await JSONResponse.decode(CreateUser.self, from: request, limit: config.maxBodyBytes)
            return try JSONResponse.make(try await identity.createUser(name: input.name, roles: try Self.roles(input.roles), actor: context.actor))
        }
        api.post("users/:name/roles", .admin) { request, context in
            let input = try await JSONResponse.decode(SetRoles.self, from: request, limit: config.maxBodyBytes)
            let name = try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
            return try JSONResponse.make(try await identity.setRoles(name: name, roles: try Self.roles(input.roles), actor: context.actor))
        }
        api.get("tokens", .admin) { request, _ in
            try JSONResponse.make(Tokens(tokens: try await identity.tokens(user: request.uri.queryParameters.get("user"))))
        }
        api.post("tokens", .admin) { request, context in
            let input = try await JSONResponse.decode(CreateToken.self, from: request, limit: config.maxBodyBytes)
            let (secret, token) = try await identity.createToken(user: input.user, expiresInSeconds: input.expiresInSeconds, actor: context.actor)
            return try JSONResponse.make(NewToken(token: secret, tokenInfo: token))
        }
        api.delete("tokens/:token_id", .admin) { _, context in
            try await identity.revokeToken(id: try NativeRoutes.decoded(try context.parameters.require("token_id"), field: "token_id"), actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
    }
}

/// `/api/v1/lineage`, `/api/v1/predictions` and the recorded checks clients report: what stands
/// behind a model, a prediction or a dataset, and re-scorings and rebuilds done elsewhere.
struct EvidenceRoutes {
    let home: TrailHome
    let config: TrailServerConfig

    var serving: ServingService { ServingService(tracking: home.tracking, registry: home.registry) }

    struct Drift: Decodable {
        var reference: String
        var windowMillis: Int64
        var minRows: Int?
        enum CodingKeys: String, CodingKey { case reference, windowMillis = "window_ms", minRows = "min_rows" }
    }

    struct Recorded: Codable {
        var eventIndex: Int64?
        enum CodingKeys: String, CodingKey { case eventIndex = "event_index" }
    }

    func add(to api: SecuredRoutes) {
        api.get("lineage/models/:name", .read) { request, context in
            let name = try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
            guard let reference = request.uri.queryParameters.get("ref") else {
                throw TrailError.invalid("ref", "ref (an alias, a stage or a version) is required")
            }
            return try JSONResponse.make(try await home.lineage.model(name: name, reference: reference))
        }
        api.get("lineage/predictions/:prediction_id", .read) { _, context in
            try JSONResponse.make(
                try await home.lineage.prediction(
                    id: try NativeRoutes.decoded(try context.parameters.require("prediction_id"), field: "prediction_id"), reader: context.reader))
        }
        api.get("lineage/datasets/:digest", .read) { request, context in
            let window = try NativeRoutes.int(request.uri.queryParameters.get("window_ms"), field: "window_ms") ?? 86_400_000
            return try JSONResponse.make(
                try await home.lineage.dataset(digest: try NativeRoutes.decoded(try context.parameters.require("digest"), field: "digest"), windowMillis: Int64(window)))
        }
        // One model version's audit report (JSON; the CLI renders HTML, Markdown and PDF from
        // it). Reading is `read`; `verify=true` runs the full ledger verification first, which
        // is an admin's request (as POST /ledger/verify); without it the report cites the
        // latest recorded verification.
        api.get("models/:name/report", .read) { request, context in
            let name = try RegistryRoutes.name(context)
            let query = request.uri.queryParameters
            guard let reference = query.get("ref"), !reference.isEmpty else {
                throw TrailError.invalid("ref", "ref (an alias, a stage or a version) is required")
            }
            let targets = (query.get("target") ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let window = try NativeRoutes.int(query.get("window_ms"), field: "window_ms") ?? 86_400_000
            let verify: Bool
            switch query.get("verify") {
            case nil, "false": verify = false
            case "true": verify = true
            default: throw TrailError.invalid("verify", "verify is true or false")
            }
            if verify { try await SecuredRoutes.authorize(.admin, request, context, home.identity) }
            return try JSONResponse.make(
                try await AuditReportBuilder(home: home).build(
                    name: name, reference: reference,
                    options: .init(
                        targets: targets, windowMillis: Int64(window), verification: verify ? .run(nil) : .latestRecorded, reader: context.reader),
                    actor: context.actor))
        }
        api.post("models/:name/drift", .write) { request, context in
            let input = try await JSONResponse.decode(Drift.self, from: request, limit: config.maxBodyBytes)
            return try JSONResponse.make(
                try await serving.drift(
                    name: try RegistryRoutes.name(context), reference: input.reference, windowMillis: input.windowMillis,
                    minimumRows: input.minRows ?? PromotionPolicy.defaultDriftMinRows, actor: context.actor))
        }
        api.get("predictions/:prediction_id", .read) { _, context in
            let id = try NativeRoutes.decoded(try context.parameters.require("prediction_id"), field: "prediction_id")
            return try JSONResponse.make(try await home.dataProtection.prediction(id: id, reader: context.reader))
        }
        api.post("predictions/:prediction_id/reproductions", .write) { request, context in
            var check = try await JSONResponse.decode(PredictionCheck.self, from: request, limit: config.maxBodyBytes)
            let id = try NativeRoutes.decoded(try context.parameters.require("prediction_id"), field: "prediction_id")
            guard check.predictionID == id else { throw TrailError.invalid("prediction_id", "the body's prediction_id is not the path's") }
            check.eventIndex = nil
            return try JSONResponse.make(Recorded(eventIndex: try await serving.recordCheck(check, actor: context.actor)))
        }
        // Re-scores with the stored raw input on the server: the caller learns the verdict,
        // never the input (which only auditors and admins may read).
        api.post("predictions/:prediction_id/rescore", .write) { _, context in
            let id = try NativeRoutes.decoded(try context.parameters.require("prediction_id"), field: "prediction_id")
            return try JSONResponse.make(try await serving.rescore(predictionID: id, input: nil, actor: context.actor))
        }
        api.post("runs/:run_id/reproductions", .write) { request, context in
            let report = try await JSONResponse.decode(ReproductionReport.self, from: request, limit: config.maxBodyBytes)
            guard report.runID == (try NativeRoutes.runID(context)) else { throw TrailError.invalid("run_id", "the body's run_id is not the path's") }
            return try JSONResponse.make(Recorded(eventIndex: try await home.tracking.recordReproduction(report, actor: context.actor)))
        }
    }
}
