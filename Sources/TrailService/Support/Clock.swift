import Foundation

/// TrailService: every rule of ModelTrail lives here. Adapters (HTTP, CLI, MLflow API) decode
/// input and call these services; services authorise, validate, decide, and hand the store one
/// `WriteBatch` per mutation (one transaction, one ledger event).

/// A source of wall-clock time in milliseconds, injectable for tests.
public protocol TrailClock: Sendable {
    func nowMillis() -> Int64
}

public struct SystemClock: TrailClock {
    public init() {}
    public func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
