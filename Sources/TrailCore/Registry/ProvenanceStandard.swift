import Foundation

/// The provenance standard's mandatory fields (seed 002, "campos obrigatórios"): what every
/// training run must record about its code and build, data, execution and training. A field is
/// satisfied by a tag `modeltrail.<field>` (what `trail train` writes), by the plain tag
/// `<field>` (what the standard's MLflow example writes), or by the fact the run records
/// natively where there is one (its git commit, its dataset input's digest, its times).
public enum ProvenanceStandard {
    public struct Field: Sendable, Hashable {
        public var name: String
        public var category: String
        public var meaning: String
        /// Tags or params that also satisfy it, in order of preference.
        public var alternatives: [String]

        public init(_ name: String, _ category: String, _ meaning: String, alternatives: [String] = []) {
            self.name = name
            self.category = category
            self.meaning = meaning
            self.alternatives = alternatives
        }

        /// The tag names that carry this field.
        public var tagNames: [String] { ["modeltrail.\(name)", name] + alternatives }
    }

    public static let fields: [Field] = [
        Field("git_sha", "code & build", "the commit the code was built from", alternatives: ["mlflow.source.git.commit"]),
        Field("repo_url", "code & build", "where that commit lives", alternatives: ["mlflow.source.git.repoURL"]),
        Field("container_digest", "code & build", "the training image, by digest"),
        Field("sbom_ref", "code & build", "the software bill of materials (CycloneDX or SPDX), logged as an artifact"),
        Field("train_image_version", "code & build", "the training image's version"),
        Field("dataset_id", "data", "which dataset"),
        Field("dataset_snapshot_at", "data", "when the snapshot read was taken"),
        Field("dataset_hash", "data", "the snapshot's digest", alternatives: ["data_sha256"]),
        Field("feature_groups", "data", "the feature groups read, with versions"),
        Field("data_time_range", "data", "the period the data covers"),
        Field("pipeline_id", "execution", "the pipeline that ran the training"),
        Field("job_id", "execution", "the job (run of that pipeline)"),
        Field("orchestrator", "execution", "what scheduled it (Airflow, Kubernetes, a CI system)"),
        Field("seeds", "execution", "every random seed", alternatives: ["seed"]),
        Field("train_val_test_split", "training", "how the data was split"),
        Field("hardware", "training", "CPU, GPU and RAM"),
        Field("egress_policy", "training", "whether the job could reach the network (on/off)"),
    ]

    public static let names: Set<String> = Set(fields.map(\.name))

    public static func field(_ name: String) -> Field? { fields.first { $0.name == name } }

    /// Where `field` is found in `run`, and its value; nil when the run does not record it.
    public static func resolve(_ field: Field, in run: Run) -> (source: String, value: String)? {
        for name in field.tagNames {
            if let value = run.tags.first(where: { $0.key == name })?.value, !value.trimmingCharacters(in: .whitespaces).isEmpty {
                return ("tag \(name)", value)
            }
            if let value = run.params.first(where: { $0.key == name })?.value, !value.trimmingCharacters(in: .whitespaces).isEmpty {
                return ("param \(name)", value)
            }
        }
        if field.name == "dataset_hash", let input = run.inputs.first { return ("dataset input \(input.name)", input.digest) }
        if field.name == "dataset_id", let input = run.inputs.first { return ("dataset input", input.name) }
        return nil
    }

    /// The built-in policy template `provenance-standard`: every field, and a PASS security
    /// decision (the standard's serving layer loads only those).
    public static var template: String {
        let list = fields.map { "\"\($0.name)\"" }.joined(separator: ", ")
        return #"{"provenance_fields": [\#(list)], "security_decision": "PASS"}"#
    }

    /// Built-in policy templates by name.
    public static let templates: [String: String] = ["provenance-standard": template]
}
