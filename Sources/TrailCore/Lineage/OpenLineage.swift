import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One OpenLineage event (spec 2-0-2) as ModelTrail keeps it: what it says about a run, a job and
/// the datasets it read or wrote. The event's original bytes are kept as a blob; this is what
/// is indexed (and covered by the event's write digest). Parsing checks what Marquez checks
/// (`LineageEvent.java`) and the spec's types; every refusal names the JSON field.
public struct OpenLineageEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case run = "RunEvent"
        case job = "JobEvent"
        case dataset = "DatasetEvent"
    }

    public struct Dataset: Sendable, Hashable, Codable {
        /// `input` or `output` (a RunEvent's), or `dataset` (a DatasetEvent's).
        public var role: String
        public var namespace: String
        public var name: String
        /// The `version` facet's `datasetVersion` (a snapshot id or a content digest), if any.
        public var version: String?
        /// The `schema` facet's fields as `[{"name", "type"}]` canonical JSON, if any.
        public var schemaJSON: String?
        /// The `datasetType` facet's value (`TABLE`, `FILE`, `MODEL`, …), if any.
        public var datasetType: String?

        public init(role: String, namespace: String, name: String, version: String? = nil, schemaJSON: String? = nil, datasetType: String? = nil) {
            self.role = role
            self.namespace = namespace
            self.name = name
            self.version = version
            self.schemaJSON = schemaJSON
            self.datasetType = datasetType
        }

        /// Marquez's node id: `dataset:<namespace>:<name>`.
        public var nodeID: String { "dataset:\(namespace):\(name)" }

        enum CodingKeys: String, CodingKey {
            case role, namespace, name, version, schemaJSON = "schema", datasetType = "dataset_type"
        }
    }

    public static let eventTypes: Set<String> = ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]
    /// Facets the spec defines that Marquez models: each must carry `_producer` and `_schemaURL`.
    static let modelledFacets: Set<String> = [
        "nominalTime", "parent", "errorMessage", "documentation", "sourceCodeLocation", "sourceCode", "sql", "jobType", "ownership", "schema",
        "dataSource", "version", "datasetType", "storage", "symlinks", "lifecycleStateChange", "columnLineage",
    ]
    public static let maxDatasets = 1000
    public static let maxNameLength = 1024

    public var kind: Kind
    public var eventType: String?
    public var eventTimeMillis: Int64
    public var producer: String
    public var schemaURL: String
    /// The run's UUID, lower-case (RunEvents only).
    public var runID: String?
    public var jobNamespace: String?
    public var jobName: String?
    /// The parent run facet's run id and job, when present.
    public var parentRunID: String?
    /// `sourceCodeLocation.version`: the commit.
    public var gitCommit: String?
    /// `sourceCodeLocation.url`, or `repoUrl`.
    public var sourceLocation: String?
    /// `jobType.processingType` (`BATCH`, `STREAMING`, `SERVICE`).
    public var processingType: String?
    public var description: String?
    public var datasets: [Dataset]

    /// Marquez's node id of the job: `job:<namespace>:<name>`.
    public var jobNodeID: String? {
        guard let jobNamespace, let jobName else { return nil }
        return "job:\(jobNamespace):\(jobName)"
    }

    /// Parses and checks one event's bytes.
    public static func parse(_ bytes: [UInt8]) throws -> OpenLineageEvent {
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch { throw TrailError.invalid("body", "the body is not valid JSON: \(error)") }
        guard case .object(let event) = root else { throw TrailError.invalid("body", "an OpenLineage event is a JSON object") }

        let schemaURL = try requiredString(event, "schemaURL", "schemaURL", max: 2048)
        let producer = try requiredString(event, "producer", "producer", max: 2048)
        try checkURI(schemaURL, field: "schemaURL")
        try checkURI(producer, field: "producer")
        let timeText = try requiredString(event, "eventTime", "eventTime", max: 64)
        guard let time = parseTime(timeText) else {
            throw TrailError.invalid("eventTime", "eventTime must be an RFC 3339 date-time (e.g. 2025-01-15T10:00:00.000Z), got '\(timeText.prefix(64))'")
        }
        // Marquez's rule: the last segment of the schema URL names the kind; RunEvent otherwise.
        let suffix = schemaURL.split(separator: "/").last.map(String.init) ?? ""
        let kind = Kind(rawValue: suffix) ?? .run
        var out = OpenLineageEvent(
            kind: kind, eventType: nil, eventTimeMillis: time, producer: producer, schemaURL: schemaURL, runID: nil, jobNamespace: nil, jobName: nil,
            parentRunID: nil, gitCommit: nil, sourceLocation: nil, processingType: nil, description: nil, datasets: [])

        switch kind {
        case .run:
            if let type = event["eventType"], type != .null {
                guard let text = type.stringValue, eventTypes.contains(text) else {
                    throw TrailError.invalid("eventType", "eventType must be one of \(eventTypes.sorted().joined(separator: ", "))")
                }
                out.eventType = text
            }
            guard case .object(let run)? = event["run"] else { throw TrailError.invalid("run", "a RunEvent needs run: {runId}") }
            let runID = try requiredString(run, "runId", "run.runId", max: 64)
            guard isUUID(runID) else { throw TrailError.invalid("run.runId", "run.runId must be a UUID, got '\(runID.prefix(64))'") }
            out.runID = runID.lowercased()
            let runFacets = try facets(run["facets"], field: "run.facets")
            if case .object(let parent)? = runFacets["parent"], case .object(let parentRun)? = parent["run"] {
                let id = try requiredString(parentRun, "runId", "run.facets.parent.run.runId", max: 64)
                guard isUUID(id) else { throw TrailError.invalid("run.facets.parent.run.runId", "must be a UUID") }
                out.parentRunID = id.lowercased()
            }
            try job(event, into: &out)
            try inputsAndOutputs(event, into: &out)
        case .job:
            guard event["run"] == nil else { throw TrailError.invalid("run", "a JobEvent has no run") }
            try job(event, into: &out)
            try inputsAndOutputs(event, into: &out)
        case .dataset:
            guard event["run"] == nil else { throw TrailError.invalid("run", "a DatasetEvent has no run") }
            guard event["job"] == nil else { throw TrailError.invalid("job", "a DatasetEvent has no job") }
            guard let item = event["dataset"] else { throw TrailError.invalid("dataset", "a DatasetEvent needs dataset: {namespace, name}") }
            out.datasets.append(try dataset(item, role: "dataset", field: "dataset"))
        }
        return out
    }

    /// A run's or job's `inputs` and `outputs` (at most `maxDatasets` together).
    static func inputsAndOutputs(_ event: [String: JSONValue], into out: inout OpenLineageEvent) throws {
        for (key, role) in [("inputs", "input"), ("outputs", "output")] {
            guard let list = event[key], list != .null else { continue }
            guard case .array(let items) = list else { throw TrailError.invalid(key, "\(key) must be an array") }
            guard out.datasets.count + items.count <= maxDatasets else {
                throw TrailError.invalid(key, "at most \(maxDatasets) input and output datasets per event")
            }
            for (i, item) in items.enumerated() { out.datasets.append(try dataset(item, role: role, field: "\(key)[\(i)]")) }
        }
    }

    static func job(_ event: [String: JSONValue], into out: inout OpenLineageEvent) throws {
        guard case .object(let job)? = event["job"] else { throw TrailError.invalid("job", "the event needs job: {namespace, name}") }
        out.jobNamespace = try requiredString(job, "namespace", "job.namespace", max: maxNameLength)
        out.jobName = try requiredString(job, "name", "job.name", max: maxNameLength)
        let jobFacets = try facets(job["facets"], field: "job.facets")
        if case .object(let location)? = jobFacets["sourceCodeLocation"] {
            out.gitCommit = location["version"]?.stringValue.map { String($0.prefix(200)) }
            out.sourceLocation = (location["url"]?.stringValue ?? location["repoUrl"]?.stringValue).map { String($0.prefix(2048)) }
        }
        if case .object(let type)? = jobFacets["jobType"] { out.processingType = type["processingType"]?.stringValue.map { String($0.prefix(100)) } }
        if case .object(let documentation)? = jobFacets["documentation"] {
            out.description = documentation["description"]?.stringValue.map { String($0.prefix(4000)) }
        }
    }

    static func dataset(_ value: JSONValue, role: String, field: String) throws -> Dataset {
        guard case .object(let object) = value else { throw TrailError.invalid(field, "\(field) must be an object {namespace, name}") }
        var out = Dataset(
            role: role, namespace: try requiredString(object, "namespace", "\(field).namespace", max: maxNameLength),
            name: try requiredString(object, "name", "\(field).name", max: maxNameLength))
        let datasetFacets = try facets(object["facets"], field: "\(field).facets")
        for extra in ["inputFacets", "outputFacets"] { _ = try facets(object[extra], field: "\(field).\(extra)") }
        if case .object(let version)? = datasetFacets["version"] {
            guard let text = version["datasetVersion"]?.stringValue else {
                throw TrailError.invalid("\(field).facets.version.datasetVersion", "the version facet needs datasetVersion (a string)")
            }
            try Limits.checkLength(text, max: maxNameLength, field: "\(field).facets.version.datasetVersion")
            out.version = text
        }
        if case .object(let schema)? = datasetFacets["schema"], let fields = schema["fields"] {
            guard case .array(let items) = fields else { throw TrailError.invalid("\(field).facets.schema.fields", "fields must be an array") }
            var columns: [JSONValue] = []
            for (i, item) in items.prefix(10_000).enumerated() {
                guard let name = item["name"]?.stringValue else {
                    throw TrailError.invalid("\(field).facets.schema.fields[\(i)].name", "each schema field needs a name")
                }
                columns.append(["name": .string(String(name.prefix(1024))), "type": item["type"]?.stringValue.map { .string(String($0.prefix(200))) } ?? .null])
            }
            out.schemaJSON = JSONValue.array(columns).canonicalString
        }
        if case .object(let type)? = datasetFacets["datasetType"] { out.datasetType = type["datasetType"]?.stringValue.map { String($0.prefix(100)) } }
        return out
    }

    /// A facets object: each facet an object; the spec's modelled facets carry `_producer` and
    /// `_schemaURL` (unless `_deleted`). Unknown facets are kept, as the event bytes are.
    static func facets(_ value: JSONValue?, field: String) throws -> [String: JSONValue] {
        guard let value, value != .null else { return [:] }
        guard case .object(let facets) = value else { throw TrailError.invalid(field, "\(field) must be an object of facets") }
        for (name, facet) in facets {
            guard case .object(let body) = facet else { throw TrailError.invalid("\(field).\(name)", "a facet must be an object") }
            if body["_deleted"] == .bool(true) { continue }
            guard modelledFacets.contains(name) else { continue }
            for required in ["_producer", "_schemaURL"] where body[required]?.stringValue == nil {
                throw TrailError.invalid("\(field).\(name).\(required)", "the \(name) facet needs \(required) (a URI)")
            }
        }
        return facets
    }

    static func requiredString(_ object: [String: JSONValue], _ key: String, _ field: String, max: Int) throws -> String {
        guard let value = object[key] else { throw TrailError.invalid(field, "\(field) is required") }
        guard let text = value.stringValue else { throw TrailError.invalid(field, "\(field) must be a string") }
        guard !text.isEmpty else { throw TrailError.invalid(field, "\(field) must not be empty") }
        try Limits.checkLength(text, max: max, field: field)
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw TrailError.invalid(field, "\(field) must not contain control characters")
        }
        return text
    }

    static func checkURI(_ text: String, field: String) throws {
        // An absolute URI: a scheme, then ':' (RFC 3986 §3.1).
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex,
            text[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }), text.first?.isLetter == true
        else { throw TrailError.invalid(field, "\(field) must be an absolute URI") }
    }

    /// 8-4-4-4-12 hexadecimal digits.
    public static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte) else { return false }
            }
        }
        return true
    }

    /// RFC 3339 date-time to Unix milliseconds: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; no
    /// offset is read as UTC (Marquez accepts it). Nil for anything else or out of range.
    public static func parseTime(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= b.count else { return nil }
            var value = 0
            for i in at..<(at + count) {
                guard (48...57).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard b.count >= 19, let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"), let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), b[16] == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60, year >= 1 else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < b.count, (48...57).contains(b[i]) {
                if n < 3 { millis = millis * 10 + Int(b[i] - 48) }
                n += 1
                i += 1
                guard n <= 12 else { return nil }
            }
            guard n > 0 else { return nil }
            for _ in 0..<max(0, 3 - n) { millis *= 10 }
        }
        var offsetMinutes = 0
        if i < b.count {
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), let h = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"),
                let m = digits(i + 4, 2), h <= 23, m <= 59
            {
                offsetMinutes = (h * 60 + m) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
                i += 6
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm): no time zone, no overflow.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetMinutes * 60)
        let result = seconds * 1000 + Int64(millis)
        guard result >= 0, result <= Limits.maxTimeMillis else { return nil }
        return result
    }
}

