import Foundation

/// MLflow's search over experiments, registered models, model versions and logged models:
/// the run filter's grammar (`RunFilter.parse`) with each kind's identifiers, evaluated over
/// records in memory (these collections are small next to runs, which are searched in SQL).
public struct EntitySearch: Sendable {
    public enum Kind: String, Sendable {
        case experiments, registeredModels = "registered models", modelVersions = "model versions", loggedModels = "logged models"

        var stringAttributes: Set<String> {
            switch self {
            case .experiments: ["name", "experiment_id"]
            case .registeredModels: ["name"]
            case .modelVersions: ["name", "run_id", "source_path"]
            case .loggedModels: ["name", "model_id", "model_type", "status", "source_run_id"]
            }
        }

        var numericAttributes: Set<String> {
            switch self {
            case .experiments: ["creation_time", "last_update_time"]
            case .registeredModels: []
            case .modelVersions: ["version_number"]
            case .loggedModels: ["creation_timestamp", "last_updated_timestamp"]
            }
        }

        var attributeAliases: [String: String] {
            switch self {
            case .loggedModels: ["creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"]
            default: [:]
            }
        }

        /// Attributes that accept `IN (…)` / `NOT IN (…)`.
        var listAttributes: Set<String> {
            switch self {
            case .experiments: []
            case .registeredModels: ["name"]
            case .modelVersions: ["name", "run_id"]
            case .loggedModels: ["name", "model_id", "source_run_id"]
            }
        }

        var entities: Set<RunFilter.Entity> {
            self == .loggedModels ? [.attribute, .tag, .param, .metric] : [.attribute, .tag]
        }

        /// What `order_by` accepts, and the default order.
        public var orderFields: Set<String> {
            switch self {
            case .experiments: ["name", "experiment_id", "creation_time", "last_update_time"]
            case .registeredModels: ["name", "timestamp", "last_updated_timestamp"]
            case .modelVersions: ["name", "version_number", "creation_timestamp", "last_updated_timestamp"]
            case .loggedModels: ["name", "model_id", "creation_timestamp", "creation_time", "last_updated_timestamp", "status", "model_type"]
            }
        }
    }

    /// What a filter sees of one entity.
    public struct Record: Sendable {
        public var strings: [String: String]
        public var numbers: [String: Double]
        public var tags: [String: String]
        public var params: [String: String]
        public var metrics: [String: Double]

        public init(
            strings: [String: String], numbers: [String: Double], tags: [String: String] = [:], params: [String: String] = [:],
            metrics: [String: Double] = [:]
        ) {
            self.strings = strings
            self.numbers = numbers
            self.tags = tags
            self.params = params
            self.metrics = metrics
        }
    }

    /// One `order_by` item.
    public struct Order: Sendable, Hashable {
        public var field: String
        public var ascending: Bool
        public init(field: String, ascending: Bool) {
            self.field = field
            self.ascending = ascending
        }
    }

    /// Tags whose absence MLflow reads as "false" (the client appends
    /// ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every registered-model search).
    static let falseWhenMissing: Set<String> = ["mlflow.prompt.is_prompt"]

    public let kind: Kind
    public let clauses: [RunFilter.Clause]

    public init(parsing text: String, kind: Kind) throws {
        self.kind = kind
        clauses = try RunFilter.parse(
            text,
            resolve: { head, quoted in try Self.resolve(head, quotedKey: quoted, kind: kind) },
            check: { clause in try Self.check(clause, kind: kind) })
    }

