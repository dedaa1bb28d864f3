import Foundation
import TrailArtifacts
import TrailCore
import TrailStore

/// The embedded default: one home folder holding the SQLite file (`trail.sqlite`) and the
/// blob folder (`blobs/`). Nothing else has to run.
public struct TrailHome: Sendable {
    public let url: URL
    public let tracking: TrackingService

    /// Opens (creating if needed) the home at `url`, migrates the database and makes sure the
    /// Default experiment exists.
    public static func open(_ url: URL, clock: any TrailClock = SystemClock()) async throws -> TrailHome {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TrailError(.internalError, "cannot create the ModelTrail home folder", cause: error)
        }
        let store = try SQLiteMetadataStore(path: url.appendingPathComponent("trail.sqlite").path)
        let blobs = try FileBlobStore(root: url.appendingPathComponent("blobs"))
        let tracking = TrackingService(store: store, blobs: blobs, clock: clock)
        try await tracking.ensureDefaultExperiment()
        return TrailHome(url: url, tracking: tracking)
    }
}
