import Foundation

/// A `POST /invocations` body in one of MLflow's scoring formats (`mlflow-serving.md` §3),
/// taken apart into rows (column → value) or, for tensor models and unsigned non-tabular input,
/// kept whole to be handed to the model as MLflow would parse it.
public struct ScoringRequest: Sendable {
    public enum Input: Sendable {
        /// Tabular input. `columns` is the order the client gave (`dataframe_split`, CSV), or nil.
        case rows(columns: [String]?, rows: [[String: JSONValue]])
        /// `{"inputs": …}` or `{"instances": …}` as sent (tensor input).
        case raw(format: String, value: JSONValue)
    }

    /// An answer that refuses a request before any model sees it: MLflow's status and error code
    /// (400 BAD_REQUEST for shape and parse errors, 415 for the content type), naming the field.
    public struct Refusal: Error, Sendable, Hashable {
        public var status: Int
        public var errorCode: String
        public var message: String
        public var field: String

        public init(status: Int, errorCode: String, message: String, field: String) {
            self.status = status
            self.errorCode = errorCode
            self.message = message
            self.field = field
        }

        static func bad(_ message: String, field: String) -> Refusal { Refusal(status: 400, errorCode: "BAD_REQUEST", message: message, field: field) }
    }

    public static let formats = ["dataframe_split", "dataframe_records", "instances", "inputs"]
    public static let maxRows = 10_000

    public var input: Input
    public var params: [String: JSONValue]

    public var rowCount: Int {
        switch input {
        case .rows(_, let rows): rows.count
        case .raw: 1
        }
    }