extension OpenLineageEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, eventType = "event_type", eventTimeMillis = "event_time", producer, schemaURL = "schema_url", runID = "run_id"
        case jobNamespace = "job_namespace", jobName = "job_name", parentRunID = "parent_run_id", gitCommit = "git_commit"
        case sourceLocation = "source_location", processingType = "processing_type", description, datasets
    }
}

/// An accepted OpenLineage event as stored: what it said, where its bytes are, its ledger event.
public struct OpenLineageRecord: Sendable, Hashable, Codable {
    public var seq: Int64
    public var kind: String
    public var eventType: String?
    public var eventTimeMillis: Int64
    public var runID: String?
    public var jobNamespace: String?
    public var jobName: String?
    public var parentRunID: String?
    public var producer: String
    public var gitCommit: String?
    public var sourceLocation: String?
    public var processingType: String?
    public var description: String?
    /// The blob holding the event's original bytes.
    public var bodyDigest: String
    public var eventIndex: Int64
    public var datasets: [OpenLineageEvent.Dataset]

    public init(
        seq: Int64, kind: String, eventType: String?, eventTimeMillis: Int64, runID: String?, jobNamespace: String?, jobName: String?,
        parentRunID: String?, producer: String, gitCommit: String?, sourceLocation: String?, processingType: String?, description: String?,
        bodyDigest: String, eventIndex: Int64, datasets: [OpenLineageEvent.Dataset]
    ) {
        self.seq = seq
        self.kind = kind
        self.eventType = eventType
        self.eventTimeMillis = eventTimeMillis
        self.runID = runID
        self.jobNamespace = jobNamespace
        self.jobName = jobName
        self.parentRunID = parentRunID
        self.producer = producer
        self.gitCommit = gitCommit
        self.sourceLocation = sourceLocation
        self.processingType = processingType
        self.description = description
        self.bodyDigest = bodyDigest
        self.eventIndex = eventIndex
        self.datasets = datasets
    }

