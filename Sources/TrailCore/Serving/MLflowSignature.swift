import Foundation

/// A request row that does not fit the model's signature: what is missing, extra or bad.
public struct InputProblems: Error, Sendable, Hashable {
    public var missing: [String]
    public var extra: [String]
    /// Feature → what is wrong with its value.
    public var invalid: [String: String]

    public init(missing: [String] = [], extra: [String] = [], invalid: [String: String] = [:]) {
        self.missing = missing
        self.extra = extra
        self.invalid = invalid
    }

    public var isEmpty: Bool { missing.isEmpty && extra.isEmpty && invalid.isEmpty }

    public var message: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
        if !extra.isEmpty { parts.append("extra \(extra.joined(separator: ", "))") }
        for (feature, problem) in invalid.sorted(by: { $0.key < $1.key }) { parts.append("\(feature): \(problem)") }
        return parts.joined(separator: "; ")
    }
}

/// An MLflow model's signature (`signature.inputs` and `.params` of its MLmodel, in the form of
/// `Schema.to_dict()`): what ModelTrail's gateway checks, column by column, before any worker is
/// asked. Stricter than MLflow's own lenient casts (`mlflow-serving.md` §5.6): a string is not a
/// number, 30.7 is not a long, an epoch number is not a datetime.
public struct MLflowSignature: Sendable, Hashable {
    public indirect enum ColumnType: Sendable, Hashable, CustomStringConvertible {
        case boolean, integer, long, float, double, string, binary, datetime, any
        case array(ColumnType)
        case object([Property])
        case map(ColumnType)

        public var description: String {
            switch self {
            case .boolean: "boolean"
            case .integer: "integer"
            case .long: "long"
            case .float: "float"
            case .double: "double"
            case .string: "string"
            case .binary: "binary"
            case .datetime: "datetime"
            case .any: "any"
            case .array(let items): "Array(\(items))"
            case .object(let properties): "Object(\(properties.map { "\($0.name): \($0.type)" }.joined(separator: ", ")))"
            case .map(let values): "Map(str -> \(values))"
            }
        }
    }

    public struct Property: Sendable, Hashable {
        public var name: String
        public var type: ColumnType
        public var required: Bool

        public init(name: String, type: ColumnType, required: Bool = true) {
            self.name = name
            self.type = type
            self.required = required
        }
    }

    public struct Column: Sendable, Hashable {
        /// nil for an unnamed schema: columns are then matched by position, named "0", "1", ….
        public var name: String?
        public var type: ColumnType
        public var required: Bool

        public init(name: String?, type: ColumnType, required: Bool = true) {
            self.name = name
            self.type = type
            self.required = required
        }
    }

    public struct Tensor: Sendable, Hashable {
        public var name: String?
        public var dtype: String
        /// -1 where any size is allowed.
        public var shape: [Int64]
    }

    public enum Inputs: Sendable, Hashable {
        case columns([Column])
        case tensors([Tensor])
    }

    public struct Param: Sendable, Hashable {
        public var name: String
        public var type: ColumnType
        public var defaultValue: JSONValue
        /// nil for a scalar; `[-1]` for a list.
        public var shape: [Int64]?
    }

    /// nil: the model has no input signature (served only with `--allow-unsigned`).
    public var inputs: Inputs?
    public var params: [Param]

    public init(inputs: Inputs?, params: [Param] = []) {
        self.inputs = inputs
        self.params = params
    }

