import Crypto
import Foundation
import Testing
import TrailLedger

/// Vectors from ../shared/reference (tlog_vectors.json, tlog_probes.json), bundled as resources.
enum Vectors {
    static func load(_ name: String) throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors"))
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            out.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
        }
        return out
    }

    static func b64(_ value: Any?) -> [UInt8] {
        guard let text = value as? String, !text.isEmpty else { return [] }
        return Array(Data(base64Encoded: text) ?? Data())
    }
}

/// An in-memory node store built the way the database builds it: append by append.
struct MemoryTree {
    var nodes: [NodeAddress: TreeHash] = [:]
    var size: UInt64 = 0

    init(leaves: [[UInt8]]) {
        for leaf in leaves { append(Merkle.leafHash(leaf)) }
    }

    mutating func append(_ leaf: TreeHash) {
        let snapshot = nodes
        for (address, hash) in Merkle.nodesCompleted(byAppending: leaf, at: size, stored: { snapshot[$0]! }) { nodes[address] = hash }
        size += 1
    }

    func stored(_ address: NodeAddress) throws -> TreeHash {
        guard let hash = nodes[address] else { throw MerkleError.missingNode(address) }
        return hash
    }
}

@Suite("Merkle log vectors (RFC 9162)")
struct MerkleVectorTests {
    @Test func primitiveHashes() throws {
        let hashes = try Vectors.load("tlog_vectors")["hashes"] as! [String: String]
        #expect(Merkle.emptyRoot == Vectors.hex(hashes["empty_tree_root"]!))
        #expect(Merkle.leafHash([]) == Vectors.hex(hashes["leaf_hash_of_empty_data"]!))
        #expect(Merkle.leafHash(Array("L123456".utf8)) == Vectors.hex(hashes["leaf_hash('L123456')"]!))
        #expect(Merkle.nodeHash(Array("N123".utf8), Array("N456".utf8)) == Vectors.hex(hashes["node_hash('N123','N456')"]!))
    }

