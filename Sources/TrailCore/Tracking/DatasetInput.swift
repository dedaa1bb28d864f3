/// A data set a run consumed: what it was (`digest` of its bytes), where it came from, its shape.
public struct DatasetInput: Sendable, Hashable, Codable {
    /// A column of the schema.
    public struct Column: Sendable, Hashable, Codable {
        public var name: String
        public var type: String
        public init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    /// The dataset's size.
    public struct Profile: Sendable, Hashable, Codable {
        public var rows: Int64
        public var columns: Int64
        public init(rows: Int64, columns: Int64) {
            self.rows = rows
            self.columns = columns
        }
    }

    public var name: String
    /// `sha256:<hex>` of the data set's bytes for native inputs; MLflow clients send their own
    /// short digests, which are stored verbatim.
    public var digest: String
    public var sourceType: String
    public var source: String
    public var schema: [Column]?
    public var profile: Profile?
    /// `training`, `evaluation`, … (MLflow's `mlflow.data.context` tag).
    public var context: String?
    /// The schema and profile exactly as an MLflow client sent them (JSON encoded as strings,
    /// of MLflow's own shape); stored verbatim and returned byte for byte.
    public var schemaText: String?
    public var profileText: String?

    public init(
        name: String, digest: String, sourceType: String = "local", source: String, schema: [Column]? = nil,
        profile: Profile? = nil, context: String? = nil
    ) {
        self.name = name
        self.digest = digest
        self.sourceType = sourceType
        self.source = source
        self.schema = schema
        self.profile = profile
        self.context = context
    }

    enum CodingKeys: String, CodingKey { case name, digest, sourceType = "source_type", source, schema, profile, context }
}
