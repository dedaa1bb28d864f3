import Testing
import TrailCore
import TrailStore

/// Run search semantics (MLflow §4.1), for every backend.
@Suite("Run search conformance")
struct RunSearchConformanceTests {
    struct World {
        let store: any MetadataStore
        let experiment: ExperimentID
        var runs: [String: RunID] = [:]
    }

    /// Four runs: a (acc 0.9, C=1.0, team risk), b (acc 0.7, C=0.5, team Risk), c (acc NaN), d (nothing).
    static func world(_ backend: StoreBackend) async throws -> World {
        let store = try await backend.make()
        var world = World(store: store, experiment: try await Fixtures.createExperiment(store, "search"))
        for (i, name) in ["a", "b", "c", "d"].enumerated() {
            world.runs[name] = try await Fixtures.createRun(store, world.experiment, name: "run-\(name)", start: Int64(1000 + i))
        }
        try await Fixtures.log(
            store, world.runs["a"]!, metrics: [Metric(key: "acc", value: 0.9, timestampMillis: 1)], params: [Param(key: "C", value: "1.0")],
            tags: [TrailCore.Tag(key: "team", value: "risk")])
        try await Fixtures.log(
            store, world.runs["b"]!, metrics: [Metric(key: "acc", value: 0.7, timestampMillis: 1)], params: [Param(key: "C", value: "0.5")],
            tags: [TrailCore.Tag(key: "team", value: "Risk")])
        try await Fixtures.log(store, world.runs["c"]!, metrics: [Metric(key: "acc", value: .nan, timestampMillis: 1)])
        _ = try await store.apply(
            WriteBatch(
                changes: [.insertDatasetInputs(world.runs["a"]!, [DatasetInput(name: "bc", digest: "sha256:x", source: "s", context: "training")])],
                event: Fixtures.event("inputs.log")))
        return world
    }

    func names(_ world: World, filter: String, orderBy: [String] = []) async throws -> [String] {
        let query = RunQuery(
            experimentIDs: [world.experiment], filter: try RunFilter(parsing: filter), orderBy: try orderBy.map { try RunOrder(parsing: $0) })
        return try await world.store.searchRuns(query).items.map(\.info.name)
    }

    @Test(arguments: StoreBackend.allCases)
    func filters(_ backend: StoreBackend) async throws {
        let world = try await Self.world(backend)
        #expect(try await names(world, filter: "") == ["run-d", "run-c", "run-b", "run-a"], "default order: start_time DESC")
        #expect(try await names(world, filter: "metrics.acc > 0.8") == ["run-a"])
        #expect(try await names(world, filter: "metrics.acc != 0.9") == ["run-b"], "NaN and missing do not match")
        #expect(try await names(world, filter: "params.C = '1.0' and metrics.acc >= 0.9") == ["run-a"])
        #expect(try await names(world, filter: "tags.team LIKE 'r%'") == ["run-a"], "LIKE is case-sensitive")
        #expect(try await names(world, filter: "tags.team ILIKE 'r%'") == ["run-b", "run-a"])
        #expect(try await names(world, filter: "params.C IS NULL") == ["run-d", "run-c"])
        #expect(try await names(world, filter: "params.C IS NOT NULL") == ["run-b", "run-a"])
        #expect(try await names(world, filter: "run_name = 'run-c'") == ["run-c"])
        #expect(try await names(world, filter: "attributes.run_id IN ('\(world.runs["b"]!)', '\(world.runs["d"]!)')") == ["run-d", "run-b"])
        #expect(try await names(world, filter: "datasets.context = 'training'") == ["run-a"])
        #expect(try await names(world, filter: "created >= 1002") == ["run-d", "run-c"])
        #expect(try await names(world, filter: "status = 'RUNNING' and run_name LIKE '%-_'").count == 4)
    }

    @Test(arguments: StoreBackend.allCases)
    func ordering(_ backend: StoreBackend) async throws {
        let world = try await Self.world(backend)
        #expect(
            try await names(world, filter: "", orderBy: ["metrics.acc DESC"]) == ["run-a", "run-b", "run-c", "run-d"],
            "NaN after numbers, missing last")
        #expect(try await names(world, filter: "", orderBy: ["metrics.acc ASC"]) == ["run-b", "run-a", "run-c", "run-d"])
        #expect(try await names(world, filter: "", orderBy: ["params.C"]) == ["run-b", "run-a", "run-d", "run-c"])
        #expect(try await names(world, filter: "", orderBy: ["start_time ASC"]) == ["run-a", "run-b", "run-c", "run-d"])
        #expect(try await names(world, filter: "", orderBy: ["run_name DESC"]) == ["run-d", "run-c", "run-b", "run-a"])
    }

    @Test(arguments: StoreBackend.allCases)
    func paging(_ backend: StoreBackend) async throws {
        let world = try await Self.world(backend)
        var seen: [String] = []
        var offset = 0
        while true {
            let page = try await world.store.searchRuns(RunQuery(experimentIDs: [world.experiment], maxResults: 3, offset: offset))
            seen += page.items.map(\.info.name)
            guard let token = page.nextPageToken else { break }
            offset = try PageToken.decode(token)
        }
        #expect(seen == ["run-d", "run-c", "run-b", "run-a"])
    }

    @Test(arguments: StoreBackend.allCases)
    func valuesAreBoundNotSpliced(_ backend: StoreBackend) async throws {
        let world = try await Self.world(backend)
        #expect(try await names(world, filter: "params.C = \"1.0' OR '1'='1\"").isEmpty)
        #expect(try await names(world, filter: "run_name LIKE \"%'; DROP TABLE runs; --\"").isEmpty)
        #expect(try await names(world, filter: "tags.`team' OR '1'='1` = 'x'").isEmpty)
        #expect(try await world.store.run(id: world.runs["a"]!) != nil, "tables intact")
    }

    @Test(arguments: StoreBackend.allCases)
    func deletedRunsFollowTheViewType(_ backend: StoreBackend) async throws {
        let world = try await Self.world(backend)
        _ = try await world.store.apply(
            WriteBatch(changes: [.setRunLifecycle(world.runs["a"]!, .deleted)], event: Fixtures.event("run.delete")))
        #expect(try await names(world, filter: "").contains("run-a") == false)
        let deleted = try await world.store.searchRuns(RunQuery(experimentIDs: [world.experiment], view: .deletedOnly))
        #expect(deleted.items.map(\.info.name) == ["run-a"])
    }
}