    @Test func rfc6962ReferenceRoots() throws {
        let reference = try Vectors.load("tlog_vectors")["rfc6962_reference_leaves"] as! [String: Any]
        let leaves = (reference["leaves_hex"] as! [String]).map(Vectors.hex)
        for entry in reference["roots"] as! [[String: Any]] {
            let size = entry["size"] as! Int
            let tree = MemoryTree(leaves: Array(leaves.prefix(size)))
            #expect(try Merkle.root(size: UInt64(size), stored: tree.stored) == Vectors.hex(entry["root_hex"] as! String), "size \(size)")
        }
        let tree = MemoryTree(leaves: leaves)
        #expect(try Merkle.inclusionProof(index: 0, size: 8, stored: tree.stored) == (reference["inclusion_0_in_8"] as! [String]).map(Vectors.hex))
        #expect(
            try Merkle.consistencyProof(first: 1, second: 8, stored: tree.stored) == (reference["consistency_1_to_8"] as! [String]).map(Vectors.hex))
    }

    @Test func asciiLeavesRootsAndProofs() throws {
        let ascii = try Vectors.load("tlog_vectors")["ascii_leaves"] as! [String: Any]
        let leaves = (ascii["leaves_utf8"] as! [String]).map { Array($0.utf8) }
        let tree = MemoryTree(leaves: leaves)
        for (size, root) in ascii["roots_by_size"] as! [String: String] {
            let n = UInt64(size)!
            #expect(try Merkle.root(size: n, stored: tree.stored) == Vectors.hex(root), "root of \(n)")
            var range = CompactRange()
            for leaf in leaves.prefix(Int(n)) { range.append(Merkle.leafHash(leaf)) }
            #expect(range.root == Vectors.hex(root), "compact range root of \(n)")
        }
        let root7 = Vectors.hex(ascii["root_size_7"] as! String)
        for proof in ascii["inclusion_proofs_size_7"] as! [[String: Any]] {
            let index = UInt64(proof["leaf_index"] as! Int)
            let path = (proof["path"] as! [String]).map(Vectors.hex)
            #expect(try Merkle.inclusionProof(index: index, size: 7, stored: tree.stored) == path, "inclusion of \(index)")
            #expect(Merkle.verifyInclusion(index: index, size: 7, leaf: Vectors.hex(proof["leaf_hash"] as! String), path: path, root: root7))
        }
        for proof in ascii["consistency_proofs"] as! [[String: Any]] {
            let first = UInt64(proof["first"] as! Int)
            let second = UInt64(proof["second"] as! Int)
            let path = (proof["proof"] as! [String]).map(Vectors.hex)
            #expect(try Merkle.consistencyProof(first: first, second: second, stored: tree.stored) == path, "consistency \(first)→\(second)")
            let secondRoot = try Merkle.root(size: second, stored: tree.stored)
            #expect(
                Merkle.verifyConsistency(
                    first: first, second: second, firstRoot: Vectors.hex(proof["first_root"] as! String), secondRoot: secondRoot, path: path))
        }
    }

    @Test func negativeCasesAreRejected() throws {
        let ascii = try Vectors.load("tlog_vectors")["ascii_leaves"] as! [String: Any]
        let tree = MemoryTree(leaves: (ascii["leaves_utf8"] as! [String]).map { Array($0.utf8) })
        let root = try Merkle.root(size: 7, stored: tree.stored)
        let leaf3 = try tree.stored(NodeAddress(level: 0, index: 3))
        let path = try Merkle.inclusionProof(index: 3, size: 7, stored: tree.stored)
        #expect(!Merkle.verifyInclusion(index: 2, size: 7, leaf: leaf3, path: path, root: root), "wrong index")
        #expect(!Merkle.verifyInclusion(index: 3, size: 7, leaf: leaf3, path: Array(path.dropLast()), root: root), "truncated")
        #expect(!Merkle.verifyInclusion(index: 3, size: 7, leaf: leaf3, path: path + [leaf3], root: root), "extra element")
        #expect(!Merkle.verifyInclusion(index: 3, size: 7, leaf: Array(SHA256Helper.hash("leaf-3")), path: path, root: root), "raw hash")
        let root4 = try Merkle.root(size: 4, stored: tree.stored)
        let consistency = try Merkle.consistencyProof(first: 4, second: 7, stored: tree.stored)
        #expect(!Merkle.verifyConsistency(first: 4, second: 7, firstRoot: root, secondRoot: root4, path: consistency), "swapped roots")
        #expect(!Merkle.verifyConsistency(first: 0, second: 7, firstRoot: Merkle.emptyRoot, secondRoot: root, path: []), "from empty")
    }

    @Test func everyProbe() throws {
        let probes = try Vectors.load("tlog_probes")
        var count = 0
        for probe in probes["inclusion"] as! [[String: Any]] {
            let ok = Merkle.verifyInclusion(
                index: (probe["leafIdx"] as! NSNumber).uint64Value, size: (probe["treeSize"] as! NSNumber).uint64Value,
                leaf: Vectors.b64(probe["leafHash"]), path: ((probe["proof"] as? [Any]) ?? []).map(Vectors.b64), root: Vectors.b64(probe["root"]))
            #expect(ok == !(probe["wantErr"] as! Bool), "\(probe["_file"]!)")
            count += 1
        }
        for probe in probes["consistency"] as! [[String: Any]] {
            let ok = Merkle.verifyConsistency(
                first: (probe["size1"] as! NSNumber).uint64Value, second: (probe["size2"] as! NSNumber).uint64Value,
                firstRoot: Vectors.b64(probe["root1"]), secondRoot: Vectors.b64(probe["root2"]),
                path: ((probe["proof"] as? [Any]) ?? []).map(Vectors.b64))
            #expect(ok == !(probe["wantErr"] as! Bool), "\(probe["_file"]!)")
            count += 1
        }
        #expect(count == 196)
    }

    @Test("proofs from stored nodes match a from-scratch tree for every size up to 70", arguments: [1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70])
    func proofsForAllIndices(_ size: Int) throws {
        let leaves = (0..<size).map { Array("entry-\($0)".utf8) }
        let tree = MemoryTree(leaves: leaves)
        let root = try Merkle.root(size: UInt64(size), stored: tree.stored)
        for index in 0..<size {
            let path = try Merkle.inclusionProof(index: UInt64(index), size: UInt64(size), stored: tree.stored)
            #expect(Merkle.verifyInclusion(index: UInt64(index), size: UInt64(size), leaf: Merkle.leafHash(leaves[index]), path: path, root: root))
        }
        for first in 1...size {
            let firstRoot = try Merkle.root(size: UInt64(first), stored: tree.stored)
            let path = try Merkle.consistencyProof(first: UInt64(first), second: UInt64(size), stored: tree.stored)
            #expect(Merkle.verifyConsistency(first: UInt64(first), second: UInt64(size), firstRoot: firstRoot, secondRoot: root, path: path))
        }
    }
}

enum SHA256Helper {
    static func hash(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }
}
