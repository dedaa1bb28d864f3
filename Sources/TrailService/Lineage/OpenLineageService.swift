import Foundation
import TrailArtifacts
import TrailCore
import TrailStore

/// OpenLineage in, and a Marquez-shaped read (issue #19): events from orchestrators (Airflow,
/// Spark, dbt, the official clients) land in the same proven record as ModelTrail's own facts,
/// and the job/dataset graph, theirs and ModelTrail's together, reads as Marquez serves it.
public struct OpenLineageService: Sendable {
    public let tracking: TrackingService

    public init(tracking: TrackingService) { self.tracking = tracking }

    /// The largest event accepted (after decompression).
    public static let maxEventBytes = 4 << 20
    /// The namespace of ModelTrail's own jobs (experiments) and of registered model versions.
    public static let namespace = "modeltrail"

    public struct Accepted: Sendable, Codable, Hashable {
        public var kind: OpenLineageEvent.Kind
        public var runID: String?
        public var eventIndex: Int64?
        public var bodyDigest: String
        /// False when the same bytes were accepted before (a client's retry): nothing new recorded.
        public var recorded: Bool

        enum CodingKeys: String, CodingKey { case kind, runID = "run_id", eventIndex = "event_index", bodyDigest = "body_digest", recorded }
    }

    /// Accepts one event: checked, its bytes stored as a blob, then one transaction and one
    /// ledger event (`openlineage.ingest`) that indexes it. The same bytes again (a retry) are
    /// answered with the first acceptance.
    public func ingest(_ bytes: [UInt8], actor: Actor) async throws -> Accepted {
        guard !bytes.isEmpty else { throw TrailError.invalid("body", "the body is empty: send one OpenLineage event as JSON") }
        guard bytes.count <= Self.maxEventBytes else {
            throw TrailError(.requestTooLarge, "an OpenLineage event is at most \(Self.maxEventBytes) bytes", field: "body")
        }
        guard !bytes.contains(0) else { throw TrailError.invalid("body", "a NUL byte is not accepted") }
        let event = try OpenLineageEvent.parse(bytes)
        let digest = Digest.of(bytes)
        if let earlier = try await tracking.store.openLineageEvents(matching: OpenLineageQuery(bodyDigest: digest.description, limit: 1)).first {
            return Accepted(kind: event.kind, runID: event.runID, eventIndex: earlier.eventIndex, bodyDigest: digest.description, recorded: false)
        }
        let (stored, size) = try await tracking.blobs.put(bytes)
        let now = tracking.clock.nowMillis()
        let subject: Subject =
            if let run = event.runID {
                Subject(type: "openlineage_run", id: run)
            } else if let job = event.jobNodeID {
                Subject(type: "openlineage_job", id: String(job.prefix(2100)))
            } else {
                Subject(type: "openlineage_dataset", id: String((event.datasets.first?.nodeID ?? "").prefix(2100)))
            }
        var facts: [String: JSONValue] = [
            "kind": .string(event.kind.rawValue), "event_time": .int(event.eventTimeMillis), "producer": .string(event.producer),
            "body_digest": .string(stored.description), "body_bytes": .int(size),
            "datasets": .array(
                event.datasets.map { dataset in
                    var out: [String: JSONValue] = [
                        "role": .string(dataset.role), "namespace": .string(dataset.namespace), "name": .string(dataset.name),
                    ]
                    if let version = dataset.version { out["version"] = .string(version) }
                    return .object(out)
                }),
        ]
        if let type = event.eventType { facts["event_type"] = .string(type) }
        if let namespace = event.jobNamespace, let name = event.jobName { facts["job"] = ["namespace": .string(namespace), "name": .string(name)] }
        if let commit = event.gitCommit { facts["git_commit"] = .string(commit) }
        let receipt = try await tracking.store.apply(
            WriteBatch(
                changes: [.recordOpenLineage(event, body: stored, bodyBytes: size, receivedMillis: now)],
                event: EventDraft(
                    action: "openlineage.ingest", actor: actor, timeMillis: now, subject: subject, facts: .object(facts), artifactDigests: [stored])))
        return Accepted(kind: event.kind, runID: event.runID, eventIndex: receipt.eventIndex, bodyDigest: stored.description, recorded: true)
    }

    // MARK: - Names

    /// The OpenLineage dataset a ModelTrail dataset input names, by the naming conventions:
    /// `s3://bucket/key` → (`s3://bucket`, `key`); a path → (`file`, path); else ModelTrail's own.
    public static func datasetName(source: String, name: String) -> (namespace: String, name: String) {
        if let scheme = source.range(of: "://") {
            let rest = source[scheme.upperBound...]
            if let slash = rest.firstIndex(of: "/") {
                return (String(source[..<slash]), String(rest[rest.index(after: slash)...]))
            }
            return (source, name)
        }
        if !source.isEmpty { return ("file", source) }
        return (namespace, "datasets/\(name)")
    }

