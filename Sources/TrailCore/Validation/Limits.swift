/// Size limits on logged values. They follow MLflow's server so that what MLflow accepts,
/// ModelTrail accepts, and the reverse.
public enum Limits {
    public static let maxKeyLength = 250
    public static let maxParamValueLength = 6000
    public static let maxTagValueLength = 8000
    public static let maxExperimentNameLength = 500
    public static let maxRunNameLength = 500
    public static let maxBatchMetrics = 1000
    public static let maxBatchParams = 100
    public static let maxBatchTags = 100
    public static let maxBatchEntities = 1000
    /// The latest time a client may give (9999-12-31T23:59:59.999Z, in milliseconds).
    public static let maxTimeMillis: Int64 = 253_402_300_799_999
    /// The most experiments one search may name.
    public static let maxSearchExperiments = 1000
    public static let maxDatasetNameLength = 500
    public static let maxDatasetSourceLength = 65535
    public static let maxSearchResults = 50000

    /// Checks a metric, param or tag key: non-empty, at most 250 characters, and made only of
    /// letters, digits, `_ - . / :` and spaces, the set MLflow accepts.
    public static func checkKey(_ key: String, field: String) throws {
        guard !key.isEmpty else { throw TrailError.invalid(field, "key must not be empty") }
        guard key.count <= maxKeyLength else {
            throw TrailError.invalid(field, "key '\(key.prefix(40))…' is longer than \(maxKeyLength) characters")
        }
        for scalar in key.unicodeScalars {
            let ok =
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                || "_-./: ".unicodeScalars.contains(scalar)
            guard ok else {
                throw TrailError.invalid(field, "key '\(key.prefix(80))' contains '\(scalar)'; use letters, digits and _ - . / : or space")
            }
        }
        guard key != "." && key != ".." && !key.hasPrefix("/") && !key.contains("..") else {
            throw TrailError.invalid(field, "key '\(key.prefix(80))' must not be a relative or absolute path")
        }
    }

    /// Lengths count Unicode code points, as MLflow's Python `len()` does, so a limit also bounds
    /// the bytes (at most 4 per code point): one "character" made of a base and a thousand
    /// combining marks is a thousand and one, not one.
    public static func checkLength(_ value: String, max: Int, field: String) throws {
        let length = value.unicodeScalars.count
        guard length <= max else {
            throw TrailError.invalid(field, "value is \(length) characters long; the limit is \(max)")
        }
    }

    /// Every tag's key and value, naming the offending one (`tags[2].value`).
    public static func checkTags(_ tags: [Tag], field: String) throws {
        for (i, tag) in tags.enumerated() {
            try checkKey(tag.key, field: "\(field)[\(i)].key")
            try checkLength(tag.value, max: maxTagValueLength, field: "\(field)[\(i)].value")
        }
    }
}
