import TrailCore

/// Compiles a `RunQuery` to one SQL statement. Only identifiers chosen here appear in the SQL
/// text; every value from the request (keys included) is a bound argument.
struct RunSearchSQL: Sendable {
    var sql: String
    var arguments: SQLArguments

    init(_ query: RunQuery, dialect: SQLDialect = .sqlite) throws {
        var conditions: [String] = []
        var arguments: [(any SQLValueConvertible)?] = []
        var joins: [String] = []
        var joinArguments: [(any SQLValueConvertible)?] = []

        guard !query.experimentIDs.isEmpty else { throw TrailError.invalid("experiment_ids", "name at least one experiment") }
        conditions.append("r.experiment_id IN (\(query.experimentIDs.map { _ in "?" }.joined(separator: ",")))")
        arguments += query.experimentIDs.map(\.value)
        conditions.append("r.lifecycle_stage IN (\(query.view.stages.map { "'\($0.rawValue)'" }.joined(separator: ",")))")

        for clause in query.filter.clauses {
            let (condition, values) = try Self.compile(clause, dialect: dialect)
            conditions.append(condition)
            arguments += values
        }

        var orderTerms: [String] = []
        var orderedByStart = false
        for (number, order) in query.orderBy.enumerated() {
            let direction = order.ascending ? "ASC" : "DESC"
            switch order.entity {
            case .attribute:
                let column = try Self.attributeColumn(order.key)
                if order.key == "start_time" { orderedByStart = true }
                orderTerms.append("(\(column) IS NULL) ASC, \(column) \(direction)")
            case .metric:
                let alias = "om\(number)"
                joins.append("LEFT JOIN latest_metrics \(alias) ON \(alias).run_pk = r.pk AND \(alias).key = ?")
                joinArguments.append(order.key)
                orderTerms.append("(\(alias).run_pk IS NULL) ASC, \(alias).is_nan ASC, \(alias).value \(direction)")
            case .param, .tag:
                let alias = "o\(order.entity == .param ? "p" : "t")\(number)"
                joins.append("LEFT JOIN \(order.entity == .param ? "params" : "run_tags") \(alias) ON \(alias).run_pk = r.pk AND \(alias).key = ?")
                joinArguments.append(order.key)
                orderTerms.append("(\(alias).value IS NULL) ASC, \(alias).value \(direction)")
            case .dataset:
                throw TrailError.invalid("order_by", "cannot order by a dataset field")
            }
        }
        if !orderedByStart { orderTerms.append("r.start_time DESC") }
        orderTerms.append("r.run_id ASC")

        sql = """
            SELECT \(SQLMetadataStore.runColumns) FROM runs r \(joins.joined(separator: " "))
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(orderTerms.joined(separator: ", "))
            LIMIT ? OFFSET ?
            """
        self.arguments = SQLArguments(joinArguments + arguments + [min(query.maxResults, 1_000_000) + 1, query.offset])
    }

    static func attributeColumn(_ key: String) throws -> String {
        switch key {
        case "run_id": "r.run_id"
        case "run_name": "r.name"
        case "status": "r.status"
        case "user_id": "r.user_id"
        case "lifecycle_stage": "r.lifecycle_stage"
        case "start_time": "r.start_time"
        case "end_time": "r.end_time"
        case "artifact_uri": "('mlflow-artifacts:/' || r.experiment_id || '/' || r.run_id || '/artifacts')"
        default: throw TrailError.invalid("filter", "unknown attribute '\(key)'")
        }
    }

    /// `LIKE` is case-sensitive in MLflow; SQLite's LIKE is not, so there it becomes a GLOB
    /// (PostgreSQL's LIKE is, and ILIKE is its case-insensitive one).
    static func globPattern(fromLike pattern: String) -> String {
        var out = ""
        for c in pattern {
            switch c {
            case "%": out += "*"
            case "_": out += "?"
            case "*": out += "[*]"
            case "?": out += "[?]"
            case "[": out += "[[]"
            default: out.append(c)
            }
        }
        return out
    }

    static func stringTest(_ column: String, _ comparator: RunFilter.Comparator, _ value: RunFilter.Value, dialect: SQLDialect) throws -> (
        String, [(any SQLValueConvertible)?]
    ) {
        switch (comparator, value) {
        case (.equal, .string(let s)): return ("\(column) = ?", [s])
        case (.notEqual, .string(let s)): return ("\(column) != ?", [s])
        case (.like, .string(let s)):
            return dialect == .sqlite ? ("\(column) GLOB ?", [globPattern(fromLike: s)]) : ("\(column) LIKE ? ESCAPE ''", [s])
        case (.ilike, .string(let s)): return dialect == .sqlite ? ("\(column) LIKE ?", [s]) : ("\(column) ILIKE ? ESCAPE ''", [s])
        case (.isIn, .list(let items)): return ("\(column) IN (\(items.map { _ in "?" }.joined(separator: ",")))", items)
        case (.notIn, .list(let items)): return ("\(column) NOT IN (\(items.map { _ in "?" }.joined(separator: ",")))", items)
        default: throw TrailError.invalid("filter", "invalid filter: unsupported comparison \(comparator.rawValue)")
        }
    }

    static func numericTest(_ column: String, _ comparator: RunFilter.Comparator, _ value: RunFilter.Value) throws -> (
        String, [(any SQLValueConvertible)?]
    ) {
        guard case .number(let number) = value else { throw TrailError.invalid("filter", "invalid filter: expected a number") }
        switch comparator {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            return ("\(column) \(comparator.rawValue) ?", [number])
        default: throw TrailError.invalid("filter", "invalid filter: unsupported comparison \(comparator.rawValue)")
        }
    }

    static func compile(_ clause: RunFilter.Clause, dialect: SQLDialect) throws -> (String, [(any SQLValueConvertible)?]) {
        switch clause.entity {
        case .metric:
            let (test, values) = try numericTest("value", clause.comparator, clause.value)
            return ("r.pk IN (SELECT run_pk FROM latest_metrics WHERE key = ? AND is_nan = 0 AND \(test))", [clause.key] + values)
        case .param, .tag:
            let table = clause.entity == .param ? "params" : "run_tags"
            switch clause.comparator {
            case .isNull: return ("r.pk NOT IN (SELECT run_pk FROM \(table) WHERE key = ?)", [clause.key])
            case .isNotNull: return ("r.pk IN (SELECT run_pk FROM \(table) WHERE key = ?)", [clause.key])
            default:
                let (test, values) = try stringTest("value", clause.comparator, clause.value, dialect: dialect)
                return ("r.pk IN (SELECT run_pk FROM \(table) WHERE key = ? AND \(test))", [clause.key] + values)
            }
        case .attribute:
            let column = try attributeColumn(clause.key)
            if RunFilter.numericAttributes.contains(clause.key) {
                return try numericTest(column, clause.comparator, clause.value)
            }
            return try stringTest(column, clause.comparator, clause.value, dialect: dialect)
        case .dataset:
            let (test, values) = try stringTest(clause.key, clause.comparator, clause.value, dialect: dialect)
            return ("r.pk IN (SELECT run_pk FROM dataset_inputs WHERE \(test))", values)
        }
    }
}
