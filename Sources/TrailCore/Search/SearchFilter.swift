import Foundation

/// A parsed MLflow run filter: clauses joined by `AND` (MLflow has no `OR` and no grouping).
///
/// The parser checks every rule of MLflow's grammar that the SQL compiler relies on, so the
/// store receives only well-typed clauses and binds every value as a parameter.
public struct RunFilter: Sendable, Hashable {
    public enum Entity: String, Sendable, Hashable { case metric, param, tag, attribute, dataset }

    public enum Comparator: String, Sendable, Hashable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case like = "LIKE", ilike = "ILIKE", isIn = "IN", notIn = "NOT IN", isNull = "IS NULL", isNotNull = "IS NOT NULL"
    }

    public enum Value: Sendable, Hashable {
        case number(Double)
        case string(String)
        case list([String])
        case none
    }

    public struct Clause: Sendable, Hashable {
        public var entity: Entity
        public var key: String
        public var comparator: Comparator
        public var value: Value

        public init(entity: Entity, key: String, comparator: Comparator, value: Value) {
            self.entity = entity
            self.key = key
            self.comparator = comparator
            self.value = value
        }
    }

    /// The string attributes of a run that a filter may name, after alias resolution.
    public static let stringAttributes: Set<String> = ["run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage"]
    /// The numeric attributes (milliseconds).
    public static let numericAttributes: Set<String> = ["start_time", "end_time"]

    public var clauses: [Clause]

    public init(clauses: [Clause]) { self.clauses = clauses }

    /// Parses `text`; the empty string means "every run".
    /// - Throws: `TrailError` `INVALID_PARAMETER_VALUE` naming the `filter` field and the problem.
    public init(parsing text: String) throws {
        self.clauses = try Self.parse(text, resolve: Self.resolveIdentifier, check: Self.check)
    }

    public typealias Resolver = (_ head: String, _ quotedKey: String?) throws -> (Entity, String)

    /// The grammar shared by every MLflow search (runs, experiments, registered models, model
    /// versions, logged models): clauses joined by AND; `resolve` names the identifiers the
    /// searched entity has and `check` which comparators and values each accepts.
    public static let maxClauses = 100
    public static let maxListValues = 1000

    public static func parse(_ text: String, resolve: Resolver, check: (Clause) throws -> Void) throws -> [Clause] {
        guard text.utf8.count <= 100_000 else { throw Self.error("a filter is at most 100000 bytes") }
        var tokens = try FilterLexer.tokens(text)
        var clauses: [Clause] = []
        guard !tokens.isEmpty else { return [] }
        while true {
            let (entity, key) = try parseIdentifier(&tokens, resolve: resolve)
            let comparator = try parseComparator(&tokens)
            let value: Value = (comparator == .isNull || comparator == .isNotNull) ? .none : try parseValue(&tokens)
            let clause = Clause(entity: entity, key: key, comparator: comparator, value: value)
            try check(clause)
            if case .list(let values) = value, values.count > maxListValues {
                throw Self.error("an IN list holds at most \(maxListValues) values, got \(values.count)")
            }
            clauses.append(clause)
            guard clauses.count <= maxClauses else { throw Self.error("a filter holds at most \(maxClauses) clauses") }
            guard let next = tokens.first else { break }
            tokens.removeFirst()
            guard case .word(let word) = next, word.uppercased() == "AND" else {
                if case .word(let word) = next, word.uppercased() == "OR" {
                    throw Self.error("'OR' is not supported; combine clauses with AND")
                }
                throw Self.error("expected AND between clauses, found \(next)")
            }
        }
        return clauses
    }

    static func error(_ message: String) -> TrailError {
        TrailError.invalid("filter", "invalid filter: \(message)")
    }

    /// Splits an identifier into entity and key, resolving MLflow's entity and attribute aliases.
    public static func resolveIdentifier(_ head: String, quotedKey: String?) throws -> (Entity, String) {
        let entities: [String: Entity] = [
            "metric": .metric, "metrics": .metric, "param": .param, "params": .param, "parameter": .param,
            "parameters": .param, "tag": .tag, "tags": .tag, "attribute": .attribute, "attributes": .attribute,
            "attr": .attribute, "run": .attribute, "dataset": .dataset, "datasets": .dataset,
        ]
        var entity = Entity.attribute
        var key: String
        if let quotedKey {
            // `entity.` followed by a quoted key.
            let prefix = head.hasSuffix(".") ? String(head.dropLast()) : head
            guard let found = entities[prefix.lowercased()] else { throw error("unknown entity '\(prefix)'") }
            entity = found
            key = quotedKey
        } else if let dot = head.firstIndex(of: "."), let found = entities[String(head[..<dot]).lowercased()] {
            entity = found
            key = String(head[head.index(after: dot)...])
        } else {
            key = head
        }
        guard !key.isEmpty else { throw error("missing key after '\(head)'") }
        if entity == .attribute {
            let aliases = ["created": "start_time", "Created": "start_time", "run name": "run_name", "Run name": "run_name", "Run Name": "run_name"]
            key = aliases[key] ?? key
            guard stringAttributes.contains(key) || numericAttributes.contains(key) else {
                throw error(
                    "unknown attribute '\(key)'; use one of \((stringAttributes.union(numericAttributes)).sorted().joined(separator: ", ")) or an entity prefix such as metrics., params., tags."
                )
            }
        }
        if entity == .dataset {
            guard ["name", "digest", "context"].contains(key) else { throw error("unknown dataset field '\(key)'; use name, digest or context") }
        }
        return (entity, key)
    }

    private static func parseIdentifier(_ tokens: inout [FilterLexer.Token], resolve resolveIdentifier: Resolver) throws -> (Entity, String) {
        guard let first = tokens.first else { throw error("expected an identifier") }
        tokens.removeFirst()
        switch first {
        case .word(let head):
            if head.hasSuffix("."), let next = tokens.first {
                switch next {
                case .backticked(let key), .doubleQuoted(let key):
                    tokens.removeFirst()
                    return try resolveIdentifier(head, key)
                default: break
                }
            }
            return try resolveIdentifier(head, nil)
        case .backticked(let name):
            // `entity`.`key` or a bare backticked attribute.
            if case .word(".")? = tokens.first, tokens.count > 1 {
                tokens.removeFirst()
                switch tokens.removeFirst() {
                case .backticked(let key), .doubleQuoted(let key): return try resolveIdentifier(name + ".", key)
                case .word(let key): return try resolveIdentifier(name + "." + key, nil)
                default: throw error("expected a key after '\(name).'")
                }
            }
            return try resolveIdentifier(name, nil)
        default:
            throw error("expected an identifier, found \(first)")
        }
    }

    static func parseComparator(_ tokens: inout [FilterLexer.Token]) throws -> Comparator {
        guard let token = tokens.first else { throw error("expected a comparator") }
        tokens.removeFirst()
        switch token {
        case .symbol(let symbol):
            guard let comparator = Comparator(rawValue: symbol == "<>" ? "!=" : symbol) else { throw error("unknown comparator '\(symbol)'") }
            return comparator
        case .word(let word):
            switch word.uppercased() {
            case "LIKE": return .like
            case "ILIKE": return .ilike
            case "IN": return .isIn
            case "NOT":
                guard case .word(let next)? = tokens.first, next.uppercased() == "IN" else { throw error("expected IN after NOT") }
                tokens.removeFirst()
                return .notIn
            case "IS":
                guard case .word(let next)? = tokens.first else { throw error("expected NULL or NOT NULL after IS") }
                tokens.removeFirst()
                if next.uppercased() == "NULL" { return .isNull }
                guard next.uppercased() == "NOT", case .word(let last)? = tokens.first, last.uppercased() == "NULL" else {
                    throw error("expected NULL or NOT NULL after IS")
                }
                tokens.removeFirst()
                return .isNotNull
            default: throw error("unknown comparator '\(word)'")
            }
        default:
            throw error("expected a comparator, found \(token)")
        }
    }

    static func parseValue(_ tokens: inout [FilterLexer.Token]) throws -> Value {
        guard let token = tokens.first else { throw error("expected a value") }
        tokens.removeFirst()
        switch token {
        case .singleQuoted(let text), .doubleQuoted(let text): return .string(text)
        case .number(let number): return .number(number)
        case .symbol("("):
            var items: [String] = []
            while true {
                guard let item = tokens.first else { throw error("unterminated list") }
                tokens.removeFirst()
                switch item {
                case .singleQuoted(let text), .doubleQuoted(let text): items.append(text)
                default: throw error("list items must be quoted strings")
                }
                guard let separator = tokens.first else { throw error("unterminated list") }
                tokens.removeFirst()
                if separator == .symbol(")") { break }
                guard separator == .symbol(",") else { throw error("expected ',' or ')' in list") }
            }
            guard !items.isEmpty else { throw error("empty list") }
            return .list(items)
        default:
            throw error("expected a value, found \(token)")
        }
    }

    /// Enforces which comparators and value types each entity accepts (MLflow §4.1).
    static func check(_ clause: Clause) throws {
        let numericOps: Set<Comparator> = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual]
        let stringOps: Set<Comparator> = [.equal, .notEqual, .like, .ilike]
        let name = "\(clause.entity.rawValue) '\(clause.key)'"
        func requireString() throws {
            guard case .string = clause.value else { throw error("\(name) must be compared with a quoted string") }
        }
        switch clause.entity {
        case .metric:
            guard numericOps.contains(clause.comparator) else { throw error("\(name) supports = != < <= > >= only") }
            guard case .number = clause.value else { throw error("\(name) must be compared with an unquoted number") }
        case .param, .tag:
            if clause.comparator == .isNull || clause.comparator == .isNotNull { return }
            guard stringOps.contains(clause.comparator) else { throw error("\(name) supports = != LIKE ILIKE IS NULL IS NOT NULL") }
            try requireString()
        case .attribute where numericAttributes.contains(clause.key):
            guard numericOps.contains(clause.comparator) else { throw error("\(name) supports = != < <= > >= only") }
            guard case .number = clause.value else { throw error("\(name) must be compared with a number") }
        case .attribute:
            if clause.key == "run_id", clause.comparator == .isIn || clause.comparator == .notIn {
                guard case .list = clause.value else { throw error("IN needs a list like ('a', 'b')") }
                return
            }
            guard stringOps.contains(clause.comparator) else {
                throw error("\(name) supports = != LIKE ILIKE\(clause.key == "run_id" ? " IN NOT IN" : "")")
            }
            try requireString()
        case .dataset:
            if clause.comparator == .isIn || clause.comparator == .notIn {
                guard case .list = clause.value else { throw error("IN needs a list like ('a', 'b')") }
                return
            }
            guard stringOps.contains(clause.comparator) else { throw error("\(name) supports = != LIKE ILIKE IN NOT IN") }
            try requireString()
        }
    }
}

