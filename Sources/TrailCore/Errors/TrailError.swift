/// TrailCore: the entities, identifiers, errors and pure helpers every other module shares.
/// Nothing in this module performs I/O.

/// A stable, machine-readable error code. The names follow MLflow's `databricks.ErrorCode`
/// where one exists, so the MLflow adapter can pass them through unchanged.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case invalidParameterValue = "INVALID_PARAMETER_VALUE"
    case malformedRequest = "MALFORMED_REQUEST"
    case resourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST"
    case resourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
    case resourceConflict = "RESOURCE_CONFLICT"
    case invalidState = "INVALID_STATE"
    case requestTooLarge = "REQUEST_TOO_LARGE"
    case unauthenticated = "UNAUTHENTICATED"
    case permissionDenied = "PERMISSION_DENIED"
    case endpointNotFound = "ENDPOINT_NOT_FOUND"
    case notImplemented = "NOT_IMPLEMENTED"
    case dataLoss = "DATA_LOSS"
    case internalError = "INTERNAL_ERROR"
    /// A part the server depends on (the S3 blob store) did not answer; retrying later may work.
    case temporarilyUnavailable = "TEMPORARILY_UNAVAILABLE"
}

/// The one error type that crosses module boundaries.
///
/// `message` is written for the person who has to fix the problem; it never contains SQL,
/// file-system paths or stack traces. `field` names the offending input field when there is one.
/// `cause` keeps the underlying error for logs only; it is never sent to a client.
public struct TrailError: Error, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var field: String?
    public var cause: (any Error & Sendable)?
    /// The refusal is already a ledger event (so a caller that records refusals skips it).
    public var recorded = false

    public init(_ code: ErrorCode, _ message: String, field: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if let field { text += " (field: \(field))" }
        return text
    }

    public static func invalid(_ field: String, _ message: String) -> TrailError {
        TrailError(.invalidParameterValue, message, field: field)
    }

    public static func notFound(_ what: String, _ id: String, field: String? = nil) -> TrailError {
        TrailError(.resourceDoesNotExist, "\(what) '\(id)' does not exist", field: field)
    }

    /// An error whose refusal the thrower has recorded in the ledger.
    public static func recorded(_ code: ErrorCode, _ message: String, field: String? = nil) -> TrailError {
        var error = TrailError(code, message, field: field)
        error.recorded = true
        return error
    }

    public static func internalError(_ message: String, cause: (any Error & Sendable)? = nil) -> TrailError {
        TrailError(.internalError, message, cause: cause)
    }

    /// The field a `concurrentChange` carries: what a decision read changed before it committed.
    public static let concurrentChangeField = "concurrent_change"

    /// A write's precondition found that what its decision read has changed since (another
    /// writer got there first). Services re-read and decide again; a client sees 409.
    public static func concurrentChange(_ what: String) -> TrailError {
        TrailError(.resourceConflict, "\(what) changed while this request was being decided; try again", field: concurrentChangeField)
    }

    public var isConcurrentChange: Bool { code == .resourceConflict && field == Self.concurrentChangeField }
}
