import Foundation
import Hummingbird
import TrailCore
import TrailService

/// The native JSON API under `/api/v1`: a thin translation to `TrackingService` calls.
struct NativeRoutes {
    let tracking: TrackingService
    let config: TrailServerConfig

    func body<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try await JSONResponse.decode(type, from: request, limit: config.maxBodyBytes)
    }

    func add(to api: SecuredRoutes) {

        api.get("health", .public) { _, _ in try JSONResponse.make(NativeAPI.Health(status: "ok", version: TrailVersion.current)) }

        // Experiments
        api.post("experiments", .write) { request, context in
            let input = try await body(NativeAPI.CreateExperiment.self, request)
            let experiment = try await tracking.createExperiment(name: input.name, tags: input.tags ?? [], actor: context.actor)
            return try JSONResponse.make(NativeAPI.ExperimentBody(experiment: experiment))
        }
        api.get("experiments", .read) { request, context in
            let query = request.uri.queryParameters
            if let name = query.get("name") {
                return try JSONResponse.make(NativeAPI.ExperimentBody(experiment: try await tracking.experiment(named: name)))
            }
            let view = try query.get("view").map { try Self.viewType($0) } ?? .activeOnly
            let maxResults = try Self.int(query.get("max_results"), field: "max_results") ?? 1000
            let page = try await tracking.experiments(view: view, maxResults: maxResults, pageToken: query.get("page_token"))
            return try JSONResponse.make(NativeAPI.ExperimentList(experiments: page.items, nextPageToken: page.nextPageToken))
        }
        api.get("experiments/:experiment_id", .read) { _, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            return try JSONResponse.make(NativeAPI.ExperimentBody(experiment: try await tracking.experiment(id: id)))
        }
        api.post("experiments/:experiment_id/delete", .write) { request, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            try await tracking.deleteExperiment(id, actor: context.actor)
            return try JSONResponse.make(NativeAPI.ExperimentBody(experiment: try await tracking.experiment(id: id)))
        }
        api.post("experiments/:experiment_id/restore", .write) { request, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            try await tracking.restoreExperiment(id, actor: context.actor)
            return try JSONResponse.make(NativeAPI.ExperimentBody(experiment: try await tracking.experiment(id: id)))
        }
        api.post("experiments/:experiment_id/rename", .write) { request, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            let input = try await body(NativeAPI.RenameExperiment.self, request)
            try await tracking.renameExperiment(id, to: input.newName, actor: context.actor)
            return try JSONResponse.make(NativeAPI.ExperimentBody(experiment: try await tracking.experiment(id: id)))
        }
        api.post("experiments/:experiment_id/tags", .write) { request, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            let input = try await body(NativeAPI.SetTag.self, request)
            try await tracking.setExperimentTag(id, key: input.key, value: input.value, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.delete("experiments/:experiment_id/tags/:key", .write) { request, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            let key = try Self.decoded(try context.parameters.require("key"), field: "key")
            try await tracking.setExperimentTag(id, key: key, value: nil, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.get("experiments/:experiment_id/tags/history", .read) { _, context in
            let id = try ExperimentID(parsing: try context.parameters.require("experiment_id"))
            return try JSONResponse.make(NativeAPI.TagHistory(changes: try await tracking.experimentTagHistory(id)))
        }

        // Runs
        api.post("runs", .write) { request, context in
            let input = try await body(NativeAPI.CreateRun.self, request)
            let run = try await tracking.createRun(
                experimentID: input.experimentID, name: input.runName, userID: input.userID, startTimeMillis: input.startTime,
                tags: input.tags ?? [], actor: context.actor)
            return try JSONResponse.make(NativeAPI.RunBody(run: run))
        }
        api.post("runs/search", .read) { request, context in
            let input = try await body(NativeAPI.SearchRuns.self, request)
            let page = try await tracking.searchRuns(
                experimentIDs: input.experimentIDs, filter: input.filter ?? "", orderBy: input.orderBy ?? [], view: input.runViewType ?? .activeOnly,
                maxResults: input.maxResults ?? 1000, pageToken: input.pageToken, reader: context.reader)
            return try JSONResponse.make(NativeAPI.RunList(runs: page.items, nextPageToken: page.nextPageToken))
        }
        api.get("runs/:run_id", .read) { _, context in
            try JSONResponse.make(NativeAPI.RunBody(run: try await tracking.run(try Self.runID(context), reader: context.reader)))
        }
        api.patch("runs/:run_id", .write) { request, context in
            let input = try await body(NativeAPI.UpdateRun.self, request)
            let info = try await tracking.updateRun(
                try Self.runID(context), status: input.status, endTimeMillis: input.endTime, name: input.runName, actor: context.actor)
            return try JSONResponse.make(NativeAPI.RunInfoBody(runInfo: info))
        }
        api.post("runs/:run_id/delete", .write) { request, context in
            try await tracking.deleteRun(try Self.runID(context), actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.post("runs/:run_id/restore", .write) { request, context in
            try await tracking.restoreRun(try Self.runID(context), actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.post("runs/:run_id/params", .write) { request, context in
            let input = try await body(Param.self, request)
            try await tracking.logParam(try Self.runID(context), key: input.key, value: input.value, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.post("runs/:run_id/metrics", .write) { request, context in
            let input = try await body(Metric.self, request)
            try await tracking.logMetric(try Self.runID(context), input, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.post("runs/:run_id/batch", .write) { request, context in
            let input = try await body(NativeAPI.LogBatch.self, request)
            try await tracking.logBatch(
                try Self.runID(context), metrics: input.metrics ?? [], params: input.params ?? [], tags: input.tags ?? [], actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.post("runs/:run_id/tags", .write) { request, context in
            let input = try await body(NativeAPI.SetTag.self, request)
            try await tracking.setTag(try Self.runID(context), key: input.key, value: input.value, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.delete("runs/:run_id/tags/:key", .write) { request, context in
            let key = try Self.decoded(try context.parameters.require("key"), field: "key")
            try await tracking.setTag(try Self.runID(context), key: key, value: nil, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        api.get("runs/:run_id/tags/history", .read) { _, context in
            try JSONResponse.make(NativeAPI.TagHistory(changes: try await tracking.tagHistory(try Self.runID(context), reader: context.reader)))
        }
        api.get("runs/:run_id/metrics/:key/history", .read) { request, context in
            let key = try Self.decoded(try context.parameters.require("key"), field: "key")
            let query = request.uri.queryParameters
            let page = try await tracking.metricHistory(
                try Self.runID(context), key: key, maxResults: try Self.int(query.get("max_results"), field: "max_results") ?? 25000,
                pageToken: query.get("page_token"))
            return try JSONResponse.make(NativeAPI.MetricHistory(metrics: page.items, nextPageToken: page.nextPageToken))
        }
        api.post("runs/:run_id/inputs", .write) { request, context in
            let input = try await body(NativeAPI.LogInputs.self, request)
            try await tracking.logInputs(try Self.runID(context), input.datasets, actor: context.actor)
            return try JSONResponse.make(NativeAPI.Empty())
        }
        ArtifactRoutes(tracking: tracking, config: config).add(to: api)
    }

    static func runID(_ context: TrailRequestContext) throws -> RunID {
        try RunID(parsing: try context.parameters.require("run_id"))
    }

    static func decoded(_ raw: String, field: String) throws -> String {
        guard let text = raw.removingPercentEncodingOnce() else { throw TrailError.invalid(field, "malformed percent-escape in '\(field)'") }
        return text
    }

    static func int(_ text: String?, field: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text) else { throw TrailError.invalid(field, "\(field) must be an integer, got '\(text.prefix(40))'") }
        return value
    }

    static func viewType(_ text: String) throws -> ViewType {
        switch text.lowercased() {
        case "active", "active_only": return .activeOnly
        case "deleted", "deleted_only": return .deletedOnly
        case "all": return .all
        default: throw TrailError.invalid("view", "view must be active, deleted or all")
        }
    }
}
