import TrailCore

/// How the HTTP server runs. Built once by the executable from flags, environment and defaults.
public struct TrailServerConfig: Sendable {
    /// 127.0.0.1 by default: the server is reachable from this machine only until an operator
    /// chooses otherwise.
    public var host: String
    public var port: Int
    /// Largest JSON request body accepted (413 above it).
    public var maxBodyBytes: Int
    /// Largest artifact accepted in one upload (413 above it).
    public var maxArtifactBytes: Int64
    /// Who a local-only server acts as for requests without credentials (the OS user who
    /// started it); ignored otherwise.
    public var localActor: Actor
    /// Without credentials, act as `localActor` with every role. Off by default: the server
    /// requires a token unless started with the explicit `--local-only` flag.
    public var localOnly: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 5050, maxBodyBytes: Int = 4 << 20, maxArtifactBytes: Int64 = 64 << 30, localActor: Actor,
        localOnly: Bool = false
    ) {
        self.localOnly = localOnly
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxArtifactBytes = maxArtifactBytes
        self.localActor = localActor
    }

    /// Refuses settings that would open the server wider than intended: `--local-only` (no
    /// token needed, every role) only on a loopback address, a port in range, sane limits.
    public func validate() throws {
        if localOnly, !BrowserBoundaryMiddleware.isLoopback(host) {
            throw TrailError.invalid(
                "host", "--local-only lets requests without a token act as \(localActor.id) with every role: it binds only to a loopback address (127.0.0.1, ::1, localhost), not '\(host)'")
        }
        guard (0...65535).contains(port) else { throw TrailError.invalid("port", "port must be 0 to 65535") }
        guard maxBodyBytes > 0 else { throw TrailError.invalid("max-body-bytes", "must be positive") }
    }
}