/// One `order_by` item: `ident [ASC|DESC]`.
public struct RunOrder: Sendable, Hashable {
    public var entity: RunFilter.Entity
    public var key: String
    public var ascending: Bool

    public init(entity: RunFilter.Entity, key: String, ascending: Bool) {
        self.entity = entity
        self.key = key
        self.ascending = ascending
    }

    public init(parsing text: String) throws {
        var words = text.trimmingCharacters(in: .whitespaces)
        var ascending = true
        let upper = words.uppercased()
        if upper.hasSuffix(" DESC") {
            ascending = false
            words = String(words.dropLast(5))
        } else if upper.hasSuffix(" ASC") {
            words = String(words.dropLast(4))
        }
        words = words.trimmingCharacters(in: .whitespaces)
        var tokens = try FilterLexer.tokens(words)
        guard let first = tokens.first else { throw TrailError.invalid("order_by", "empty order_by item") }
        tokens.removeFirst()
        let entity: RunFilter.Entity
        let key: String
        switch (first, tokens.first) {
        case (.word(let head), .some(.backticked(let quoted))), (.word(let head), .some(.doubleQuoted(let quoted))):
            tokens.removeFirst()
            (entity, key) = try RunFilter.resolveIdentifier(head, quotedKey: quoted)
        case (.word(let head), nil):
            (entity, key) = try RunFilter.resolveIdentifier(head, quotedKey: nil)
        default:
            throw TrailError.invalid("order_by", "invalid order_by item '\(text)'; use e.g. 'metrics.acc DESC'")
        }
        guard tokens.isEmpty else { throw TrailError.invalid("order_by", "invalid order_by item '\(text)'") }
        guard entity != .dataset else { throw TrailError.invalid("order_by", "cannot order by a dataset field") }
        self.init(entity: entity, key: key, ascending: ascending)
    }
}

