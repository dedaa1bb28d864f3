import Foundation
import TrailCore

/// TrailLearn: the small, pure-Swift learning kit behind `trail train`: CSV loading with a
/// schema check, a seeded stratified split, a standard scaler, L2 logistic regression with a
/// deterministic Newton solver, classification metrics and feature profiles. No storage, no
/// clocks, no randomness beyond the seed: the same inputs give the same bytes.

/// A numeric table: feature columns in order and a binary 0/1 target.
public struct LabeledTable: Sendable, Hashable {
    public var featureNames: [String]
    /// Row-major features.
    public var rows: [[Double]]
    public var labels: [Int]
    public var targetName: String

    public init(featureNames: [String], rows: [[Double]], labels: [Int], targetName: String = "target") {
        self.featureNames = featureNames
        self.rows = rows
        self.labels = labels
        self.targetName = targetName
    }

    public var count: Int { rows.count }

    public func subset(_ indices: [Int]) -> LabeledTable {
        LabeledTable(featureNames: featureNames, rows: indices.map { rows[$0] }, labels: indices.map { labels[$0] }, targetName: targetName)
    }

    /// Parses a CSV with a header row. Every cell must be a finite number; the target column
    /// must hold 0 and 1 and both classes must occur. With `expectedFeatures`, the header must
    /// name exactly those features (any order in the file; the table uses the expected order).
    /// `ignoring` names columns that are not features (a time column).
    public static func parseCSV(
        _ bytes: [UInt8], targetName: String = "target", expectedFeatures: [String]? = nil, ignoring: Set<String> = []
    ) throws -> LabeledTable {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let headerLine = lines.first, !headerLine.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw TrailError.invalid("data", "the CSV file is empty")
        }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        guard let targetIndex = header.firstIndex(of: targetName) else {
            throw TrailError.invalid("data", "the CSV has no '\(targetName)' column")
        }
        if let duplicate = Dictionary(grouping: header, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw TrailError.invalid("data", "the CSV names column '\(duplicate)' twice")
        }
        let fileFeatures = header.enumerated().filter { $0.offset != targetIndex && !ignoring.contains($0.element) }.map(\.element)
        let featureNames = expectedFeatures ?? fileFeatures
        if let expectedFeatures {
            let missing = expectedFeatures.filter { !fileFeatures.contains($0) }
            let extra = fileFeatures.filter { !expectedFeatures.contains($0) }
            if !missing.isEmpty || !extra.isEmpty {
                var parts: [String] = []
                if !missing.isEmpty { parts.append("missing column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))") }
                if !extra.isEmpty { parts.append("extra column\(extra.count == 1 ? "" : "s") \(extra.joined(separator: ", "))") }
                throw TrailError.invalid("data", "the CSV does not match the expected schema: " + parts.joined(separator: "; "))
            }
        }
        let columnOf = featureNames.map { name in header.firstIndex(of: name)! }
        var rows: [[Double]] = []
        var labels: [Int] = []
        rows.reserveCapacity(lines.count - 1)
        for (lineNumber, line) in lines.enumerated().dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw TrailError.invalid("data", "line \(lineNumber + 1) has \(cells.count) cells; the header has \(header.count)")
            }
            func number(_ column: Int) throws -> Double {
                let cell = cells[column].trimmingCharacters(in: .whitespaces)
                guard let value = Double(cell), value.isFinite else {
                    throw TrailError.invalid(
                        "data", "line \(lineNumber + 1), column '\(header[column])': '\(cell.prefix(40))' is not a finite number")
                }
                return value
            }
            rows.append(try columnOf.map(number))
            let label = try number(targetIndex)
            guard label == 0 || label == 1 else {
                throw TrailError.invalid("data", "line \(lineNumber + 1), column '\(targetName)': the target must be 0 or 1, got \(label)")
            }
            labels.append(Int(label))
        }
        guard !rows.isEmpty else { throw TrailError.invalid("data", "the CSV has a header but no rows") }
        guard Set(labels).count == 2 else {
            throw TrailError.invalid("data", "the target has a single class (\(labels[0])); a classifier needs both 0 and 1")
        }
        return LabeledTable(featureNames: featureNames, rows: rows, labels: labels, targetName: targetName)
    }
}

/// SplitMix64: a tiny, fully specified generator, so a seed means the same thing everywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound without modulo bias (Lemire's method is not needed at
    /// these sizes; rejection keeps it exact).
    public mutating func below(_ bound: Int) -> Int {
        let limit = UInt64.max - UInt64.max % UInt64(bound)
        while true {
            let value = next()
            if value < limit { return Int(value % UInt64(bound)) }
        }
    }

    /// Fisher–Yates, from the last element down.
    public mutating func shuffle(_ items: inout [Int]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, below(i + 1))
        }
    }
}

/// A stratified train/test split: each class contributes to the test set in proportion to
/// its size (largest remainders settle the rounding), the test set holds ceil(n × fraction)
/// rows, and both sets list row indices in ascending order.
public struct StratifiedSplit: Sendable, Hashable, Codable {
    public var train: [Int]
    public var test: [Int]

    public init(labels: [Int], testFraction: Double, seed: UInt64) throws {
        guard testFraction > 0, testFraction < 1 else {
            throw TrailError.invalid("test_size", "the test fraction must be strictly between 0 and 1, got \(testFraction)")
        }
        let n = labels.count
        let testCount = Int((Double(n) * testFraction).rounded(.up))
        let classes = Array(Set(labels)).sorted()
        guard testCount >= classes.count, n - testCount >= classes.count else {
            throw TrailError.invalid("test_size", "a test fraction of \(testFraction) leaves a set without every class (\(n) rows)")
        }
        var generator = SeededGenerator(seed: seed)
        var byClass: [[Int]] = classes.map { c in labels.indices.filter { labels[$0] == c } }
        for i in byClass.indices { generator.shuffle(&byClass[i]) }
        let exact = byClass.map { Double($0.count) * Double(testCount) / Double(n) }
        var take = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(take[$0]), -$0) > (exact[$1] - Double(take[$1]), -$1) }
        var remaining = testCount - take.reduce(0, +)
        for i in order where remaining > 0 {
            take[i] += 1
            remaining -= 1
        }
        var test: [Int] = []
        var train: [Int] = []
        for (i, members) in byClass.enumerated() {
            let count = min(max(take[i], 1), members.count - 1)
            test += members.prefix(count)
            train += members.dropFirst(count)
        }
        self.train = train.sorted()
        self.test = test.sorted()
    }
}