    /// From `Schema.to_dict()` / `ParamSchema.to_dict()` (JSON arrays), as the worker reports them
    /// after loading the model with MLflow, or as MLmodel holds them (JSON text).
    public init(inputs: JSONValue?, params: JSONValue?) throws {
        if let inputs, inputs != .null {
            guard case .array(let specs) = inputs else { throw TrailError.invalid("signature", "signature inputs must be a list") }
            if specs.contains(where: { $0["type"]?.stringValue == "tensor" }) {
                self.inputs = .tensors(
                    try specs.map { spec in
                        guard let tensor = spec["tensor-spec"], let dtype = tensor["dtype"]?.stringValue, case .array(let shape)? = tensor["shape"] else {
                            throw TrailError.invalid("signature", "a tensor input has no tensor-spec with dtype and shape")
                        }
                        return Tensor(name: spec["name"]?.stringValue, dtype: dtype, shape: shape.map { $0.intValue ?? -1 })
                    })
            } else {
                self.inputs = .columns(
                    try specs.map { spec in
                        Column(name: spec["name"]?.stringValue, type: try Self.type(spec), required: spec["required"].map { $0 != .bool(false) } ?? true)
                    })
            }
        } else {
            self.inputs = nil
        }
        if case .array(let list)? = params {
            self.params = try list.map { spec in
                guard let name = spec["name"]?.stringValue else { throw TrailError.invalid("signature", "a param has no name") }
                let shape: [Int64]? = if case .array(let dims)? = spec["shape"] { dims.map { $0.intValue ?? -1 } } else { nil }
                return Param(name: name, type: try Self.type(spec), defaultValue: spec["default"] ?? .null, shape: shape)
            }
        } else {
            self.params = []
        }
    }

    static func type(_ spec: JSONValue) throws -> ColumnType {
        let name = spec["type"]?.stringValue ?? ""
        switch name {
        case "boolean": return .boolean
        case "integer": return .integer
        case "long": return .long
        case "float": return .float
        case "double": return .double
        case "string": return .string
        case "binary": return .binary
        case "datetime": return .datetime
        case "any": return .any
        case "array":
            guard let items = spec["items"] else { throw TrailError.invalid("signature", "an array type has no items") }
            return .array(try type(items))
        case "map":
            guard let values = spec["values"] else { throw TrailError.invalid("signature", "a map type has no values") }
            return .map(try type(values))
        case "object":
            guard case .object(let properties)? = spec["properties"] else { throw TrailError.invalid("signature", "an object type has no properties") }
            return .object(
                try properties.keys.sorted().map { key in
                    Property(name: key, type: try type(properties[key]!), required: properties[key]!["required"].map { $0 != .bool(false) } ?? true)
                })
        default: throw TrailError.invalid("signature", "unknown column type '\(name)'")
        }
    }

    /// The columns' names in schema order ("0", "1", … for an unnamed schema), or nil without a
    /// column schema.
    public var columnNames: [String]? {
        guard case .columns(let columns)? = inputs else { return nil }
        return columns.enumerated().map { $0.element.name ?? String($0.offset) }
    }

    // MARK: - Checking

    /// Checks one row (column → value): every required column present and not null, no column
    /// the signature does not name, every value of its column's type. Returns the values in
    /// schema order (null for an absent optional column).
    public func check(_ row: [String: JSONValue]) -> Result<[JSONValue], InputProblems> {
        guard case .columns(let columns)? = inputs else { return .failure(InputProblems(missing: [], extra: [], invalid: [:])) }
        let names = columnNames ?? []
        let known = Set(names)
        var problems = InputProblems(missing: [], extra: row.keys.filter { !known.contains($0) }.sorted(), invalid: [:])
        var values: [JSONValue] = []
        values.reserveCapacity(columns.count)
        for (column, name) in zip(columns, names) {
            guard let value = row[name] else {
                if column.required { problems.missing.append(name) }
                values.append(.null)
                continue
            }
            if value == .null {
                if column.required { problems.invalid[name] = "must not be null (a required \(column.type) column)" }
            } else if let problem = Self.problem(value, column.type) {
                problems.invalid[name] = problem
            }
            values.append(value)
        }
        if problems.missing.isEmpty && problems.extra.isEmpty && problems.invalid.isEmpty { return .success(values) }
        return .failure(problems)
    }