enum FilterLexer {
    enum Token: Sendable, Hashable, CustomStringConvertible {
        case word(String)
        case singleQuoted(String)
        case doubleQuoted(String)
        case backticked(String)
        case number(Double)
        case symbol(String)

        var description: String {
            switch self {
            case .word(let w): "'\(w)'"
            case .singleQuoted(let s): "'\(s)'"
            case .doubleQuoted(let s): "\"\(s)\""
            case .backticked(let s): "`\(s)`"
            case .number(let n): "\(n)"
            case .symbol(let s): "'\(s)'"
            }
        }
    }

    static func tokens(_ text: String) throws -> [Token] {
        let chars = Array(text.unicodeScalars)
        var index = 0
        var out: [Token] = []
        func isWordChar(_ c: Unicode.Scalar) -> Bool {
            c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "."
        }
        while index < chars.count {
            let c = chars[index]
            if c.properties.isWhitespace {
                index += 1
                continue
            }
            if c == "'" || c == "\"" || c == "`" {
                var end = index + 1
                var value = String.UnicodeScalarView()
                while end < chars.count, chars[end] != c {
                    value.append(chars[end])
                    end += 1
                }
                guard end < chars.count else { throw RunFilter.error("unterminated quote \(c)") }
                let text = String(value)
                out.append(c == "'" ? .singleQuoted(text) : c == "\"" ? .doubleQuoted(text) : .backticked(text))
                index = end + 1
                continue
            }
            let startsNumber =
                ("0"..."9").contains(c)
                || ((c == "-" || c == "+" || c == ".") && index + 1 < chars.count && ("0"..."9").contains(chars[index + 1]))
            if startsNumber {
                var end = index + 1
                while end < chars.count {
                    let d = chars[end]
                    if ("0"..."9").contains(d) || d == "." || d == "e" || d == "E" {
                        end += 1
                    } else if (d == "-" || d == "+") && (chars[end - 1] == "e" || chars[end - 1] == "E") {
                        end += 1
                    } else {
                        break
                    }
                }
                let literal = String(String.UnicodeScalarView(chars[index..<end]))
                guard let number = Double(literal) else { throw RunFilter.error("bad number '\(literal)'") }
                out.append(.number(number))
                index = end
                continue
            }
            if isWordChar(c) {
                var end = index
                while end < chars.count, isWordChar(chars[end]) { end += 1 }
                out.append(.word(String(String.UnicodeScalarView(chars[index..<end]))))
                index = end
                continue
            }
            let two = index + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[index + 1]])) : ""
            if ["<=", ">=", "!=", "<>"].contains(two) {
                out.append(.symbol(two))
                index += 2
                continue
            }
            if "=<>(),".unicodeScalars.contains(c) {
                out.append(.symbol(String(c)))
                index += 1
                continue
            }
            throw RunFilter.error("unexpected character '\(c)'")
        }
        return out
    }
}

/// An opaque page token: base64 of `{"offset": N}`, as MLflow's own.
public enum PageToken {
    /// The largest offset a token may carry: far past any page, small enough that no offset
    /// plus page size can overflow.
    public static let maxOffset = 1 << 40

    public static func encode(offset: Int) -> String {
        Data("{\"offset\": \(offset)}".utf8).base64EncodedString()
    }

    public static func decode(_ token: String?, field: String = "page_token") throws -> Int {
        guard let token, !token.isEmpty else { return 0 }
        struct Body: Decodable { var offset: Int }
        guard let data = Data(base64Encoded: token), let body = try? JSONDecoder().decode(Body.self, from: data), body.offset >= 0,
            body.offset <= maxOffset
        else {
            throw TrailError.invalid(field, "invalid page token")
        }
        return body.offset
    }
}

/// One page of results and the token for the next, nil on the last page.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextPageToken: String?
    public init(items: [Item], nextPageToken: String?) {
        self.items = items
        self.nextPageToken = nextPageToken
    }
}
