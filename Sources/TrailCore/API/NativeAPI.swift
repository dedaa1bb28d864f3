/// Request and response bodies of the native JSON API under `/api/v1`, shared by the server
/// and by the CLI's remote mode so that the two can never drift apart.
public enum NativeAPI {
    public struct CreateExperiment: Codable, Sendable {
        public var name: String
        public var tags: [Tag]?
        public init(name: String, tags: [Tag]? = nil) {
            self.name = name
            self.tags = tags
        }
    }

    public struct RenameExperiment: Codable, Sendable {
        public var newName: String
        public init(newName: String) { self.newName = newName }
        enum CodingKeys: String, CodingKey { case newName = "new_name" }
    }

    public struct ExperimentBody: Codable, Sendable {
        public var experiment: Experiment
        public init(experiment: Experiment) { self.experiment = experiment }
    }

    public struct ExperimentList: Codable, Sendable {
        public var experiments: [Experiment]
        public var nextPageToken: String?
        public init(experiments: [Experiment], nextPageToken: String?) {
            self.experiments = experiments
            self.nextPageToken = nextPageToken
        }
        enum CodingKeys: String, CodingKey { case experiments, nextPageToken = "next_page_token" }
    }

    public struct SetTag: Codable, Sendable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public struct CreateRun: Codable, Sendable {
        public var experimentID: ExperimentID?
        public var runName: String?
        public var userID: String?
        public var startTime: Int64?
        public var tags: [Tag]?
        public init(experimentID: ExperimentID?, runName: String? = nil, userID: String? = nil, startTime: Int64? = nil, tags: [Tag]? = nil) {
            self.experimentID = experimentID
            self.runName = runName
            self.userID = userID
            self.startTime = startTime
            self.tags = tags
        }
        enum CodingKeys: String, CodingKey {
            case experimentID = "experiment_id", runName = "run_name", userID = "user_id", startTime = "start_time", tags
        }
    }

    public struct UpdateRun: Codable, Sendable {
        public var status: RunStatus?
        public var endTime: Int64?
        public var runName: String?
        public init(status: RunStatus? = nil, endTime: Int64? = nil, runName: String? = nil) {
            self.status = status
            self.endTime = endTime
            self.runName = runName
        }
        enum CodingKeys: String, CodingKey { case status, endTime = "end_time", runName = "run_name" }
    }

    public struct RunBody: Codable, Sendable {
        public var run: Run
        public init(run: Run) { self.run = run }
    }

    public struct RunInfoBody: Codable, Sendable {
        public var runInfo: RunInfo
        public init(runInfo: RunInfo) { self.runInfo = runInfo }
        enum CodingKeys: String, CodingKey { case runInfo = "run_info" }
    }

    public struct LogBatch: Codable, Sendable {
        public var metrics: [Metric]?
        public var params: [Param]?
        public var tags: [Tag]?
        public init(metrics: [Metric]? = nil, params: [Param]? = nil, tags: [Tag]? = nil) {
            self.metrics = metrics
            self.params = params
            self.tags = tags
        }
    }

    public struct LogInputs: Codable, Sendable {
        public var datasets: [DatasetInput]
        public init(datasets: [DatasetInput]) { self.datasets = datasets }
    }

    public struct SearchRuns: Codable, Sendable {
        public var experimentIDs: [ExperimentID]
        public var filter: String?
        public var orderBy: [String]?
        public var maxResults: Int?
        public var pageToken: String?
        public var runViewType: ViewType?
        public init(
            experimentIDs: [ExperimentID], filter: String? = nil, orderBy: [String]? = nil, maxResults: Int? = nil, pageToken: String? = nil,
            runViewType: ViewType? = nil
        ) {
            self.experimentIDs = experimentIDs
            self.filter = filter
            self.orderBy = orderBy
            self.maxResults = maxResults
            self.pageToken = pageToken
            self.runViewType = runViewType
        }
        enum CodingKeys: String, CodingKey {
            case experimentIDs = "experiment_ids", filter, orderBy = "order_by", maxResults = "max_results", pageToken = "page_token"
            case runViewType = "run_view_type"
        }
    }

    public struct RunList: Codable, Sendable {
        public var runs: [Run]
        public var nextPageToken: String?
        public init(runs: [Run], nextPageToken: String?) {
            self.runs = runs
            self.nextPageToken = nextPageToken
        }
        enum CodingKeys: String, CodingKey { case runs, nextPageToken = "next_page_token" }
    }

    public struct MetricHistory: Codable, Sendable {
        public var metrics: [Metric]
        public var nextPageToken: String?
        public init(metrics: [Metric], nextPageToken: String?) {
            self.metrics = metrics
            self.nextPageToken = nextPageToken
        }
        enum CodingKeys: String, CodingKey { case metrics, nextPageToken = "next_page_token" }
    }

    public struct TagHistory: Codable, Sendable {
        public var changes: [TagChange]
        public init(changes: [TagChange]) { self.changes = changes }
    }

    public struct ArtifactList: Codable, Sendable {
        public var artifacts: [ArtifactEntry]
        public init(artifacts: [ArtifactEntry]) { self.artifacts = artifacts }
    }

    public struct ArtifactBody: Codable, Sendable {
        public var artifact: ArtifactEntry
        public init(artifact: ArtifactEntry) { self.artifact = artifact }
    }

    public struct Health: Codable, Sendable {
        public var status: String
        public var version: String
        public init(status: String, version: String) {
            self.status = status
            self.version = version
        }
    }

    /// The error envelope: `{"error": {"code", "message", "field"}}`.
    public struct ErrorBody: Codable, Sendable {
        public struct Detail: Codable, Sendable {
            public var code: String
            public var message: String
            public var field: String?
        }
        public var error: Detail
        public init(_ error: TrailError) {
            self.error = Detail(code: error.code.rawValue, message: error.message, field: error.field)
        }
    }

    public struct Empty: Codable, Sendable { public init() {} }
}

/// The product version, reported by `/health` and `trail --version`.
public enum TrailVersion {
    public static let current = "0.1.0"
}
