import Foundation
import Hummingbird
import TrailCore
import TrailService

/// `/api/v1/erasures`, `/api/v1/holds` and `/api/v1/retention`: data protection, a thin
/// translation to `DataProtectionService` (the CLI's `trail erase`, `trail hold` and
/// `trail retention` with `--server`). Erasing, holding and retention are for admins; anyone
/// may read the holds and the retention settings in force.
struct PrivacyRoutes {
    let protection: DataProtectionService
    let config: TrailServerConfig

    func add(to api: SecuredRoutes) {
        api.post("erasures", .admin) { request, context in
            let input = try await JSONResponse.decode(PrivacyAPI.Erase.self, from: request, limit: config.maxBodyBytes)
            switch (input.predictionID, input.runID) {
            case (let prediction?, nil):
                guard input.keys == nil else { throw TrailError.invalid("keys", "keys go with run_id, not with prediction_id") }
                return try JSONResponse.make(try await protection.erase(prediction: prediction, reason: input.reason, actor: context.actor))
            case (nil, let run?):
                return try JSONResponse.make(
                    try await protection.erase(run: try RunID(parsing: run), keys: input.keys ?? [], reason: input.reason, actor: context.actor))
            default:
                throw TrailError.invalid("prediction_id", "name either prediction_id, or run_id with keys")
            }
        }
        api.get("holds", .read) { _, _ in try JSONResponse.make(PrivacyAPI.Holds(holds: try await protection.holds())) }
        api.post("holds", .admin) { request, context in
            let input = try await JSONResponse.decode(PrivacyAPI.PlaceHold.self, from: request, limit: config.maxBodyBytes)
            guard let type = LegalHold.SubjectType(rawValue: input.subjectType) else {
                throw TrailError.invalid("subject_type", "subject_type must be model, run or dataset; got '\(input.subjectType.prefix(40))'")
            }
            return try JSONResponse.make(try await protection.placeHold(type, input.subjectID, reason: input.reason, actor: context.actor))
        }
        api.post("holds/:hold_id/release", .admin) { request, context in
            let input = try await JSONResponse.decode(PrivacyAPI.Reason.self, from: request, limit: config.maxBodyBytes)
            let id = try NativeRoutes.decoded(try context.parameters.require("hold_id"), field: "hold_id")
            return try JSONResponse.make(try await protection.releaseHold(id, reason: input.reason, actor: context.actor))
        }
        api.get("retention", .read) { _, _ in try JSONResponse.make(PrivacyAPI.Settings(settings: try await protection.retentionSettings())) }
        api.put("retention/:kind", .admin) { request, context in
            let input = try await JSONResponse.decode(PrivacyAPI.Days.self, from: request, limit: config.maxBodyBytes)
            let text = try NativeRoutes.decoded(try context.parameters.require("kind"), field: "kind")
            guard let kind = RetentionKind(rawValue: text) else {
                throw TrailError.invalid(
                    "kind", "kind must be one of \(RetentionKind.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text.prefix(40))'")
            }
            return try JSONResponse.make(try await protection.setRetention(kind, days: input.days, actor: context.actor))
        }
        api.post("retention/apply", .admin) { request, context in
            let input = try await JSONResponse.decode(PrivacyAPI.Apply.self, from: request, limit: config.maxBodyBytes)
            guard let dryRun = input.dryRun else {
                throw TrailError.invalid("dry_run", "say dry_run: true to count what would be removed, false to remove it")
            }
            return try JSONResponse.make(try await protection.applyRetention(dryRun: dryRun, actor: context.actor))
        }
    }
}
