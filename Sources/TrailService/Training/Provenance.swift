import Foundation
import TrailCore
import TrailLearn

/// What `trail train` is told about a run's provenance that it cannot detect itself (the
/// provenance standard's fields; see `ProvenanceStandard`).
public struct ProvenanceInputs: Sendable, Hashable {
    /// A CycloneDX or SPDX JSON document, logged as `sbom/sbom.json` and summarised.
    public var sbom: [UInt8]?
    /// `on` or `off`: whether the job could reach the network.
    public var egressPolicy: String?
    public var featureGroups: [String]
    public var datasetID: String?
    /// The period the data covers, when no time column says it.
    public var dataTimeRange: String?
    public var containerDigest: String?
    public var trainImageVersion: String?
    /// The security pipeline's verdict on this training (PASS, FAIL or REVIEW), set while the
    /// run is open: once it ends, `security_decision` cannot change.
    public var securityDecision: String?
    /// The report behind that verdict (file name, bytes), logged under `reports/security/`.
    public var securityReport: (name: String, bytes: [UInt8])?

    public static func == (a: ProvenanceInputs, b: ProvenanceInputs) -> Bool {
        a.sbom == b.sbom && a.egressPolicy == b.egressPolicy && a.featureGroups == b.featureGroups && a.datasetID == b.datasetID
            && a.dataTimeRange == b.dataTimeRange && a.containerDigest == b.containerDigest && a.trainImageVersion == b.trainImageVersion
            && a.securityDecision == b.securityDecision && a.securityReport?.name == b.securityReport?.name
            && a.securityReport?.bytes == b.securityReport?.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sbom)
        hasher.combine(containerDigest)
        hasher.combine(securityReport?.bytes)
    }

    public init(
        sbom: [UInt8]? = nil, egressPolicy: String? = nil, featureGroups: [String] = [], datasetID: String? = nil, dataTimeRange: String? = nil,
        containerDigest: String? = nil, trainImageVersion: String? = nil, securityDecision: String? = nil,
        securityReport: (name: String, bytes: [UInt8])? = nil
    ) {
        self.securityDecision = securityDecision
        self.securityReport = securityReport
        self.sbom = sbom
        self.egressPolicy = egressPolicy
        self.featureGroups = featureGroups
        self.datasetID = datasetID
        self.dataTimeRange = dataTimeRange
        self.containerDigest = containerDigest
        self.trainImageVersion = trainImageVersion
    }

    /// Refuses what cannot be recorded, before a run exists.
    func check() throws {
        if let egressPolicy, !["on", "off"].contains(egressPolicy) {
            throw TrailError.invalid("egress-policy", "egress policy is on or off, got '\(egressPolicy.prefix(40))'")
        }
        if let sbom { _ = try SBOMSummary(parsing: sbom) }
        if let securityDecision, !["PASS", "FAIL", "REVIEW"].contains(securityDecision) {
            throw TrailError.invalid("security-decision", "a security decision is PASS, FAIL or REVIEW, got '\(securityDecision.prefix(40))'")
        }
        if let report = securityReport {
            _ = try ArtifactPath(validating: "reports/security/" + report.name)
            guard report.bytes.count <= 64 << 20 else { throw TrailError.invalid("security-report", "the security report is over 64 MiB") }
            guard securityDecision != nil else {
                throw TrailError.invalid("security-decision", "a security report goes with the decision it supports (--security-decision)")
            }
        }
        for (field, value) in [
            ("dataset-id", datasetID), ("data-time-range", dataTimeRange), ("container-digest", containerDigest),
            ("train-image-version", trainImageVersion),
        ] {
            if let value { try Limits.checkLength(value, max: 500, field: field) }
        }
        guard featureGroups.count <= 100 else { throw TrailError.invalid("feature-groups", "at most 100 feature groups") }
        for group in featureGroups { try Limits.checkLength(group, max: 250, field: "feature-groups") }
    }
}

/// A software bill of materials, as far as the promotion evidence needs it.
public struct SBOMSummary: Sendable, Hashable, Codable {
    public var format: String
    public var specVersion: String
    public var components: Int
    public var sha256: String

    public init(parsing bytes: [UInt8]) throws {
        guard bytes.count <= 64 << 20 else { throw TrailError.invalid("sbom", "the SBOM is over 64 MiB") }
        guard case .object(let document)? = try? JSONValue.parse(bytes) else {
            throw TrailError.invalid("sbom", "the SBOM is not a JSON object (CycloneDX or SPDX JSON)")
        }
        sha256 = Digest.of(bytes).description
        if document["bomFormat"]?.stringValue == "CycloneDX" {
            format = "CycloneDX"
            specVersion = document["specVersion"]?.stringValue ?? "?"
            if case .array(let items)? = document["components"] { components = items.count } else { components = 0 }
        } else if let version = document["spdxVersion"]?.stringValue {
            format = "SPDX"
            specVersion = version
            if case .array(let items)? = document["packages"] { components = items.count } else { components = 0 }
        } else {
            throw TrailError.invalid("sbom", "the SBOM is neither CycloneDX JSON (bomFormat) nor SPDX JSON (spdxVersion)")
        }
    }

    enum CodingKeys: String, CodingKey { case format, specVersion = "spec_version", components, sha256 }
}

/// A subgroup of the held-out rows, `feature OP number` (e.g. `mean_radius>=15`), whose five
/// metrics are logged beside those of its complement; the largest gap is the fairness summary.
public struct Subgroup: Sendable, Hashable {
    public var feature: String
    public var op: String
    public var value: Double
    public var text: String

