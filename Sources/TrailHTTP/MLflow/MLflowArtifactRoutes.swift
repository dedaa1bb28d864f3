import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailService

/// MLflow's artifact proxy, `/api/2.0/mlflow-artifacts/artifacts/{path}`, over the same
/// content-addressed store as the native routes. `{path}` is what follows `mlflow-artifacts:/`
/// in an artifact URI: `<experiment>/<run>/artifacts/<file>` for a run's files and
/// `<experiment>/models/<model_id>/artifacts/<file>` for a logged model's.
struct MLflowArtifactRoutes {
    let tracking: TrackingService
    let config: TrailServerConfig

    static let prefix = "/api/2.0/mlflow-artifacts/artifacts"

    func add(to api: SecuredRoutes) {
        api.get("artifacts", .read) { request, _ in
            let query = MLflowInput.parseQuery(request.uri.query ?? "")
            let path = query["path"]?.stringValue ?? ""
            return MLflowJSON.response(try await list(path))
        }
        api.put("artifacts/**", .write) { request, context in
            let (owner, path) = try await locate(request)
            _ = try await ArtifactRoutes.receive(request, owner: owner, path: path, tracking: tracking, maxBytes: config.maxArtifactBytes, actor: context.actor)
            return MLflowJSON.response(MLflowJSON.empty)
        }
        api.get("artifacts/**", .read) { request, context in
            let (owner, path) = try await locate(request)
            let (entry, reader) = try await tracking.openArtifact(owner, path: path, actor: context.actor)
            var response = ArtifactRoutes.stream(entry, reader)
            let name = (path.value.split(separator: "/").last.map(String.init) ?? "").replacingOccurrences(of: "\"", with: "_")
            response.headers[.contentDisposition] = "attachment; filename=\"\(name)\""
            return response
        }
        api.delete("artifacts/**", .write) { request, _ in
            _ = try await locate(request)
            throw TrailError.invalid("path", "artifacts are never deleted or overwritten: they are content-addressed evidence")
        }
    }

    /// The owner and the logical path of a proxy path, checked against the record (the
    /// experiment in the path must be the owner's).
    func locate(_ request: Request) async throws -> (ArtifactOwner, ArtifactPath) {
        if let query = request.uri.query, !query.isEmpty {
            throw TrailError.invalid("path", "artifact paths take no query string; percent-encode '?' if it is part of the name")
        }
        let raw = request.uri.path
        guard raw.hasPrefix(Self.prefix + "/") else { throw TrailError.invalid("path", "artifact path is missing") }
        let full = try ArtifactPath(urlEncoded: String(raw.dropFirst(Self.prefix.count + 1)))
        guard let (owner, inner) = try await resolve(full.value), let inner, !inner.isEmpty else {
            throw TrailError.invalid("path", "'\(full.value.prefix(200))' is not inside a run's or logged model's artifact folder")
        }
        return (owner, try ArtifactPath(validating: inner))
    }

    /// Splits `<exp>/<run>/artifacts[/p]` or `<exp>/models/<id>/artifacts[/p]`; nil when the path
    /// names no known owner (or the owner belongs to another experiment).
    func resolve(_ path: String) async throws -> (ArtifactOwner, String?)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func rest(_ from: Int) -> String? { parts.count > from ? parts[from...].joined(separator: "/") : nil }
        if parts.count >= 4, parts[1] == "models", parts[3] == "artifacts" {
            guard (try? LoggedModel.checkID(parts[2])) != nil,
                let model = try? await tracking.loggedModel(parts[2]), model.experimentID.description == parts[0]
            else { return nil }
            return (.loggedModel(parts[2]), rest(4))
        }
        if parts.count >= 3, parts[2] == "artifacts" {
            guard let id = try? RunID(parsing: parts[1]), let run = try? await tracking.run(id), run.info.experimentID.description == parts[0] else {
                return nil
            }
            return (.run(id), rest(3))
        }
        return nil
    }

    /// MLflow's listing: the direct children of a folder (basename, and size for files). A
    /// file or a missing path lists as `{}`, which is how the client tells files from folders.
    func list(_ path: String) async throws -> JSONValue {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        if !trimmed.isEmpty { _ = try ArtifactPath(validating: trimmed, field: "path") }
        guard let (owner, inner) = try await resolve(trimmed) else { return MLflowJSON.empty }
        let entries = try await tracking.artifacts(owner)
        let children = Self.listing(entries, under: inner ?? "")
        guard !children.isEmpty else { return MLflowJSON.empty }
        return ["files": Self.fileInfos(children, prefix: "")]
    }

    /// MLflow's `FileInfo` list: `path` (the proxy lists basenames; the tracking API prefixes
    /// the folder), `is_dir`, and `file_size` for files.
    static func fileInfos(_ children: [(name: String, size: Int64?)], prefix: String) -> JSONValue {
        .array(
            children.map { child in
                var out: [String: JSONValue] = ["path": .string(prefix.isEmpty ? child.name : "\(prefix)/\(child.name)"), "is_dir": .bool(child.size == nil)]
                if let size = child.size { out["file_size"] = .int(size) }
                return .object(out)
            })
    }

    /// Direct children of `folder` among `entries`: files with their size, folders with nil.
    static func listing(_ entries: [ArtifactEntry], under folder: String) -> [(name: String, size: Int64?)] {
        let prefix = folder.isEmpty ? "" : folder + "/"
        var files: [(String, Int64?)] = []
        var folders = Set<String>()
        for entry in entries where entry.path.value.hasPrefix(prefix) {
            let rest = entry.path.value.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") {
                folders.insert(String(rest[..<slash]))
            } else {
                files.append((String(rest), entry.sizeBytes))
            }
        }
        return (files + folders.map { ($0, nil) }).sorted { $0.0 < $1.0 }
    }
}
