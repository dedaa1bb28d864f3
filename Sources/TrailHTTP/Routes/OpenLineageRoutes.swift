import CompressNIO
import Foundation
import Hummingbird
import NIOCore
import TrailCore
import TrailService

/// `POST /api/v1/lineage` (OpenLineage events, as the official clients send them: one JSON event,
/// optionally `Content-Encoding: gzip`, a bearer token; 201 with an empty body, as Marquez) and
/// `GET /api/v1/lineage?nodeId=…&depth=…` (the graph in Marquez's shape). A thin translation to
/// `OpenLineageService`.
struct OpenLineageRoutes {
    let openLineage: OpenLineageService
    let config: TrailServerConfig

    func add(to api: SecuredRoutes) {
        api.post("lineage", .write) { request, context in
            var request = request
            let limit = OpenLineageService.maxEventBytes
            var buffer = try await request.collectBody(upTo: limit)
            try JSONResponse.requireJSON(request, bodyBytes: buffer.readableBytes)
            let encoding = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased()
            switch encoding {
            case nil, "", "identity":
                break
            case "gzip", "x-gzip":
                guard buffer.readableBytes > 0 else { throw TrailError.invalid("body", "the gzip body is empty") }
                do {
                    buffer = try buffer.decompress(with: .gzip(), maxSize: limit)
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    throw TrailError(.requestTooLarge, "an OpenLineage event is at most \(limit) bytes once decompressed", field: "body")
                } catch {
                    throw TrailError.invalid("Content-Encoding", "the body is not valid gzip")
                }
            default:
                throw TrailError.invalid("Content-Encoding", "Content-Encoding must be gzip or absent, got '\(String(encoding ?? "").prefix(40))'")
            }
            let bytes = Array(buffer.readableBytesView)
            try JSONResponse.refuseNUL(bytes)
            let accepted = try await openLineage.ingest(bytes, actor: context.actor)
            var response = try JSONResponse.make(accepted, status: .created)
            response.headers[.contentType] = "application/json"
            return response
        }
        api.get("lineage/receivers", .admin) { _, _ in
            try JSONResponse.make(OpenLineageAPI.Receivers(receivers: try await openLineage.tracking.store.openLineageCursors()))
        }
        api.get("lineage", .read) { request, _ in
            guard let node = request.uri.queryParameters.get("nodeId") else {
                throw TrailError.invalid("nodeId", "nodeId is required (dataset:<namespace>:<name> or job:<namespace>:<name>)")
            }
            let depthText = request.uri.queryParameters.get("depth") ?? "20"
            guard let depth = Int(depthText) else { throw TrailError.invalid("depth", "depth must be an integer 0 to 100") }
            return try JSONResponse.make(try await openLineage.graph(nodeID: node, depth: depth))
        }
    }
}

/// Bodies of the OpenLineage routes.
public enum OpenLineageAPI {
    public struct Receivers: Codable, Sendable {
        public var receivers: [OpenLineageCursor]
        public init(receivers: [OpenLineageCursor]) { self.receivers = receivers }
    }
}