    static let operators: [(String, String)] = [(">=", "ge"), ("<=", "le"), ("!=", "ne"), ("==", "eq"), (">", "gt"), ("<", "lt")]

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= 200 else { throw TrailError.invalid("subgroup", "a subgroup is at most 200 bytes") }
        for (symbol, _) in Self.operators {
            guard let range = trimmed.range(of: symbol) else { continue }
            let feature = trimmed[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let number = trimmed[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !feature.isEmpty, let value = Double(number), value.isFinite else { break }
            self.feature = feature
            self.op = symbol
            self.value = value
            self.text = "\(feature)\(symbol)\(JSONValue.ecmaScriptNumber(value))"
            return
        }
        throw TrailError.invalid("subgroup", "a subgroup is FEATURE OP NUMBER with OP one of >= <= > < == !=, got '\(trimmed.prefix(60))'")
    }

    public func contains(_ x: Double) -> Bool {
        switch op {
        case ">=": x >= value
        case "<=": x <= value
        case ">": x > value
        case "<": x < value
        case "==": x == value
        default: x != value
        }
    }

    /// A metric-key-safe name: `mean_radius_ge_15`.
    public var slug: String {
        let word = Self.operators.first { $0.0 == op }?.1 ?? "op"
        let number = JSONValue.ecmaScriptNumber(value).replacingOccurrences(of: "-", with: "m").replacingOccurrences(of: ".", with: "p")
        let safe = feature.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" }
        return "\(String(safe))_\(word)_\(number)"
    }
}

enum ProvenanceProbe {
    /// The orchestrator, pipeline and job, from the variables common CI systems and
    /// schedulers set (or the standard's own PIPELINE_ID / JOB_ID).
    static func execution(_ env: [String: String]) -> (orchestrator: String?, pipeline: String?, job: String?) {
        func v(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let dag = v("AIRFLOW_CTX_DAG_ID") {
            return ("airflow", dag, [v("AIRFLOW_CTX_DAG_RUN_ID"), v("AIRFLOW_CTX_TASK_ID")].compactMap { $0 }.joined(separator: "/"))
        }
        if v("GITHUB_ACTIONS") == "true" {
            return (
                "github-actions", [v("GITHUB_REPOSITORY"), v("GITHUB_WORKFLOW")].compactMap { $0 }.joined(separator: ":"),
                [v("GITHUB_RUN_ID"), v("GITHUB_RUN_ATTEMPT")].compactMap { $0 }.joined(separator: ".")
            )
        }
        if v("GITLAB_CI") != nil { return ("gitlab-ci", v("CI_PIPELINE_ID"), v("CI_JOB_ID")) }
        if v("JENKINS_URL") != nil { return ("jenkins", v("JOB_NAME"), v("BUILD_ID") ?? v("BUILD_NUMBER")) }
        if v("BUILDKITE") == "true" { return ("buildkite", v("BUILDKITE_PIPELINE_SLUG"), v("BUILDKITE_JOB_ID")) }
        if v("KUBERNETES_SERVICE_HOST") != nil { return ("kubernetes", v("PIPELINE_ID"), v("JOB_ID") ?? v("HOSTNAME")) }
        return (v("ORCHESTRATOR"), v("PIPELINE_ID"), v("JOB_ID"))
    }

    /// CPU, cores, RAM and GPUs of this machine.
    static func hardware() -> String {
        var cpu = "unknown"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let ram = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        var gpus: [String] = []
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/driver/nvidia/gpus") {
            for entry in entries.sorted() {
                if let info = try? String(contentsOfFile: "/proc/driver/nvidia/gpus/\(entry)/information", encoding: .utf8),
                    let line = info.split(separator: "\n").first(where: { $0.hasPrefix("Model:") })
                {
                    gpus.append(line.dropFirst("Model:".count).trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return "cpu=\(cpu); cores=\(ProcessInfo.processInfo.activeProcessorCount); ram_gib=\(String(format: "%.1f", ram)); gpu=\(gpus.isEmpty ? "none" : gpus.joined(separator: ", "))"
    }

    /// The container runtime this process runs under, if any.
    static func container() -> String? {
        if FileManager.default.fileExists(atPath: "/.dockerenv") { return "docker" }
        if FileManager.default.fileExists(atPath: "/run/.containerenv") { return "podman" }
        return nil
    }

    static func iso(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// The range of a column: numbers as numbers, anything else (ISO dates) as text.
    static func timeRange(_ bytes: [UInt8], column: String) throws -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard !lines.isEmpty else { throw TrailError.invalid("time-column", "the data is empty") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        guard let index = header.firstIndex(of: column) else { throw TrailError.invalid("time-column", "the data has no column '\(column.prefix(60))'") }
        var numbers: [Double] = []
        var texts: [String] = []
        for line in lines {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard index < cells.count else { continue }
            let cell = cells[index].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard !cell.isEmpty else { continue }
            if let number = Double(cell), number.isFinite { numbers.append(number) } else { texts.append(cell) }
        }
        if texts.isEmpty, let low = numbers.min(), let high = numbers.max() {
            return "\(JSONValue.ecmaScriptNumber(low))/\(JSONValue.ecmaScriptNumber(high))"
        }
        guard let low = texts.min(), let high = texts.max() else { throw TrailError.invalid("time-column", "column '\(column.prefix(60))' is empty") }
        return "\(low)/\(high)"
    }
}
