/// A run's execution status, as MLflow names them.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running = "RUNNING"
    case scheduled = "SCHEDULED"
    case finished = "FINISHED"
    case failed = "FAILED"
    case killed = "KILLED"

    public var isTerminal: Bool { self == .finished || self == .failed || self == .killed }
}

/// The identity and state of a run.
public struct RunInfo: Sendable, Hashable, Codable {
    public var runID: RunID
    public var experimentID: ExperimentID
    public var name: String
    public var userID: String
    public var status: RunStatus
    public var startTimeMillis: Int64
    public var endTimeMillis: Int64?
    public var lifecycleStage: LifecycleStage

    public init(
        runID: RunID, experimentID: ExperimentID, name: String, userID: String, status: RunStatus,
        startTimeMillis: Int64, endTimeMillis: Int64?, lifecycleStage: LifecycleStage
    ) {
        self.runID = runID
        self.experimentID = experimentID
        self.name = name
        self.userID = userID
        self.status = status
        self.startTimeMillis = startTimeMillis
        self.endTimeMillis = endTimeMillis
        self.lifecycleStage = lifecycleStage
    }

    /// Server-chosen logical artifact root of the run.
    public var artifactURI: String { "mlflow-artifacts:/\(experimentID)/\(runID)/artifacts" }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", experimentID = "experiment_id", name = "run_name", userID = "user_id", status
        case startTimeMillis = "start_time", endTimeMillis = "end_time", lifecycleStage = "lifecycle_stage"
        case artifactURI = "artifact_uri"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runID = try c.decode(RunID.self, forKey: .runID)
        experimentID = try c.decode(ExperimentID.self, forKey: .experimentID)
        name = try c.decode(String.self, forKey: .name)
        userID = try c.decode(String.self, forKey: .userID)
        status = try c.decode(RunStatus.self, forKey: .status)
        startTimeMillis = try c.decode(Int64.self, forKey: .startTimeMillis)
        endTimeMillis = try c.decodeIfPresent(Int64.self, forKey: .endTimeMillis)
        lifecycleStage = try c.decode(LifecycleStage.self, forKey: .lifecycleStage)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runID, forKey: .runID)
        try c.encode(experimentID, forKey: .experimentID)
        try c.encode(name, forKey: .name)
        try c.encode(userID, forKey: .userID)
        try c.encode(status, forKey: .status)
        try c.encode(startTimeMillis, forKey: .startTimeMillis)
        try c.encodeIfPresent(endTimeMillis, forKey: .endTimeMillis)
        try c.encode(lifecycleStage, forKey: .lifecycleStage)
        try c.encode(artifactURI, forKey: .artifactURI)
    }
}

/// A run with everything logged to it: latest metric per key, params, current tags and inputs.
public struct Run: Sendable, Hashable, Codable {
    public var info: RunInfo
    public var params: [Param]
    public var metrics: [Metric]
    public var tags: [Tag]
    public var inputs: [DatasetInput]
    /// Logged models the run consumed or produced (MLflow 3).
    public var modelLinks: [RunModelLink] = []

    enum CodingKeys: String, CodingKey { case info, params, metrics, tags, inputs }

    public init(info: RunInfo, params: [Param] = [], metrics: [Metric] = [], tags: [Tag] = [], inputs: [DatasetInput] = []) {
        self.info = info
        self.params = params
        self.metrics = metrics
        self.tags = tags
        self.inputs = inputs
    }
}

/// One immutable parameter of a run.
public struct Param: Sendable, Hashable, Codable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