    /// The OpenLineage events whose outputs are the datasets `inputs` read: by version (the
    /// digest, with or without `sha256:`) or by name. Newest first, at most `limit`.
    public func producers(of inputs: [DatasetInput], limit: Int = 20) async throws -> [OpenLineageRecord] {
        guard !inputs.isEmpty else { return [] }
        var versions: Set<String> = []
        var names: [(namespace: String, name: String)] = []
        for input in inputs {
            versions.insert(input.digest)
            if input.digest.hasPrefix("sha256:") { versions.insert(String(input.digest.dropFirst(7))) }
            let named = Self.datasetName(source: input.source, name: input.name)
            if named.namespace != Self.namespace { names.append(named) }
        }
        return try await tracking.store.openLineageEvents(matching: OpenLineageQuery(outputVersions: versions, outputNames: names, limit: limit))
    }

    // MARK: - The Marquez-shaped graph

    public struct Edge: Sendable, Codable, Hashable, Comparable {
        public var origin: String
        public var destination: String
        public static func < (a: Edge, b: Edge) -> Bool { (a.origin, a.destination) < (b.origin, b.destination) }
    }

    public struct Node: Sendable, Codable {
        public var id: String
        public var type: String
        public var data: JSONValue
        public var inEdges: [Edge]
        public var outEdges: [Edge]
    }

    public struct Graph: Sendable, Codable {
        public var graph: [Node]
    }

    /// A node id as Marquez writes it: `dataset:<namespace>:<name>` or `job:<namespace>:<name>`.
    /// A `:` inside the namespace is one followed by `//` or a digit (`s3://b`, `postgres://h:5432`).
    public static func parseNodeID(_ id: String) throws -> (type: String, namespace: String, name: String) {
        try Limits.checkLength(id, max: 4200, field: "nodeId")
        let prefixes = ["dataset:", "job:", "datasetField:", "run:"]
        guard let prefix = prefixes.first(where: { id.hasPrefix($0) }) else {
            throw TrailError.invalid("nodeId", "nodeId starts with dataset: or job: (e.g. dataset:file:/data/train.csv)")
        }
        guard prefix == "dataset:" || prefix == "job:" else {
            throw TrailError(.resourceDoesNotExist, "node '\(id.prefix(200))' must be of type dataset or job: the lineage graph is built from those", field: "nodeId")
        }
        var rest = Substring(id.dropFirst(prefix.count))
        if let version = rest.firstIndex(of: "#") { rest = rest[..<version] }
        let chars = Array(rest)
        var split: Int?
        var i = 0
        while i < chars.count {
            if chars[i] == ":" {
                let next = i + 1 < chars.count ? chars[i + 1] : nil
                let twoSlashes = i + 2 < chars.count && chars[i + 1] == "/" && chars[i + 2] == "/"
                if !twoSlashes, !(next?.isNumber ?? false) {
                    split = i
                    break
                }
            }
            i += 1
        }
        guard let split, split > 0, split + 1 < chars.count else {
            throw TrailError.invalid("nodeId", "nodeId is \(prefix)<namespace>:<name>")
        }
        return (String(prefix.dropLast()), String(chars[..<split]), String(chars[(split + 1)...]))
    }

