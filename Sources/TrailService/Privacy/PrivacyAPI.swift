import Foundation
import TrailCore

/// Request and response bodies of `/api/v1/erasures`, `/api/v1/holds` and `/api/v1/retention`.
public enum PrivacyAPI {
    /// Either `prediction_id`, or `run_id` with `keys`.
    public struct Erase: Codable, Sendable {
        public var predictionID: String?
        public var runID: String?
        public var keys: [String]?
        public var reason: String
        public init(predictionID: String?, runID: String?, keys: [String]?, reason: String) {
            self.predictionID = predictionID
            self.runID = runID
            self.keys = keys
            self.reason = reason
        }
        enum CodingKeys: String, CodingKey { case predictionID = "prediction_id", runID = "run_id", keys, reason }
    }

    public struct PlaceHold: Codable, Sendable {
        public var subjectType: String
        public var subjectID: String
        public var reason: String
        public init(subjectType: String, subjectID: String, reason: String) {
            self.subjectType = subjectType
            self.subjectID = subjectID
            self.reason = reason
        }
        enum CodingKeys: String, CodingKey { case subjectType = "subject_type", subjectID = "subject_id", reason }
    }

    public struct Reason: Codable, Sendable {
        public var reason: String
        public init(reason: String) { self.reason = reason }
    }

    public struct Days: Codable, Sendable {
        public var days: Int64
        public init(days: Int64) { self.days = days }
    }

    public struct Apply: Codable, Sendable {
        public var dryRun: Bool?
        public init(dryRun: Bool?) { self.dryRun = dryRun }
        enum CodingKeys: String, CodingKey { case dryRun = "dry_run" }
    }

    public struct Holds: Codable, Sendable {
        public var holds: [LegalHold]
        public init(holds: [LegalHold]) { self.holds = holds }
    }

    public struct Settings: Codable, Sendable {
        public var settings: [RetentionSetting]
        public init(settings: [RetentionSetting]) { self.settings = settings }
    }
}
