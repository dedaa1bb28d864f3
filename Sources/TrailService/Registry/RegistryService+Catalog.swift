import TrailCore
import TrailStore

/// A registered model or version with its current tags, as searches return them.
public struct Tagged<Item: Sendable>: Sendable {
    public var item: Item
    public var tags: [Tag]
    public init(item: Item, tags: [Tag]) {
        self.item = item
        self.tags = tags
    }
}

/// Registration from MLflow sources, tags, descriptions and the registry searches.
extension RegistryService {
    /// Where a version's files come from, as MLflow names them. Anything else (a local path, a
    /// URL) is refused: a version is only ever made of files already in the record.
    public enum VersionSource: Sendable, Hashable {
        case loggedModel(String)
        case runArtifacts(RunID, path: String)

        public init(parsing source: String, field: String = "source") throws {
            func refuse() -> TrailError {
                TrailError.invalid(
                    field,
                    "source '\(source.prefix(200))' is not in the record; use models:/<model_id>, runs:/<run_id>/<path> or an mlflow-artifacts:/ location of a run or logged model"
                )
            }
            if source.hasPrefix("models:/") {
                let id = String(source.dropFirst("models:/".count))
                try LoggedModel.checkID(id, field: field)
                self = .loggedModel(id)
            } else if source.hasPrefix("runs:/") {
                let rest = source.dropFirst("runs:/".count).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
                guard let first = rest.first else { throw refuse() }
                let path = rest.count > 1 ? String(rest[1]) : ""
                if !path.isEmpty { _ = try ArtifactPath(validating: path.hasSuffix("/") ? String(path.dropLast()) : path, field: field) }
                self = .runArtifacts(try RunID(parsing: String(first), field: field), path: path)
            } else if source.hasPrefix("mlflow-artifacts:/") {
                let parts = source.dropFirst("mlflow-artifacts:/".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                if parts.count >= 4, parts[1] == "models", parts[3] == "artifacts", parts.count == 4 || (parts.count == 5 && parts[4].isEmpty) {
                    try LoggedModel.checkID(parts[2], field: field)
                    self = .loggedModel(parts[2])
                } else if parts.count >= 3, parts[2] == "artifacts" {
                    let path = parts.dropFirst(3).joined(separator: "/")
                    if !path.isEmpty { _ = try ArtifactPath(validating: path, field: field) }
                    self = .runArtifacts(try RunID(parsing: parts[1], field: field), path: path)
                } else {
                    throw refuse()
                }
            } else {
                throw refuse()
            }
        }
    }

    /// Creates a version of an existing model (as MLflow does) from an MLflow source, with the
    /// digest manifest of its files.
    public func createVersion(
        name: String, source: String, runID: RunID?, description: String = "", tags: [Tag] = [], tracking: TrackingService, actor: Actor
    ) async throws -> ModelVersion {
        try await recordingRefusal("model_version.create", model: name, actor: actor, facts: ["source": .string(String(source.prefix(500)))]) {
            try Self.checkName(name)
            _ = try await model(name)
            try Limits.checkTags(tags, field: "tags")
            switch try VersionSource(parsing: source) {
            case .runArtifacts(let run, let path):
                if let runID, runID != run { throw TrailError.invalid("run_id", "run_id \(runID) does not match the source's run \(run)") }
                return try await registerVersionUnrecorded(name: name, runID: run, path: path, description: description, tags: tags, actor: actor)
            case .loggedModel(let id):
                let model = try await tracking.loggedModel(id)
                guard model.lifecycleStage == .active else { throw TrailError.invalid("source", "logged model \(id) is deleted") }
                // A version's run is the run that produced its files, or it has none: a run
                // named here that did not produce the logged model would lend it its metrics,
                // evidence and provenance at the gate.
                if let runID, runID != model.sourceRunID {
                    throw TrailError.invalid(
                        "run_id",
                        model.sourceRunID.map { "run_id \(runID) does not match logged model \(id)'s source run \($0)" }
                            ?? "logged model \(id) was not produced by a run, so its version has none: run_id \(runID) cannot be credited for it")
                }
                let entries = try await store.artifacts(owner: .loggedModel(id))
                guard !entries.isEmpty else { throw TrailError.invalid("source", "logged model \(id) has no files; upload them first") }
                let files = entries.map { ManifestFile(path: $0.path.value, digest: $0.digest, sizeBytes: $0.sizeBytes) }
                return try await createVersion(
                    name: name, runID: model.sourceRunID, source: "models:/\(id)", manifest: ModelManifest(files: files),
                    description: description, tags: tags, related: ["logged_model_id": id], actor: actor)
            }
        }
    }

