import Foundation
import TrailArtifacts
import TrailCore

/// Where a home keeps its blobs: the folder `HOME/blobs` (the default), or an S3-compatible
/// bucket. The choice is recorded in `HOME/blobs.json` the first time S3 is named (bucket,
/// prefix, endpoint, region; never a secret), so every later command on the home (`ledger
/// verify`, `trace`, `serve`) reads the same blobs without repeating the flags, and a
/// different bucket is refused instead of silently splitting the record.
public struct BlobSettings: Sendable {
    /// `s3://bucket/prefix` (`--blobs`, `$TRAIL_BLOBS`); nil: whatever the home recorded.
    public var uri: String?
    /// `--s3-endpoint`, `$AWS_ENDPOINT_URL_S3`, `$AWS_ENDPOINT_URL`.
    public var endpoint: String?
    /// `--s3-region`, `$AWS_REGION`, `$AWS_DEFAULT_REGION`.
    public var region: String?
    /// `--s3-credentials FILE` (`AWS_ACCESS_KEY_ID=…` lines); else the `AWS_*` variables.
    public var credentialsFile: String?
    public var environment: [String: String]
    /// The endpoint and region given as flags: they alone may differ from a home's record (the
    /// environment's `AWS_*` never silently re-points a home that recorded its bucket).
    var endpointFlag: String?
    var regionFlag: String?

    public init(
        uri: String? = nil, endpoint: String? = nil, region: String? = nil, credentialsFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        func nonEmpty(_ value: String?) -> String? { value?.isEmpty == false ? value : nil }
        self.uri = nonEmpty(uri) ?? nonEmpty(environment["TRAIL_BLOBS"])
        endpointFlag = nonEmpty(endpoint)
        regionFlag = nonEmpty(region)
        self.endpoint = nonEmpty(endpoint) ?? nonEmpty(environment["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
        self.region = nonEmpty(region) ?? nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
        self.credentialsFile = nonEmpty(credentialsFile)
        self.environment = environment
    }

    /// Opens the home's blob store under these settings.
    func open(home url: URL) async throws -> any BlobStore {
        let folder = try FileBlobStore(root: url.appendingPathComponent("blobs"))
        let recordPath = url.appendingPathComponent("blobs.json")
        let recorded: S3Location?
        if let data = FileManager.default.contents(atPath: recordPath.path) {
            // The record is checked like a flag: a hand-edited one gets no more trust.
            do {
                let stored = try JSONDecoder().decode(S3Location.self, from: data)
                recorded = try S3Location.parse(stored.uri, endpoint: stored.endpoint, region: stored.region)
                guard recorded == stored else { throw TrailError.invalid("blobs", "not in canonical form") }
            } catch {
                throw TrailError(
                    .internalError, "\(recordPath.path) is not a valid blob location record (\(error)); restore it from a backup")
            }
        } else {
            recorded = nil
        }
        var location: S3Location
        if let recorded {
            // The record's endpoint and region, unless flags say otherwise for this command.
            location = try S3Location.parse(recorded.uri, endpoint: endpointFlag ?? recorded.endpoint, region: regionFlag ?? recorded.region)
            if let uri {
                let named = try S3Location.parse(uri, endpoint: location.endpoint, region: location.region)
                guard recorded.bucket == named.bucket, recorded.prefix == named.prefix else {
                    throw TrailError.invalid(
                        "blobs", "this home keeps its blobs in \(recorded.uri), not \(named.uri); one home has one blob store")
                }
            }
        } else if let uri {
            location = try S3Location.parse(uri, endpoint: endpoint, region: region)
            guard folder.isEmpty() else {
                throw TrailError.invalid(
                    "blobs", "this home already keeps blobs in its folder \(folder.root.path); move them with 'trail migrate --to \(location.uri)'")
            }
        } else {
            return folder
        }
        let credentials = try S3Credentials.load(file: credentialsFile, environment: environment)
        let store = try S3BlobStore(client: S3Client(location: location, credentials: credentials), spool: url.appendingPathComponent("spool"))
        // Recorded the first time, and re-recorded only when the bucket is named again with new
        // endpoint or region flags (an operator re-pointing the home on purpose); either way
        // only once the bucket has answered with these credentials, so that a wrong bucket,
        // secret or endpoint never ties the home to it.
        if recorded == nil || (uri != nil && location != recorded) {
            try await store.check()
            try Self.switchRecord(home: url, to: location)
        }
        return store
    }

    /// The store these settings name, without recording it (the target of `trail migrate`).
    func openTarget(home url: URL) throws -> (any BlobStore, S3Location) {
        guard let uri else { throw TrailError.invalid("to", "name the target bucket") }
        let location: S3Location
        do { location = try S3Location.parse(uri, endpoint: endpoint, region: region) } catch var error as TrailError where error.field == "blobs" {
            error.field = "to"
            error.message = "expected s3://BUCKET/PREFIX or 'folder': " + error.message
            throw error
        }
        let credentials = try S3Credentials.load(file: credentialsFile, environment: environment)
        let store = try S3BlobStore(client: S3Client(location: location, credentials: credentials), spool: url.appendingPathComponent("spool"))
        return (store, location)
    }

    /// Points the home's record at `location`, or (nil) back at its folder.
    static func switchRecord(home url: URL, to location: S3Location?) throws {
        let recordPath = url.appendingPathComponent("blobs.json")
        do {
            if let location {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(location).write(to: recordPath, options: .atomic)
            } else if FileManager.default.fileExists(atPath: recordPath.path) {
                try FileManager.default.removeItem(at: recordPath)
            }
        } catch {
            throw TrailError(.internalError, "cannot record the blob location in \(recordPath.path)", cause: error)
        }
    }
}