    enum CodingKeys: String, CodingKey {
        case seq, kind, eventType = "event_type", eventTimeMillis = "event_time", runID = "run_id", jobNamespace = "job_namespace"
        case jobName = "job_name", parentRunID = "parent_run_id", producer, gitCommit = "git_commit", sourceLocation = "source_location"
        case processingType = "processing_type", description, bodyDigest = "body_digest", eventIndex = "event_index", datasets
    }
}

/// Which stored OpenLineage events to read (all conditions must hold), newest first.
public struct OpenLineageQuery: Sendable {
    public var runID: String?
    public var job: (namespace: String, name: String)?
    public var dataset: (namespace: String, name: String)?
    /// Events with an output dataset of one of these versions, or one of these names.
    public var outputVersions: Set<String> = []
    public var outputNames: [(namespace: String, name: String)] = []
    /// Events whose original bytes have this digest.
    public var bodyDigest: String?
    public var limit: Int = 1000

    public init(
        runID: String? = nil, job: (namespace: String, name: String)? = nil, dataset: (namespace: String, name: String)? = nil,
        outputVersions: Set<String> = [], outputNames: [(namespace: String, name: String)] = [], bodyDigest: String? = nil, limit: Int = 1000
    ) {
        self.bodyDigest = bodyDigest
        self.runID = runID
        self.job = job
        self.dataset = dataset
        self.outputVersions = outputVersions
        self.outputNames = outputNames
        self.limit = limit
    }
}