    static func resolve(_ head: String, quotedKey: String?, kind: Kind) throws -> (RunFilter.Entity, String) {
        let entities: [String: RunFilter.Entity] = [
            "metric": .metric, "metrics": .metric, "param": .param, "params": .param, "tag": .tag, "tags": .tag,
            "attribute": .attribute, "attributes": .attribute, "attr": .attribute,
        ]
        var entity = RunFilter.Entity.attribute
        var key: String
        if let quotedKey {
            let prefix = head.hasSuffix(".") ? String(head.dropLast()) : head
            guard let found = entities[prefix.lowercased()] else { throw RunFilter.error("unknown entity '\(prefix)'") }
            (entity, key) = (found, quotedKey)
        } else if let dot = head.firstIndex(of: "."), let found = entities[String(head[..<dot]).lowercased()] {
            (entity, key) = (found, String(head[head.index(after: dot)...]))
        } else {
            key = head
        }
        guard !key.isEmpty else { throw RunFilter.error("missing key after '\(head)'") }
        guard kind.entities.contains(entity) else { throw RunFilter.error("\(kind.rawValue) cannot be filtered by \(entity.rawValue)s") }
        if entity == .attribute {
            key = kind.attributeAliases[key] ?? key
            guard kind.stringAttributes.contains(key) || kind.numericAttributes.contains(key) else {
                let known = kind.stringAttributes.union(kind.numericAttributes).sorted().joined(separator: ", ")
                throw RunFilter.error("unknown attribute '\(key)' for \(kind.rawValue); use one of \(known) or tags.<key>")
            }
        }
        return (entity, key)
    }

