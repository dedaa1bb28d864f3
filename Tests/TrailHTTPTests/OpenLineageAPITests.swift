import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TrailCore
import TrailHTTP
import TrailService
import TrailStore

/// OpenLineage in over HTTP (the official client's requests are replayed by compat/), recorded
/// and verified on each backend; the Marquez-shaped graph joins it to ModelTrail's own runs.
@Suite("OpenLineage API: ingest, record, graph")
struct OpenLineageAPITests {
    static func event(run: String, type: String, outputs: [JSONValue] = [], inputs: [JSONValue] = []) -> [UInt8] {
        JSONValue.object([
            "eventTime": "2026-11-30T08:00:00Z", "eventType": .string(type), "producer": "https://example.com/etl",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent", "run": ["runId": .string(run)],
            "job": ["namespace": "etl", "name": "export"], "inputs": .array(inputs), "outputs": .array(outputs),
        ]).canonicalBytes
    }

    @Test func eventsAreRecordedOnceProvenAndJoinTheGraph() async throws {
        let (app, home, _, _) = try await makeSecuredApp()
        let root = Actor.user("root")
        _ = try await home.identity.createUser(name: "etl", roles: [.contributor], actor: root)
        _ = try await home.identity.createUser(name: "vic", roles: [.viewer], actor: root)
        let writer = try await home.identity.createToken(user: "etl", actor: root).secret
        let viewer = try await home.identity.createToken(user: "vic", actor: root).secret
        // A ModelTrail run that read the file the ETL job writes, and registered a version.
        let run = try await home.tracking.createRun(experimentID: nil, actor: root).info.runID
        try await home.tracking.logInputs(
            run, [DatasetInput(name: "patients", digest: "sha256:" + String(repeating: "ab", count: 32), source: "s3://clinic/export/patients.csv")],
            actor: root)
        _ = try await home.tracking.putArtifact(run, path: try ArtifactPath(validating: "model/w.json"), bytes: [1], actor: root)
        _ = try await home.registry.registerVersion(name: "m", runID: run, path: "model", actor: root)

        let runID = UUID().uuidString.lowercased()
        let output: JSONValue = [
            "namespace": "s3://clinic", "name": "export/patients.csv",
            "facets": ["version": ["_producer": "p:x", "_schemaURL": "s:x", "datasetVersion": .string(String(repeating: "ab", count: 32))]],
        ]
        let complete = Self.event(run: runID, type: "COMPLETE", outputs: [output], inputs: [["namespace": "postgres://db:5432", "name": "clinic.public.p"]])
        var gzipped = ByteBuffer(bytes: complete)
        let compressed = try gzipped.compress(with: .gzip())
        let before = try await home.tracking.store.eventCount()
        try await app.test(.router) { client in
            func post(_ body: ByteBuffer, _ token: String, gzip: Bool = false) async throws -> TestResponse {
                var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
                if gzip { headers[.contentEncoding] = "gzip" }
                return try await client.execute(uri: "/api/v1/lineage", method: .post, headers: headers, body: body)
            }
            #expect(try await post(ByteBuffer(bytes: Self.event(run: runID, type: "START")), writer).status == .created)
            let first = try await post(compressed, writer, gzip: true)
            #expect(first.status == .created)
            #expect(try decode(OpenLineageService.Accepted.self, first).recorded)
            // The client's retry of the same bytes records nothing new.
            let again = try await post(ByteBuffer(bytes: complete), writer)
            let replay = try decode(OpenLineageService.Accepted.self, again)
            #expect(again.status == .created && replay.recorded == false)
            // Readers may not write; broken bodies are 4xx naming the field.
            #expect(try await post(ByteBuffer(bytes: complete), viewer).status == .forbidden)
            for (body, field) in [
                (ByteBuffer(string: "{"), "body"), (ByteBuffer(string: "[]"), "body"), (ByteBuffer(), "body"),
                (ByteBuffer(string: #"{"eventTime":"x","producer":"p:x","schemaURL":"s:x"}"#), "eventTime"),
                (ByteBuffer(string: #"{"eventTime":"2026-01-01T00:00:00Z","producer":"p:x","schemaURL":"s:x","run":{"runId":"\u0000"},"job":{"namespace":"n","name":"j"}}"#), "body"),
            ] {
                let response = try await post(body, writer)
                #expect(response.status == .badRequest, "\(field)")
                #expect(String(buffer: response.body).contains("\"field\":\"\(field)\""), "\(String(buffer: response.body))")
            }
            let bad = try await client.execute(
                uri: "/api/v1/lineage", method: .post,
                headers: [.authorization: "Bearer \(writer)", .contentType: "application/json", .contentEncoding: "br"], body: ByteBuffer(bytes: complete))
            #expect(bad.status == .badRequest)

            // The graph: the ETL job → the file → ModelTrail's experiment → the registered version.
            let graph = try await client.execute(uri: "/api/v1/lineage?nodeId=job%3Aetl%3Aexport&depth=3", method: .get, headers: [.authorization: "Bearer \(viewer)"])
            #expect(graph.status == .ok)
            let ids = try decode(OpenLineageService.Graph.self, graph).graph.map(\.id)
            #expect(
                ids == [
                    "dataset:modeltrail:models/m/1", "dataset:postgres://db:5432:clinic.public.p", "dataset:s3://clinic:export/patients.csv", "job:etl:export",
                    "job:modeltrail:Default",
                ], "\(ids)")
            for (query, status) in [
                ("", HTTPResponse.Status.badRequest), ("?nodeId=job%3Aetl%3Aexport&depth=-1", .badRequest), ("?nodeId=job%3Aetl%3Aexport&depth=x", .badRequest),
                ("?nodeId=run%3Aabc", .notFound), ("?nodeId=job%3Anone%3Anone", .notFound), ("?nodeId=table%3Ax", .badRequest), ("?nodeId=job%3Ax", .badRequest),
            ] {
                let response = try await client.execute(uri: "/api/v1/lineage\(query)", method: .get, headers: [.authorization: "Bearer \(viewer)"])
                #expect(response.status == status, "\(query)")
            }
        }
        // Two events recorded (START, COMPLETE), nothing for refusals of bodies; the trace of the
        // version shows the upstream job, proven; verify passes with the event bytes as blobs.
        #expect(try await home.tracking.store.events(matching: EventQuery(action: "openlineage.ingest")).count == 2)
        #expect(try await home.tracking.store.eventCount() > before)
        let lineage = try await home.lineage.model(name: "m", reference: "1")
        let upstream = lineage.links.filter { $0.kind == "upstream" }
        #expect(upstream.count == 1 && upstream.allSatisfy(\.proven) && upstream[0].summary.contains("etl/export"), "\(lineage.links)")
        let report = try await home.verifier.verify()
        #expect(report.ok, "\(report.findings)")
    }

    @Test func nodeIDsFollowMarquezGrammar() throws {
        #expect(try OpenLineageService.parseNodeID("dataset:postgres://db:5432:public.orders") == ("dataset", "postgres://db:5432", "public.orders"))
        #expect(try OpenLineageService.parseNodeID("dataset:s3://bucket:a/b:c") == ("dataset", "s3://bucket", "a/b:c"))
        #expect(try OpenLineageService.parseNodeID("job:ns:name#0190f3a4-0000-7000-8000-000000000000") == ("job", "ns", "name"))
        #expect(try OpenLineageService.parseNodeID("dataset:file:/data/x.csv") == ("dataset", "file", "/data/x.csv"))
        for bad in ["", "dataset:", "dataset:ns", "dataset::x", "thing:a:b"] {
            #expect(throws: TrailError.self, "\(bad)") { _ = try OpenLineageService.parseNodeID(bad) }
        }
        #expect(OpenLineageService.datasetName(source: "s3://b/k/x.csv", name: "n") == ("s3://b", "k/x.csv"))
        #expect(OpenLineageService.datasetName(source: "/data/x.csv", name: "n") == ("file", "/data/x.csv"))
        #expect(OpenLineageService.datasetName(source: "", name: "n") == ("modeltrail", "datasets/n"))
    }
}
