import Foundation

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `::1/128`), parsed strictly: the
/// address in canonical dotted or colon form, a prefix in range, no host bits set.
public struct NetworkRange: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6).
    public let network: [UInt8]
    public let prefixLength: Int

    public init(parsing text: String, field: String = "cidr") throws {
        guard text.utf8.count <= 64 else { throw TrailError.invalid(field, "a CIDR is at most 64 characters") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddressBytes.parse(String(parts[0])), !parts[1].isEmpty, parts[1].count <= 3,
            parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let prefix = Int(parts[1]), prefix <= address.count * 8
        else {
            throw TrailError.invalid(field, "'\(text.prefix(64))' is not a CIDR: write ADDRESS/PREFIX, e.g. 10.0.0.0/8, 127.0.0.1/32 or fd00::/8")
        }
        guard IPAddressBytes.masked(address, prefix) == address else {
            throw TrailError.invalid(field, "'\(text.prefix(64))' has bits set past its /\(prefix); write the network address")
        }
        network = address
        prefixLength = prefix
    }

    init(_ network: [UInt8], _ prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    public func contains(_ address: [UInt8]) -> Bool {
        address.count == network.count && IPAddressBytes.masked(address, prefixLength) == network
    }

    public var description: String { "\(IPAddressBytes.format(network))/\(prefixLength)" }
}

/// Helpers over raw address bytes.
public enum IPAddressBytes {
    /// A literal IPv4 (four decimal octets) or IPv6 address (with `::`, an embedded IPv4 tail,
    /// no zone); nil for anything else.
    public static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parseIPv6(text) }
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var out: [UInt8] = []
        for octet in octets {
            // No leading zeros: "010" is 8 to inet_aton and 10 to a reader.
            guard !octet.isEmpty, octet.count <= 3, octet.count == 1 || octet.first != "0", octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt8(octet)
            else { return nil }
            out.append(value)
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 45, !text.contains("%") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parse(String(piece)) else { return nil }
                    out += v4
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    static func masked(_ address: [UInt8], _ prefix: Int) -> [UInt8] {
        address.enumerated().map { i, byte in
            let bits = max(0, min(8, prefix - i * 8))
            return bits == 8 ? byte : byte & ~(UInt8(0xff) >> bits)
        }
    }

    public static func format(_ address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for i in stride(from: 0, to: address.count, by: 2) { groups.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16)) }
        return groups.joined(separator: ":")
    }
}

/// Which addresses a webhook may reach. Refused unless an admin allowed a network that
/// contains them: loopback, link-local (and with it the cloud metadata service at
/// 169.254.169.254), private (RFC 1918, fc00::/7), shared (100.64.0.0/10, also Alibaba's
/// metadata 100.100.100.200), unspecified, multicast, broadcast and reserved ranges. IPv4
/// addresses inside IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are
/// judged as the IPv4 address they carry.
public enum WebhookAddressPolicy {
    static let refusedIPv4: [(NetworkRange, String)] = [
        (NetworkRange([0, 0, 0, 0], 8), "an unspecified address"),
        (NetworkRange([10, 0, 0, 0], 8), "a private address (RFC 1918)"),
        (NetworkRange([100, 64, 0, 0], 10), "a shared address (100.64.0.0/10)"),
        (NetworkRange([127, 0, 0, 0], 8), "a loopback address"),
        (NetworkRange([169, 254, 0, 0], 16), "a link-local address (the cloud metadata service is 169.254.169.254)"),
        (NetworkRange([172, 16, 0, 0], 12), "a private address (RFC 1918)"),
        (NetworkRange([192, 0, 0, 0], 24), "a reserved address (192.0.0.0/24)"),
        (NetworkRange([192, 168, 0, 0], 16), "a private address (RFC 1918)"),
        (NetworkRange([198, 18, 0, 0], 15), "a benchmarking address (198.18.0.0/15)"),
        (NetworkRange([224, 0, 0, 0], 4), "a multicast address"),
        (NetworkRange([240, 0, 0, 0], 4), "a reserved or broadcast address"),
    ]

    static let refusedIPv6: [(NetworkRange, String)] = [
        (NetworkRange([UInt8](repeating: 0, count: 16), 128), "an unspecified address"),
        (NetworkRange([UInt8](repeating: 0, count: 15) + [1], 128), "a loopback address"),
        (NetworkRange([0xfe, 0x80] + [UInt8](repeating: 0, count: 14), 10), "a link-local address"),
        (NetworkRange([0xfe, 0xc0] + [UInt8](repeating: 0, count: 14), 10), "a site-local address"),
        (NetworkRange([0xfc] + [UInt8](repeating: 0, count: 15), 7), "a private address (fc00::/7; AWS's metadata service is fd00:ec2::254)"),
        (NetworkRange([0xff] + [UInt8](repeating: 0, count: 15), 8), "a multicast address"),
        (NetworkRange([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12), 32), "a documentation address"),
        (NetworkRange([UInt8](repeating: 0, count: 16), 96), "an IPv4-compatible address"),
    ]

    /// The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any.
    static func embeddedIPv4(_ address: [UInt8]) -> [UInt8]? {
        guard address.count == 16 else { return nil }
        if address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xff, address[11] == 0xff { return Array(address[12..<16]) }
        if address[0..<12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0][...] { return Array(address[12..<16]) }
        if address[0] == 0x20, address[1] == 0x02 { return Array(address[2..<6]) }
        return nil
    }

    /// Why `address` is refused (nil when it may be reached), given the networks an admin allowed.
    public static func refusal(for address: [UInt8], allowed: [NetworkRange]) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        if let v4 = embeddedIPv4(address) {
            if allowed.contains(where: { $0.contains(v4) }) { return nil }
            if let reason = refusedIPv4.first(where: { $0.0.contains(v4) })?.1 { return reason }
            return nil
        }
        let table = address.count == 4 ? refusedIPv4 : refusedIPv6
        return table.first(where: { $0.0.contains(address) })?.1
    }
}
