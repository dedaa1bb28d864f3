import Foundation

/// MLflow 3's logged model: a model produced (usually) by a run, with its own artifact folder,
/// params, tags and metrics. Registering it as a model version digests its files.
public struct LoggedModel: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        case unspecified = "LOGGED_MODEL_STATUS_UNSPECIFIED"
        case pending = "LOGGED_MODEL_PENDING"
        case ready = "LOGGED_MODEL_READY"
        case uploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"

        public init(parsing text: String, field: String = "status") throws {
            if let status = Self(rawValue: text.uppercased()) {
                self = status
            } else if let number = Int(text), (0..<Self.allCases.count).contains(number) {
                self = Self.allCases[number]
            } else {
                throw TrailError.invalid(field, "\(field) must be one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text.prefix(60))'")
            }
        }
    }

    /// A metric point linked to the model (logged with its `model_id`).
    public struct LinkedMetric: Sendable, Hashable {
        public var metric: Metric
        public var runID: RunID?
        public var datasetName: String?
        public var datasetDigest: String?

        public init(metric: Metric, runID: RunID?, datasetName: String? = nil, datasetDigest: String? = nil) {
            self.metric = metric
            self.runID = runID
            self.datasetName = datasetName
            self.datasetDigest = datasetDigest
        }
    }

    public var modelID: String
    public var experimentID: ExperimentID
    public var name: String
    public var modelType: String
    public var sourceRunID: RunID?
    public var status: Status
    public var statusMessage: String
    public var lifecycleStage: LifecycleStage
    public var creationTimeMillis: Int64
    public var lastUpdatedMillis: Int64
    public var params: [Param]
    public var tags: [Tag]
    public var metrics: [LinkedMetric]

    public init(
        modelID: String, experimentID: ExperimentID, name: String, modelType: String, sourceRunID: RunID?, status: Status,
        statusMessage: String = "", lifecycleStage: LifecycleStage = .active, creationTimeMillis: Int64, lastUpdatedMillis: Int64,
        params: [Param] = [], tags: [Tag] = [], metrics: [LinkedMetric] = []
    ) {
        self.modelID = modelID
        self.experimentID = experimentID
        self.name = name
        self.modelType = modelType
        self.sourceRunID = sourceRunID
        self.status = status
        self.statusMessage = statusMessage
        self.lifecycleStage = lifecycleStage
        self.creationTimeMillis = creationTimeMillis
        self.lastUpdatedMillis = lastUpdatedMillis
        self.params = params
        self.tags = tags
        self.metrics = metrics
    }

    /// Server-chosen artifact root, as MLflow forms it: `<experiment location>/models/<id>/artifacts`.
    public var artifactURI: String { "mlflow-artifacts:/\(experimentID)/models/\(modelID)/artifacts" }

    /// A fresh id, `m-` and 32 hex digits, as MLflow makes them.
    public static func newID() -> String { "m-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }

    /// Checks the shape of a logged model id (a single URI segment, no `@` or `/`).
    public static func checkID(_ text: String, field: String = "model_id") throws {
        guard text.utf8.count == 34, text.hasPrefix("m-"), text.utf8.dropFirst(2).allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { throw TrailError.invalid(field, "\(field) must be 'm-' and 32 lowercase hexadecimal characters, got '\(text.prefix(64))'") }
    }
}

/// Where an artifact lives: under a run, or under a logged model.
public enum ArtifactOwner: Sendable, Hashable, CustomStringConvertible {
    case run(RunID)
    case loggedModel(String)

    public var description: String {
        switch self {
        case .run(let id): "run \(id)"
        case .loggedModel(let id): "logged model \(id)"
        }
    }

    /// The ledger subject of events about the owner's artifacts.
    public var subject: Subject {
        switch self {
        case .run(let id): Subject(type: "run", id: id.value)
        case .loggedModel(let id): Subject(type: "logged_model", id: id)
        }
    }
}

/// A run's link to a logged model: models it consumed (`input`) or produced (`output`, at a step).
public struct RunModelLink: Sendable, Hashable {
    public enum Direction: String, Sendable { case input, output }
    public var modelID: String
    public var direction: Direction
    public var step: Int64

    public init(modelID: String, direction: Direction, step: Int64 = 0) {
        self.modelID = modelID
        self.direction = direction
        self.step = step
    }
}