    static func check(_ clause: RunFilter.Clause, kind: Kind) throws {
        let numericOps: Set<RunFilter.Comparator> = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual]
        let stringOps: Set<RunFilter.Comparator> = [.equal, .notEqual, .like, .ilike]
        let name = "\(clause.entity.rawValue) '\(clause.key)'"
        let numeric = clause.entity == .metric || (clause.entity == .attribute && kind.numericAttributes.contains(clause.key))
        if numeric {
            guard numericOps.contains(clause.comparator) else { throw RunFilter.error("\(name) supports = != < <= > >= only") }
            guard case .number = clause.value else { throw RunFilter.error("\(name) must be compared with an unquoted number") }
            return
        }
        if clause.comparator == .isNull || clause.comparator == .isNotNull {
            guard clause.entity != .attribute, kind == .experiments || kind == .loggedModels else {
                throw RunFilter.error("\(name) does not support IS NULL")
            }
            return
        }
        if clause.comparator == .isIn || clause.comparator == .notIn {
            guard clause.entity == .attribute, kind.listAttributes.contains(clause.key) else { throw RunFilter.error("\(name) does not support IN") }
            guard case .list = clause.value else { throw RunFilter.error("IN needs a list like ('a', 'b')") }
            return
        }
        guard stringOps.contains(clause.comparator) else { throw RunFilter.error("\(name) supports = != LIKE ILIKE") }
        guard case .string = clause.value else { throw RunFilter.error("\(name) must be compared with a quoted string") }
    }

    public func matches(_ record: Record) -> Bool {
        clauses.allSatisfy { clause in
            let text: String?
            switch clause.entity {
            case .metric:
                guard let value = record.metrics[clause.key], case .number(let target) = clause.value else { return false }
                return Self.compare(value, clause.comparator, target)
            case .attribute where kind.numericAttributes.contains(clause.key):
                guard let value = record.numbers[clause.key], case .number(let target) = clause.value else { return false }
                return Self.compare(value, clause.comparator, target)
            case .attribute: text = record.strings[clause.key]
            case .tag: text = record.tags[clause.key] ?? (Self.falseWhenMissing.contains(clause.key) ? "false" : nil)
            case .param: text = record.params[clause.key]
            case .dataset: return false
            }
            switch clause.comparator {
            case .isNull: return text == nil
            case .isNotNull: return text != nil
            default: break
            }
            guard let text else { return false }
            switch (clause.comparator, clause.value) {
            case (.equal, .string(let v)): return text == v
            case (.notEqual, .string(let v)): return text != v
            case (.like, .string(let v)): return Self.like(text, v, caseSensitive: true)
            case (.ilike, .string(let v)): return Self.like(text, v, caseSensitive: false)
            case (.isIn, .list(let items)): return items.contains(text)
            case (.notIn, .list(let items)): return !items.contains(text)
            default: return false
            }
        }
    }

    static func compare(_ value: Double, _ comparator: RunFilter.Comparator, _ target: Double) -> Bool {
        switch comparator {
        case .equal: value == target
        case .notEqual: value != target
        case .less: value < target
        case .lessOrEqual: value <= target
        case .greater: value > target
        case .greaterOrEqual: value >= target
        default: false
        }
    }

    /// SQL LIKE: `%` any run of characters, `_` exactly one.
    public static func like(_ text: String, _ pattern: String, caseSensitive: Bool) -> Bool {
        let t = Array(caseSensitive ? text : text.lowercased())
        let p = Array(caseSensitive ? pattern : pattern.lowercased())
        // Greedy match with backtracking to the last '%'.
        var (ti, pi) = (0, 0)
        var star: Int? = nil
        var mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "_" || (p[pi] != "%" && p[pi] == t[ti]) {
                ti += 1
                pi += 1
            } else if pi < p.count, p[pi] == "%" {
                star = pi
                mark = ti
                pi += 1
            } else if let s = star {
                pi = s + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "%" { pi += 1 }
        return pi == p.count
    }

    /// Parses MLflow's `order_by` strings (`name DESC`) for `kind`.
    public static func orders(_ items: [String], kind: Kind) throws -> [Order] {
        var seen = Set<String>()
        return try items.map { item in
            var words = item.trimmingCharacters(in: .whitespaces)
            var ascending = true
            if words.uppercased().hasSuffix(" DESC") {
                ascending = false
                words = String(words.dropLast(5))
            } else if words.uppercased().hasSuffix(" ASC") {
                words = String(words.dropLast(4))
            }
            var field = words.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "")
            if field.hasPrefix("attribute.") { field = String(field.dropFirst("attribute.".count)) }
            if field.hasPrefix("attributes.") { field = String(field.dropFirst("attributes.".count)) }
            let isMetric = kind == .loggedModels && field.hasPrefix("metrics.")
            guard isMetric || kind.orderFields.contains(field) else {
                throw TrailError.invalid(
                    "order_by", "cannot order \(kind.rawValue) by '\(field.prefix(80))'; use one of \(kind.orderFields.sorted().joined(separator: ", "))")
            }
            guard seen.insert(field).inserted else { throw TrailError.invalid("order_by", "'\(field)' appears twice in order_by") }
            return Order(field: field, ascending: ascending)
        }
    }

    /// Sorts records by `orders`, then `tieBreakers`; missing values sort last either way.
    public static func sort<T>(_ items: [(T, Record)], by orders: [Order], tieBreakers: [Order]) -> [T] {
        let all = orders + tieBreakers.filter { tie in !orders.contains { $0.field == tie.field } }
        func value(_ r: Record, _ field: String) -> (Double?, String?) {
            if field.hasPrefix("metrics.") { return (r.metrics[String(field.dropFirst(8))], nil) }
            if let n = r.numbers[field] { return (n, nil) }
            return (nil, r.strings[field])
        }
        return items.sorted { a, b in
            for order in all {
                let (an, asv) = value(a.1, order.field)
                let (bn, bsv) = value(b.1, order.field)
                if let x = an, let y = bn, x != y { return order.ascending ? x < y : x > y }
                if let x = asv, let y = bsv, x != y { return order.ascending ? x < y : x > y }
                let aMissing = an == nil && asv == nil
                let bMissing = bn == nil && bsv == nil
                if aMissing != bMissing { return bMissing }
            }
            return false
        }.map(\.0)
    }

    /// One page of `items` from the offset in `pageToken`.
    public static func page<T: Sendable>(_ items: [T], maxResults: Int, pageToken: String?) throws -> Page<T> {
        let offset = try PageToken.decode(pageToken)
        let slice = Array(items.dropFirst(offset).prefix(max(0, maxResults)))
        let (next, overflow) = offset.addingReportingOverflow(slice.count)
        return Page(items: slice, nextPageToken: !overflow && !slice.isEmpty && next < items.count ? PageToken.encode(offset: next) : nil)
    }
}
