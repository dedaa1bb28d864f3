/// A logical artifact name inside a run, such as `plots/confusion_matrix.png`.
///
/// Clients choose it, so it is validated exactly once, here, and never used to name a file:
/// blobs live under digest-derived names only. Validation is by allow-list of shape, not by a
/// deny-list of known attacks: a path is one to 32 non-empty `/`-separated segments, none of
/// them `.` or `..`, with no leading `/`, no `\`, no control characters (NUL included), no `#`,
/// `?` or `;` (URL syntax that proxies and servers interpret differently), and no `%` followed by
/// two hex digits (a percent-escape that survived the one decoding step means double encoding).
public struct ArtifactPath: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let value: String

    public static let maxLength = 1024
    public static let maxSegments = 32

    public init(validating text: String, field: String = "path") throws {
        func refuse(_ why: String) -> TrailError {
            TrailError.invalid(field, "artifact path \(why); use a relative name like 'plots/roc.png'")
        }
        guard !text.isEmpty else { throw refuse("is empty") }
        guard text.utf8.count <= Self.maxLength else { throw refuse("is longer than \(Self.maxLength) bytes") }
        guard !text.hasPrefix("/") else { throw refuse("must be relative, not start with '/'") }
        let bytes = Array(text.utf8)
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case 0..<0x20, 0x7f: throw refuse("contains a control character")
            case UInt8(ascii: "\\"): throw refuse("contains '\\'")
            case UInt8(ascii: "#"), UInt8(ascii: "?"), UInt8(ascii: ";"):
                throw refuse("contains '\(Character(Unicode.Scalar(byte)))'")
            case UInt8(ascii: "%"):
                if offset + 2 < bytes.count, bytes[offset + 1].isHexDigit, bytes[offset + 2].isHexDigit {
                    throw refuse("contains a percent-escape (double encoding)")
                }
            default: break
            }
        }
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count <= Self.maxSegments else { throw refuse("has more than \(Self.maxSegments) segments") }
        for segment in segments {
            if segment.isEmpty { throw refuse("has an empty segment") }
            if segment == "." || segment == ".." { throw refuse("has a '\(segment)' segment") }
        }
        self.value = text
    }

    /// Decodes a URL path's percent-escapes once, then validates the result.
    public init(urlEncoded text: String, field: String = "path") throws {
        guard let decoded = text.removingPercentEncodingOnce() else {
            throw TrailError.invalid(field, "artifact path has a malformed percent-escape")
        }
        try self.init(validating: decoded, field: field)
    }

    public var description: String { value }
    public static func < (a: ArtifactPath, b: ArtifactPath) -> Bool { a.value < b.value }

    public init(from decoder: any Decoder) throws {
        try self.init(validating: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (self >= 48 && self <= 57) || (self >= 65 && self <= 70) || (self >= 97 && self <= 102)
    }

    var hexValue: UInt8 {
        switch self {
        case 48...57: self - 48
        case 65...70: self - 55
        default: self - 87
        }
    }
}

extension String {
    /// Percent-decoding applied exactly once; nil on a malformed escape or invalid UTF-8.
    public func removingPercentEncodingOnce() -> String? {
        let bytes = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, bytes[index + 1].isHexDigit, bytes[index + 2].isHexDigit else { return nil }
                out.append(bytes[index + 1].hexValue << 4 | bytes[index + 2].hexValue)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
