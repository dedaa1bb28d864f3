import Testing
import TrailCore

@Suite("Prediction leaves")
struct PredictionLeafTests {
    @Test(
        "the hand-written leaf is the canonical JSON of the record",
        arguments: [
            PredictionRecord(
                predictionID: "p0123", timeMillis: 1_790_000_000_000, deploymentID: "d1", modelName: "bc \"quoted\"", modelVersion: 3,
                inputDigest: Digest.of([1]), probability: 3.824494234982613e-9, prediction: 0, latencyMicros: 812, outcome: "ok"),
            PredictionRecord(
                predictionID: "p9", timeMillis: 0, deploymentID: "dé", modelName: "m", modelVersion: 1, inputDigest: Digest.of([]),
                probability: nil, prediction: nil, latencyMicros: 0, outcome: "refused", error: "missing mean_radius\n"),
            PredictionRecord(
                predictionID: "p1", timeMillis: 5, deploymentID: "d", modelName: "m", modelVersion: 1, inputDigest: Digest.of([2]),
                probability: 1, prediction: 1, latencyMicros: 1, outcome: "ok"),
            PredictionRecord(
                predictionID: "p2", timeMillis: 5, deploymentID: "d", modelName: "m", modelVersion: 1, inputDigest: Digest.of([2]),
                probability: nil, prediction: 1, latencyMicros: 1, outcome: "ok", output: #"{"label":1,"score":"NaN"}"#),
        ])
    func leafIsCanonical(_ record: PredictionRecord) {
        #expect(record.leafBytes == record.leafObject.canonicalBytes)
    }

    @Test func aLeafWithoutAnOutputKeepsItsEarlierBytes() {
        let record = PredictionRecord(
            predictionID: "p1", timeMillis: 5, deploymentID: "d", modelName: "m", modelVersion: 1, inputDigest: Digest.of([2]),
            probability: 1, prediction: 1, latencyMicros: 1, outcome: "ok")
        #expect(!String(decoding: record.leafBytes, as: UTF8.self).contains("output"))
        var mlflow = record
        mlflow.output = "1"
        #expect(String(decoding: mlflow.leafBytes, as: UTF8.self).contains(#""outcome":"ok","output":"1","prediction":1"#))
    }
}
