import Foundation
import TrailCore

/// Where blobs live in an S3-compatible server: `s3://bucket/prefix` plus the endpoint and
/// region. Path-style addressing (`endpoint/bucket/key`), which every S3-compatible server
/// accepts and local ones (moto, MinIO, Ceph RGW) require.
public struct S3Location: Sendable, Equatable, Codable {
    /// `http(s)://host[:port]`, no path.
    public var endpoint: String
    public var bucket: String
    /// Key prefix without leading or trailing slash; empty for the bucket's root.
    public var prefix: String
    public var region: String

    public init(endpoint: String, bucket: String, prefix: String, region: String) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
    }

    /// `s3://bucket/prefix`.
    public var uri: String { "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix)" }

    /// The object key of a blob: `prefix/sha256/<2 hex>/<64 hex>`.
    public func key(of digest: Digest) -> String { keyBase + "\(digest.hex.prefix(2))/\(digest.hex)" }

    /// The prefix under which every blob key lies (`prefix/sha256/`).
    public var keyBase: String { (prefix.isEmpty ? "" : prefix + "/") + "sha256/" }

    /// Parses `s3://bucket[/prefix]`. `endpoint` defaults to AWS's regional endpoint, `region`
    /// to `us-east-1`. Every part is checked: a bad value is refused naming the option.
    public static func parse(_ uri: String, endpoint: String?, region: String?) throws -> S3Location {
        guard uri.hasPrefix("s3://") else { throw TrailError.invalid("blobs", "expected s3://bucket/prefix, got '\(uri.prefix(100))'") }
        let rest = uri.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        guard (3...63).contains(bucket.count),
            bucket.allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "." }),
            bucket.first != "-", bucket.first != ".", bucket.last != "-", bucket.last != ".", !bucket.contains(".."),
            !bucket.split(separator: ".").allSatisfy({ $0.allSatisfy(\.isNumber) })  // not an IP address
        else {
            throw TrailError.invalid("blobs", "bucket '\(bucket.prefix(100))' is not an S3 bucket name (3-63 of a-z 0-9 . -)")
        }
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard prefix.utf8.count <= 900 else {
            throw TrailError.invalid("blobs", "the prefix is \(prefix.utf8.count) bytes; S3 keys are at most 1,024 (prefix at most 900)")
        }
        if !prefix.isEmpty {
            for segment in prefix.split(separator: "/", omittingEmptySubsequences: false) {
                guard !segment.isEmpty, segment != ".", segment != "..", segment.count <= 200,
                    segment.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
                else {
                    throw TrailError.invalid("blobs", "the prefix '\(prefix.prefix(100))' may hold only A-Z a-z 0-9 - _ . in non-empty segments")
                }
            }
        }
        let region = (region?.isEmpty == false ? region! : "us-east-1")
        guard region.count <= 64, region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw TrailError.invalid("s3-region", "'\(region.prefix(64))' is not a region name")
        }
        var endpoint = endpoint?.isEmpty == false ? endpoint! : "https://s3.\(region).amazonaws.com"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil,
            url.password == nil, url.port.map({ (1...65_535).contains($0) }) ?? !endpoint.dropFirst(scheme.count + 3).hasSuffix(":")
        else {
            throw TrailError.invalid("s3-endpoint", "expected http(s)://host[:port] without a path, got '\(endpoint.prefix(100))'")
        }
        return S3Location(endpoint: endpoint, bucket: bucket, prefix: prefix, region: region)
    }

    /// The `Host` header as sent (and signed): the port only when it is not the scheme's default.
    public var hostHeader: String {
        // `parse` has checked the endpoint; a host still missing here gives a request that fails, not a trap.
        let url = URLComponents(string: endpoint)
        let raw = url?.host ?? ""
        let host = raw.contains(":") && !raw.hasPrefix("[") ? "[\(raw)]" : raw
        guard let url, let port = url.port else { return host }
        if (url.scheme == "http" && port == 80) || (url.scheme == "https" && port == 443) { return host }
        return "\(host):\(port)"
    }
}

/// An access key pair (and session token, for temporary credentials).
public struct S3Credentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, or from a
    /// file of `name=value` lines with those names (the secret never on a command line).
    public static func load(file: String?, environment: [String: String]) throws -> S3Credentials {
        var values = environment
        if let file {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            guard size <= 64 << 10 else { throw TrailError.invalid("s3-credentials", "the credentials file \(file) is over 64 KiB") }
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw TrailError.invalid("s3-credentials", "cannot read the credentials file \(file)")
            }
            values = [:]
            for line in text.split(whereSeparator: \.isNewline) {
                var line = line.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                var value = parts[1]
                if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first { value = String(value.dropFirst().dropLast()) }
                values[parts[0].uppercased()] = value
            }
        }
        guard let key = values["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = values["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw TrailError.invalid(
                "s3-credentials", "S3 blobs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in the environment or in --s3-credentials FILE)")
        }
        let token = values["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
    }
}
