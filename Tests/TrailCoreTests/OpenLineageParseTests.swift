import Foundation
import Testing
import TrailCore

/// OpenLineage events checked as Marquez checks them, every refusal naming its JSON field.
@Suite("OpenLineage: parsing and checking events")
struct OpenLineageParseTests {
    static let runURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

    static func event(_ fields: [String: JSONValue]) -> [UInt8] {
        var base: [String: JSONValue] = [
            "eventTime": "2025-01-15T10:00:00.000Z", "producer": "https://example.com/p", "schemaURL": .string(runURL),
            "run": ["runId": "0190F3A4-5C1E-7B2A-9D3E-1F2A3B4C5D6E"], "job": ["namespace": "ml", "name": "train"],
        ]
        for (key, value) in fields { base[key] = value }
        return JSONValue.object(base.filter { $0.value != .null }).canonicalBytes
    }

    @Test func aRunEventIsReadWithItsDatasetsAndFacets() throws {
        let bytes = Self.event([
            "eventType": "COMPLETE",
            "outputs": [
                [
                    "namespace": "file", "name": "/data/x.csv",
                    "facets": [
                        "version": ["_producer": "p:x", "_schemaURL": "s:x", "datasetVersion": "sha256:ab"],
                        "schema": ["_producer": "p:x", "_schemaURL": "s:x", "fields": [["name": "a", "type": "DOUBLE", "fields": []]]],
                        "myCompany_custom": ["anything": 1],
                    ],
                ]
            ],
            "job": [
                "namespace": "ml", "name": "train",
                "facets": ["sourceCodeLocation": ["_producer": "p:x", "_schemaURL": "s:x", "type": "git", "url": "https://g/x", "version": "abc"]],
            ],
        ])
        let event = try OpenLineageEvent.parse(bytes)
        #expect(event.kind == .run && event.eventType == "COMPLETE" && event.runID == "0190f3a4-5c1e-7b2a-9d3e-1f2a3b4c5d6e")
        #expect(event.eventTimeMillis == 1_736_935_200_000)
        #expect(event.jobNodeID == "job:ml:train" && event.gitCommit == "abc" && event.sourceLocation == "https://g/x")
        #expect(event.datasets == [
            OpenLineageEvent.Dataset(role: "output", namespace: "file", name: "/data/x.csv", version: "sha256:ab", schemaJSON: #"[{"name":"a","type":"DOUBLE"}]"#)
        ])
    }

    @Test func kindsFollowTheSchemaURLAndTheirShapes() throws {
        let job = try OpenLineageEvent.parse(Self.event(["schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "run": .null]))
        #expect(job.kind == .job && job.runID == nil)
        let dataset = try OpenLineageEvent.parse(
            Self.event([
                "schemaURL": "https://x/#/definitions/DatasetEvent", "run": .null, "job": .null, "dataset": ["namespace": "s3://b", "name": "k"],
            ]))
        #expect(dataset.kind == .dataset && dataset.datasets.first?.nodeID == "dataset:s3://b:k")
        // An unknown suffix is a RunEvent (Marquez's rule).
        #expect(try OpenLineageEvent.parse(Self.event(["schemaURL": "https://x/whatever"])).kind == .run)
    }

    @Test(arguments: [
        (["run": ["runId": "nope"]], "run.runId"),
        (["run": .null], "run"),
        (["eventTime": .null], "eventTime"),
        (["eventTime": "2025-13-01T00:00:00Z"], "eventTime"),
        (["eventTime": "2025-01-01 00:00:00"], "eventTime"),
        (["eventTime": 12], "eventTime"),
        (["producer": "no scheme"], "producer"),
        (["schemaURL": ""], "schemaURL"),
        (["eventType": "DONE"], "eventType"),
        (["job": ["namespace": "n"]], "job.name"),
        (["job": ["namespace": "n", "name": "a\u{1}b"]], "job.name"),
        (["inputs": "x"], "inputs"),
        (["inputs": [["namespace": "n"]]], "inputs[0].name"),
        (["outputs": [["namespace": "n", "name": "d", "facets": ["version": ["_producer": "p:x", "_schemaURL": "s:x"]]]]], "outputs[0].facets.version.datasetVersion"),
        (["outputs": [["namespace": "n", "name": "d", "facets": ["schema": ["fields": []]]]]], "outputs[0].facets.schema._producer"),
        (["run": ["runId": "0190f3a4-5c1e-7b2a-9d3e-1f2a3b4c5d6e", "facets": ["parent": 3]]], "run.facets.parent"),
    ] as [([String: JSONValue], String)])
    func refusalsNameTheField(_ fields: [String: JSONValue], _ field: String) {
        let error = #expect(throws: TrailError.self) { _ = try OpenLineageEvent.parse(Self.event(fields)) }
        #expect(error?.field == field, "\(error?.message ?? "")")
        #expect(error?.code == .invalidParameterValue)
    }

    @Test func timesAreRFC3339WithOffsetsAndFractions() {
        #expect(OpenLineageEvent.parseTime("1970-01-01T00:00:00Z") == 0)
        #expect(OpenLineageEvent.parseTime("2025-01-15T10:00:00.5Z") == 1_736_935_200_500)
        #expect(OpenLineageEvent.parseTime("2025-01-15T11:00:00.123456789+01:00") == 1_736_935_200_123)
        #expect(OpenLineageEvent.parseTime("2025-01-15T05:00:00-05:00") == 1_736_935_200_000)
        #expect(OpenLineageEvent.parseTime("2020-12-28T19:51:01.641499") == 1_609_185_061_641)
        #expect(OpenLineageEvent.parseTime("2024-02-29T00:00:00Z") == 1_709_164_800_000)
        for bad in ["", "2025", "2025-01-15", "2025-01-15T10:00Z", "2025-01-15T10:00:00.Z", "2025-01-15T24:00:00Z", "2025-01-15T10:00:00+1:00",
            "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "99999-01-01T00:00:00Z", "2025-01-15T10:00:00Zjunk"]
        {
            #expect(OpenLineageEvent.parseTime(bad) == nil, "\(bad)")
        }
    }

    @Test func bigAndDeepBodiesAreRefusedNotTrapped() {
        let many = JSONValue.array((0..<1001).map { ["namespace": "n", "name": .string("d\($0)")] })
        let error = #expect(throws: TrailError.self) { _ = try OpenLineageEvent.parse(Self.event(["inputs": many])) }
        #expect(error?.field == "inputs")
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        #expect(throws: TrailError.self) { _ = try OpenLineageEvent.parse(deep) }
        #expect(throws: TrailError.self) { _ = try OpenLineageEvent.parse(Array("[]".utf8)) }
        #expect(throws: TrailError.self) { _ = try OpenLineageEvent.parse(Self.event(["job": ["namespace": .string(String(repeating: "n", count: 1025)), "name": "j"]])) }
    }
}
