import Foundation
import Testing
import TrailCore
import TrailStore

/// The behaviour every `MetadataStore` must have, written once and run for every backend.
@Suite("MetadataStore conformance")
struct MetadataStoreConformanceTests {
    @Test(arguments: StoreBackend.allCases)
    func experimentsGetSequentialIDsAndUniqueNames(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let first = try await Fixtures.createExperiment(store, "a")
        let second = try await Fixtures.createExperiment(store, "b")
        #expect(second.value == first.value + 1)
        let error = await #expect(throws: TrailError.self) { _ = try await Fixtures.createExperiment(store, "a") }
        #expect(error?.code == .resourceAlreadyExists)
        #expect(try await store.experiment(named: "b")?.id == second)
        #expect(try await store.eventCount() == 2, "the refused duplicate wrote no event")
    }

    /// Values at every length the service allows are stored and read back on every backend,
    /// incompressible ones included (PostgreSQL's index entries hold about 2.7 kB).
    @Test(arguments: StoreBackend.allCases)
    func valuesAtTheLimitsAreStored(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        var random = SystemRandomNumberGenerator()
        func noise(_ count: Int, from alphabet: [Character]) -> String { String((0..<count).map { _ in alphabet.randomElement(using: &random)! }) }
        let ascii = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let wide = Array("😀🙈🦊🐙🌵🍄🎲🧪𝔘𝔫𝔦𝔠𝔬𝔡𝔢")
        let name = noise(Limits.maxExperimentNameLength / 2, from: wide)  // 4 bytes each
        let experiment = try await Fixtures.createExperiment(store, name)
        let run = try await Fixtures.createRun(store, experiment)
        let key = noise(Limits.maxKeyLength / 2, from: wide)
        let value = noise(Limits.maxParamValueLength, from: ascii)
        let tag = noise(Limits.maxTagValueLength / 2, from: wide)
        try await Fixtures.log(
            store, run, metrics: [Metric(key: key, value: 1, timestampMillis: 1, step: 0)], params: [Param(key: key, value: value), Param(key: "p", value: value)],
            tags: [TrailCore.Tag(key: key, value: tag)])
        let stored = try #require(try await store.run(id: run))
        #expect(Set(stored.params) == [Param(key: key, value: value), Param(key: "p", value: value)])
        #expect(stored.tags.first { $0.key == key }?.value == tag)
        #expect(stored.metrics.first?.key == key)
        #expect(try await store.experiment(named: name)?.id == experiment)
        let found = try await store.searchRuns(
            RunQuery(experimentIDs: [experiment], filter: try RunFilter(parsing: "params.p = '\(value)'")))
        #expect(found.items.map(\.info.runID) == [run])
    }

