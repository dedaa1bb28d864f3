import Foundation
import TrailArtifacts
import TrailCore
import TrailStore

/// Registered models, versions, aliases and stages, with every move kept.
///
/// Promotion policies, approvals and identities (the gate) attach here: every alias and stage
/// change already goes through `setAlias` / `transitionStage`, one event each.
public struct RegistryService: Sendable {
    public let store: any MetadataStore
    public let clock: any TrailClock
    /// Where accepted attestation envelopes are kept, byte for byte.
    public let blobs: (any BlobStore)?
    /// Which keys are sensitive: refused in registry tags (values are sealed only on runs).
    public let privacy: PrivacyPolicy

    public init(store: any MetadataStore, blobs: (any BlobStore)? = nil, clock: any TrailClock = SystemClock(), privacy: PrivacyPolicy = .none) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.privacy = privacy
    }

    static func checkName(_ name: String, field: String = "name") throws {
        guard !name.isEmpty, name.count <= 256 else { throw TrailError.invalid(field, "model name must be 1 to 256 characters") }
        guard !name.contains("/"), !name.contains(":"), !name.contains("@"), name.trimmingCharacters(in: .whitespaces) == name else {
            throw TrailError.invalid(field, "model name '\(name.prefix(80))' must not contain '/', ':' or '@', nor start or end with a space")
        }
    }

    public static func checkAlias(_ alias: String) throws {
        // ASCII only: `ｐroduction` (fullwidth) or `prоduction` (Cyrillic о) would read as
        // `production` and escape its protection.
        guard !alias.isEmpty, alias.utf8.count <= 255,
            alias.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
        else {
            throw TrailError.invalid("alias", "alias '\(alias.prefix(80))' must be ASCII letters, digits, '_' or '-'")
        }
        let lower = alias.lowercased()
        if lower == "latest" || (lower.first == "v" && lower.dropFirst().allSatisfy(\.isNumber) && lower.count > 1) {
            throw TrailError.invalid("alias", "'\(alias)' is reserved (latest and v<number> name versions)")
        }

    }

    /// Runs a registry mutation; if it is refused (and the refusal was not already recorded,
    /// as the gate's are), records the attempt as `registry.refused` with the reason.
    func recordingRefusal<T: Sendable>(
        _ action: String, model: String, actor: Actor, facts: [String: JSONValue] = [:], _ body: () async throws -> T
    ) async throws -> T {
        do {
            return try await body()
        } catch let error as TrailError where !error.recorded {
            var all = facts
            all["attempted"] = .string(action)
            all["code"] = .string(error.code.rawValue)
            all["message"] = .string(error.message)
            all["field"] = error.field.map(JSONValue.string) ?? .null
            _ = try? await store.record(
                EventDraft(
                        action: "registry.refused", actor: actor, timeMillis: clock.nowMillis(), subject: Subject(type: "model", id: String(model.prefix(256))),
                        facts: .object(all)))
            var marked = error
            marked.recorded = true
            throw marked
        }
    }

    public func createModel(name: String, description: String = "", tags: [Tag] = [], actor: Actor) async throws -> RegisteredModel {
        try await recordingRefusal("model.create", model: name, actor: actor) {
            try await createModelUnrecorded(name: name, description: description, tags: tags, actor: actor)
        }
    }

    func createModelUnrecorded(name: String, description: String, tags: [Tag], actor: Actor) async throws -> RegisteredModel {
        try Self.checkName(name)
        try Limits.checkLength(description, max: 5000, field: "description")
        try Limits.checkTags(tags, field: "tags")
        try privacy.refuseSensitive(tags.map(\.key), field: "tags", on: "a registered model's tag")
        let now = clock.nowMillis()
        var changes: [Change] = [.createRegisteredModel(name: name, description: description, timeMillis: now)]
        if !tags.isEmpty {
            changes.append(.changeRegistryTags(name: name, version: nil, tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: now, actor: actor) }))
        }
        _ = try await store.apply(
            WriteBatch(
                changes: changes,
                event: EventDraft(
                    action: "model.create", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: ["description": .string(description), "tags": .array(tags.map { ["key": .string($0.key), "value": .string($0.value)] })])))
        return try await model(name)
    }

    public func model(_ name: String) async throws -> RegisteredModel {
        guard let model = try await store.registeredModel(name: name) else { throw TrailError.notFound("registered model", name, field: "name") }
        return model
    }

    public func models(maxResults: Int = 100, pageToken: String? = nil) async throws -> Page<RegisteredModel> {
        guard (1...1000).contains(maxResults) else { throw TrailError.invalid("max_results", "max_results must be between 1 and 1000") }
        return try await store.registeredModels(maxResults: maxResults, offset: try PageToken.decode(pageToken))
    }

    public func version(_ name: String, _ version: Int64) async throws -> ModelVersion {
        guard let found = try await store.modelVersion(name: name, version: version) else {
            _ = try await model(name)  // an unknown model is named as such
            throw TrailError.notFound("model version", "\(name)/\(version)", field: "version")
        }
        return found
    }

    public func versions(_ name: String) async throws -> [ModelVersion] {
        _ = try await model(name)
        return try await store.modelVersions(name: name)
    }

    /// Registers the files under `path` in run `runID` as a new version of `name` (creating the
    /// model if needed), with a digest manifest of those files.
    public func registerVersion(name: String, runID: RunID, path: String, description: String = "", actor: Actor) async throws -> ModelVersion {
        try await recordingRefusal("model_version.create", model: name, actor: actor, facts: ["run_id": .string(runID.value), "path": .string(path)]) {
            try await registerVersionUnrecorded(name: name, runID: runID, path: path, description: description, tags: [], actor: actor)
        }
    }

    func registerVersionUnrecorded(name: String, runID: RunID, path: String, description: String, tags: [Tag], actor: Actor) async throws
        -> ModelVersion
    {
        try Self.checkName(name)
        let prefix = path.hasSuffix("/") ? String(path.dropLast()) : path
        if !prefix.isEmpty { _ = try ArtifactPath(validating: prefix, field: "path") }
        guard let run = try await store.run(id: runID) else { throw TrailError.notFound("run", runID.value, field: "run_id") }
        let entries = try await store.artifacts(run: runID).filter {
            prefix.isEmpty || $0.path.value.hasPrefix(prefix + "/") || $0.path.value == prefix
        }
        guard !entries.isEmpty else {
            throw TrailError.invalid("path", "run \(runID) has no artifacts under '\(prefix)'; log the model files first")
        }
        let files = entries.map { entry in
            let relative =
                entry.path.value == prefix
                ? String(prefix.split(separator: "/").last!) : String(entry.path.value.dropFirst(prefix.isEmpty ? 0 : prefix.count + 1))
            return ManifestFile(path: relative, digest: entry.digest, sizeBytes: entry.sizeBytes)
        }
        return try await createVersion(
            name: name, runID: runID, source: "\(run.info.artifactURI)/\(prefix)", manifest: ModelManifest(files: files), description: description,
            tags: tags, actor: actor)
    }

    /// Points `alias` at `version` (nil removes it). The move is recorded with its reason.
    /// Moving an alias goes through the gate; removing one that a policy protects is refused
    /// (use the emergency path). What the gate read is a precondition of the write.
    public func setAlias(name: String, alias: String, version: Int64?, reason: String = "", actor: Actor) async throws {
        try await recordingRefusal(
            version == nil ? "alias.delete" : "alias.set", model: name, actor: actor,
            facts: ["alias": .string(String(alias.prefix(300))), "version": version.map(JSONValue.int) ?? .null]
        ) {
            try await retryingConcurrentChanges {
                try await setAliasUnrecorded(name: name, alias: alias, version: version, reason: reason, actor: actor)
            }
        }
    }

    /// An alias may not differ only by case from another alias of the model: protection is
    /// case-insensitive, and `production` next to `Production` would read as one.
    /// Nor may a new alias be spelled exactly as a stage: `NAME@Production` names the stage.
    func checkAliasCase(_ alias: String, of model: RegisteredModel) throws {
        if ModelStage.allCases.contains(where: { $0.rawValue == alias }) {
            throw TrailError.invalid(
                "alias", "'\(alias)' is spelled as a stage; NAME@\(alias) names the stage, so use another alias (e.g. '\(alias.lowercased())')")
        }
        if let other = model.aliases.keys.first(where: { $0 != alias && $0.lowercased() == alias.lowercased() }) {
            throw TrailError.invalid("alias", "alias '\(alias)' differs from the existing alias '\(other)' only by case")
        }
    }

    func setAliasUnrecorded(name: String, alias: String, version: Int64?, reason: String, actor: Actor) async throws {
        try Self.checkAlias(alias)
        try Limits.checkLength(reason, max: 2000, field: "reason")
        let since = try await store.eventCount()
        let current = try await model(name)
        var preconditions: [Precondition] = [.registeredModel(name)]
        var evidence: JSONValue = .null
        var subjects: [Subject] = [Subject(type: "model", id: name)]
        if let version {
            try checkAliasCase(alias, of: current)
            preconditions.append(.modelVersion(name, version))
            _ = try await self.version(name, version)
            (evidence, subjects) = try await gate(name: name, version: version, target: "@" + alias, actor: actor)
        } else {
            guard current.aliases[alias] != nil else { throw TrailError.notFound("alias", "\(name)@\(alias)", field: "alias") }
            if try await isProtected(name: name, target: "@" + alias) {
                let now = clock.nowMillis()
                let message =
                    "@\(alias) of \(name) is protected by a promotion policy: removing it would take the model out of the gate's hands; move it with the gate, or remove it through the emergency path (an admin, with a written reason)"
                _ = try await store.record(
                    EventDraft(
                        action: "promotion.refused", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                        facts: ["alias": .string(alias), "from": current.aliases[alias].map(JSONValue.int) ?? .null, "to": .null, "reason": .string(message)]))
                throw TrailError.recorded(.permissionDenied, message, field: "alias")
            }
        }
        preconditions.append(.noEventsSince(since, subjects: subjects))
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: preconditions, changes: [.setAlias(name: name, alias: alias, version: version, reason: reason, timeMillis: now)],
                event: EventDraft(
                    action: version == nil ? "alias.delete" : "alias.set", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: [
                        "alias": .string(alias), "from": current.aliases[alias].map(JSONValue.int) ?? .null,
                        "to": version.map(JSONValue.int) ?? .null,
                        "reason": .string(reason), "evidence": evidence,
                    ])))
    }

    /// The emergency path: points `alias` at `version` (nil removes it) without the gate, for
    /// an admin with a written reason (checked by the callers: the route is admin-only; local
    /// mode is the home's owner). The event is `alias.emergency`, citing the requirements that
    /// were unmet.
    public func emergencySetAlias(name: String, alias: String, version: Int64?, reason: String, actor: Actor) async throws {
        try await recordingRefusal(
            "alias.emergency", model: name, actor: actor, facts: ["alias": .string(String(alias.prefix(300))), "version": version.map(JSONValue.int) ?? .null]
        ) {
            try await retryingConcurrentChanges {
                try await emergencySetAliasUnrecorded(name: name, alias: alias, version: version, reason: reason, actor: actor)
            }
        }
    }

    func emergencySetAliasUnrecorded(name: String, alias: String, version: Int64?, reason: String, actor: Actor) async throws {
        try Self.checkAlias(alias)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count >= 10 else {
            throw TrailError.invalid("reason", "an emergency change needs a written reason (at least 10 characters)")
        }
        try Limits.checkLength(reason, max: 2000, field: "reason")
        let since = try await store.eventCount()
        let current = try await model(name)
        var preconditions: [Precondition] = [.registeredModel(name), .noEventsSince(since, subjects: [Subject(type: "model", id: name)])]
        var bypassed: [JSONValue] = []
        var policyVersion: JSONValue = .null
        if let version {
            try checkAliasCase(alias, of: current)
            _ = try await self.version(name, version)
            preconditions.append(.modelVersion(name, version))
            let report = try await evaluate(name: name, version: version, target: "@" + alias)
            bypassed = report.unmet.map { ["requirement": .string($0.requirement), "evidence": .string($0.evidence)] }
            policyVersion = report.policyVersion.map(JSONValue.int) ?? .null
        } else if current.aliases[alias] == nil {
            throw TrailError.notFound("alias", "\(name)@\(alias)", field: "alias")
        }
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: preconditions,
                changes: [.setAlias(name: name, alias: alias, version: version, reason: "EMERGENCY: " + reason, timeMillis: now)],
                event: EventDraft(
                    action: "alias.emergency", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: [
                        "alias": .string(alias), "from": current.aliases[alias].map(JSONValue.int) ?? .null, "to": version.map(JSONValue.int) ?? .null,
                        "reason": .string(reason), "policy_version": policyVersion, "bypassed": .array(bypassed),
                    ])))
    }

    /// Moves a version to a stage; `archiveExisting` archives the stage's other versions in the
    /// same change. The stage's policy and that of the same-named alias apply.
    public func transitionStage(
        name: String, version: Int64, stage: ModelStage, archiveExisting: Bool = false, reason: String = "", actor: Actor
    ) async throws -> ModelVersion {
        try await recordingRefusal("stage.transition", model: name, actor: actor, facts: ["version": .int(version), "stage": .string(stage.rawValue)]) {
            try await retryingConcurrentChanges {
                try await transitionStageUnrecorded(
                    name: name, version: version, stage: stage, archiveExisting: archiveExisting, reason: reason, actor: actor)
            }
        }
    }

    func transitionStageUnrecorded(
        name: String, version: Int64, stage: ModelStage, archiveExisting: Bool, reason: String, actor: Actor
    ) async throws -> ModelVersion {
        try Limits.checkLength(reason, max: 2000, field: "reason")
        if archiveExisting, stage != .staging, stage != .production {
            throw TrailError.invalid("archive_existing_versions", "archiving existing versions applies only to Staging and Production")
        }
        let since = try await store.eventCount()
        let current = try await self.version(name, version)
        let (evidence, subjects) = try await gate(name: name, version: version, target: stage.rawValue, actor: actor)
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.modelVersion(name, version), .noEventsSince(since, subjects: subjects)],
                changes: [.setStage(name: name, version: version, stage: stage, archiveExisting: archiveExisting, reason: reason, timeMillis: now)],
                event: EventDraft(
                    action: "stage.transition", actor: actor, timeMillis: now, subject: Subject(type: "model", id: name),
                    facts: [
                        "version": .int(version), "from": .string(current.stage.rawValue), "to": .string(stage.rawValue),
                        "archive_existing": .bool(archiveExisting), "reason": .string(reason), "evidence": evidence,
                    ])))
        return try await self.version(name, version)
    }

    public func history(_ name: String) async throws -> [RegistryChange] {
        _ = try await model(name)
        return try await store.registryHistory(name: name)
    }

    /// What `reference` (an alias, or a stage spelled as the stage: `Production`) resolved to at
    /// `timeMillis`, from the history: the version numbers (an alias has at most one; a stage
    /// may hold several). An alias never falls back to a stage.
    public func resolve(name: String, reference: String, atMillis timeMillis: Int64) async throws -> (versions: [Int64], change: RegistryChange?) {
        let changes = try await history(name).filter { $0.timeMillis <= timeMillis }
        switch ModelReference(parsing: reference) {
        case .version(let number):
            return ([number], nil)
        case .stage(let stage):
            var stages: [String: (String, RegistryChange)] = [:]
            for change in changes where change.kind == .stage { stages[change.key] = (change.to ?? "None", change) }
            let holding = stages.filter { $0.value.0 == stage.rawValue }
            let versions = holding.keys.compactMap { Int64($0) }.sorted()
            return (versions, holding.values.map(\.1).max { $0.eventIndex < $1.eventIndex })
        case .alias(let alias):
            let last = changes.last { $0.kind == .alias && $0.key == alias }
            return (last?.to.flatMap { Int64($0) }.map { [$0] } ?? [], last)
        }
    }

    /// The version `reference` names now: a version number, the version an alias points at, or
    /// the newest version in a stage. Nil when it names nothing.
    public func currentVersion(name: String, reference: ModelReference) async throws -> Int64? {
        switch reference {
        case .version(let number): return number
        case .alias(let alias): return try await model(name).aliases[alias]
        case .stage(let stage): return try await versions(name).filter { $0.stage == stage }.map(\.version).max()
        }
    }
}

/// What `NAME@reference` names: a version number, a stage spelled exactly as the stage
/// (`Staging`, `Production`, `Archived`), or otherwise an alias (`production`). One rule for
/// serving, lineage and history, so an alias can never fall back to a stage of its name.
public enum ModelReference: Sendable, Hashable, CustomStringConvertible {
    case version(Int64)
    case alias(String)
    case stage(ModelStage)

    public init(parsing text: String) {
        if let number = Int64(text), number > 0, String(number) == text {
            self = .version(number)
        } else if let stage = ModelStage.allCases.first(where: { $0.rawValue == text && $0 != .none }) {
            self = .stage(stage)
        } else {
            self = .alias(text)
        }
    }

    public var description: String {
        switch self {
        case .version(let number): String(number)
        case .alias(let alias): alias
        case .stage(let stage): stage.rawValue
        }
    }
}
