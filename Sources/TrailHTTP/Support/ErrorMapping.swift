import Foundation
import Hummingbird
import Logging
import NIOCore
import TrailCore

/// TrailHTTP: the Hummingbird routes. Routes decode and encode; services decide.

/// The one table from error code to HTTP status.
public enum ErrorStatus {
    public static func status(for code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .invalidParameterValue, .malformedRequest: .badRequest
        case .resourceDoesNotExist, .endpointNotFound: .notFound
        case .resourceAlreadyExists, .resourceConflict: .conflict
        case .invalidState: .conflict
        case .requestTooLarge: .contentTooLarge
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .notImplemented: .notImplemented
        case .dataLoss, .internalError: .internalServerError
        case .temporarilyUnavailable: .serviceUnavailable
        }
    }
}

/// Turns every error thrown by a route into the JSON envelope with the status from the table.
/// Messages of internal errors are replaced by a generic one; the cause is logged, never sent.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let trailError = Self.translate(error)
            if trailError.code == .internalError || trailError.code == .dataLoss || trailError.code == .temporarilyUnavailable {
                logger.error("\(request.method) \(request.uri.path) failed: \(trailError) cause: \(String(describing: trailError.cause ?? error))")
            }
            return MLflowErrors.isMLflowPath(request.uri.path) ? MLflowErrors.response(trailError) : JSONResponse.error(trailError)
        }
    }

    static func translate(_ error: any Error) -> TrailError {
        switch error {
        case let error as TrailError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return TrailError(.requestTooLarge, "request body is larger than the configured limit", field: "body")
            case .notFound: return TrailError(.endpointNotFound, "no such endpoint")
            case .methodNotAllowed: return TrailError(.endpointNotFound, "method not allowed on this endpoint")
            case .badRequest: return TrailError(.malformedRequest, error.body ?? "bad request")
            default: return TrailError(.internalError, "request failed", cause: error)
            }
        case let error as DecodingError:
            return decodingError(error)
        case is NIOTooManyBytesError:
            return TrailError(.requestTooLarge, "request body is larger than the configured limit", field: "body")
        default:
            return TrailError(.internalError, "internal error", cause: error)
        }
    }

    static func fieldPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    static func decodingError(_ error: DecodingError) -> TrailError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Also a number the field's type cannot hold (2⁶³, 1.5 for an integer, 1e309).
            return TrailError(
                .malformedRequest, "request body is not valid JSON, or holds a value out of range: \(context.debugDescription.prefix(200))",
                field: "body")
        case .dataCorrupted(let context):
            let field = fieldPath(context.codingPath)
            return TrailError.invalid(field, "field '\(field)' has an invalid value")
        case .keyNotFound(let key, let context):
            let field = fieldPath(context.codingPath + [key])
            return TrailError.invalid(field, "field '\(field)' is required")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let field = fieldPath(context.codingPath)
            return TrailError.invalid(field.isEmpty ? "body" : field, "field '\(field.isEmpty ? "body" : field)' must be \(describe(type))")
        @unknown default:
            return TrailError(.malformedRequest, "request body could not be decoded", field: "body")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int64.Type, is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "of the documented type"
        }
    }
}

/// JSON responses and request decoding with the API's conventions.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ error: TrailError) -> Response {
        var shown = error
        if error.code == .internalError { shown.message = "internal error; the server log has the details" }
        let data = (try? encoder.encode(NativeAPI.ErrorBody(shown))) ?? Data("{\"error\":{\"code\":\"INTERNAL_ERROR\"}}".utf8)
        return Response(
            status: ErrorStatus.status(for: error.code), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads at most `limit` bytes of body and decodes it; an empty body decodes as `{}`.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        try requireJSON(request, bodyBytes: buffer.readableBytes)
        let bytes = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView)
        try refuseNUL(bytes)
        return try JSONDecoder().decode(T.self, from: bytes)
    }

    /// A JSON string may not carry a NUL (`\u0000`): SQLite would compare the text only up to
    /// it, so a request could change one record while the ledger names another.
    static func refuseNUL<Bytes: Collection>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        var state = 0
        for byte in bytes {
            switch (state, byte) {
            case (_, UInt8(ascii: "\\")): state = state == 1 ? 0 : 1
            case (1, UInt8(ascii: "u")), (1, UInt8(ascii: "U")): state = 2
            case (2, UInt8(ascii: "0")), (3, UInt8(ascii: "0")), (4, UInt8(ascii: "0")): state += 1
            case (5, UInt8(ascii: "0")): throw TrailError.invalid("body", "a NUL character (\\u0000) is not accepted in a JSON body")
            case (_, 0): throw TrailError.invalid("body", "a NUL byte is not accepted in a JSON body")
            default: state = 0
            }
        }
    }

    /// A JSON body must say so: `Content-Type: application/json`. A web page can send
    /// `text/plain`, form or multipart bodies to any origin without asking first; it cannot
    /// send `application/json` without a CORS preflight, which this server never grants.
    static func requireJSON(_ request: Request, bodyBytes: Int) throws {
        guard bodyBytes > 0 else { return }
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw TrailError(
                .malformedRequest, "a JSON body needs 'Content-Type: application/json' (got '\((type ?? "none").prefix(60))')", field: "Content-Type")
        }
    }
}
