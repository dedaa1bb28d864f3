import Foundation

/// A serving process's deployment of a model version: started, switched to another version
/// when the alias it follows moves, stopped. Each is a row and a ledger event.
public struct Deployment: Sendable, Hashable, Codable {
    public var deploymentID: String
    public var modelName: String
    /// What the process serves, e.g. `production` (an alias) or `3` (a pinned version).
    public var reference: String
    public var modelVersion: Int64
    public var configDigest: Digest
    public var binaryDigest: String
    public var host: String
    /// `start`, `switch` or `stop`.
    public var action: String
    public var timeMillis: Int64
    public var eventIndex: Int64

    public init(
        deploymentID: String, modelName: String, reference: String, modelVersion: Int64, configDigest: Digest, binaryDigest: String, host: String,
        action: String, timeMillis: Int64, eventIndex: Int64 = 0
    ) {
        self.deploymentID = deploymentID
        self.modelName = modelName
        self.reference = reference
        self.modelVersion = modelVersion
        self.configDigest = configDigest
        self.binaryDigest = binaryDigest
        self.host = host
        self.action = action
        self.timeMillis = timeMillis
        self.eventIndex = eventIndex
    }

    enum CodingKeys: String, CodingKey {
        case deploymentID = "deployment_id", modelName = "model_name", reference, modelVersion = "model_version"
        case configDigest = "config_digest", binaryDigest = "binary_digest", host, action, timeMillis = "time", eventIndex = "event_index"
    }
}

/// One served prediction (or one refused request), as logged before the answer is sent.
public struct PredictionRecord: Sendable, Hashable, Codable {
    public var predictionID: String
    public var timeMillis: Int64
    public var deploymentID: String
    public var modelName: String
    public var modelVersion: Int64
    /// sha256 of the canonical JSON of the input row (feature name → value); for a refused
    /// request, of the request body.
    public var inputDigest: Digest
    public var probability: Double?
    public var prediction: Int?
    public var latencyMicros: Int64
    /// `ok` or `refused`.
    public var outcome: String
    public var error: String?
    /// The canonical input row, only when the deployment keeps raw inputs.
    public var rawInput: String?
    /// What an MLflow model answered for this row, as canonical JSON (its element of
    /// `predictions`); nil for the native format, whose answer is `probability` and `prediction`.
    public var output: String?
    /// When the raw input was kept, what the reader is shown of it: `shown`, `masked` (the
    /// reader may not see it), `erased` (its key was destroyed) — never part of the leaf.
    public var rawInputState: String?

    public init(
        predictionID: String, timeMillis: Int64, deploymentID: String, modelName: String, modelVersion: Int64, inputDigest: Digest,
        probability: Double?, prediction: Int?, latencyMicros: Int64, outcome: String, error: String? = nil, rawInput: String? = nil,
        output: String? = nil
    ) {
        self.predictionID = predictionID
        self.timeMillis = timeMillis
        self.deploymentID = deploymentID
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.inputDigest = inputDigest
        self.probability = probability
        self.prediction = prediction
        self.latencyMicros = latencyMicros
        self.outcome = outcome
        self.error = error
        self.rawInput = rawInput
        self.output = output
    }

    /// The bytes of this record's Merkle leaf in its group commit: canonical JSON of every
    /// field (the raw input by its presence only; its digest is `input_digest`).
    public var leafBytes: [UInt8] {
        // Written directly in RFC 8785 key order (the same bytes as the canonical JSON of the
        // object; `PredictionLeafTests` checks that): this runs for every prediction served
        // and for every leaf of a commit when a prediction is traced.
        var out: [UInt8] = []
        out.reserveCapacity(320)
        func key(_ name: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        out.append(UInt8(ascii: "{"))
        key("deployment_id", first: true)
        JSONValue.writeString(deploymentID, into: &out)
        key("error")
        if let error { JSONValue.writeString(error, into: &out) } else { out.append(contentsOf: "null".utf8) }
        key("input_digest")
        // "sha256:<hex>" needs no escaping: written straight, without building the string.
        out.append(contentsOf: "\"sha256:".utf8)
        out.append(contentsOf: inputDigest.hex.utf8)
        out.append(UInt8(ascii: "\""))
        key("latency_us")
        out.append(contentsOf: String(latencyMicros).utf8)
        key("model_name")
        JSONValue.writeString(modelName, into: &out)
        key("model_version")
        out.append(contentsOf: String(modelVersion).utf8)
        key("outcome")
        JSONValue.writeString(outcome, into: &out)
        // Present only for MLflow models' predictions, so that every earlier leaf keeps its bytes.
        if let output {
            key("output")
            JSONValue.writeString(output, into: &out)
        }
        key("prediction")
        if let prediction { out.append(contentsOf: String(prediction).utf8) } else { out.append(contentsOf: "null".utf8) }
        key("prediction_id")
        JSONValue.writeString(predictionID, into: &out)
        key("probability")
        if let probability { JSONValue.double(probability).write(into: &out) } else { out.append(contentsOf: "null".utf8) }
        key("time")
        out.append(contentsOf: String(timeMillis).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The leaf as the canonical JSON of an object (the definition `leafBytes` implements).
    public var leafObject: JSONValue {
        var object: [String: JSONValue] = [
            "prediction_id": .string(predictionID), "time": .int(timeMillis), "deployment_id": .string(deploymentID),
            "model_name": .string(modelName), "model_version": .int(modelVersion), "input_digest": .string(inputDigest.description),
            "probability": probability.map(JSONValue.double) ?? .null, "prediction": prediction.map { .int(Int64($0)) } ?? .null,
            "latency_us": .int(latencyMicros), "outcome": .string(outcome), "error": error.map(JSONValue.string) ?? .null,
        ]
        if let output { object["output"] = .string(output) }
        return .object(object)
    }

    enum CodingKeys: String, CodingKey {
        case predictionID = "prediction_id", timeMillis = "time", deploymentID = "deployment_id", modelName = "model_name"
        case modelVersion = "model_version", inputDigest = "input_digest", probability, prediction, latencyMicros = "latency_us", outcome, error
        case rawInput = "raw_input", output, rawInputState = "raw_input_state"
    }
}

/// One group commit of predictions: the records, the per-feature histogram counts of the
/// served inputs (for drift), and the Merkle root over the records' leaves.
public struct PredictionBatch: Sendable, Hashable {
    public var deploymentID: String
    public var modelName: String
    public var modelVersion: Int64
    public var records: [PredictionRecord]
    /// Feature name → counts per bin of the training profile's edges.
    public var featureCounts: [String: [Int]]
    public var merkleRootHex: String

    public init(
        deploymentID: String, modelName: String, modelVersion: Int64, records: [PredictionRecord], featureCounts: [String: [Int]],
        merkleRootHex: String
    ) {
        self.deploymentID = deploymentID
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.records = records
        self.featureCounts = featureCounts
        self.merkleRootHex = merkleRootHex
    }
}