    /// What is wrong with `value` as a `type`, or nil.
    public static func problem(_ value: JSONValue, _ type: ColumnType) -> String? {
        func got() -> String { "got \(kind(value))" }
        switch type {
        case .any: return nil
        case .boolean:
            if case .bool = value { return nil }
            return "must be a boolean, \(got())"
        case .integer, .long:
            let range: ClosedRange<Int64> = type == .integer ? Int64(Int32.min)...Int64(Int32.max) : Int64.min...Int64.max
            switch value {
            case .int(let i) where range.contains(i): return nil
            case .int: return "is out of range for a \(type) (\(range.lowerBound)…\(range.upperBound))"
            case .double(let d) where d.isFinite && d == d.rounded(.towardZero):
                guard let i = Int64(exactly: d), range.contains(i) else { return "is out of range for a \(type)" }
                return nil
            case .double: return "must be a whole number (a \(type) column), got \(value.canonicalString)"
            default: return "must be a whole number (a \(type) column), \(got())"
            }
        case .float, .double:
            switch value {
            case .int: return nil
            case .double(let d) where d.isFinite:
                if type == .float, abs(d) > Double(Float.greatestFiniteMagnitude) { return "is out of range for a float (32-bit)" }
                return nil
            case .double: return "must be a finite number"
            default: return "must be a number, \(got())"
            }
        case .string:
            if case .string = value { return nil }
            return "must be a string, \(got())"
        case .binary:
            guard case .string(let s) = value else { return "must be base64 text (a binary column), \(got())" }
            return Data(base64Encoded: s) == nil ? "must be base64 text (a binary column)" : nil
        case .datetime:
            guard case .string(let s) = value else { return "must be an ISO 8601 date or date-time without a time zone, \(got())" }
            return isNaiveDateTime(s) ? nil : "must be an ISO 8601 date or date-time without a time zone (e.g. 2024-03-01T12:00:00), got '\(s.prefix(40))'"
        case .array(let items):
            guard case .array(let list) = value else { return "must be a list (\(type)), \(got())" }
            for (i, item) in list.enumerated() {
                if let problem = problem(item, items) { return "item \(i) \(problem)" }
            }
            return nil
        case .map(let values):
            guard case .object(let members) = value else { return "must be an object (\(type)), \(got())" }
            for key in members.keys.sorted() {
                if let problem = problem(members[key]!, values) { return "key '\(key)' \(problem)" }
            }
            return nil
        case .object(let properties):
            guard case .object(let members) = value else { return "must be an object (\(type)), \(got())" }
            let known = Set(properties.map(\.name))
            if let extra = members.keys.sorted().first(where: { !known.contains($0) }) { return "has a property '\(extra)' the signature does not name" }
            for property in properties {
                guard let member = members[property.name], member != .null else {
                    if property.required { return "lacks the required property '\(property.name)'" }
                    continue
                }
                if let problem = problem(member, property.type) { return "property '\(property.name)' \(problem)" }
            }
            return nil
        }
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        case .int, .double: "a number"
        }
    }

    /// `YYYY-MM-DD`, optionally `THH:MM[:SS[.ffffff]]` (or a space for the T), and no zone.
    static func isNaiveDateTime(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= b.count && range.allSatisfy { b[$0] >= 48 && b[$0] <= 57 } }
        guard b.count >= 10, digits(0..<4), b[4] == UInt8(ascii: "-"), digits(5..<7), b[7] == UInt8(ascii: "-"), digits(8..<10) else { return false }
        let month = Int(b[5] - 48) * 10 + Int(b[6] - 48)
        let day = Int(b[8] - 48) * 10 + Int(b[9] - 48)
        guard (1...12).contains(month), (1...31).contains(day) else { return false }
        if b.count == 10 { return true }
        guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "), digits(11..<13), b.count >= 16, b[13] == UInt8(ascii: ":"), digits(14..<16)
        else { return false }
        guard Int(b[11] - 48) * 10 + Int(b[12] - 48) < 24, Int(b[14] - 48) * 10 + Int(b[15] - 48) < 60 else { return false }
        if b.count == 16 { return true }
        guard b.count >= 19, b[16] == UInt8(ascii: ":"), digits(17..<19), Int(b[17] - 48) * 10 + Int(b[18] - 48) < 60 else { return false }
        if b.count == 19 { return true }
        return b[19] == UInt8(ascii: ".") && b.count > 20 && b.count <= 29 && digits(20..<b.count)
    }

    /// Checks `params` against the params schema: names it knows, values of their types
    /// (MLflow's conversions: int to long, float or double; nothing else), lists where the shape
    /// is `[-1]`. A model without a params schema ignores params, as MLflow does.
    public func checkParams(_ params: [String: JSONValue]) -> Result<[String: JSONValue], InputProblems> {
        guard !self.params.isEmpty else { return .success([:]) }
        let known = Set(self.params.map(\.name))
        var problems = InputProblems(missing: [], extra: params.keys.filter { !known.contains($0) }.sorted(), invalid: [:])
        for param in self.params {
            guard let value = params[param.name], value != .null else { continue }
            if param.shape != nil {
                guard case .array(let list) = value else {
                    problems.invalid[param.name] = "must be a list of \(param.type)"
                    continue
                }
                if let (i, problem) = list.enumerated().lazy.compactMap({ item in Self.problem(item.element, param.type).map { (item.offset, $0) } }).first {
                    problems.invalid[param.name] = "item \(i) \(problem)"
                }
            } else if let problem = Self.problem(value, param.type) {
                problems.invalid[param.name] = problem
            } else if param.type == .long || param.type == .integer, case .double = value {
                problems.invalid[param.name] = "must be an integer (MLflow does not convert \(value.canonicalString) to a long)"
            }
        }
        if problems.extra.isEmpty && problems.invalid.isEmpty { return .success(params) }
        return .failure(problems)
    }

    /// Checks a tensor input (nested lists, or an object of named tensors) against the tensor
    /// specs: rank, the fixed dimensions, and numbers for numeric dtypes. A problem or nil.
    public func checkTensor(_ value: JSONValue) -> String? {
        guard case .tensors(let tensors)? = inputs else { return nil }
        func check(_ value: JSONValue, _ spec: Tensor, _ label: String) -> String? {
            var shape: [Int] = []
            var level = value
            while case .array(let items) = level {
                shape.append(items.count)
                guard let first = items.first else { break }
                level = first
            }
            guard shape.count == spec.shape.count else {
                return "\(label) has shape (\(shape.map(String.init).joined(separator: ", "))) but the signature expects (\(spec.shape.map(String.init).joined(separator: ", ")))"
            }
            for (dim, (got, want)) in zip(shape, spec.shape).enumerated() where want >= 0 && Int64(got) != want {
                return "\(label) has \(got) items in dimension \(dim) but the signature expects \(want)"
            }
            let numeric = spec.dtype.hasPrefix("float") || spec.dtype.hasPrefix("int") || spec.dtype.hasPrefix("uint")
            var ragged = false
            var bad: String?
            func walk(_ v: JSONValue, depth: Int) {
                if bad != nil || ragged { return }
                if depth == shape.count {
                    if numeric {
                        switch v {
                        case .int, .null: break
                        case .double(let d) where d.isFinite: break
                        default: bad = "\(label) holds \(MLflowSignature.kind(v)) where the signature expects \(spec.dtype)"
                        }
                    }
                    return
                }
                guard case .array(let items) = v, items.count == shape[depth] else {
                    ragged = true
                    return
                }
                for item in items { walk(item, depth: depth + 1) }
            }
            walk(value, depth: 0)
            if ragged { return "\(label) is ragged: its lists are not all of the same length" }
            return bad
        }
        if tensors.count == 1, tensors[0].name == nil || !(value.objectValue != nil) {
            return check(value, tensors[0], "inputs")
        }
        guard case .object(let members) = value else { return "inputs must be an object of named tensors (\(tensors.compactMap(\.name).joined(separator: ", ")))" }
        for tensor in tensors {
            let name = tensor.name ?? ""
            guard let member = members[name] else { return "inputs lacks the tensor '\(name)'" }
            if let problem = check(member, tensor, "inputs['\(name)']") { return problem }
        }
        if let extra = members.keys.sorted().first(where: { key in !tensors.contains { $0.name == key } }) {
            return "inputs has a tensor '\(extra)' the signature does not name"
        }
        return nil
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
}