    /// The job/dataset neighbourhood of `nodeID` within `depth` job hops, Marquez's shape: nodes
    /// sorted by id, each with its in- and out-edges. ModelTrail's experiments are jobs in
    /// namespace `modeltrail`; their inputs are datasets by the naming conventions and their
    /// registered versions datasets `modeltrail:models/NAME/VERSION`.
    public func graph(nodeID: String, depth: Int) async throws -> Graph {
        guard (0...100).contains(depth) else { throw TrailError.invalid("depth", "depth must be 0 to 100, got \(depth)") }
        let start = try Self.parseNodeID(nodeID)
        let startID = "\(start.type):\(start.namespace):\(start.name)"

        // Every edge, OpenLineage's and ModelTrail's, as node ids.
        var edges: Set<Edge> = []
        var jobData: [String: (namespace: String, name: String, location: String?, description: String?, latestRun: JSONValue?)] = [:]
        var datasetNames: [String: (namespace: String, name: String)] = [:]
        for edge in try await tracking.store.openLineageEdges() {
            let job = "job:\(edge.jobNamespace):\(edge.jobName)"
            let dataset = "dataset:\(edge.datasetNamespace):\(edge.datasetName)"
            jobData[job] = jobData[job] ?? (edge.jobNamespace, edge.jobName, nil, nil, nil)
            datasetNames[dataset] = (edge.datasetNamespace, edge.datasetName)
            edges.insert(edge.role == "input" ? Edge(origin: dataset, destination: job) : Edge(origin: job, destination: dataset))
        }
        for edge in try await tracking.store.runDatasetEdges() {
            let job = "job:\(Self.namespace):\(edge.experimentName)"
            let named = edge.role == "output" ? (Self.namespace, "models/\(edge.name)") : Self.datasetName(source: edge.source, name: edge.name)
            let dataset = "dataset:\(named.0):\(named.1)"
            let latest: JSONValue = ["id": .string(edge.runID), "state": "COMPLETED"]
            jobData[job] = jobData[job] ?? (Self.namespace, edge.experimentName, nil, nil, latest)
            datasetNames[dataset] = (named.0, named.1)
            edges.insert(edge.role == "input" ? Edge(origin: dataset, destination: job) : Edge(origin: job, destination: dataset))
        }
        guard jobData[startID] != nil || datasetNames[startID] != nil else { throw TrailError.notFound("node", nodeID, field: "nodeId") }

        var incoming: [String: [Edge]] = [:]
        var outgoing: [String: [Edge]] = [:]
        for edge in edges {
            outgoing[edge.origin, default: []].append(edge)
            incoming[edge.destination, default: []].append(edge)
        }
        // Breadth first; each job hop costs one unit of depth (a dataset's jobs are reached free).
        var seen: Set<String> = [startID]
        var frontier = [startID]
        var hops = 0
        while !frontier.isEmpty {
            var next: [String] = []
            for node in frontier {
                for edge in (incoming[node] ?? []) + (outgoing[node] ?? []) {
                    for other in [edge.origin, edge.destination] where !seen.contains(other) {
                        seen.insert(other)
                        next.append(other)
                    }
                }
            }
            if frontier.contains(where: { $0.hasPrefix("job:") }) { hops += 1 }
            if hops > depth { break }
            frontier = next
            guard seen.count < 10_000 else { break }
        }

        // Latest facts per job from OpenLineage events (location, description, latest run).
        var nodes: [Node] = []
        for id in seen.sorted() {
            let ins = (incoming[id] ?? []).filter { seen.contains($0.origin) }.sorted()
            let outs = (outgoing[id] ?? []).filter { seen.contains($0.destination) }.sorted()
            if id.hasPrefix("job:"), let job = jobData[id] {
                var data: [String: JSONValue] = [
                    "id": ["namespace": .string(job.namespace), "name": .string(job.name)], "type": "BATCH", "name": .string(job.name),
                    "simpleName": .string(job.name), "namespace": .string(job.namespace),
                    "inputs": .array(ins.compactMap { datasetNames[$0.origin] }.map { ["namespace": .string($0.namespace), "name": .string($0.name)] }),
                    "outputs": .array(
                        outs.compactMap { datasetNames[$0.destination] }.map { ["namespace": .string($0.namespace), "name": .string($0.name)] }),
                ]
                // Events are accumulative: each facet from the latest event that carried it.
                if job.namespace != Self.namespace,
                    case let recent = try await tracking.store.openLineageEvents(matching: OpenLineageQuery(job: (job.namespace, job.name), limit: 50)),
                    let latest = recent.first
                {
                    if let location = recent.lazy.compactMap(\.sourceLocation).first { data["location"] = .string(location) }
                    if let description = recent.lazy.compactMap(\.description).first { data["description"] = .string(description) }
                    if let run = latest.runID {
                        data["latestRun"] = [
                            "id": .string(run), "state": .string(Self.marquezState(latest.eventType)),
                            "updatedAt": .string(LineageService.date(latest.eventTimeMillis)), "ledgerEventIndex": .int(latest.eventIndex),
                        ]
                    }
                } else if let latest = job.latestRun {
                    data["latestRun"] = latest
                }
                nodes.append(Node(id: id, type: "JOB", data: .object(data), inEdges: ins, outEdges: outs))
            } else if let dataset = datasetNames[id] {
                var data: [String: JSONValue] = [
                    "id": ["namespace": .string(dataset.namespace), "name": .string(dataset.name)], "type": "DB_TABLE", "name": .string(dataset.name),
                    "physicalName": .string(dataset.name), "namespace": .string(dataset.namespace), "sourceName": .string(dataset.namespace),
                    "fields": [], "tags": [],
                ]
                // The schema the latest OpenLineage event naming it gave, if any.
                let latest =
                    dataset.namespace == Self.namespace || nodes.count > 500
                    ? nil
                    : try await tracking.store.openLineageEvents(matching: OpenLineageQuery(dataset: (dataset.namespace, dataset.name), limit: 1)).first
                if let schema = latest?.datasets.first(where: { $0.namespace == dataset.namespace && $0.name == dataset.name })?.schemaJSON,
                    case .array(let columns)? = try? JSONValue.parse(Array(schema.utf8))
                {
                    data["fields"] = .array(columns.map { ["name": $0["name"] ?? .null, "type": $0["type"] ?? .null, "tags": []] })
                }
                nodes.append(Node(id: id, type: "DATASET", data: .object(data), inEdges: ins, outEdges: outs))
            }
        }
        return Graph(graph: nodes)
    }

    /// Marquez's run states from OpenLineage's event types.
    static func marquezState(_ eventType: String?) -> String {
        switch eventType {
        case "START", "RUNNING": "RUNNING"
        case "COMPLETE": "COMPLETED"
        case "FAIL": "FAILED"
        case "ABORT": "ABORTED"
        case nil: "NEW"
        default: "OTHER"
        }
    }
}