/// A job read (`input`) or wrote (`output`) a dataset, per some OpenLineage event.
public struct OpenLineageEdge: Sendable, Hashable {
    public var role: String
    public var jobNamespace: String
    public var jobName: String
    public var datasetNamespace: String
    public var datasetName: String

    public init(role: String, jobNamespace: String, jobName: String, datasetNamespace: String, datasetName: String) {
        self.role = role
        self.jobNamespace = jobNamespace
        self.jobName = jobName
        self.datasetNamespace = datasetNamespace
        self.datasetName = datasetName
    }
}

/// One edge of ModelTrail's own lineage, for the Marquez-shaped graph: a run of an experiment
/// read a dataset (`input`) or produced a registered version (`output`: name `model/version`).
public struct RunDatasetEdge: Sendable, Hashable {
    public var experimentName: String
    public var runID: String
    public var role: String
    public var name: String
    public var digest: String
    public var source: String
    public var timeMillis: Int64

    public init(experimentName: String, runID: String, role: String, name: String, digest: String, source: String, timeMillis: Int64) {
        self.experimentName = experimentName
        self.runID = runID
        self.role = role
        self.name = name
        self.digest = digest
        self.source = source
        self.timeMillis = timeMillis
    }
}

/// Where delivery of ModelTrail's own events to one OpenLineage receiver stands.
public struct OpenLineageCursor: Sendable, Hashable, Codable {
    public var receiver: String
    /// The next ledger index to deliver: every event before it was delivered or is not reported.
    public var nextIndex: Int64
    public var delivered: Int64
    /// Consecutive failed attempts (0 after a success).
    public var failures: Int64
    public var lastError: String?
    public var lastAttemptMillis: Int64?
    public var nextAttemptMillis: Int64

    public init(
        receiver: String, nextIndex: Int64 = 0, delivered: Int64 = 0, failures: Int64 = 0, lastError: String? = nil, lastAttemptMillis: Int64? = nil,
        nextAttemptMillis: Int64 = 0
    ) {
        self.receiver = receiver
        self.nextIndex = nextIndex
        self.delivered = delivered
        self.failures = failures
        self.lastError = lastError
        self.lastAttemptMillis = lastAttemptMillis
        self.nextAttemptMillis = nextAttemptMillis
    }

    enum CodingKeys: String, CodingKey {
        case receiver, nextIndex = "next_index", delivered, failures, lastError = "last_error", lastAttemptMillis = "last_attempt"
        case nextAttemptMillis = "next_attempt"
    }
}
