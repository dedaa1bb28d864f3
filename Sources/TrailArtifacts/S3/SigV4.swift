import Crypto
import TrailCore

/// AWS Signature Version 4 as S3 applies it (`docs/reference` of the shared notes, §1): the
/// path is encoded once and never normalised, the query is sorted by encoded name then value,
/// and the payload hash is sent as `x-amz-content-sha256`. Checked against the 19 vectors and
/// the presigned URL in `Tests/TrailArtifactsTests/Vectors/s3_sigv4_vectors.json`.
public struct SigV4Signer: Sendable {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let region: String
    public let service: String

    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    /// Lower-case hex SHA-256 of the empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Every step of one signature, for tests and for diagnosing a `SignatureDoesNotMatch`.
    public struct Signature: Sendable, Equatable {
        public var canonicalQuery: String
        public var canonicalHeaders: String
        public var signedHeaders: String
        public var canonicalRequest: String
        public var stringToSign: String
        public var signingKeyHex: String
        public var signature: String
        public var authorization: String
    }

    /// UriEncode of the SigV4 rules: keeps `A-Z a-z 0-9 - _ . ~`, keeps `/` when asked (a key in
    /// a path), and writes every other UTF-8 byte as `%XX` with upper-case hex.
    public static func uriEncode(_ string: String, keepSlash: Bool) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical query string: encoded pairs sorted by name then value (bytewise).
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
            .sorted { $0.0 != $1.0 ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The query as it goes on the wire: the same encoding, in the given order, and a
    /// parameter without a value written bare (`?uploads`).
    public static func wireQuery(_ query: [(String, String)]) -> String {
        query.map { $0.1.isEmpty ? uriEncode($0.0, keepSlash: false) : "\(uriEncode($0.0, keepSlash: false))=\(uriEncode($0.1, keepSlash: false))" }
            .joined(separator: "&")
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    /// The day's signing key (raw bytes).
    public func signingKey(dateStamp: String) -> [UInt8] {
        var key = Self.hmac(Array("AWS4\(secretAccessKey)".utf8), dateStamp)
        for part in [region, service, "aws4_request"] { key = Self.hmac(key, part) }
        return key
    }

    public func scope(dateStamp: String) -> String { "\(dateStamp)/\(region)/\(service)/aws4_request" }

    /// Signs a request whose `headers` already hold `host`, `x-amz-date` and
    /// `x-amz-content-sha256` exactly as they will be sent. `path` is the canonical URI (encoded
    /// once); `query` holds raw names and values.
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, amzDate: String
    ) -> Signature {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let squeezed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(squeezed)
        }
        let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalQuery = Self.canonicalQuery(query)
        let canonicalRequest = [method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let dateStamp = String(amzDate.prefix(8))
        let scope = scope(dateStamp: dateStamp)
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Array(SHA256.hash(data: Array(canonicalRequest.utf8))).hexString]
            .joined(separator: "\n")
        let key = signingKey(dateStamp: dateStamp)
        let signature = Self.hmac(key, stringToSign).hexString
        return Signature(
            canonicalQuery: canonicalQuery, canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders,
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signingKeyHex: key.hexString, signature: signature,
            authorization: "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)")
    }

    /// The full header list to send: `Host`, the caller's headers, then the date, the payload
    /// hash and the authorization.
    public func headersToSend(
        method: String, path: String, query: [(String, String)], host: String, headers: [(String, String)], payloadHash: String,
        amzDate: String
    ) -> (headers: [(String, String)], signature: Signature) {
        let signed = sign(
            method: method, path: path, query: query,
            headers: [("host", host)] + headers + [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)],
            payloadHash: payloadHash, amzDate: amzDate)
        return (
            [("Host", host)] + headers + [("X-Amz-Date", amzDate), ("X-Amz-Content-SHA256", payloadHash), ("Authorization", signed.authorization)],
            signed
        )
    }

    /// A presigned URL's query (query authentication): only `host` is signed and the payload
    /// is `UNSIGNED-PAYLOAD`; `X-Amz-Signature` goes last.
    public func presignedQuery(method: String, path: String, host: String, amzDate: String, expiresSeconds: Int) -> (query: String, signature: Signature) {
        let query: [(String, String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKeyID)/\(scope(dateStamp: String(amzDate.prefix(8))))"),
            ("X-Amz-Date", amzDate), ("X-Amz-Expires", String(expiresSeconds)), ("X-Amz-SignedHeaders", "host"),
        ]
        let signed = sign(method: method, path: path, query: query, headers: [("host", host)], payloadHash: Self.unsignedPayload, amzDate: amzDate)
        return ("\(signed.canonicalQuery)&X-Amz-Signature=\(signed.signature)", signed)
    }

    /// `YYYYMMDDTHHMMSSZ` for a time in milliseconds since the epoch (UTC).
    public static func amzDate(millis: Int64) -> String {
        let seconds = millis / 1000
        let days = seconds / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)\(two(month))\(two(day))T\(two(secondOfDay / 3600))\(two(secondOfDay % 3600 / 60))\(two(secondOfDay % 60))Z"
    }
}
