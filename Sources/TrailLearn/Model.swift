import Foundation
import TrailCore

/// Standardisation with the population standard deviation (ddof = 0); a constant feature
/// gets scale 1, as scikit-learn does.
public struct StandardScaler: Sendable, Hashable, Codable {
    public var mean: [Double]
    public var scale: [Double]

    public init(mean: [Double], scale: [Double]) {
        self.mean = mean
        self.scale = scale
    }

    public init(fitting rows: [[Double]]) {
        let d = rows.first?.count ?? 0
        let n = Double(rows.count)
        var mean = [Double](repeating: 0, count: d)
        for row in rows { for j in 0..<d { mean[j] += row[j] } }
        for j in 0..<d { mean[j] /= n }
        var variance = [Double](repeating: 0, count: d)
        for row in rows {
            for j in 0..<d {
                let delta = row[j] - mean[j]
                variance[j] += delta * delta
            }
        }
        self.mean = mean
        scale = variance.map { v in
            let s = (v / n).squareRoot()
            return s == 0 ? 1 : s
        }
    }

    public func transform(_ row: [Double]) -> [Double] {
        var out = row
        for j in out.indices { out[j] = (row[j] - mean[j]) / scale[j] }
        return out
    }
}

/// Binary logistic regression with an L2 penalty on the coefficients (not the intercept):
/// minimises Σ logloss + ‖w‖² / (2C), the objective scikit-learn's `LogisticRegression(C=…)`
/// uses. Solved by Newton's method with a backtracking line search, run until the largest
/// gradient component is below `tolerance`: deterministic, and exact to the tolerance.
public struct LogisticRegression: Sendable, Hashable {
    public var c: Double
    public var maxIterations: Int
    public var tolerance: Double

    public init(c: Double = 1.0, maxIterations: Int = 100, tolerance: Double = 1e-10) throws {
        guard c > 0, c.isFinite else { throw TrailError.invalid("C", "C must be a positive number, got \(c)") }
        guard maxIterations > 0 else { throw TrailError.invalid("max_iter", "max_iter must be positive") }
        guard tolerance > 0 else { throw TrailError.invalid("tolerance", "the tolerance must be positive") }
        self.c = c
        self.maxIterations = maxIterations
        self.tolerance = tolerance
    }

    public struct Fit: Sendable, Hashable {
        public var coefficients: [Double]
        public var intercept: Double
        public var iterations: Int
        public var gradientNorm: Double
        public var converged: Bool
    }

    /// Fits on standardised rows `x` and 0/1 `y`.
    public func fit(_ x: [[Double]], _ y: [Int]) -> Fit {
        let n = x.count
        let d = x.first?.count ?? 0
        let p = d + 1  // coefficients, then the intercept
        var theta = [Double](repeating: 0, count: p)
        let lambda = 1 / c

        func objective(_ t: [Double]) -> Double {
            var total = 0.0
            for i in 0..<n {
                var z = t[d]
                for j in 0..<d { z += x[i][j] * t[j] }
                // log(1 + e^z) - y z, computed stably.
                let softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
                total += softplus - Double(y[i]) * z
            }
            var penalty = 0.0
            for j in 0..<d { penalty += t[j] * t[j] }
            return total + 0.5 * lambda * penalty
        }

        var iterations = 0
        var gradientNorm = Double.infinity
        var current = objective(theta)
        while iterations < maxIterations {
            var gradient = [Double](repeating: 0, count: p)
            var hessian = [Double](repeating: 0, count: p * p)
            for i in 0..<n {
                var z = theta[d]
                for j in 0..<d { z += x[i][j] * theta[j] }
                let prob = Self.sigmoid(z)
                let residual = prob - Double(y[i])
                let weight = prob * (1 - prob)
                for a in 0..<p {
                    let xa = a < d ? x[i][a] : 1
                    gradient[a] += residual * xa
                    let wa = weight * xa
                    for b in 0...a {
                        let xb = b < d ? x[i][b] : 1
                        hessian[a * p + b] += wa * xb
                    }
                }
            }
            for j in 0..<d {
                gradient[j] += lambda * theta[j]
                hessian[j * p + j] += lambda
            }
            for a in 0..<p { for b in 0..<a { hessian[b * p + a] = hessian[a * p + b] } }
            gradientNorm = gradient.map(abs).max() ?? 0
            if gradientNorm < tolerance { break }
            guard let step = Self.solveCholesky(hessian, gradient, p) else { break }
            var scale = 1.0
            var next = theta
            var value = current
            while true {
                for a in 0..<p { next[a] = theta[a] - scale * step[a] }
                value = objective(next)
                if value <= current || scale < 1e-10 { break }
                scale *= 0.5
            }
            theta = next
            current = value
            iterations += 1
        }
        return Fit(
            coefficients: Array(theta[0..<d]), intercept: theta[d], iterations: iterations, gradientNorm: gradientNorm,
            converged: gradientNorm < tolerance)
    }