    /// Parses a body by its `Content-Type` (JSON or CSV, UTF-8), as MLflow's scoring server does,
    /// with `signature` (if any) telling CSV cells their types and tensor models apart.
    public static func parse(contentType: String?, body: [UInt8], signature: MLflowSignature?) -> Result<ScoringRequest, Refusal> {
        let types = "Types: ['text/csv', 'application/json']"
        guard let contentType, !contentType.isEmpty else {
            return .failure(Refusal(status: 415, errorCode: "BAD_REQUEST", message: "a Content-Type header is required. \(types)", field: "Content-Type"))
        }
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair[0].lowercased() == "charset" {
                guard pair.count == 2, pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased() == "utf-8" else {
                    return .failure(Refusal(status: 415, errorCode: "BAD_REQUEST", message: "The scoring server only supports UTF-8", field: "Content-Type"))
                }
            } else {
                return .failure(
                    Refusal(
                        status: 415, errorCode: "BAD_REQUEST",
                        message: "Unrecognized content type parameters: \(pair[0]). The MLflow Model scoring protocol has changed: send a JSON object with one of \(formats.joined(separator: ", "))",
                        field: "Content-Type"))
            }
        }
        switch parts.first ?? "" {
        case "application/json": return json(body, signature: signature)
        case "text/csv": return csv(body, signature: signature)
        default:
            return .failure(
                Refusal(
                    status: 415, errorCode: "BAD_REQUEST",
                    message: "This predictor only supports the following content types: \(types). Got '\(contentType.prefix(200))'.", field: "Content-Type"))
        }
    }

    static func json(_ body: [UInt8], signature: MLflowSignature?) -> Result<ScoringRequest, Refusal> {
        let value: JSONValue
        do { value = try JSONValue.parse(body) } catch { return .failure(.bad("Invalid input. \(error)", field: "body")) }
        guard case .object(let members) = value else {
            return .failure(.bad("Invalid input. The body must be a JSON object with one of \(formats.joined(separator: ", ")); got \(MLflowSignature.kind(value))", field: "body"))
        }
        if let llm = ["messages", "prompt", "input"].first(where: { members[$0] != nil }) {
            return .failure(.bad("'\(llm)' (MLflow's chat and completion input) is not served by this gateway; send one of \(formats.joined(separator: ", "))", field: llm))
        }
        var params: [String: JSONValue] = [:]
        if let given = members["params"], given != .null {
            guard case .object(let object) = given else {
                return .failure(.bad("Parameters must be a dictionary. Got \(MLflowSignature.kind(given)).", field: "params"))
            }
            params = object
        }
        let found = formats.filter { members[$0] != nil }
        guard found.count == 1, let format = found.first, let data = members[format] else {
            return .failure(
                .bad(
                    "The input must be a JSON object with exactly one of the keys \(formats.joined(separator: ", ")). Received dictionary with input fields: \(found)",
                    field: found.isEmpty ? "body" : found[1]))
        }
        let tensor: Bool = if case .tensors? = signature?.inputs { true } else { false }
        func rows(_ columns: [String]?, _ rows: [[String: JSONValue]]) -> Result<ScoringRequest, Refusal> {
            guard !rows.isEmpty else { return .failure(.bad("Invalid input. \(format) holds no rows", field: format)) }
            guard rows.count <= maxRows else { return .failure(.bad("at most \(maxRows) rows per request, got \(rows.count)", field: format)) }
            return .success(ScoringRequest(input: .rows(columns: columns, rows: rows), params: params))
        }
        func records(_ list: [JSONValue]) -> [[String: JSONValue]]? {
            let objects = list.compactMap(\.objectValue)
            return objects.count == list.count ? objects : nil
        }
        switch format {
        case "dataframe_split":
            guard case .object(let split) = data, split["data"] != nil, Set(split.keys).isSubset(of: ["data", "columns", "index"]) else {
                return .failure(
                    .bad("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got \(data.canonicalString.prefix(200)).", field: format))
            }
            guard case .array(let table) = split["data"] else { return .failure(.bad("dataframe_split.data must be a list of rows", field: "dataframe_split.data")) }
            var columns: [String]
            if let given = split["columns"], given != .null {
                guard case .array(let list) = given, list.allSatisfy({ $0.stringValue != nil }) else {
                    return .failure(.bad("dataframe_split.columns must be a list of column names", field: "dataframe_split.columns"))
                }
                columns = list.compactMap(\.stringValue)
                guard Set(columns).count == columns.count else {
                    return .failure(.bad("dataframe_split.columns names a column twice", field: "dataframe_split.columns"))
                }
            } else {
                let width = table.first.map { if case .array(let cells) = $0 { cells.count } else { 1 } } ?? 0
                columns = (0..<width).map(String.init)
            }
            var out: [[String: JSONValue]] = []
            out.reserveCapacity(min(table.count, maxRows + 1))
            for (i, item) in table.prefix(maxRows + 1).enumerated() {
                let cells: [JSONValue] = if case .array(let cells) = item { cells } else { [item] }
                guard cells.count == columns.count else {
                    return .failure(.bad("row \(i) of dataframe_split.data has \(cells.count) values for \(columns.count) columns", field: "dataframe_split.data[\(i)]"))
                }
                out.append(Dictionary(uniqueKeysWithValues: zip(columns, cells)))
            }
            return rows(columns, out)
        case "dataframe_records":
            guard case .array(let list) = data else {
                return .failure(.bad("Dataframe records format must be a list of records. Got \(MLflowSignature.kind(data)).", field: format))
            }
            guard let objects = records(list) else { return .failure(.bad("every record of dataframe_records must be an object", field: format)) }
            return rows(nil, objects)
        default:  // instances, inputs
            if tensor { return .success(ScoringRequest(input: .raw(format: format, value: data), params: params)) }
            if case .array(let list) = data, let objects = records(list), !objects.isEmpty {
                if format == "instances", Set(objects.map { Set($0.keys) }).count > 1 {
                    return .failure(.bad("The length of values for each input/column name are not the same", field: format))
                }
                return rows(nil, objects)
            }
            if case .object(let object) = data, !object.isEmpty {
                let lists = object.values.compactMap { if case .array(let l) = $0 { l } else { nil } }
                if lists.count == object.count {
                    // An object of columns: {"x": [1, 2], "y": [3, 4]}.
                    let heights = Set(lists.map(\.count))
                    guard heights.count == 1, let height = heights.first else {
                        return .failure(.bad("The length of values for each input/column name are not the same", field: format))
                    }
                    guard height <= maxRows else { return .failure(.bad("at most \(maxRows) rows per request, got \(height)", field: format)) }
                    let keys = object.keys.sorted()
                    let table = (0..<height).map { r in Dictionary(uniqueKeysWithValues: keys.map { k -> (String, JSONValue) in if case .array(let l) = object[k]! { (k, l[r]) } else { (k, .null) } }) }
                    return rows(nil, table)
                }
                return rows(nil, [object])  // one record
            }
            if signature?.inputs == nil { return .success(ScoringRequest(input: .raw(format: format, value: data), params: params)) }
            return .failure(.bad("Invalid input. \(format) must hold records or columns for this model's column signature", field: format))
        }
    }

    // MARK: - CSV

    /// CSV with a header row (RFC 4180 quoting), each cell typed by its column's type in the
    /// signature: numbers for float/double/long/integer, true/false/1/0 for booleans, text for
    /// strings. An empty cell is null. Without a signature a cell is a number when it reads as
    /// one. A first column with an empty name (a pandas index) is dropped.
    static func csv(_ body: [UInt8], signature: MLflowSignature?) -> Result<ScoringRequest, Refusal> {
        guard let text = String(validating: body, as: UTF8.self) else { return .failure(.bad("the CSV body is not UTF-8", field: "body")) }
        let records: [[String]]
        switch parseCSV(text) {
        case .success(let parsed): records = parsed
        case .failure(let refusal): return .failure(refusal)
        }
        guard let header = records.first, !(header.count == 1 && header[0].isEmpty) else {
            return .failure(.bad("Failed to parse input as a Pandas DataFrame. No columns to parse from file", field: "body"))
        }
        let dropIndex = header.first == "" || header.first == "Unnamed: 0"
        let names = Array(header.dropFirst(dropIndex ? 1 : 0))
        guard Set(names).count == names.count else { return .failure(.bad("the CSV header names a column twice", field: "body")) }
        var types: [String: MLflowSignature.ColumnType] = [:]
        if case .columns(let columns)? = signature?.inputs {
            for (i, column) in columns.enumerated() { types[column.name ?? String(i)] = column.type }
        }
        let body = records.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }
        guard body.count <= maxRows else { return .failure(.bad("at most \(maxRows) rows per request, got \(body.count)", field: "body")) }
        var rows: [[String: JSONValue]] = []
        rows.reserveCapacity(body.count)
        for (r, record) in body.enumerated() {
            let cells = Array(record.dropFirst(dropIndex ? 1 : 0))
            guard cells.count == names.count else {
                return .failure(.bad("CSV line \(r + 2) has \(cells.count) cells for \(names.count) columns", field: "body"))
            }
            var row: [String: JSONValue] = [:]
            for (name, cell) in zip(names, cells) {
                switch typed(cell, types[name], signed: signature?.inputs != nil) {
                case .success(let value): row[name] = value
                case .failure(let problem):
                    return .failure(.bad("Failed to parse input as a Pandas DataFrame. CSV line \(r + 2), column '\(name)': \(problem)", field: name))
                }
            }
            rows.append(row)
        }
        guard !rows.isEmpty else { return .failure(.bad("the CSV body has a header and no rows", field: "body")) }
        return .success(ScoringRequest(input: .rows(columns: names, rows: rows), params: [:]))
    }

    static func typed(_ cell: String, _ type: MLflowSignature.ColumnType?, signed: Bool) -> Result<JSONValue, Refusal> {
        func refuse(_ text: String) -> Result<JSONValue, Refusal> { .failure(.bad(text, field: "body")) }
        if cell.isEmpty { return .success(.null) }
        guard let type else {
            // A column the signature does not know (reported as extra later), or no signature.
            if !signed, let i = Int64(cell) { return .success(.int(i)) }
            if !signed, let d = Double(cell), d.isFinite { return .success(.double(d)) }
            return .success(.string(cell))
        }
        switch type {
        case .double, .float:
            guard let d = Double(cell.trimmingCharacters(in: .whitespaces)) else { return refuse("'\(cell.prefix(40))' is not a number") }
            guard d.isFinite else { return refuse("'\(cell.prefix(40))' is not a finite number") }
            return .success(.double(d))
        case .long, .integer:
            guard let i = Int64(cell.trimmingCharacters(in: .whitespaces)) else { return refuse("'\(cell.prefix(40))' is not a whole number") }
            return .success(.int(i))
        case .boolean:
            switch cell.trimmingCharacters(in: .whitespaces) {
            case "true", "True", "TRUE", "1": return .success(.bool(true))
            case "false", "False", "FALSE", "0": return .success(.bool(false))
            default: return refuse("'\(cell.prefix(40))' is not a boolean")
            }
        case .string, .any: return .success(.string(cell))
        default: return refuse("a \(type) column cannot be sent as CSV; send JSON")
        }
    }

    /// RFC 4180: fields separated by commas, records by CRLF or LF; a quoted field may hold
    /// commas, line breaks and doubled quotes.
    static func parseCSV(_ text: String) -> Result<[[String]], Refusal> {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var wasQuoted = false
        let bytes = Array(text.utf8)
        var i = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") {
                guard field.isEmpty, !wasQuoted else { return .failure(.bad("CSV: a quote inside an unquoted field (record \(records.count + 1))", field: "body")) }
                quoted = true
                wasQuoted = true
            } else if b == UInt8(ascii: ",") {
                endField()
            } else if b == 0x0a || b == 0x0d {
                endField()
                records.append(record)
                record = []
                if b == 0x0d, i + 1 < bytes.count, bytes[i + 1] == 0x0a { i += 1 }
                guard records.count <= maxRows + 1 else { return .failure(.bad("at most \(maxRows) rows per request", field: "body")) }
            } else {
                field.append(b)
            }
            i += 1
        }
        if quoted { return .failure(.bad("CSV: a quoted field is not closed", field: "body")) }
        if !field.isEmpty || !record.isEmpty || wasQuoted {
            endField()
            records.append(record)
        }
        return .success(records)
    }
}
