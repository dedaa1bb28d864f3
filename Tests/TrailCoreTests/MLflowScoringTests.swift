import Foundation
import Testing
import TrailCore

/// MLflow's scoring formats (`mlflow-serving.md` §3) and the signature checks the gateway makes
/// before any worker is asked.
@Suite("MLflow scoring input")
struct MLflowScoringTests {
    static let signature = try! MLflowSignature(
        inputs: try! JSONValue.parse(
            Array(
                #"""
                [{"type": "long", "name": "age", "required": true}, {"type": "double", "name": "income", "required": true},
                 {"type": "string", "name": "city", "required": true}, {"type": "boolean", "name": "member", "required": true},
                 {"type": "datetime", "name": "since", "required": true}, {"type": "float", "name": "ratio", "required": true},
                 {"type": "integer", "name": "visits", "required": true},
                 {"type": {"type": "array", "items": {"type": "string"}}, "name": "tags", "required": true},
                 {"type": "string", "name": "note", "required": false}]
                """#.utf8)).fixedArrayTypes,
        params: try! JSONValue.parse(
            Array(#"[{"name": "top_k", "type": "long", "default": 3, "shape": null}, {"name": "weights", "type": "double", "default": [1.0], "shape": [-1]}]"#.utf8)))

    static let good: [String: JSONValue] = [
        "age": 34, "income": 52000.5, "city": "Lyon", "member": true, "since": "2024-03-01T12:00:00", "ratio": 0.25, "visits": 7,
        "tags": ["a", "b"],
    ]

    static func parse(_ body: String, _ type: String? = "application/json", signature: MLflowSignature? = signature) -> Result<ScoringRequest, ScoringRequest.Refusal> {
        ScoringRequest.parse(contentType: type, body: Array(body.utf8), signature: signature)
    }

    static func rows(_ result: Result<ScoringRequest, ScoringRequest.Refusal>) -> [[String: JSONValue]]? {
        guard case .success(let request) = result, case .rows(_, let rows) = request.input else { return nil }
        return rows
    }

    @Test func everyJSONFormatGivesTheSameRows() {
        let expected: [[String: JSONValue]] = [["x": 1.0, "y": 3.0], ["x": 2.0, "y": 4.0]]
        let unsigned: MLflowSignature? = nil
        #expect(Self.rows(Self.parse(#"{"dataframe_split": {"columns": ["x","y"], "data": [[1.0,3.0],[2.0,4.0]]}}"#, signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(#"{"dataframe_split": {"index": [7, 8], "columns": ["x","y"], "data": [[1.0,3.0],[2.0,4.0]]}}"#, signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(#"{"dataframe_records": [{"x": 1.0, "y": 3.0}, {"x": 2.0, "y": 4.0}]}"#, signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(#"{"instances": [{"x": 1.0, "y": 3.0}, {"x": 2.0, "y": 4.0}]}"#, signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(#"{"inputs": {"x": [1.0, 2.0], "y": [3.0, 4.0]}}"#, signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(#"{"inputs": [{"x": 1.0, "y": 3.0}, {"x": 2.0, "y": 4.0}]}"#, signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(#"{"inputs": {"x": 1.0, "y": 3.0}}"#, signature: unsigned)) == [expected[0]])
        #expect(Self.rows(Self.parse("x,y\n1.0,3.0\n2.0,4.0\n", "text/csv", signature: unsigned)) == expected)
        #expect(Self.rows(Self.parse(",x,y\r\n0,1.0,3.0\r\n1,2.0,4.0", "text/csv; charset=utf-8", signature: unsigned)) == expected)
        guard case .success(let request) = Self.parse(#"{"inputs": [[1, 2, 3]], "params": {"top_k": 2}}"#, signature: unsigned) else {
            Issue.record("a tensor body for an unsigned model is handed on whole")
            return
        }
        #expect(request.params == ["top_k": 2])
        if case .raw(let format, _) = request.input { #expect(format == "inputs") } else { Issue.record("expected raw input") }
    }

    @Test(
        "requests MLflow refuses are refused with its status, naming the field",
        arguments: [
            (#"{"data": [[1]]}"#, "application/json", 400, "body"),
            (#"{"dataframe_records": [], "instances": []}"#, "application/json", 400, "instances"),
            (#"[1, 2]"#, "application/json", 400, "body"),
            (#"{"dataframe_split": {"data": [[1]], "dtypes": {}}}"#, "application/json", 400, "dataframe_split"),
            (#"{"dataframe_records": {"x": 1}}"#, "application/json", 400, "dataframe_records"),
            (#"{"dataframe_records": []}"#, "application/json", 400, "dataframe_records"),
            (#"{"instances": [{"x": 1}, {"y": 2}]}"#, "application/json", 400, "instances"),
            (#"{"inputs": {"x": [1, 2], "y": [3]}}"#, "application/json", 400, "inputs"),
            (#"{"dataframe_records": [{"x": 1}], "params": [1]}"#, "application/json", 400, "params"),
            (#"{"messages": []}"#, "application/json", 400, "messages"),
            (#"{"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}}"#, "application/json", 400, "dataframe_split.data[0]"),
            ("{nope", "application/json", 400, "body"),
            (#"{"dataframe_records": [{"x": 1}]}"#, "Application/JSON", 415, "Content-Type"),
            (#"{"dataframe_records": [{"x": 1}]}"#, "application/json; format=pandas-split", 415, "Content-Type"),
            (#"{"dataframe_records": [{"x": 1}]}"#, "application/json; charset=latin-1", 415, "Content-Type"),
            ("x\n1", "application/vnd.apache.parquet", 415, "Content-Type"),
            ("", "text/csv", 400, "body"),
            ("x,y\n1,\"2", "text/csv", 400, "body"),
        ])
    func refusals(_ body: String, _ type: String, _ status: Int, _ field: String) {
        guard case .failure(let refusal) = Self.parse(body, type, signature: nil) else {
            Issue.record("\(body) was accepted")
            return
        }
        #expect(refusal.status == status)
        #expect(refusal.field == field)
        #expect(!refusal.message.isEmpty)
    }

    @Test func aMissingContentTypeIsA415NotACrash() {
        guard case .failure(let refusal) = Self.parse("{}", nil) else { Issue.record("accepted"); return }
        #expect(refusal.status == 415 && refusal.field == "Content-Type")
    }

    @Test func theSignatureChecksEveryColumn() {
        #expect(throws: Never.self) { try Self.signature.check(Self.good).get() }
        var row = Self.good
        row.removeValue(forKey: "age")
        row["zip"] = "69001"
        row["income"] = "52000"
        row["visits"] = 3_000_000_000
        row["since"] = "2024-03-01T12:00:00+02:00"
        row["member"] = "false"
        row["tags"] = ["a", 1]
        guard case .failure(let problems) = Self.signature.check(row) else { Issue.record("a bad row passed"); return }
        #expect(problems.missing == ["age"])
        #expect(problems.extra == ["zip"])
        #expect(Set(problems.invalid.keys) == ["income", "visits", "since", "member", "tags"])
        // An optional column may be absent or null; a required one may not be null.
        var optional = Self.good
        optional["note"] = .null
        #expect(throws: Never.self) { try Self.signature.check(optional).get() }
        var null = Self.good
        null["city"] = .null
        #expect(throws: InputProblems.self) { try Self.signature.check(null).get() }
        // MLflow's lenient casts are refused here: 30.7 is not a long, an epoch number not a date.
        for (column, value) in [("age", JSONValue.double(30.7)), ("since", .int(1_709_294_400_000)), ("ratio", .string("0.25")), ("member", .int(0))] {
            var bad = Self.good
            bad[column] = value
            #expect(throws: InputProblems.self, "\(column) = \(value)") { try Self.signature.check(bad).get() }
        }
        var whole = Self.good
        whole["age"] = .double(30)
        #expect(throws: Never.self) { try Self.signature.check(whole).get() }
    }

    @Test func csvCellsTakeTheirColumnsTypes() {
        let csv = "age,income,city,member,since,ratio,visits,tags\n34,52000.5,\"Lyon, FR\",True,x,0.25,7,a\n"
        // A datetime or list column cannot come as CSV (as in MLflow): refused, naming it.
        guard case .failure(let refusal) = Self.parse(csv, "text/csv") else { Issue.record("accepted"); return }
        #expect(refusal.field == "since")
        let simple = try! MLflowSignature(
            inputs: try! JSONValue.parse(Array(#"[{"type": "long", "name": "n"}, {"type": "string", "name": "s"}, {"type": "boolean", "name": "b"}]"#.utf8)),
            params: nil)
        #expect(Self.rows(Self.parse("n,s,b\n3,\"a \"\"q\"\", b\",true\n", "text/csv", signature: simple)) == [["n": 3, "s": "a \"q\", b", "b": true]])
        guard case .failure(let notANumber) = Self.parse("n,s,b\n3.5,x,true\n", "text/csv", signature: simple) else { Issue.record("accepted"); return }
        #expect(notANumber.field == "n")
    }

    @Test func paramsFollowMLflowsConversions() {
        #expect(throws: Never.self) { try Self.signature.checkParams(["top_k": 2, "weights": [2, 0.5]]).get() }
        guard case .failure(let p) = Self.signature.checkParams(["top_k": 2.0, "weights": 1.0, "other": 1]) else { Issue.record("accepted"); return }
        #expect(p.extra == ["other"])
        #expect(Set(p.invalid.keys) == ["top_k", "weights"])
    }

    @Test func tensorShapesAreChecked() throws {
        let tensor = try MLflowSignature(
            inputs: try JSONValue.parse(Array(#"[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]"#.utf8)), params: nil)
        #expect(tensor.checkTensor([[1, 2, 3], [4, 5, 6]]) == nil)
        #expect(tensor.checkTensor([1, 2, 3]) != nil)
        #expect(tensor.checkTensor([[1, 2], [3, 4]]) != nil)
        #expect(tensor.checkTensor([[1, 2, 3], [4, 5]]) != nil)
        #expect(tensor.checkTensor([[1, "a", 3]]) != nil)
        guard case .success(let request) = Self.parse(#"{"inputs": [[1, 2, 3]]}"#, signature: tensor), case .raw = request.input else {
            Issue.record("a tensor model's input is handed on whole"); return
        }
    }

    @Test func naiveDateTimes() {
        for good in ["2024-03-01", "2024-03-01T12:00", "2024-03-01T12:00:00", "2024-03-01 12:00:00.123456"] {
            #expect(MLflowSignature.problem(.string(good), .datetime) == nil, "\(good)")
        }
        for bad in ["2024-13-01", "2024-03-01T25:00:00", "2024-03-01T12:00:00Z", "2024-03-01T12:00:00+02:00", "03/01/2024", "2024-03-01T12:00:00."] {
            #expect(MLflowSignature.problem(.string(bad), .datetime) != nil, "\(bad)")
        }
    }

    @Test func pythonsNonFiniteTokensParseOnlyWhenAllowed() throws {
        let body = Array(#"{"predictions": [NaN, Infinity, -Infinity, 1.5, -2]}"#.utf8)
        #expect(throws: (any Error).self) { try JSONValue.parse(body) }
        guard case .array(let values)? = try JSONValue.parseAllowingNonFinite(body)["predictions"], values.count == 5 else {
            Issue.record("not parsed"); return
        }
        if case .double(let d) = values[0] { #expect(d.isNaN) } else { Issue.record("NaN") }
        #expect(values[1] == .double(.infinity))
        #expect(values[2] == .double(-.infinity))
        #expect(values[4] == .int(-2))
    }
}

extension JSONValue {
    /// The test's column list writes an array type as MLflow's `to_dict` does: `{"type": "array",
    /// "items": …}` at the column's level.
    fileprivate var fixedArrayTypes: JSONValue {
        guard case .array(let columns) = self else { return self }
        return .array(
            columns.map { column in
                guard case .object(var members) = column, case .object(let nested)? = members["type"] else { return column }
                for (key, value) in nested { members[key] = value }
                return .object(members)
            })
    }
}
