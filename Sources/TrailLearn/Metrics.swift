import Foundation

/// Binary classification metrics at a threshold (a score ≥ threshold predicts 1), with the
/// positive class 1. The confusion matrix has true classes as rows and predictions as
/// columns: `[[tn, fp], [fn, tp]]`.
public struct BinaryMetrics: Sendable, Hashable {
    public var accuracy: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var rocAUC: Double
    public var confusion: [[Int]]
    /// Per class (0, 1): precision, recall, f1, support.
    public var perClass: [(precision: Double, recall: Double, f1: Double, support: Int)]

    public static func == (a: BinaryMetrics, b: BinaryMetrics) -> Bool {
        a.accuracy == b.accuracy && a.precision == b.precision && a.recall == b.recall && a.f1 == b.f1 && a.rocAUC == b.rocAUC
            && a.confusion == b.confusion
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(accuracy)
        hasher.combine(rocAUC)
        hasher.combine(confusion)
    }

    public init(labels: [Int], scores: [Double], threshold: Double = 0.5) {
        var tn = 0, fp = 0, fn = 0, tp = 0
        for (label, score) in zip(labels, scores) {
            let predicted = score >= threshold ? 1 : 0
            switch (label, predicted) {
            case (0, 0): tn += 1
            case (0, _): fp += 1
            case (_, 0): fn += 1
            default: tp += 1
            }
        }
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        func harmonic(_ p: Double, _ r: Double) -> Double { p + r == 0 ? 0 : 2 * p * r / (p + r) }
        accuracy = ratio(tp + tn, labels.count)
        precision = ratio(tp, tp + fp)
        recall = ratio(tp, tp + fn)
        f1 = harmonic(precision, recall)
        rocAUC = Self.rocAUC(labels: labels, scores: scores)
        confusion = [[tn, fp], [fn, tp]]
        let p0 = ratio(tn, tn + fn), r0 = ratio(tn, tn + fp)
        perClass = [(p0, r0, harmonic(p0, r0), tn + fp), (precision, recall, f1, tp + fn)]
    }

    /// The area under the ROC curve as the Mann–Whitney statistic: the probability that a
    /// random positive scores above a random negative, ties counting one half (average ranks).
    public static func rocAUC(labels: [Int], scores: [Double]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let average = Double(i + j + 2) / 2  // ranks are 1-based
            for k in i...j { ranks[order[k]] = average }
            i = j + 1
        }
        let positives = labels.filter { $0 == 1 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return .nan }
        var rankSum = 0.0
        for (index, label) in labels.enumerated() where label == 1 { rankSum += ranks[index] }
        return (rankSum - Double(positives) * Double(positives + 1) / 2) / (Double(positives) * Double(negatives))
    }
}

/// Per-feature summary of a sample, the baseline for drift: count, mean, population std,
/// min, max and a quantile histogram (decile edges of this sample, with its counts per bin).
public struct FeatureProfile: Sendable, Hashable {
    public var name: String
    public var count: Int
    public var mean: Double
    public var std: Double
    public var min: Double
    public var max: Double
    /// Interior bin edges (9 for deciles); bin k holds values in (edges[k-1], edges[k]].
    public var edges: [Double]
    public var counts: [Int]

    public init(name: String, values: [Double], bins: Int = 10) {
        self.name = name
        count = values.count
        let n = Double(values.count)
        mean = values.reduce(0, +) / n
        let m = mean
        std = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n).squareRoot()
        let sorted = values.sorted()
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        var edges: [Double] = []
        for k in 1..<bins {
            // Linear interpolation between closest ranks (numpy's default quantile).
            let position = Double(k) / Double(bins) * Double(sorted.count - 1)
            let lower = Int(position.rounded(.down))
            let fraction = position - Double(lower)
            let value = lower + 1 < sorted.count ? sorted[lower] + (sorted[lower + 1] - sorted[lower]) * fraction : sorted[lower]
            if edges.last != value { edges.append(value) }
        }
        self.edges = edges
        counts = Self.histogram(values, edges: edges)
    }

    /// Counts of `values` per bin of `edges`.
    public static func histogram(_ values: [Double], edges: [Double]) -> [Int] {
        var counts = [Int](repeating: 0, count: edges.count + 1)
        for value in values { counts[bin(value, edges: edges)] += 1 }
        return counts
    }

    public static func bin(_ value: Double, edges: [Double]) -> Int {
        var low = 0, high = edges.count
        while low < high {
            let mid = (low + high) / 2
            if value <= edges[mid] { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// Population stability index of `actual` counts against `expected` counts (same bins),
    /// with empty bins floored at 0.0001 of the total.
    public static func psi(expected: [Int], actual: [Int]) -> Double {
        let e = Double(expected.reduce(0, +)), a = Double(actual.reduce(0, +))
        guard e > 0, a > 0 else { return 0 }
        var total = 0.0
        for (x, y) in zip(expected, actual) {
            let p = Swift.max(Double(x) / e, 0.0001), q = Swift.max(Double(y) / a, 0.0001)
            total += (q - p) * log(q / p)
        }
        return total
    }
}
