/// A run's artifact: a validated logical path mapped to the content digest of its bytes.
public struct ArtifactEntry: Sendable, Hashable, Codable {
    public var path: ArtifactPath
    public var digest: Digest
    public var sizeBytes: Int64
    public var createdMillis: Int64

    public init(path: ArtifactPath, digest: Digest, sizeBytes: Int64, createdMillis: Int64) {
        self.path = path
        self.digest = digest
        self.sizeBytes = sizeBytes
        self.createdMillis = createdMillis
    }

    enum CodingKeys: String, CodingKey { case path, digest, sizeBytes = "size_bytes", createdMillis = "created_time" }
}
