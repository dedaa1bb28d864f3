import Foundation
import Hummingbird
import TrailCore
import TrailArtifacts
import TrailService

/// `/api/v1/models`: the registry, as a thin translation to `RegistryService`.
struct RegistryRoutes {
    let registry: RegistryService
    let blobs: any BlobStore
    let config: TrailServerConfig

    struct CreateModel: Decodable {
        var name: String
        var description: String?
    }

    struct CreateVersion: Decodable {
        var runID: RunID
        var path: String
        var description: String?
        enum CodingKeys: String, CodingKey { case runID = "run_id", path, description }
    }

    struct SetAlias: Decodable {
        var alias: String
        /// Required to set an alias; absent on the emergency path, it removes the alias.
        var version: Int64?
        var reason: String?
    }

    struct Transition: Decodable {
        var stage: String
        var archiveExistingVersions: Bool?
        var reason: String?
        enum CodingKeys: String, CodingKey { case stage, archiveExistingVersions = "archive_existing_versions", reason }
    }

    func body<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try await JSONResponse.decode(type, from: request, limit: config.maxBodyBytes)
    }

    static func name(_ context: TrailRequestContext) throws -> String {
        try NativeRoutes.decoded(try context.parameters.require("name"), field: "name")
    }

    static func version(_ context: TrailRequestContext) throws -> Int64 {
        let text = try context.parameters.require("version")
        guard let version = Int64(text), version > 0 else { throw TrailError.invalid("version", "version must be a positive integer") }
        return version
    }

    func add(to api: SecuredRoutes) {
        api.post("models", .write) { request, context in
            let input = try await body(CreateModel.self, request)
            return try JSONResponse.make(
                try await registry.createModel(name: input.name, description: input.description ?? "", actor: context.actor))
        }
        api.get("models", .read) { request, context in
            let query = request.uri.queryParameters
            let page = try await registry.models(
                maxResults: try NativeRoutes.int(query.get("max_results"), field: "max_results") ?? 100, pageToken: query.get("page_token"))
            return try JSONResponse.make(ModelList(models: page.items, nextPageToken: page.nextPageToken))
        }
        api.get("models/:name", .read) { _, context in
            let name = try Self.name(context)
            return try JSONResponse.make(ModelWithVersions(model: try await registry.model(name), versions: try await registry.versions(name)))
        }
        api.post("models/:name/versions", .write) { request, context in
            let input = try await body(CreateVersion.self, request)
            return try JSONResponse.make(
                try await registry.registerVersion(
                    name: try Self.name(context), runID: input.runID, path: input.path, description: input.description ?? "", actor: context.actor))
        }
        api.get("models/:name/versions/:version", .read) { _, context in
            try JSONResponse.make(try await registry.version(try Self.name(context), try Self.version(context)))
        }
        api.post("models/:name/versions/:version/stage", .write) { request, context in
            let input = try await body(Transition.self, request)
            return try JSONResponse.make(
                try await registry.transitionStage(
                    name: try Self.name(context), version: try Self.version(context), stage: try ModelStage(parsing: input.stage),
                    archiveExisting: input.archiveExistingVersions ?? false, reason: input.reason ?? "", actor: context.actor))
        }
        api.post("models/:name/aliases", .write) { request, context in
            let input = try await body(SetAlias.self, request)
            let name = try Self.name(context)
            guard let version = input.version else { throw TrailError.invalid("version", "version is required (remove an alias with DELETE)") }
            try await registry.setAlias(name: name, alias: input.alias, version: version, reason: input.reason ?? "", actor: context.actor)
            return try JSONResponse.make(try await registry.model(name))
        }
        api.delete("models/:name/aliases/:alias", .write) { request, context in
            let name = try Self.name(context)
            try await registry.setAlias(
                name: name, alias: try context.parameters.require("alias"), version: nil, reason: request.uri.queryParameters.get("reason") ?? "",
                actor: context.actor)
            return try JSONResponse.make(try await registry.model(name))
        }
        api.post("models/:name/policies", .admin) { request, context in
            var request = request
            let bytes = try await request.collectBody(upTo: config.maxBodyBytes)
            try JSONResponse.requireJSON(request, bodyBytes: bytes.readableBytes)
            try JSONResponse.refuseNUL(bytes.readableBytesView)
            guard let target = request.uri.queryParameters.get("target") else {
                throw TrailError.invalid("target", "target (@alias or stage) is required")
            }
            let version = try await registry.setPolicy(
                name: try Self.name(context), target: target, document: Array(bytes.readableBytesView), actor: context.actor)
            return try JSONResponse.make(["policy_version": version])
        }
        api.get("models/:name/policies", .read) { request, context in
            guard let target = request.uri.queryParameters.get("target") else {
                throw TrailError.invalid("target", "target (@alias or stage) is required")
            }
            guard let (version, policy) = try await registry.policy(name: try Self.name(context), target: target) else {
                return try JSONResponse.make(StoredPolicy(policyVersion: nil, policy: nil))
            }
            return try JSONResponse.make(StoredPolicy(policyVersion: version, policy: policy))
        }
        api.get("models/:name/versions/:version/files/:digest", .read) { _, context in
            // A version's file by its manifest digest (a client re-scoring or serving checks each).
            let version = try await registry.version(try Self.name(context), try Self.version(context))
            let digest = try Digest(parsing: try NativeRoutes.decoded(try context.parameters.require("digest"), field: "digest"))
            guard let file = version.manifest.files.first(where: { $0.digest == digest }) else {
                throw TrailError.notFound("model file", digest.description, field: "digest")
            }
            let reader: any BlobReader
            do { reader = try await blobs.open(digest, expectedBytes: file.sizeBytes) } catch let error as TrailError where error.code != .resourceDoesNotExist {
                throw error  // altered (DATA_LOSS) or the store unreachable (TEMPORARILY_UNAVAILABLE): as it is
            } catch {
                throw TrailError(.dataLoss, "model file \(file.path) (\(digest)) is missing from the blob store")
            }
            return ArtifactRoutes.stream(ArtifactEntry(path: try ArtifactPath(validating: file.path), digest: digest, sizeBytes: file.sizeBytes, createdMillis: 0), reader)
        }
        api.get("models/:name/versions/:version/check", .read) { request, context in
            guard let target = request.uri.queryParameters.get("to") else { throw TrailError.invalid("to", "to (@alias or stage) is required") }
            return try JSONResponse.make(
                try await registry.evaluate(name: try Self.name(context), version: try Self.version(context), target: target))
        }
        api.post("models/:name/versions/:version/approvals", .approve) { request, context in
            let input = try await body(Decision.self, request)
            return try JSONResponse.make(
                try await registry.approve(
                    name: try Self.name(context), version: try Self.version(context), target: input.target,
                    decision: try ApprovalDecision(parsing: input.decision),
                    comment: input.comment ?? "", reviewedDigest: try input.digest.map { try Digest(parsing: $0) }, actor: context.actor))
        }
        api.get("models/:name/versions/:version/approvals", .read) { _, context in
            try JSONResponse.make(try await registry.approvals(name: try Self.name(context), version: try Self.version(context)))
        }
        api.post("models/:name/aliases/emergency", .admin) { request, context in
            let input = try await body(SetAlias.self, request)
            let name = try Self.name(context)
            try await registry.emergencySetAlias(name: name, alias: input.alias, version: input.version, reason: input.reason ?? "", actor: context.actor)
            return try JSONResponse.make(try await registry.model(name))
        }
        api.post("models/:name/versions/:version/attestations", .write) { request, context in
            var request = request
            let bytes = try await request.collectBody(upTo: config.maxBodyBytes)
            try JSONResponse.requireJSON(request, bodyBytes: bytes.readableBytes)
            try JSONResponse.refuseNUL(bytes.readableBytesView)
            return try JSONResponse.make(
                try await registry.attest(
                    name: try Self.name(context), version: try Self.version(context), predicateType: request.uri.queryParameters.get("predicate_type"),
                    envelope: Array(bytes.readableBytesView), actor: context.actor))
        }
        api.get("models/:name/versions/:version/attestations", .read) { _, context in
            try JSONResponse.make(try await registry.attestations(name: try Self.name(context), version: try Self.version(context)))
        }
        api.get("keys", .read) { _, _ in
            try JSONResponse.make(try await registry.trustedKeys())
        }
        api.post("keys", .admin) { request, context in
            let input = try await body(TrustKey.self, request)
            return try JSONResponse.make(
                try await registry.trustKey(
                    name: input.name, publicKeyHex: input.publicKey, predicateTypes: input.predicateTypes, actor: context.actor))
        }
        api.delete("keys/:keyid", .admin) { _, context in
            try JSONResponse.make(try await registry.revokeKey(keyID: try context.parameters.require("keyid"), actor: context.actor))
        }
        api.get("models/:name/history", .read) { _, context in
            try JSONResponse.make(History(changes: try await registry.history(try Self.name(context))))
        }
        api.get("models/:name/at", .read) { request, context in
            let query = request.uri.queryParameters
            guard let reference = query.get("ref") else { throw TrailError.invalid("ref", "ref (an alias or a stage) is required") }
            guard let time = try NativeRoutes.int(query.get("time"), field: "time") else { throw TrailError.invalid("time", "time (ms) is required") }
            let (versions, change) = try await registry.resolve(name: try Self.name(context), reference: reference, atMillis: Int64(time))
            return try JSONResponse.make(Resolution(versions: versions, change: change))
        }
    }

    struct TrustKey: Decodable {
        var name: String
        var publicKey: String
        var predicateTypes: [String]
        enum CodingKeys: String, CodingKey { case name, publicKey = "public_key", predicateTypes = "predicate_types" }
    }

    struct Decision: Decodable {
        var target: String
        var decision: String?
        var comment: String?
        var digest: String?
    }

    struct ModelList: Encodable {
        var models: [RegisteredModel]
        var nextPageToken: String?
        enum CodingKeys: String, CodingKey { case models, nextPageToken = "next_page_token" }
    }

    struct ModelWithVersions: Encodable {
        var model: RegisteredModel
        var versions: [ModelVersion]
    }

    struct History: Encodable { var changes: [RegistryChange] }

    struct StoredPolicy: Codable {
        var policyVersion: Int64?
        var policy: PromotionPolicy?
        enum CodingKeys: String, CodingKey { case policyVersion = "policy_version", policy }
    }

    struct Resolution: Encodable {
        var versions: [Int64]
        var change: RegistryChange?
    }
}
