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

/// The few S3 object calls ModelTrail needs, signed with SigV4 on every attempt, retried with
/// capped exponential backoff and jitter on 5xx, `SlowDown`, `RequestTimeout` and connection
/// failures, each with a deadline. Bodies are streamed from files (never held whole).
public struct S3Client: Sendable {
    public let location: S3Location
    let signer: SigV4Signer
    let sessionToken: String?
    let http: HTTPClient
    /// Attempts per call (the first included).
    public var attempts = 5
    /// Upper bound of one backoff sleep, in seconds.
    public var maxBackoffSeconds = 20.0

    /// The HTTP client every S3 call goes through: no redirects (a redirect would replay a
    /// signed request elsewhere), no decompression (the bytes are hashed as stored), a connect
    /// timeout of 5 s and an idle-read timeout of 60 s (a stalled transfer fails, a slow one
    /// does not). Lives for the process, so it is never shut down.
    public static let sharedHTTP = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            certificateVerification: .fullVerification, redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(60)), decompression: .disabled))

    public init(location: S3Location, credentials: S3Credentials, http: HTTPClient = S3Client.sharedHTTP) {
        self.location = location
        signer = SigV4Signer(accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, region: location.region)
        sessionToken = credentials.sessionToken
        self.http = http
    }

    /// A request body: none, bytes in memory, or a region of a file (read in 1 MiB chunks).
    public enum Body: Sendable {
        case empty
        case bytes([UInt8])
        case file(path: String, offset: Int64, length: Int64)

        var length: Int64 {
            switch self {
            case .empty: 0
            case .bytes(let bytes): Int64(bytes.count)
            case .file(_, _, let length): length
            }
        }
    }

    /// A finished call: status, headers and (for calls whose body is read here) the body.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The `<Code>` of an S3 error body, if any.
        public var errorCode: String? { XMLText.values(of: "Code", in: text).first }
    }

    /// The canonical URI of a key (path-style), encoded once.
    func path(_ key: String?) -> String {
        guard let key else { return "/\(location.bucket)" }
        return "/\(location.bucket)/" + SigV4Signer.uriEncode(key, keepSlash: true)
    }

    static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Builds and signs one attempt. The payload hash is the body's SHA-256 (hex) when known.
    func makeRequest(
        method: HTTPMethod, key: String?, query: [(String, String)], headers: [(String, String)], body: Body, payloadHash: String
    ) throws -> HTTPClientRequest {
        let path = path(key)
        let wire = SigV4Signer.wireQuery(query)
        var request = HTTPClientRequest(url: location.endpoint + path + (wire.isEmpty ? "" : "?" + wire))
        request.method = method
        var extra = headers
        if let sessionToken { extra.append(("x-amz-security-token", sessionToken)) }
        let (signed, _) = signer.headersToSend(
            method: method.rawValue, path: path, query: query, host: location.hostHeader, headers: extra, payloadHash: payloadHash,
            amzDate: SigV4Signer.amzDate(millis: Self.nowMillis()))
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        switch body {
        case .empty:
            if method == .PUT || method == .POST { request.headers.replaceOrAdd(name: "Content-Length", value: "0") }
        case .bytes(let bytes):
            request.body = .bytes(ByteBuffer(bytes: bytes))
        case .file(let path, let offset, let length):
            request.body = .stream(FileChunks(path: path, offset: offset, length: length), length: .known(length))
        }
        return request
    }

    /// One call with retries. `consume` reads the body of a successful (2xx) reply, once per
    /// attempt; other replies are read here (at most 1 MiB) and returned for the caller to judge.
    public func call(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [], body: Body = .empty,
        payloadHash: String = SigV4Signer.emptyPayloadHash, consume: (@Sendable (HTTPClientResponse) async throws -> [UInt8])? = nil
    ) async throws -> Reply {
        var attempt = 0
        while true {
            attempt += 1
            let request = try makeRequest(method: method, key: key, query: query, headers: headers, body: body, payloadHash: payloadHash)
            // A deadline that grows with the body sent (30 s plus 1 s per MiB); a download's
            // size is not known before it starts, so it gets an hour, and the client's idle-read
            // timeout ends a stalled one.
            let timeout = consume != nil ? TimeAmount.hours(1) : TimeAmount.seconds(30 + body.length / (1 << 20))
            do {
                let response = try await http.execute(request, timeout: timeout)
                let status = Int(response.status.code)
                let bytes: [UInt8]
                if (200..<300).contains(status), let consume {
                    bytes = try await consume(response)
                } else if method == .HEAD {
                    bytes = []
                } else {
                    bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
                }
                let reply = Reply(status: status, headers: response.headers, body: bytes)
                if attempt < attempts, Self.isRetryable(reply) {
                    try await backoff(attempt)
                    continue
                }
                return reply
            } catch let error as TrailError {
                throw error
            } catch {
                // A server that cannot be reached gets three tries (each bounded by the connect
                // timeout), not five: the caller hears 503 in seconds, not a minute.
                if attempt < min(attempts, 3), !(error is CancellationError) {
                    try await backoff(attempt)
                    continue
                }
                throw TrailError(
                    .temporarilyUnavailable, "the blob store (S3 at \(location.endpoint)) did not answer; check --s3-endpoint, or try again later",
                    cause: TrailError(.internalError, "\(method.rawValue) \(location.endpoint) \(key ?? location.bucket): \(error)"))
            }
        }
    }

    static func isRetryable(_ reply: Reply) -> Bool {
        switch reply.status {
        case 500, 502, 503, 504: return true
        case 400: return reply.errorCode == "RequestTimeout"
        case 409: return reply.errorCode == "ConditionalRequestConflict"
        default: return false
        }
    }

    func backoff(_ attempt: Int) async throws {
        let cap = min(maxBackoffSeconds, 0.2 * Double(1 << min(attempt, 20)))
        try await Task.sleep(nanoseconds: UInt64(Double.random(in: 0...cap) * 1e9))
    }

    /// A failure a caller cannot fix by retrying, with S3's code and the configuration to check.
    public func failure(_ reply: Reply, _ what: String) -> TrailError {
        let code = reply.errorCode ?? "HTTP \(reply.status)"
        let hint: String
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "HTTP 403": hint = "; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        case "AccessDenied": hint = "; the key's policy does not allow it"
        case "NoSuchBucket": hint = "; create bucket '\(location.bucket)' first"
        case "AuthorizationHeaderMalformed": hint = "; check the region (--s3-region)"
        case "RequestTimeTooSkewed": hint = "; this machine's clock is off"
        default: hint = ""
        }
        let message = XMLText.values(of: "Message", in: reply.text).first.map { ": \($0.prefix(200))" } ?? ""
        // Still failing with 5xx after the retries: the store is down or overloaded, not misconfigured.
        return TrailError(reply.status >= 500 ? .temporarilyUnavailable : .internalError, "S3 refused \(what) (\(reply.status) \(code)\(message))\(hint)")
    }

    // MARK: Object calls

    /// The object's size, or nil when it does not exist.
    public func head(_ key: String) async throws -> Int64? {
        let reply = try await call(.HEAD, key: key)
        switch reply.status {
        case 200: return reply.headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0
        case 404: return nil
        default: throw failure(reply, "HEAD \(key)")
        }
    }

    /// Creates an object only if absent (`If-None-Match: *`). True if this call stored it,
    /// false if it was already there (412).
    @discardableResult
    public func putIfAbsent(_ key: String, body: Body, sha256Hex: String, contentType: String = "application/octet-stream") async throws -> Bool {
        let reply = try await call(
            .PUT, key: key, headers: [("Content-Type", contentType), ("If-None-Match", "*")], body: body, payloadHash: sha256Hex)
        switch reply.status {
        case 200...299: return true
        case 412: return false
        default: throw failure(reply, "PUT \(key)")
        }
    }

    /// Uploads a file region by region (multipart), then completes with `If-None-Match: *`;
    /// aborts the upload on any failure. `partSize` bytes per part, at most `parallel` at once.
    public func multipartUpload(_ key: String, path: String, size: Int64, partSize: Int64, parallel: Int = 4) async throws {
        let created = try await call(.POST, key: key, query: [("uploads", "")], headers: [("Content-Type", "application/octet-stream")])
        guard created.status == 200, let uploadID = XMLText.values(of: "UploadId", in: created.text).first else {
            throw failure(created, "starting a multipart upload of \(key)")
        }
        do {
            let count = (size + partSize - 1) / partSize
            guard count <= 10_000 else { throw TrailError.internalError("a multipart upload may have at most 10,000 parts") }
            var etags = [String](repeating: "", count: Int(count))
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next: Int64 = 0
                func start() {
                    let number = next
                    next += 1
                    group.addTask {
                        let offset = number * partSize
                        let length = min(partSize, size - offset)
                        let hash = try FileChunks.sha256Hex(path: path, offset: offset, length: length)
                        let reply = try await call(
                            .PUT, key: key, query: [("partNumber", String(number + 1)), ("uploadId", uploadID)],
                            body: .file(path: path, offset: offset, length: length), payloadHash: hash)
                        guard reply.status == 200, let etag = reply.headers.first(name: "ETag") else {
                            throw failure(reply, "part \(number + 1) of \(key)")
                        }
                        return (Int(number), etag)
                    }
                }
                while next < min(count, Int64(max(parallel, 1))) { start() }
                for try await (index, etag) in group {
                    etags[index] = etag
                    if next < count { start() }
                }
            }
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for (index, etag) in etags.enumerated() {
                xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(XMLText.escape(etag))</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let body = Array(xml.utf8)
            let reply = try await call(
                .POST, key: key, query: [("uploadId", uploadID)], headers: [("Content-Type", "application/xml"), ("If-None-Match", "*")],
                body: .bytes(body), payloadHash: Digest.of(body).hex)
            // S3 may answer 200 with an <Error> body: always read it.
            if reply.status == 412 { return }
            // A retried Complete whose first attempt did complete finds no upload any more:
            // the object is there, whole, or it is not.
            if reply.status == 404, reply.errorCode == "NoSuchUpload", try await head(key) == size { return }
            guard reply.status == 200, !reply.text.contains("<Error>") else { throw failure(reply, "completing the upload of \(key)") }
        } catch {
            _ = try? await call(.DELETE, key: key, query: [("uploadId", uploadID)])
            throw error
        }
    }

    /// Streams an object into `descriptor` (a file open for writing), hashing as it goes;
    /// returns the byte count and digest of what arrived, or nil when the object does not exist.
    public func download(_ key: String, into descriptor: Int32, expectedBytes: Int64? = nil) async throws -> (sizeBytes: Int64, digest: Digest)? {
        let reply = try await call(.GET, key: key) { response in
            // Another size than the record's is known from the headers: nothing is fetched.
            let announced = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
            if let expectedBytes, let announced, announced != expectedBytes {
                throw TrailError(.dataLoss, "S3 object \(key) holds \(announced) bytes where the record says \(expectedBytes); it has been altered")
            }
            let limit = expectedBytes ?? announced ?? Int64.max
            // Each attempt starts the file afresh.
            guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
                throw TrailError.internalError("cannot reset a download file (errno \(errno))")
            }
            var hasher = StreamingSHA256()
            var total: Int64 = 0
            for try await chunk in response.body {
                total += Int64(chunk.readableBytes)
                guard total <= limit else {
                    throw TrailError(.dataLoss, "S3 object \(key) is longer than the \(limit) bytes expected; it has been altered")
                }
                try chunk.withUnsafeReadableBytes { bytes in
                    hasher.update(bytes)
                    try FileChunks.writeAll(descriptor, bytes)
                }
            }
            return Array("\(total) \(hasher.finalize().hex)".utf8)
        }
        switch reply.status {
        case 200:
            let parts = reply.text.split(separator: " ")
            guard parts.count == 2, let size = Int64(parts[0]), let digest = try? Digest(hex: String(parts[1])) else {
                throw TrailError.internalError("download of \(key) ended without a result")
            }
            return (size, digest)
        case 404: return nil
        default: throw failure(reply, "GET \(key)")
        }
    }

    /// Deletes an object (204 also when it never existed). ModelTrail deletes a blob only when
    /// retention removes it, after recording that it does (`retired_blobs`).
    public func delete(_ key: String) async throws {
        let reply = try await call(.DELETE, key: key)
        guard (200..<300).contains(reply.status) else { throw failure(reply, "DELETE \(key)") }
    }

    /// Multipart uploads under `prefix` that were started but never completed or aborted (a
    /// process killed mid-upload leaves its parts stored), with when each started.
    public func unfinishedUploads(prefix: String) async throws -> [(key: String, uploadID: String, initiated: Date?)] {
        var out: [(key: String, uploadID: String, initiated: Date?)] = []
        var keyMarker: String?
        var uploadMarker: String?
        let dates = ISO8601DateFormatter()
        dates.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plainDates = ISO8601DateFormatter()
        repeat {
            var query: [(String, String)] = [("uploads", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let uploadMarker { query.append(("upload-id-marker", uploadMarker)) }
            let reply = try await call(.GET, key: nil, query: query)
            guard reply.status == 200 else { throw failure(reply, "listing unfinished uploads") }
            for upload in XMLText.values(of: "Upload", in: reply.text) {
                guard let key = XMLText.values(of: "Key", in: upload).first, let id = XMLText.values(of: "UploadId", in: upload).first else { continue }
                let initiated = XMLText.values(of: "Initiated", in: upload).first.flatMap { dates.date(from: $0) ?? plainDates.date(from: $0) }
                out.append((key, id, initiated))
            }
            let truncated = XMLText.values(of: "IsTruncated", in: reply.text).first == "true"
            keyMarker = truncated ? XMLText.values(of: "NextKeyMarker", in: reply.text).first : nil
            uploadMarker = truncated ? XMLText.values(of: "NextUploadIdMarker", in: reply.text).first : nil
        } while keyMarker != nil
        return out
    }

    /// Aborts one multipart upload (its stored parts are freed).
    public func abortUpload(_ key: String, uploadID: String) async throws {
        let reply = try await call(.DELETE, key: key, query: [("uploadId", uploadID)])
        guard (200..<300).contains(reply.status) || reply.status == 404 else { throw failure(reply, "aborting an upload of \(key)") }
    }

    /// Every key under `prefix` (ListObjectsV2, page by page).
    public func list(prefix: String) async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix), ("max-keys", "1000")]
            if let token { query.append(("continuation-token", token)) }
            let reply = try await call(.GET, key: nil, query: query)
            guard reply.status == 200 else { throw failure(reply, "listing \(prefix)") }
            keys += XMLText.values(of: "Key", in: reply.text)
            token = XMLText.values(of: "IsTruncated", in: reply.text).first == "true"
                ? XMLText.values(of: "NextContinuationToken", in: reply.text).first : nil
        } while token != nil
        return keys
    }
}

