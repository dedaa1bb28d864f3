import Testing
import TrailCore

@Suite("MLflow run filter grammar")
struct RunFilterTests {
    @Test(
        "parses MLflow's examples",
        arguments: [
            "metrics.acc > 0.5 and params.alpha = '0.1'", "tags.`mlflow.runName` = \"x\"", "tags.mlflow.runName = 'x'",
            "metric.`f1 score` > 0.1", "attributes.run_id IN ('a','b')", "run_name LIKE '%flow%'", "params.p IS NULL",
            "datasets.digest IN ('x','y')", "attributes.created > 5", "params.p IS NOT NULL", "status != 'FAILED'",
            "metrics.loss <= -1e3", "tags.team ILIKE 'RI%'", "attributes.run_id NOT IN ('a')", "",
        ])
    func parses(_ text: String) throws {
        _ = try RunFilter(parsing: text)
    }

    @Test(
        "refuses what MLflow refuses",
        arguments: [
            "params.my-param = '1'", "metrics.acc = '0.5'", "params.alpha = 0.1", "metrics.a > 1 OR metrics.b > 1", "metrics.a IS NULL",
            "unknown_attr = 'x'", "foo.bar = 'x'", "params.a = 'x", "metrics.a >", "run_name IN ('a')", "metrics.a > 1 metrics.b > 2",
            "(metrics.a > 1)", "params.a = 'x'; DROP TABLE runs",
        ])
    func refuses(_ text: String) {
        let error = #expect(throws: TrailError.self) { try RunFilter(parsing: text) }
        #expect(error?.field == "filter")
    }

    @Test func resolvesEntitiesKeysAndAliases() throws {
        let filter = try RunFilter(parsing: "tags.mlflow.runName = 'x' and created >= 10 and metric.`f1 score` > 0.1")
        #expect(filter.clauses[0] == .init(entity: .tag, key: "mlflow.runName", comparator: .equal, value: .string("x")))
        #expect(filter.clauses[1] == .init(entity: .attribute, key: "start_time", comparator: .greaterOrEqual, value: .number(10)))
        #expect(filter.clauses[2] == .init(entity: .metric, key: "f1 score", comparator: .greater, value: .number(0.1)))
    }

    @Test func parsesOrderBy() throws {
        #expect(try RunOrder(parsing: "metrics.acc DESC") == RunOrder(entity: .metric, key: "acc", ascending: false))
        #expect(try RunOrder(parsing: "start_time") == RunOrder(entity: .attribute, key: "start_time", ascending: true))
        #expect(try RunOrder(parsing: "params.`my key` asc") == RunOrder(entity: .param, key: "my key", ascending: true))
        #expect(throws: TrailError.self) { try RunOrder(parsing: "bogus DESC") }
    }

    @Test func pageTokensRoundTripAndRejectGarbage() throws {
        #expect(try PageToken.decode(PageToken.encode(offset: 42)) == 42)
        #expect(try PageToken.decode(nil) == 0)
        #expect(throws: TrailError.self) { try PageToken.decode("not-a-token") }
    }

    @Test func latestMetricOrder() {
        let base = Metric(key: "k", value: 1, timestampMillis: 10, step: 1)
        #expect(Metric(key: "k", value: 0, timestampMillis: 0, step: 2).isLater(than: base))
        #expect(Metric(key: "k", value: 0, timestampMillis: 11, step: 1).isLater(than: base))
        #expect(Metric(key: "k", value: 2, timestampMillis: 10, step: 1).isLater(than: base))
        #expect(Metric(key: "k", value: .nan, timestampMillis: 10, step: 1).isLater(than: base))
        #expect(!base.isLater(than: base))
    }
}
