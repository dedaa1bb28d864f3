import Foundation
import Testing
import TrailArtifacts
import TrailCore

/// The S3 signer against `s3_sigv4_vectors.json` (botocore as the oracle, checked by an
/// independent signer): every canonical request, string to sign, signing key, signature and
/// header list, the presigned URL, and AWS's published S3 examples.
@Suite("SigV4 for S3 (reference vectors)")
struct SigV4VectorTests {
    static func vectors() throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: "s3_sigv4_vectors", withExtension: "json", subdirectory: "Vectors"))
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func pairs(_ value: Any?) -> [(String, String)] {
        ((value as? [[String]]) ?? []).map { ($0[0], $0[1]) }
    }

    static func signer(_ inputs: [String: Any]) -> SigV4Signer {
        SigV4Signer(
            accessKeyID: inputs["access_key_id"] as! String, secretAccessKey: inputs["secret_access_key"] as! String,
            region: inputs["region"] as! String)
    }

    @Test func everyRequestVectorSignsIdentically() throws {
        let all = try Self.vectors()
        let inputs = try #require(all["inputs"] as? [String: Any])
        let signer = Self.signer(inputs)
        let host = inputs["host_header"] as! String
        let amzDate = inputs["amz_date"] as! String
        let vectors = try #require(all["vectors"] as? [[String: Any]])
        #expect(vectors.count == 19)
        for vector in vectors {
            let id = vector["id"] as! String
            let bucket = vector["bucket"] as! String
            // The canonical URI from the raw key, encoded once.
            let path = (vector["key"] as? String).map { "/\(bucket)/" + SigV4Signer.uriEncode($0, keepSlash: true) } ?? "/\(bucket)"
            #expect(path == vector["canonical_uri"] as? String, "\(id): canonical URI")
            let query = Self.pairs(vector["query_params"])
            let (headers, signature) = signer.headersToSend(
                method: vector["method"] as! String, path: path, query: query, host: host, headers: Self.pairs(vector["headers_in"]),
                payloadHash: vector["x_amz_content_sha256"] as! String, amzDate: amzDate)
            #expect(signature.canonicalQuery == vector["canonical_query_string"] as? String, "\(id): canonical query")
            #expect(signature.canonicalHeaders == vector["canonical_headers"] as? String, "\(id): canonical headers")
            #expect(signature.signedHeaders == vector["signed_headers"] as? String, "\(id): signed headers")
            #expect(signature.canonicalRequest == vector["canonical_request"] as? String, "\(id): canonical request")
            #expect(signature.stringToSign == vector["string_to_sign"] as? String, "\(id): string to sign")
            #expect(signature.signingKeyHex == vector["signing_key_hex"] as? String, "\(id): signing key")
            #expect(signature.signature == vector["signature"] as? String, "\(id): signature")
            #expect(signature.authorization == vector["authorization"] as? String, "\(id): authorization")
            let expected = Self.pairs(vector["headers_out"])
            #expect(headers.map(\.0) == expected.map(\.0) && headers.map(\.1) == expected.map(\.1), "\(id): headers out")
            // The wire URL is the encoded path plus the wire query.
            let wire = SigV4Signer.wireQuery(query)
            #expect((inputs["endpoint"] as! String) + path + (wire.isEmpty ? "" : "?" + wire) == vector["url"] as? String, "\(id): url")
            // The body's hash is what the vector declares as the payload hash (when signed).
            if let body = vector["body"] as? String, vector["x_amz_content_sha256"] as? String != SigV4Signer.unsignedPayload {
                #expect(Array(body.utf8).sha256Hex == vector["x_amz_content_sha256"] as? String, "\(id): payload hash")
            }
        }
    }

    @Test func aWrongSecretOrAChangedByteGivesAnotherSignature() throws {
        let all = try Self.vectors()
        let inputs = try #require(all["inputs"] as? [String: Any])
        let vector = try #require((all["vectors"] as? [[String: Any]])?.first)
        let right = Self.signer(inputs)
        let wrong = SigV4Signer(accessKeyID: right.accessKeyID, secretAccessKey: right.secretAccessKey + "x", region: right.region)
        func sign(_ signer: SigV4Signer, hash: String) -> String {
            signer.sign(
                method: "PUT", path: vector["canonical_uri"] as! String, query: [],
                headers: [("host", "127.0.0.1:9000"), ("x-amz-date", "20250601T120000Z"), ("x-amz-content-sha256", hash)],
                payloadHash: hash, amzDate: "20250601T120000Z"
            ).signature
        }
        let hash = vector["x_amz_content_sha256"] as! String
        #expect(sign(right, hash: hash) != sign(wrong, hash: hash))
        #expect(sign(right, hash: hash) != sign(right, hash: Array("Hello, ModelTrail?\n".utf8).sha256Hex))
    }

    @Test func thePresignedURL() throws {
        let all = try Self.vectors()
        let inputs = try #require(all["inputs"] as? [String: Any])
        let presigned = try #require(all["presigned"] as? [String: Any])
        let (query, signature) = Self.signer(inputs).presignedQuery(
            method: "GET", path: presigned["path"] as! String, host: inputs["host_header"] as! String,
            amzDate: inputs["amz_date"] as! String, expiresSeconds: presigned["expires"] as! Int)
        #expect(signature.canonicalQuery == presigned["canonical_query_string"] as? String)
        #expect(signature.canonicalRequest == presigned["canonical_request"] as? String)
        #expect(signature.stringToSign == presigned["string_to_sign"] as? String)
        #expect(signature.signature == presigned["signature"] as? String)
        #expect((inputs["endpoint"] as! String) + (presigned["path"] as! String) + "?" + query == presigned["url"] as? String)
    }

    @Test func awsPublishedExamples() throws {
        let all = try Self.vectors()
        let examples = try #require(all["aws_documentation_examples"] as? [[String: Any]])
        #expect(examples.count == 5)
        for example in examples {
            let id = example["id"] as! String
            let canonical = (example["canonical_request"] as! String).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Read method, path, query and headers back from the published canonical request and
            // re-sign them: the same canonical request, string to sign and signature must result.
            let method = canonical[0]
            let path = canonical[1]
            let query: [(String, String)] = canonical[2].isEmpty
                ? [] : canonical[2].split(separator: "&").map { pair in
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding! }
                    return (parts[0], parts.count > 1 ? parts[1] : "")
                }
            var headers: [(String, String)] = []
            var index = 3
            while !canonical[index].isEmpty {
                let parts = canonical[index].split(separator: ":", maxSplits: 1).map(String.init)
                headers.append((parts[0], parts[1]))
                index += 1
            }
            let payloadHash = canonical[canonical.count - 1]
            // The date: a header, or (query authentication) the X-Amz-Date parameter.
            let amzDate = try #require(headers.first { $0.0 == "x-amz-date" }?.1 ?? query.first { $0.0 == "X-Amz-Date" }?.1, "\(id)")
            let signer = SigV4Signer(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
            let signature = signer.sign(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash, amzDate: amzDate)
            #expect(signature.canonicalRequest == example["canonical_request"] as? String, "\(id)")
            #expect(signature.stringToSign == example["string_to_sign"] as? String, "\(id)")
            #expect(signature.signature == example["signature"] as? String, "\(id)")
            if let key = example["signing_key_hex"] as? String { #expect(signature.signingKeyHex == key, "\(id)") }
            if let authorization = example["authorization"] as? String { #expect(signature.authorization == authorization, "\(id)") }
        }
    }

    @Test func amzDates() {
        #expect(SigV4Signer.amzDate(millis: 0) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(millis: 1_748_779_200_000) == "20250601T120000Z")
        #expect(SigV4Signer.amzDate(millis: 951_782_400_000) == "20000229T000000Z")
        #expect(SigV4Signer.amzDate(millis: 253_402_300_799_000) == "99991231T235959Z")
    }
}

extension Array where Element == UInt8 {
    var sha256Hex: String { Digest.of(self).hex }
}
