import Crypto
import Foundation

/// MLflow 3's webhook signature: `X-MLflow-Signature: v1,<base64 HMAC-SHA256>` over
/// `"{delivery_id}.{timestamp}.{payload}"`, keyed with the endpoint's secret as UTF-8 bytes,
/// where `timestamp` is `X-MLflow-Timestamp` (Unix seconds) and `payload` the body's bytes.
public enum WebhookSignature {
    public static let signatureHeader = "X-MLflow-Signature"
    public static let timestampHeader = "X-MLflow-Timestamp"
    public static let deliveryIDHeader = "X-MLflow-Delivery-Id"
    public static let version = "v1"

    public static func sign(secret: String, deliveryID: String, timestamp: Int64, payload: [UInt8]) -> String {
        var message = Array("\(deliveryID).\(timestamp).".utf8)
        message += payload
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "\(version)," + Data(mac).base64EncodedString()
    }

    /// Checks a signature as a receiver would (constant time).
    public static func verify(signature: String, secret: String, deliveryID: String, timestamp: Int64, payload: [UInt8]) -> Bool {
        let expected = Array(sign(secret: secret, deliveryID: deliveryID, timestamp: timestamp, payload: payload).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for i in expected.indices { difference |= expected[i] ^ given[i] }
        return difference == 0
    }
}

/// A webhook target URL, checked before anything resolves it: http or https only, a host, no
/// credentials, no fragment, at most 2,048 bytes of visible ASCII.
public struct WebhookURL: Sendable, Hashable {
    public static let maxLength = 2048
    public let text: String
    public let scheme: String
    /// Without brackets for IPv6 literals.
    public let host: String
    public let port: Int

    public init(parsing raw: String, field: String = "url") throws {
        guard !raw.isEmpty else { throw TrailError.invalid(field, "a webhook needs a URL (http:// or https://)") }
        guard raw.utf8.count <= Self.maxLength else {
            throw TrailError.invalid(field, "the URL is \(raw.utf8.count) bytes; at most \(Self.maxLength) are accepted")
        }
        guard raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw TrailError.invalid(field, "the URL must be visible ASCII (percent-encode anything else; no spaces or control characters)")
        }
        let lower = raw.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            let scheme = raw.split(separator: ":", maxSplits: 1).first.map { String($0.prefix(20)) } ?? ""
            throw TrailError.invalid(field, "only http and https URLs are accepted, not '\(scheme)'")
        }
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            var host = components.host, !host.isEmpty
        else { throw TrailError.invalid(field, "'\(raw.prefix(200))' is not a URL with a host") }
        guard components.user == nil, components.password == nil, !raw.dropFirst(scheme.count + 3).prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" }).contains("@") else {
            throw TrailError.invalid(field, "credentials in the URL are refused; the endpoint's secret signs every delivery")
        }
        guard components.fragment == nil else { throw TrailError.invalid(field, "a URL fragment (#…) is never sent; remove it") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.contains("%") else { throw TrailError.invalid(field, "zone ids and percent-escapes in the host are refused") }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw TrailError.invalid(field, "the port must be 1 to 65535") }
        self.text = raw
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }
}