/// A file region as an async sequence of 1 MiB buffers, read with `pread` (for streamed bodies).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64
    static let chunk = 1 << 20

    final class Descriptor {
        let value: Int32
        init(_ path: String) throws {
            value = open(path, O_RDONLY | O_CLOEXEC)
            guard value >= 0 else { throw TrailError.internalError("cannot open \(path) for upload (errno \(errno))") }
        }
        deinit { close(value) }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        var position: Int64
        let end: Int64
        var descriptor: Descriptor?

        mutating func next() async throws -> ByteBuffer? {
            guard position < end else { return nil }
            if descriptor == nil { descriptor = try Descriptor(path) }
            let wanted = Int(Swift.min(Int64(FileChunks.chunk), end - position))
            var buffer = ByteBufferAllocator().buffer(capacity: wanted)
            let fd = descriptor!.value
            let start = position
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { raw in
                try FileChunks.preadFully(fd, raw.baseAddress!, wanted, start)
            }
            guard read == wanted else { throw TrailError.internalError("\(path) shrank during upload") }
            position += Int64(read)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path, position: offset, end: offset + length) }

    static func preadFully(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, base + done, count - done, off_t(offset + Int64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw TrailError.internalError("cannot read for upload (errno \(errno))")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw TrailError.internalError("cannot write a download (errno \(errno))")
            }
            offset += written
        }
    }

    /// SHA-256 (hex) of a file region, read in chunks.
    static func sha256Hex(path: String, offset: Int64, length: Int64) throws -> String {
        let descriptor = try Descriptor(path)
        var hasher = StreamingSHA256()
        var buffer = [UInt8](repeating: 0, count: chunk)
        var position = offset
        while position < offset + length {
            let wanted = Int(Swift.min(Int64(chunk), offset + length - position))
            let read = try buffer.withUnsafeMutableBytes { try preadFully(descriptor.value, $0.baseAddress!, wanted, position) }
            guard read == wanted else { throw TrailError.internalError("\(path) shrank during upload") }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<read])) }
            position += Int64(read)
        }
        return hasher.finalize().hex
    }
}

/// The little XML S3 answers with, read by element name (order differs between servers).
enum XMLText {
    /// The text of every `<tag>…</tag>`, entities decoded.
    static func values(of tag: String, in xml: String) -> [String] {
        var out: [String] = []
        let open = "<\(tag)>"
        let close = "</\(tag)>"
        var rest = xml[...]
        while let start = rest.range(of: open) {
            guard let end = rest.range(of: close, range: start.upperBound..<rest.endIndex) else { break }
            out.append(unescape(String(rest[start.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        return out
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let scalar: UInt32? =
                    entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                if let scalar, let character = Unicode.Scalar(scalar) { out.unicodeScalars.append(character) } else { out += "&\(entity);" }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
