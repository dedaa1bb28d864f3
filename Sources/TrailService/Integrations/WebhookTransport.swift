import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TrailCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `getaddrinfo`, on a thread of its own (a slow resolver never blocks Swift's cooperative pool).
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(_ host: String) async throws -> [[UInt8]] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.lookup(host) })
            }
        }
    }

    static func lookup(_ host: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result else { throw TrailError.invalid("url", "the host does not resolve") }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                switch Int32(info.pointee.ai_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        var raw = v4.pointee.sin_addr
                        out.append(withUnsafeBytes(of: &raw) { Array($0) })
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        var raw = v6.pointee.sin6_addr
                        out.append(withUnsafeBytes(of: &raw) { Array($0) })
                    }
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        var seen = Set<[UInt8]>()
        return out.filter { seen.insert($0).inserted }
    }
}

/// AsyncHTTPClient with redirects disabled, no proxy, and deadlines on connecting and on the
/// whole exchange. The answer's body is read (at most 64 KiB) and dropped.
public final class HTTPWebhookTransport: WebhookTransport {
    public static let shared = HTTPWebhookTransport()
    let client: HTTPClient

    init() {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func send(_ request: WebhookRequest, connectTimeoutMillis: Int64, timeoutMillis: Int64) async throws -> Int {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .POST
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let host = request.hostHeader { outgoing.headers.replaceOrAdd(name: "Host", value: host) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        let response = try await client.execute(outgoing, timeout: .milliseconds(timeoutMillis))
        _ = try? await response.body.collect(upTo: 64 << 10)
        return Int(response.status.code)
    }
}