    public static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// Solves A x = b for symmetric positive definite A (row-major, p × p).
    static func solveCholesky(_ a: [Double], _ b: [Double], _ p: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: p * p)
        for i in 0..<p {
            for j in 0...i {
                var sum = a[i * p + j]
                for k in 0..<j { sum -= l[i * p + k] * l[j * p + k] }
                if i == j {
                    guard sum > 0 else { return nil }
                    l[i * p + i] = sum.squareRoot()
                } else {
                    l[i * p + j] = sum / l[j * p + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: p)
        for i in 0..<p {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * p + k] * y[k] }
            y[i] = sum / l[i * p + i]
        }
        var x = [Double](repeating: 0, count: p)
        for i in stride(from: p - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<p { sum -= l[k * p + i] * x[k] }
            x[i] = sum / l[i * p + i]
        }
        return x
    }
}

/// The portable model file: everything scoring needs, nothing that varies between identical
/// trainings (no times, no run ids), so the same inputs give the same bytes.
public struct LinearModel: Sendable, Hashable {
    public static let format = "modeltrail.logistic_regression/v1"
    public var featureNames: [String]
    public var scaler: StandardScaler
    public var coefficients: [Double]
    public var intercept: Double
    public var threshold: Double
    public var positiveClass: Int
    public var classLabels: [String]

    public init(
        featureNames: [String], scaler: StandardScaler, coefficients: [Double], intercept: Double, threshold: Double = 0.5,
        positiveClass: Int = 1, classLabels: [String] = ["malignant", "benign"]
    ) {
        self.featureNames = featureNames
        self.scaler = scaler
        self.coefficients = coefficients
        self.intercept = intercept
        self.threshold = threshold
        self.positiveClass = positiveClass
        self.classLabels = classLabels
    }

    /// P(class = positiveClass) for a raw (unscaled) row in `featureNames` order.
    public func probability(_ row: [Double]) -> Double {
        var z = intercept
        for j in coefficients.indices { z += (row[j] - scaler.mean[j]) / scaler.scale[j] * coefficients[j] }
        return LogisticRegression.sigmoid(z)
    }

    public func predict(_ row: [Double]) -> Int { probability(row) >= threshold ? 1 : 0 }

    public var json: JSONValue {
        [
            "format": .string(Self.format),
            "model_type": "logistic_regression",
            "feature_names": .array(featureNames.map(JSONValue.string)),
            "scaler": ["mean": .array(scaler.mean.map(JSONValue.double)), "scale": .array(scaler.scale.map(JSONValue.double))],
            "coefficients": .array(coefficients.map(JSONValue.double)),
            "intercept": .double(intercept),
            "threshold": .double(threshold),
            "positive_class": .int(Int64(positiveClass)),
            "class_labels": ["0": .string(classLabels[0]), "1": .string(classLabels[1])],
            "positive_label": .string(classLabels[positiveClass]),
            "scoring": "p = 1 / (1 + exp(-(intercept + sum_j coefficients[j] * (x[j] - scaler.mean[j]) / scaler.scale[j]))); predict positive_class when p >= threshold",
        ]
    }

    /// The canonical (RFC 8785) bytes of `json`: the model file.
    public var bytes: [UInt8] { json.canonicalBytes }

    public init(parsing bytes: [UInt8]) throws {
        let value = try JSONValue.parse(bytes)
        guard value["format"]?.stringValue == Self.format else {
            throw TrailError.invalid("model", "not a \(Self.format) model file")
        }
        func numbers(_ v: JSONValue?, _ field: String) throws -> [Double] {
            guard case .array(let items)? = v else { throw TrailError.invalid("model.\(field)", "missing") }
            return try items.map { item in
                switch item {
                case .double(let d): return d
                case .int(let i): return Double(i)
                default: throw TrailError.invalid("model.\(field)", "not a number")
                }
            }
        }
        func number(_ v: JSONValue?, _ field: String) throws -> Double { try numbers(v.map { .array([$0]) }, field)[0] }
        guard case .array(let names)? = value["feature_names"] else { throw TrailError.invalid("model.feature_names", "missing") }
        featureNames = names.compactMap(\.stringValue)
        scaler = StandardScaler(mean: try numbers(value["scaler"]?["mean"], "scaler.mean"), scale: try numbers(value["scaler"]?["scale"], "scaler.scale"))
        coefficients = try numbers(value["coefficients"], "coefficients")
        intercept = try number(value["intercept"], "intercept")
        threshold = try number(value["threshold"], "threshold")
        positiveClass = Int(value["positive_class"]?.intValue ?? 1)
        classLabels = [value["class_labels"]?["0"]?.stringValue ?? "0", value["class_labels"]?["1"]?.stringValue ?? "1"]
        guard featureNames.count == coefficients.count, scaler.mean.count == coefficients.count, scaler.scale.count == coefficients.count else {
            throw TrailError.invalid("model", "feature names, scaler and coefficients disagree in length")
        }
    }
}