    /// The one place a version row is made: the model (created if needed), the version with
    /// its manifest, and its tags, in one event.
    func createVersion(
        name: String, runID: RunID?, source: String, manifest: ModelManifest, description: String, tags: [Tag], related: [String: String] = [:],
        actor: Actor
    ) async throws -> ModelVersion {
        try Limits.checkLength(description, max: 5000, field: "description")
        let now = clock.nowMillis()
        var changes: [Change] = []
        if try await store.registeredModel(name: name) == nil {
            changes.append(.createRegisteredModel(name: name, description: "", timeMillis: now))
        }
        changes.append(
            .createModelVersion(
                name: name, runID: runID, source: source, manifest: manifest, description: description,
                tags: tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: now, actor: actor) }, timeMillis: now))
        var all = related
        if let runID { all["run_id"] = runID.value }
        let receipt = try await store.apply(
            WriteBatch(
                preconditions: runID.map { [.run($0, mustBeActive: true)] } ?? [], changes: changes,
                event: EventDraft(
                    action: "model_version.create", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name), related: all,
                    facts: [
                        "root_digest": .string(manifest.root.description), "files": .int(Int64(manifest.files.count)), "source": .string(source),
                        "tags": .array(tags.map { ["key": .string($0.key), "value": .string($0.value)] }),
                    ],
                    artifactDigests: manifest.files.map(\.digest))))
        guard let number = receipt.modelVersion else { throw TrailError.internalError("no version number was allocated") }
        return try await version(name, number)
    }

    /// Sets (`value` non-nil) or deletes a tag of a registered model (`version` nil) or version.
    public func setTag(name: String, version: Int64?, key: String, value: String?, actor: Actor) async throws {
        try await recordingRefusal(value == nil ? "tag.delete" : "tag.set", model: name, actor: actor, facts: ["key": .string(key)]) {
            try Limits.checkKey(key, field: "key")
            if let value {
                try Limits.checkLength(value, max: Limits.maxTagValueLength, field: "value")
                try self.privacy.refuseSensitive([key], field: "key", on: "a registry tag")
            }
            if let version { _ = try await self.version(name, version) } else { _ = try await model(name) }
            if value == nil, !(try await store.registryTags(name: name, version: version)).contains(where: { $0.key == key }) {
                throw TrailError.notFound("tag", key, field: "key")
            }
            let now = clock.nowMillis()
            var facts: [String: JSONValue] = ["key": .string(key), "value": value.map(JSONValue.string) ?? .null]
            if let version { facts["version"] = .int(version) }
            _ = try await store.apply(
                WriteBatch(
                    preconditions: version.map { [.modelVersion(name, $0)] } ?? [.registeredModel(name)],
                    changes: [.changeRegistryTags(name: name, version: version, [TagChange(key: key, value: value, timeMillis: now, actor: actor)])],
                    event: EventDraft(
                        action: (version == nil ? "model" : "model_version") + (value == nil ? ".tag.delete" : ".tag.set"), actor: actor,
                        timeMillis: now, subject: Subject(type: "model", id: name), facts: .object(facts))))
        }
    }

    /// Changes the description of a registered model (`version` nil) or version.
    public func describe(name: String, version: Int64?, description: String, actor: Actor) async throws {
        try await recordingRefusal("describe", model: name, actor: actor) {
            try Limits.checkLength(description, max: 5000, field: "description")
            if let version { _ = try await self.version(name, version) } else { _ = try await model(name) }
            let now = clock.nowMillis()
            var facts: [String: JSONValue] = ["description": .string(description)]
            if let version { facts["version"] = .int(version) }
            _ = try await store.apply(
                WriteBatch(
                    preconditions: version.map { [.modelVersion(name, $0)] } ?? [.registeredModel(name)],
                    changes: [.describeRegistryEntry(name: name, version: version, description: description, timeMillis: now)],
                    event: EventDraft(
                        action: version == nil ? "model.describe" : "model_version.describe", actor: actor, timeMillis: now,
                        subject: Subject(type: "model", id: name), facts: .object(facts))))
        }
    }

    public func tags(name: String, version: Int64?) async throws -> [Tag] {
        try await store.registryTags(name: name, version: version)
    }

    /// For each stage, the highest version in it (MLflow's `latest_versions`), filtered by
    /// `stages` (all when empty).
    public func latestVersions(name: String, stages: [ModelStage] = []) async throws -> [ModelVersion] {
        let all = try await versions(name)
        var latest: [ModelStage: ModelVersion] = [:]
        for version in all where (latest[version.stage]?.version ?? 0) < version.version { latest[version.stage] = version }
        let wanted = stages.isEmpty ? ModelStage.allCases : stages
        return wanted.compactMap { latest[$0] }
    }

    /// MLflow's registered-model search: name and tags; order by name or update time.
    public func searchModels(filter: String = "", orderBy: [String] = [], maxResults: Int = 100, pageToken: String? = nil) async throws -> Page<
        Tagged<RegisteredModel>
    > {
        guard (1...1000).contains(maxResults) else { throw TrailError.invalid("max_results", "max_results must be between 1 and 1000") }
        let search = try EntitySearch(parsing: filter, kind: .registeredModels)
        let orders = try EntitySearch.orders(orderBy, kind: .registeredModels).map {
            EntitySearch.Order(field: $0.field == "timestamp" ? "last_updated_timestamp" : $0.field, ascending: $0.ascending)
        }
        let tags = try await store.allRegistryTags()
        let records = try await store.allRegisteredModels().map { model -> (Tagged<RegisteredModel>, EntitySearch.Record) in
            let modelTags = tags[model.name]?[0] ?? []
            return (
                Tagged(item: model, tags: modelTags),
                EntitySearch.Record(
                    strings: ["name": model.name], numbers: ["last_updated_timestamp": Double(model.lastUpdatedMillis)],
                    tags: Dictionary(modelTags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }))
            )
        }.filter { search.matches($0.1) }
        let sorted = EntitySearch.sort(records, by: orders, tieBreakers: [EntitySearch.Order(field: "name", ascending: true)])
        return try EntitySearch.page(sorted, maxResults: maxResults, pageToken: pageToken)
    }

    /// MLflow's model-version search: name, run_id, source_path, version_number and tags.
    public func searchVersions(filter: String = "", orderBy: [String] = [], maxResults: Int = 10000, pageToken: String? = nil) async throws
        -> Page<Tagged<ModelVersion>>
    {
        guard (1...200_000).contains(maxResults) else { throw TrailError.invalid("max_results", "max_results must be between 1 and 200000") }
        let search = try EntitySearch(parsing: filter, kind: .modelVersions)
        let orders = try EntitySearch.orders(orderBy, kind: .modelVersions)
        let tags = try await store.allRegistryTags()
        let records = try await store.allModelVersions().map { version -> (Tagged<ModelVersion>, EntitySearch.Record) in
            let versionTags = tags[version.name]?[version.version] ?? []
            return (
                Tagged(item: version, tags: versionTags),
                EntitySearch.Record(
                    strings: ["name": version.name, "run_id": version.runID?.value ?? "", "source_path": version.source],
                    numbers: [
                        "version_number": Double(version.version), "creation_timestamp": Double(version.creationTimeMillis),
                        "last_updated_timestamp": Double(version.lastUpdatedMillis),
                    ],
                    tags: Dictionary(versionTags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }))
            )
        }.filter { search.matches($0.1) }
        let sorted = EntitySearch.sort(
            records, by: orders,
            tieBreakers: [EntitySearch.Order(field: "name", ascending: true), EntitySearch.Order(field: "version_number", ascending: false)])
        return try EntitySearch.page(sorted, maxResults: maxResults, pageToken: pageToken)
    }
}
