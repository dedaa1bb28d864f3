/// Whether an experiment or run is live or soft-deleted. Deletion is a recorded change,
/// never a removal; `restore` brings an entity back.
public enum LifecycleStage: String, Sendable, Codable, CaseIterable {
    case active
    case deleted
}

/// Which lifecycle stages a listing includes (MLflow's `ViewType`).
public enum ViewType: String, Sendable, Codable, CaseIterable {
    case activeOnly = "ACTIVE_ONLY"
    case deletedOnly = "DELETED_ONLY"
    case all = "ALL"

    public var stages: [LifecycleStage] {
        switch self {
        case .activeOnly: [.active]
        case .deletedOnly: [.deleted]
        case .all: [.active, .deleted]
        }
    }
}

/// A key/value tag on an experiment or run.
public struct Tag: Sendable, Hashable, Codable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// An experiment: a named group of runs.
public struct Experiment: Sendable, Hashable, Codable {
    public var id: ExperimentID
    public var name: String
    public var lifecycleStage: LifecycleStage
    public var creationTimeMillis: Int64
    public var lastUpdateTimeMillis: Int64
    public var tags: [Tag]

    public init(
        id: ExperimentID, name: String, lifecycleStage: LifecycleStage, creationTimeMillis: Int64,
        lastUpdateTimeMillis: Int64, tags: [Tag]
    ) {
        self.id = id
        self.name = name
        self.lifecycleStage = lifecycleStage
        self.creationTimeMillis = creationTimeMillis
        self.lastUpdateTimeMillis = lastUpdateTimeMillis
        self.tags = tags
    }

    /// Chosen by the server from the id, never by a client: the logical artifact root of the
    /// experiment's runs. Blobs themselves live under digest-derived names only.
    public var artifactLocation: String { "mlflow-artifacts:/\(id)" }

    enum CodingKeys: String, CodingKey {
        case id = "experiment_id", name, lifecycleStage = "lifecycle_stage"
        case creationTimeMillis = "creation_time", lastUpdateTimeMillis = "last_update_time", tags
        case artifactLocation = "artifact_location"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(ExperimentID.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        lifecycleStage = try c.decode(LifecycleStage.self, forKey: .lifecycleStage)
        creationTimeMillis = try c.decode(Int64.self, forKey: .creationTimeMillis)
        lastUpdateTimeMillis = try c.decode(Int64.self, forKey: .lastUpdateTimeMillis)
        tags = try c.decodeIfPresent([Tag].self, forKey: .tags) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(artifactLocation, forKey: .artifactLocation)
        try c.encode(lifecycleStage, forKey: .lifecycleStage)
        try c.encode(creationTimeMillis, forKey: .creationTimeMillis)
        try c.encode(lastUpdateTimeMillis, forKey: .lastUpdateTimeMillis)
        try c.encode(tags, forKey: .tags)
    }
}
