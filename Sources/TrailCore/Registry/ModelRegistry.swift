import Foundation

/// MLflow's model stages. Deprecated in MLflow but still served; ModelTrail keeps every change.
public enum ModelStage: String, Sendable, Codable, CaseIterable {
    case none = "None"
    case staging = "Staging"
    case production = "Production"
    case archived = "Archived"

    /// Parses a stage name case-insensitively.
    public init(parsing text: String, field: String = "stage") throws {
        guard let stage = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw TrailError.invalid(field, "stage must be one of None, Staging, Production, Archived; got '\(text.prefix(40))'")
        }
        self = stage
    }
}

/// One file of a model version, by digest.
public struct ManifestFile: Sendable, Hashable, Codable {
    public var path: String
    public var digest: Digest
    public var sizeBytes: Int64

    public init(path: String, digest: Digest, sizeBytes: Int64) {
        self.path = path
        self.digest = digest
        self.sizeBytes = sizeBytes
    }

    enum CodingKeys: String, CodingKey { case path, digest, sizeBytes = "size_bytes" }
}

/// A model version's files: each file's sha256, and one root digest over them all, which is
/// what approvals and serving bind to.
public struct ModelManifest: Sendable, Hashable, Codable {
    public var files: [ManifestFile]
    public var root: Digest

    /// Builds the manifest; the root is the sha256 of the canonical JSON array of
    /// `{"digest","path","size_bytes"}` objects sorted by path.
    public init(files: [ManifestFile]) {
        let sorted = files.sorted { $0.path < $1.path }
        self.files = sorted
        let json = JSONValue.array(
            sorted.map { ["path": .string($0.path), "digest": .string($0.digest.description), "size_bytes": .int($0.sizeBytes)] })
        root = Digest.of(json.canonicalBytes)
    }
}

/// A named model.
public struct RegisteredModel: Sendable, Hashable, Codable {
    public var name: String
    public var description: String
    public var creationTimeMillis: Int64
    public var lastUpdatedMillis: Int64
    /// Alias → version number.
    public var aliases: [String: Int64]

    public init(name: String, description: String, creationTimeMillis: Int64, lastUpdatedMillis: Int64, aliases: [String: Int64]) {
        self.name = name
        self.description = description
        self.creationTimeMillis = creationTimeMillis
        self.lastUpdatedMillis = lastUpdatedMillis
        self.aliases = aliases
    }

    enum CodingKeys: String, CodingKey {
        case name, description, creationTimeMillis = "creation_timestamp", lastUpdatedMillis = "last_updated_timestamp", aliases
    }
}

/// One registered version of a model.
public struct ModelVersion: Sendable, Hashable, Codable {
    public var name: String
    public var version: Int64
    public var runID: RunID?
    /// Where the files came from: the run artifact folder.
    public var source: String
    public var manifest: ModelManifest
    public var stage: ModelStage
    public var description: String
    public var createdBy: Actor
    public var creationTimeMillis: Int64
    public var lastUpdatedMillis: Int64
    public var aliases: [String]

    public init(
        name: String, version: Int64, runID: RunID?, source: String, manifest: ModelManifest, stage: ModelStage, description: String,
        createdBy: Actor, creationTimeMillis: Int64, lastUpdatedMillis: Int64, aliases: [String]
    ) {
        self.name = name
        self.version = version
        self.runID = runID
        self.source = source
        self.manifest = manifest
        self.stage = stage
        self.description = description
        self.createdBy = createdBy
        self.creationTimeMillis = creationTimeMillis
        self.lastUpdatedMillis = lastUpdatedMillis
        self.aliases = aliases
    }

    /// Always READY: a version exists only once its files are stored and digested.
    public var status: String { "READY" }

    enum CodingKeys: String, CodingKey {
        case name, version, runID = "run_id", source, manifest, stage = "current_stage", description, createdBy = "created_by"
        case creationTimeMillis = "creation_timestamp", lastUpdatedMillis = "last_updated_timestamp", aliases, status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(Int64.self, forKey: .version)
        runID = try c.decodeIfPresent(RunID.self, forKey: .runID)
        source = try c.decode(String.self, forKey: .source)
        manifest = try c.decode(ModelManifest.self, forKey: .manifest)
        stage = try c.decode(ModelStage.self, forKey: .stage)
        description = try c.decode(String.self, forKey: .description)
        createdBy = try c.decode(Actor.self, forKey: .createdBy)
        creationTimeMillis = try c.decode(Int64.self, forKey: .creationTimeMillis)
        lastUpdatedMillis = try c.decode(Int64.self, forKey: .lastUpdatedMillis)
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(version, forKey: .version)
        try c.encodeIfPresent(runID, forKey: .runID)
        try c.encode(source, forKey: .source)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(stage, forKey: .stage)
        try c.encode(description, forKey: .description)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(creationTimeMillis, forKey: .creationTimeMillis)
        try c.encode(lastUpdatedMillis, forKey: .lastUpdatedMillis)
        try c.encode(aliases, forKey: .aliases)
        try c.encode(status, forKey: .status)
    }
}

/// One change of where a model's alias or a version's stage points, as kept forever.
public struct RegistryChange: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case alias, stage }

    public var kind: Kind
    public var name: String
    /// The alias name for alias changes; the version number for stage changes.
    public var key: String
    public var from: String?
    public var to: String?
    public var reason: String
    public var actor: Actor
    public var timeMillis: Int64
    public var eventIndex: Int64

    public init(
        kind: Kind, name: String, key: String, from: String?, to: String?, reason: String, actor: Actor, timeMillis: Int64, eventIndex: Int64
    ) {
        self.kind = kind
        self.name = name
        self.key = key
        self.from = from
        self.to = to
        self.reason = reason
        self.actor = actor
        self.timeMillis = timeMillis
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey { case kind, name, key, from, to, reason, actor, timeMillis = "time", eventIndex = "event_index" }
}
