import Foundation
import TrailCore
import TrailLearn

/// Durable prediction logging with group commits: `log` returns once the record is committed
/// (with others that arrived meanwhile) in one transaction and one ledger event. While one
/// commit is being written, new records gather for the next, so the batch size follows load.
public actor PredictionLog {
    struct Pending {
        var record: PredictionRecord
        var values: [Double]?
        var continuation: CheckedContinuation<Void, any Error>
    }

    let service: ServingService
    let deploymentID: String
    let actor: Actor
    let maxBatch: Int
    private var pending: [Pending] = []
    private var writing = false
    private var model: LoadedModel

    public init(service: ServingService, deploymentID: String, model: LoadedModel, actor: Actor, maxBatch: Int = 2000) {
        self.service = service
        self.deploymentID = deploymentID
        self.model = model
        self.actor = actor
        self.maxBatch = maxBatch
    }

    /// Later records belong to `model` (after a switch).
    public func switchModel(_ model: LoadedModel) async throws {
        try await drain()
        self.model = model
    }

    /// Logs a record durably. `values` (the checked row, in feature order) feed the drift
    /// histograms when the record is a served prediction.
    public func log(_ record: PredictionRecord, values: [Double]?) async throws {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Pending(record: record, values: values, continuation: continuation))
            if !writing {
                writing = true
                Task { await self.flushLoop() }
            }
        }
    }

    private func flushLoop() async {
        while !pending.isEmpty {
            let take = min(pending.count, maxBatch)
            let batch = Array(pending.prefix(take))
            pending.removeFirst(take)
            let current = model
            var counts: [String: [Int]] = [:]
            for item in batch where item.record.modelVersion == current.version.version {
                guard let values = item.values, let native = current.native else { continue }
                for (j, name) in native.featureNames.enumerated() {
                    guard let base = current.baseline[name] else { continue }
                    if counts[name] == nil { counts[name] = [Int](repeating: 0, count: base.edges.count + 1) }
                    counts[name]![FeatureProfile.bin(values[j], edges: base.edges)] += 1
                }
            }
            do {
                _ = try await service.commit(batch.map(\.record), deployment: deploymentID, model: current, counts: counts, actor: actor)
                for item in batch { item.continuation.resume() }
            } catch {
                for item in batch { item.continuation.resume(throwing: error) }
            }
        }
        writing = false
    }

    /// Waits until everything logged so far is committed.
    public func drain() async throws {
        while writing || !pending.isEmpty { try await Task.sleep(nanoseconds: 1_000_000) }
    }
}
