/// One point of a metric's history. `value` may be NaN or ±infinity, as MLflow allows; on the
/// wire those travel as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
public struct Metric: Sendable, Hashable, Codable {
    public var key: String
    public var value: Double
    public var timestampMillis: Int64
    public var step: Int64

    public init(key: String, value: Double, timestampMillis: Int64, step: Int64 = 0) {
        self.key = key
        self.value = value
        self.timestampMillis = timestampMillis
        self.step = step
    }

    enum CodingKeys: String, CodingKey { case key, value, timestampMillis = "timestamp", step }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        value = try c.decode(FlexibleDouble.self, forKey: .value).value
        timestampMillis = try c.decodeIfPresent(Int64.self, forKey: .timestampMillis) ?? 0
        step = try c.decodeIfPresent(Int64.self, forKey: .step) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(FlexibleDouble(value), forKey: .value)
        try c.encode(timestampMillis, forKey: .timestampMillis)
        try c.encode(step, forKey: .step)
    }

    /// MLflow's "latest" order: the greatest `(step, timestamp, value)` wins; NaN counts as largest.
    public func isLater(than other: Metric) -> Bool {
        if step != other.step { return step > other.step }
        if timestampMillis != other.timestampMillis { return timestampMillis > other.timestampMillis }
        if value.isNaN { return !other.value.isNaN }
        if other.value.isNaN { return false }
        return value > other.value
    }
}

/// A double that encodes non-finite values as MLflow's strings and accepts either form.
public struct FlexibleDouble: Sendable, Hashable, Codable {
    public var value: Double
    public init(_ value: Double) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let number = try? c.decode(Double.self) {
            value = number
            return
        }
        guard let number = Self.parse(try c.decode(String.self)) else {
            throw TrailError.invalid("value", "metric value must be a number or one of NaN, Infinity, -Infinity")
        }
        value = number
    }

    /// Parses a decimal number or MLflow's `NaN`, `Infinity`, `-Infinity`.
    public static func parse(_ text: String) -> Double? {
        switch text {
        case "NaN", "nan": return .nan
        case "Infinity", "inf", "+Infinity": return .infinity
        case "-Infinity", "-inf": return -.infinity
        default: return Double(text)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if value.isNaN {
            try c.encode("NaN")
        } else if value.isInfinite {
            try c.encode(value > 0 ? "Infinity" : "-Infinity")
        } else {
            try c.encode(value)
        }
    }
}
