import struct Crypto.SHA256

/// TrailLedger: the pure maths of the ledger — RFC 9162 leaf and node hashing, roots, inclusion
/// and consistency proofs over stored perfect-subtree hashes, and C2SP signed notes and
/// checkpoints. No database, no network: stores feed it hashes through closures.

/// A Merkle tree hash: exactly 32 bytes.
public typealias TreeHash = [UInt8]

/// Where a perfect subtree's hash is stored: the subtree of `2^level` leaves starting at
/// leaf `index << level`.
public struct NodeAddress: Hashable, Sendable {
    public var level: Int
    public var index: UInt64
    public init(level: Int, index: UInt64) {
        self.level = level
        self.index = index
    }
}

public enum Merkle {
    /// `SHA-256("")`, the root of the empty tree.
    public static let emptyRoot: TreeHash = Array(SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 ‖ data)`.
    public static func leafHash<Bytes: Sequence>(_ data: Bytes) -> TreeHash where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(data: [0])
        hasher.update(data: Array(data))
        return Array(hasher.finalize())
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: TreeHash, _ right: TreeHash) -> TreeHash {
        var hasher = SHA256()
        hasher.update(data: [1])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The largest power of two strictly less than `n` (n ≥ 2).
    static func split(_ n: UInt64) -> UInt64 {
        UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// The nodes that appending leaf number `index` completes: the leaf itself at level 0 and
    /// every perfect subtree whose last leaf it is. `stored` reads the left siblings, which
    /// were stored by earlier appends. One append writes on average two nodes.
    public static func nodesCompleted(
        byAppending leaf: TreeHash, at index: UInt64, stored: (NodeAddress) throws -> TreeHash
    ) rethrows -> [(NodeAddress, TreeHash)] {
        var out = [(NodeAddress(level: 0, index: index), leaf)]
        var hash = leaf
        var level = 0
        var position = index
        while position & 1 == 1 {
            let left = try stored(NodeAddress(level: level, index: position - 1))
            hash = nodeHash(left, hash)
            level += 1
            position >>= 1
            out.append((NodeAddress(level: level, index: position), hash))
        }
        return out
    }

    /// The hash of leaves `[start, end)`, built from stored perfect subtrees: a range that is a
    /// perfect aligned subtree costs one read, any other range splits at the largest power of two.
    public static func rangeHash(_ start: UInt64, _ end: UInt64, stored: (NodeAddress) throws -> TreeHash) rethrows -> TreeHash {
        let count = end - start
        if count == 0 { return emptyRoot }
        if count & (count - 1) == 0, start % count == 0 {
            let level = count.trailingZeroBitCount
            return try stored(NodeAddress(level: level, index: start >> level))
        }
        let k = split(count)
        return nodeHash(try rangeHash(start, start + k, stored: stored), try rangeHash(start + k, end, stored: stored))
    }

    /// The root of the first `size` leaves.
    public static func root(size: UInt64, stored: (NodeAddress) throws -> TreeHash) rethrows -> TreeHash {
        try rangeHash(0, size, stored: stored)
    }

    /// RFC 9162 `PATH(index, D[0:size])`, leaf side first.
    public static func inclusionProof(index: UInt64, size: UInt64, stored: (NodeAddress) throws -> TreeHash) throws -> [TreeHash] {
        guard index < size else { throw MerkleError.indexOutOfRange }
        var path: [TreeHash] = []
        try inclusionPath(index, 0, size, &path, stored)
        return path
    }

    private static func inclusionPath(
        _ index: UInt64, _ start: UInt64, _ end: UInt64, _ path: inout [TreeHash], _ stored: (NodeAddress) throws -> TreeHash
    ) throws {
        let count = end - start
        if count <= 1 { return }
        let k = split(count)
        if index < k {
            try inclusionPath(index, start, start + k, &path, stored)
            path.append(try rangeHash(start + k, end, stored: stored))
        } else {
            try inclusionPath(index - k, start + k, end, &path, stored)
            path.append(try rangeHash(start, start + k, stored: stored))
        }
    }

    /// RFC 9162 `PROOF(first, D[0:second])` for `0 < first ≤ second`.
    public static func consistencyProof(first: UInt64, second: UInt64, stored: (NodeAddress) throws -> TreeHash) throws -> [TreeHash] {
        guard first > 0, first <= second else { throw MerkleError.indexOutOfRange }
        var path: [TreeHash] = []
        try subproof(first, 0, second, true, &path, stored)
        return path
    }

    private static func subproof(
        _ m: UInt64, _ start: UInt64, _ end: UInt64, _ whole: Bool, _ path: inout [TreeHash], _ stored: (NodeAddress) throws -> TreeHash
    ) throws {
        let n = end - start
        if m == n {
            if !whole { path.append(try rangeHash(start, end, stored: stored)) }
            return
        }
        let k = split(n)
        if m <= k {
            try subproof(m, start, start + k, whole, &path, stored)
            path.append(try rangeHash(start + k, end, stored: stored))
        } else {
            try subproof(m - k, start + k, end, false, &path, stored)
            path.append(try rangeHash(start, start + k, stored: stored))
        }
    }

    /// RFC 9162 §2.1.3.2: the root implied by an inclusion proof, or nil if the proof is malformed.
    public static func rootFromInclusion(index: UInt64, size: UInt64, leaf: TreeHash, path: [TreeHash]) -> TreeHash? {
        guard index < size, leaf.count == 32, path.allSatisfy({ $0.count == 32 }) else { return nil }
        var fn = index
        var sn = size - 1
        var r = leaf
        for p in path {
            if sn == 0 { return nil }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? r : nil
    }

    /// Verifies that `leaf` is at `index` in the tree of `size` leaves with `root`.
    public static func verifyInclusion(index: UInt64, size: UInt64, leaf: TreeHash, path: [TreeHash], root: TreeHash) -> Bool {
        guard root.count == 32 else { return false }
        return rootFromInclusion(index: index, size: size, leaf: leaf, path: path) == root
    }

    /// RFC 9162 §2.1.4.2 with the edge rules of transparency-dev/merkle: `first == 0` is refused;
    /// equal sizes need an empty proof and equal roots.
    public static func verifyConsistency(first: UInt64, second: UInt64, firstRoot: TreeHash, secondRoot: TreeHash, path: [TreeHash]) -> Bool {
        if second < first || first == 0 { return false }
        if first == second { return path.isEmpty && firstRoot == secondRoot }
        guard !path.isEmpty, firstRoot.count == 32, secondRoot.count == 32, path.allSatisfy({ $0.count == 32 }) else { return false }
        var proof = path
        if first & (first - 1) == 0 { proof.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = proof[0]
        var sr = proof[0]
        for c in proof.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }
}

public enum MerkleError: Error, Sendable {
    case indexOutOfRange
    case missingNode(NodeAddress)
}

/// The right edge of a tree being rebuilt leaf by leaf (RFC 9162's compact range): at most
/// log2(n)+1 perfect subtrees. Used by verification to recompute roots without storage.
public struct CompactRange: Sendable {
    public private(set) var size: UInt64 = 0
    private var stack: [(level: Int, hash: TreeHash)] = []

    public init() {}

    public mutating func append(_ leaf: TreeHash) {
        stack.append((0, leaf))
        size += 1
        while stack.count >= 2, stack[stack.count - 1].level == stack[stack.count - 2].level {
            let right = stack.removeLast()
            let left = stack.removeLast()
            stack.append((left.level + 1, Merkle.nodeHash(left.hash, right.hash)))
        }
    }

    public var root: TreeHash {
        guard var acc = stack.last?.hash else { return Merkle.emptyRoot }
        for entry in stack.dropLast().reversed() { acc = Merkle.nodeHash(entry.hash, acc) }
        return acc
    }
}

extension Merkle {
    /// MTH over leaf hashes held in memory (RFC 9162 §2.1.1), for small trees such as one
    /// group commit's predictions.
    public static func root(leaves: ArraySlice<TreeHash>) -> TreeHash {
        switch leaves.count {
        case 0: return emptyRoot
        case 1: return leaves.first!
        default:
            let k = largestPowerOfTwo(below: leaves.count)
            let start = leaves.startIndex
            return nodeHash(root(leaves: leaves[start..<start + k]), root(leaves: leaves[(start + k)...]))
        }
    }

    /// The inclusion path (RFC 9162 §2.1.3) of leaf `index` among in-memory `leaves`.
    public static func inclusionProof(index: Int, leaves: ArraySlice<TreeHash>) -> [TreeHash] {
        guard leaves.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let start = leaves.startIndex
        if index < k {
            return inclusionProof(index: index, leaves: leaves[start..<start + k]) + [root(leaves: leaves[(start + k)...])]
        }
        return inclusionProof(index: index - k, leaves: leaves[(start + k)...]) + [root(leaves: leaves[start..<start + k])]
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
