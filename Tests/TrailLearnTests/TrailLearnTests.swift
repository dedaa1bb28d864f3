import Foundation
import Testing
import TrailCore
import TrailLearn

/// TrailLearn against scikit-learn's reference values (`reference_sklearn.json`, scikit-learn
/// 1.9.1 on the full Breast Cancer Wisconsin data).
@Suite("TrailLearn against scikit-learn")
struct TrailLearnTests {
    static func resource(_ name: String, _ ext: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Reference"))
        return Array(try Data(contentsOf: url))
    }

    static func reference() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(try resource("reference_sklearn", "json"))) as? [String: Any])
    }

    static func table() throws -> LabeledTable { try LabeledTable.parseCSV(try resource("breast_cancer", "csv")) }

    @Test func scalerAndSolverReachTheReferenceOptimum() throws {
        let reference = try Self.reference()
        let table = try Self.table()
        #expect(table.featureNames == reference["feature_order"] as! [String])
        #expect(table.count == 569)
        let scaler = StandardScaler(fitting: table.rows)
        for (mine, theirs) in zip(scaler.mean + scaler.scale, (reference["scaler_mean"] as! [Double]) + (reference["scaler_scale"] as! [Double])) {
            #expect(abs(mine - theirs) <= 1e-9 * max(1, abs(theirs)))
        }
        let fit = try LogisticRegression(c: 1.0).fit(table.rows.map(scaler.transform), table.labels)
        #expect(fit.converged)
        let coef = reference["coef"] as! [Double]
        let worst = zip(fit.coefficients, coef).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4, "largest coefficient difference \(worst)")
        #expect(abs(fit.intercept - (reference["intercept"] as! Double)) <= 1e-4)
        let model = LinearModel(featureNames: table.featureNames, scaler: scaler, coefficients: fit.coefficients, intercept: fit.intercept)
        let first = (0..<5).map { model.probability(table.rows[$0]) }
        for (mine, theirs) in zip(first, reference["first_5_probabilities"] as! [Double]) {
            #expect(abs(mine - theirs) <= 1e-6 * max(1e-3, theirs) + 1e-9)
        }
        let train = reference["train_metrics_threshold_0_5"] as! [String: Any]
        let metrics = BinaryMetrics(labels: table.labels, scores: table.rows.map(model.probability))
        #expect(metrics.confusion == train["confusion_matrix_rows_true_cols_pred"] as! [[Int]])
        #expect(abs(metrics.rocAUC - (train["roc_auc"] as! Double)) <= 1e-9)
    }

    @Test func metricsMatchWithTies() throws {
        let cases = try #require(try Self.reference()["metric_cases"] as? [[String: Any]])
        #expect(cases.count == 3)
        for item in cases {
            let metrics = BinaryMetrics(labels: item["y_true"] as! [Int], scores: item["y_score"] as! [Double], threshold: item["threshold"] as! Double)
            for (mine, key) in [
                (metrics.accuracy, "accuracy"), (metrics.precision, "precision"), (metrics.recall, "recall"), (metrics.f1, "f1"),
                (metrics.rocAUC, "roc_auc"),
            ] {
                #expect(abs(mine - (item[key] as! Double)) <= 1e-9, "\(key): \(mine) vs \(item[key]!)")
            }
            #expect(metrics.confusion == item["confusion_matrix"] as! [[Int]])
        }
    }

    @Test func sameSeedSameSplitSameModelBytes() throws {
        let table = try Self.table()
        func train(seed: UInt64) throws -> [UInt8] {
            let split = try StratifiedSplit(labels: table.labels, testFraction: 0.2, seed: seed)
            let rows = split.train.map { table.rows[$0] }
            let scaler = StandardScaler(fitting: rows)
            let fit = try LogisticRegression(c: 1).fit(rows.map(scaler.transform), split.train.map { table.labels[$0] })
            return LinearModel(featureNames: table.featureNames, scaler: scaler, coefficients: fit.coefficients, intercept: fit.intercept).bytes
        }
        let split = try StratifiedSplit(labels: table.labels, testFraction: 0.2, seed: 42)
        #expect(split.test.count == 114)
        #expect(split.train.count == 455)
        #expect(Set(split.train).isDisjoint(with: split.test))
        // Stratified: the class balance of the test set is the data's, to within one row.
        let positives = split.test.filter { table.labels[$0] == 1 }.count
        #expect(abs(Double(positives) - 114.0 * 357 / 569) <= 1)
        #expect(try train(seed: 42) == train(seed: 42))
        #expect(try train(seed: 42) != train(seed: 7))
        let model = try LinearModel(parsing: try train(seed: 42))
        #expect(model.bytes == (try train(seed: 42)), "the model file round-trips")
    }

    @Test(
        "bad input is named",
        arguments: [
            ("", "empty"),
            ("a,b,target\n", "no rows"),
            ("a,b,target\n1,x,0\n2,3,1\n", "column 'b'"),
            ("a,b,target\n1,2,1\n2,3,1\n", "single class"),
            ("a,b,target\n1,2,2\n", "0 or 1"),
            ("a,b,target\n1,2\n", "line 2 has 2 cells"),
            ("a,target\n1,0\n2,1\n", "missing column b"),
            ("a,b,c,target\n1,2,3,0\n2,3,4,1\n", "extra column c"),
        ])
    func badCSV(_ text: String, _ fragment: String) {
        let expected = text.contains("c,target") || text.hasPrefix("a,target") ? ["a", "b"] : nil
        let error = #expect(throws: TrailError.self) { _ = try LabeledTable.parseCSV(Array(text.utf8), expectedFeatures: expected) }
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test func badParametersAreRefused() {
        #expect(throws: TrailError.self) { _ = try LogisticRegression(c: 0) }
        #expect(throws: TrailError.self) { _ = try LogisticRegression(c: -1) }
        #expect(throws: TrailError.self) { _ = try StratifiedSplit(labels: [0, 1, 0, 1], testFraction: 1, seed: 1) }
        #expect(throws: TrailError.self) { _ = try StratifiedSplit(labels: [0, 1, 0, 1], testFraction: 0, seed: 1) }
    }

    @Test func profileAndPSI() {
        let values = (1...100).map(Double.init)
        let profile = FeatureProfile(name: "x", values: values)
        #expect(profile.count == 100 && profile.min == 1 && profile.max == 100 && profile.mean == 50.5)
        #expect(profile.edges.count == 9 && profile.counts.reduce(0, +) == 100)
        #expect(profile.counts.allSatisfy { $0 == 10 })
        #expect(FeatureProfile.psi(expected: profile.counts, actual: profile.counts) == 0)
        let shifted = FeatureProfile.histogram(values.map { $0 + 50 }, edges: profile.edges)
        #expect(FeatureProfile.psi(expected: profile.counts, actual: shifted) > 0.25)
    }
}