    @Test(arguments: StoreBackend.allCases)
    func everyCommittedBatchAppendsExactlyOneGaplessEvent(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let experiment = try await Fixtures.createExperiment(store, "e")
        let run = try await Fixtures.createRun(store, experiment)
        try await Fixtures.log(
            store, run, metrics: (0..<500).map { Metric(key: "m\($0 % 5)", value: Double($0), timestampMillis: 1, step: Int64($0)) },
            params: [Param(key: "p", value: "1")], tags: [TrailCore.Tag(key: "t", value: "v")])
        let events = try await store.events(from: 0, to: 100)
        #expect(events.map(\.index) == [0, 1, 2])
        #expect(events.map(\.action) == ["experiment.create", "run.create", "batch.log"])
        #expect(events[0].subject.id == experiment.description, "the store fills in the allocated experiment id")
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(events[2].body))
        #expect(body["index"] == .int(2))
        #expect(body["schema"] == .int(LedgerEvent.schemaVersion))
    }

    @Test(arguments: StoreBackend.allCases)
    func paramsAreImmutableAndAFailedBatchChangesNothing(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let run = try await Fixtures.createRun(store, try await Fixtures.createExperiment(store, "e"))
        try await Fixtures.log(store, run, params: [Param(key: "C", value: "1.0")])
        let before = try await store.eventCount()
        // Same value again: accepted, and since nothing changed, nothing is recorded.
        try await Fixtures.log(store, run, params: [Param(key: "C", value: "1.0")])
        #expect(try await store.eventCount() == before)
        // A batch whose second param conflicts: refused whole.
        let error = await #expect(throws: TrailError.self) {
            try await Fixtures.log(
                store, run, metrics: [Metric(key: "m", value: 1, timestampMillis: 1)],
                params: [Param(key: "new", value: "x"), Param(key: "C", value: "2.0")])
        }
        #expect(error?.code == .invalidParameterValue)
        #expect(error?.field == "params.C")
        let current = try #require(try await store.run(id: run))
        #expect(current.params == [Param(key: "C", value: "1.0")])
        #expect(current.metrics.isEmpty)
        #expect(try await store.eventCount() == before)
    }

    @Test(arguments: StoreBackend.allCases)
    func latestMetricIsGreatestStepTimestampValueAndHistoryIsComplete(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let run = try await Fixtures.createRun(store, try await Fixtures.createExperiment(store, "e"))
        try await Fixtures.log(
            store, run,
            metrics: [
                Metric(key: "loss", value: 0.9, timestampMillis: 5, step: 1), Metric(key: "loss", value: 0.5, timestampMillis: 9, step: 3),
                Metric(key: "loss", value: 0.7, timestampMillis: 7, step: 2), Metric(key: "acc", value: .nan, timestampMillis: 1, step: 0),
                Metric(key: "inf", value: .infinity, timestampMillis: 1, step: 0),
            ])
        try await Fixtures.log(store, run, metrics: [Metric(key: "loss", value: 0.6, timestampMillis: 1, step: 2)])
        let current = try #require(try await store.run(id: run))
        let latest = Dictionary(uniqueKeysWithValues: current.metrics.map { ($0.key, $0) })
        #expect(latest["loss"]?.value == 0.5)
        #expect(latest["acc"]?.value.isNaN == true)
        #expect(latest["inf"]?.value == .infinity)
        let history = try await store.metricHistory(run: run, key: "loss", maxResults: 2, offset: 0)
        #expect(history.items.map(\.value) == [0.6, 0.9])
        #expect(history.nextPageToken != nil)
        let rest = try await store.metricHistory(run: run, key: "loss", maxResults: 10, offset: 2)
        #expect(rest.items.map(\.value) == [0.7, 0.5])
        #expect(rest.nextPageToken == nil)
    }

    @Test(arguments: StoreBackend.allCases)
    func tagChangesAreHistoryNotOverwrites(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let run = try await Fixtures.createRun(store, try await Fixtures.createExperiment(store, "e"))
        try await Fixtures.log(store, run, tags: [TrailCore.Tag(key: "stage", value: "dev")])
        try await Fixtures.log(store, run, tags: [TrailCore.Tag(key: "stage", value: "prod")])
        _ = try await store.apply(
            WriteBatch(
                changes: [.changeRunTags(run, [TagChange(key: "stage", value: nil, timeMillis: 2000, actor: Fixtures.actor)])],
                event: Fixtures.event("tags.delete")))
        #expect(try await store.run(id: run)?.tags.isEmpty == true)
        let history = try await store.runTagHistory(run: run)
        #expect(history.map(\.value) == ["dev", "prod", nil])
        #expect(history.allSatisfy { $0.actor == Fixtures.actor && $0.eventIndex != nil })
    }

    @Test(arguments: StoreBackend.allCases)
    func preconditionsRefuseMissingAndDeletedEntities(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let experiment = try await Fixtures.createExperiment(store, "e")
        let missing = await #expect(throws: TrailError.self) { _ = try await Fixtures.createRun(store, ExperimentID(99)) }
        #expect(missing?.code == .resourceDoesNotExist)
        _ = try await store.apply(
            WriteBatch(changes: [.setExperimentLifecycle(experiment, .deleted, timeMillis: 2)], event: Fixtures.event("experiment.delete")))
        let deleted = await #expect(throws: TrailError.self) { _ = try await Fixtures.createRun(store, experiment) }
        #expect(deleted?.code == .invalidParameterValue)
        #expect(try await store.experiments(view: .deletedOnly, maxResults: 10, offset: 0).items.map(\.name) == ["e"])
        #expect(try await store.experiments(view: .activeOnly, maxResults: 10, offset: 0).items.isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func artifactMappingsAreImmutable(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let run = try await Fixtures.createRun(store, try await Fixtures.createExperiment(store, "e"))
        let path = try ArtifactPath(validating: "model/model.json")
        let entry = ArtifactEntry(path: path, digest: Digest.of(Array("a".utf8)), sizeBytes: 1, createdMillis: 1)
        _ = try await store.apply(WriteBatch(changes: [.putArtifact(.run(run), entry)], event: Fixtures.event("artifact.put")))
        let again = try await store.apply(WriteBatch(changes: [.putArtifact(.run(run), entry)], event: Fixtures.event("artifact.put")))
        #expect(again.eventIndex == nil, "the same content again is a no-op")
        var other = entry
        other.digest = Digest.of(Array("b".utf8))
        let error = await #expect(throws: TrailError.self) {
            _ = try await store.apply(WriteBatch(changes: [.putArtifact(.run(run), other)], event: Fixtures.event("artifact.put")))
        }
        #expect(error?.code == .resourceConflict)
        #expect(try await store.artifact(run: run, path: path)?.digest == entry.digest)
        #expect(try await store.referencedDigests() == [entry.digest])
    }

    @Test(arguments: StoreBackend.allCases)
    func datasetInputsRoundTripAndAreIdempotent(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let run = try await Fixtures.createRun(store, try await Fixtures.createExperiment(store, "e"))
        let input = DatasetInput(
            name: "bc", digest: Digest.of(Array("data".utf8)).description, source: "/data/bc.csv",
            schema: [.init(name: "x", type: "double")], profile: .init(rows: 569, columns: 31), context: "training")
        for _ in 0..<2 {
            _ = try await store.apply(WriteBatch(changes: [.insertDatasetInputs(run, [input])], event: Fixtures.event("inputs.log")))
        }
        #expect(try await store.run(id: run)?.inputs == [input])
    }
}
