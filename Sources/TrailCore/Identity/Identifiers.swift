import Crypto
import Foundation

/// An experiment id: a decimal string, as MLflow uses (`"0"` is the Default experiment).
public struct ExperimentID: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let value: Int64

    public init(_ value: Int64) { self.value = value }

    /// Parses the wire form; refuses anything that is not a non-negative decimal number.
    public init(parsing text: String, field: String = "experiment_id") throws {
        guard !text.isEmpty, text.count <= 18, text.allSatisfy(\.isASCIIDigit), let value = Int64(text) else {
            throw TrailError.invalid(field, "experiment id must be a decimal number, got '\(text.prefix(64))'")
        }
        self.value = value
    }

    public var description: String { String(value) }
    public static let defaultExperiment = ExperimentID(0)
    public static func < (a: ExperimentID, b: ExperimentID) -> Bool { a.value < b.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self), number >= 0 {
            self.init(number)
        } else {
            try self.init(parsing: try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A run id: 32 lowercase hexadecimal characters (a UUID without dashes), as MLflow makes them.
public struct RunID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    public init(parsing text: String, field: String = "run_id") throws {
        guard text.utf8.count == 32, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw TrailError.invalid(field, "run id must be 32 lowercase hexadecimal characters, got '\(text.prefix(64))'")
        }
        self.value = text
    }

    /// A fresh random run id.
    public static func random() -> RunID {
        RunID(unchecked: UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
    }

    /// For text already known to be 32 lowercase hex digits (a UUID without dashes).
    private init(unchecked value: String) { self.value = value }

    public var description: String { value }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// A SHA-256 content digest, written `sha256:<64 lowercase hex>`.
public struct Digest: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// The 64 lowercase hexadecimal characters.
    public let hex: String

    public init(hex: String) throws {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw TrailError.invalid("digest", "a digest is 'sha256:' followed by 64 lowercase hex characters")
        }
        self.hex = hex
    }

    public init(parsing text: String, field: String = "digest") throws {
        guard text.hasPrefix("sha256:"), let digest = try? Digest(hex: String(text.dropFirst(7))) else {
            throw TrailError.invalid(field, "a digest is 'sha256:' followed by 64 lowercase hex characters, got '\(text.prefix(80))'")
        }
        self = digest
    }

    public init(_ sha: SHA256.Digest) {
        self.hex = sha.hexString
    }

    /// The digest of `bytes`.
    public static func of<Bytes: DataProtocol>(_ bytes: Bytes) -> Digest {
        Digest(SHA256.hash(data: bytes))
    }

    public var description: String { "sha256:" + hex }
    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Character {
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}

/// SHA-256 over bytes fed in pieces, for streams too large to hold.
public struct StreamingSHA256 {
    var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public mutating func finalize() -> Digest { Digest(hasher.finalize()) }
}

extension Array where Element == UInt8 {
    /// The bytes of an even-length hexadecimal string (either case); nil if it is not one.
    public init?(hex: String) {
        let utf8 = Array<UInt8>(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        for i in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        self = out
    }
}
