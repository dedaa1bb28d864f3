import Foundation
import HTTPTypes
import Hummingbird
import TrailCore
import TrailService

/// MLflow's REST API (`/api/2.0/mlflow/...`), translated to the native services: the same
/// rules, the same single write path, the same ledger. Requests and answers follow MLflow's
/// wire format (`MLflowInput`, `MLflowJSON`); errors its envelope (`MLflowErrors`).
struct MLflowRoutes {
    let tracking: TrackingService
    let registry: RegistryService
    let config: TrailServerConfig

    /// The MLflow release whose client contract this adapter implements.
    static let compatibleVersion = "3.17.2"

    typealias Handler = @Sendable (MLflowInput, TrailRequestContext) async throws -> JSONValue

    func add(to api: SecuredRoutes) {
        let limit = config.maxBodyBytes
        func on(_ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping Handler) {
            api.on(method, path, access) { request, context in
                MLflowJSON.response(try await handler(try await MLflowInput.read(request, limit: limit), context))
            }
        }
        addExperiments(on)
        addRuns(on)
        addLoggedModels(on)
        addRegisteredModels(on)
        addModelVersions(on)
    }

    typealias On = (HTTPRequest.Method, String, Access, @escaping Handler) -> Void

    // MARK: - Experiments

    func addExperiments(_ on: On) {
        on(.get, "experiments/get-by-name", .read) { input, _ in
            ["experiment": MLflowJSON.experiment(try await tracking.experiment(named: try input.require("experiment_name")))]
        }
        on(.post, "experiments/create", .write) { input, context in
            if let location = try input.string("artifact_location"), !location.isEmpty {
                throw TrailError.invalid("artifact_location", "artifact locations are chosen by the server (mlflow-artifacts:/<experiment_id>); omit artifact_location")
            }
            let experiment = try await tracking.createExperiment(name: try input.require("name"), tags: try input.keyValues("tags"), actor: context.actor)
            return ["experiment_id": .string(experiment.id.description)]
        }
        on(.get, "experiments/get", .read) { input, _ in
            ["experiment": MLflowJSON.experiment(try await tracking.experiment(id: try ExperimentID(parsing: try input.require("experiment_id"))))]
        }
        let search: Handler = { input, _ in
            let page = try await tracking.searchExperiments(
                filter: try input.string("filter") ?? "", orderBy: try input.strings("order_by"), view: try Self.viewType(input, "view_type"),
                maxResults: try input.maxResults(default: 1000), pageToken: try input.pageToken())
            return MLflowJSON.page("experiments", page.items.map(MLflowJSON.experiment), next: page.nextPageToken)
        }
        on(.post, "experiments/search", .read, search)
        on(.get, "experiments/search", .read, search)
        on(.post, "experiments/delete", .write) { input, context in
            try await tracking.deleteExperiment(try ExperimentID(parsing: try input.require("experiment_id")), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "experiments/restore", .write) { input, context in
            try await tracking.restoreExperiment(try ExperimentID(parsing: try input.require("experiment_id")), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "experiments/update", .write) { input, context in
            try await tracking.renameExperiment(
                try ExperimentID(parsing: try input.require("experiment_id")), to: try input.require("new_name"), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "experiments/set-experiment-tag", .write) { input, context in
            try await tracking.setExperimentTag(
                try ExperimentID(parsing: try input.require("experiment_id")), key: try input.require("key"), value: try input.string("value") ?? "",
                actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "experiments/delete-experiment-tag", .write) { input, context in
            try await tracking.setExperimentTag(
                try ExperimentID(parsing: try input.require("experiment_id")), key: try input.require("key"), value: nil, actor: context.actor)
            return MLflowJSON.empty
        }
    }

    static func viewType(_ input: MLflowInput, _ field: String) throws -> ViewType {
        guard let text = try input.string(field), !text.isEmpty else { return .activeOnly }
        switch text.uppercased() {
        case "ACTIVE_ONLY", "1": return .activeOnly
        case "DELETED_ONLY", "2": return .deletedOnly
        case "ALL", "3": return .all
        default: throw TrailError.invalid(field, "\(field) must be ACTIVE_ONLY, DELETED_ONLY or ALL")
        }
    }

    // MARK: - Runs, metrics, params, tags, inputs and outputs

    func addRuns(_ on: On) {
        on(.post, "runs/create", .write) { input, context in
            let experiment = try input.string("experiment_id").flatMap { $0.isEmpty ? nil : $0 }
            let run = try await tracking.createRun(
                experimentID: try experiment.map { try ExperimentID(parsing: $0) }, name: try input.string("run_name"),
                userID: try input.string("user_id"), startTimeMillis: try input.int("start_time"), tags: try input.keyValues("tags"),
                actor: context.actor)
            return ["run": MLflowJSON.run(run)]
        }
        on(.post, "runs/update", .write) { input, context in
            let status = try input.string("status").map { text -> RunStatus in
                guard let status = RunStatus(rawValue: text.uppercased()) else {
                    throw TrailError.invalid("status", "status must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED")
                }
                return status
            }
            let info = try await tracking.updateRun(
                try input.runID(), status: status, endTimeMillis: try input.int("end_time"), name: try input.string("run_name"), actor: context.actor)
            return ["run_info": MLflowJSON.runInfo(info)]
        }
        on(.get, "runs/get", .read) { input, context in
            ["run": MLflowJSON.run(try await tracking.run(try input.runID(), reader: context.reader))]
        }
        on(.post, "runs/delete", .write) { input, context in
            try await tracking.deleteRun(try input.runID(), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/restore", .write) { input, context in
            try await tracking.restoreRun(try input.runID(), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/search", .read) { input, context in
            let page = try await tracking.searchRuns(
                experimentIDs: try input.strings("experiment_ids").map { try ExperimentID(parsing: $0) }, filter: try input.string("filter") ?? "",
                orderBy: try input.strings("order_by"), view: try Self.viewType(input, "run_view_type"), maxResults: try input.maxResults(default: 1000),
                pageToken: try input.pageToken(), reader: context.reader)
            return MLflowJSON.page("runs", page.items.map(MLflowJSON.run), next: page.nextPageToken)
        }
        on(.post, "runs/log-metric", .write) { input, context in
            let (metric, link) = try Self.metric(input, field: nil)
            try await tracking.logBatch(
                try input.runID(), metrics: [metric], modelMetrics: link.map { [$0.0: [$0.1]] } ?? [:], actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/log-parameter", .write) { input, context in
            try await tracking.logParam(try input.runID(), key: try input.require("key"), value: try input.string("value") ?? "", actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/set-tag", .write) { input, context in
            try await tracking.setTag(try input.runID(), key: try input.require("key"), value: try input.string("value") ?? "", actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/delete-tag", .write) { input, context in
            try await tracking.setTag(try input.runID(), key: try input.require("key"), value: nil, actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/log-batch", .write) { input, context in
            let runID = try input.runID()
            var metrics: [Metric] = []
            var linked: [String: [LoggedModel.LinkedMetric]] = [:]
            for (i, item) in try input.objects("metrics").enumerated() {
                let (metric, link) = try Self.metric(item, field: "metrics[\(i)]")
                metrics.append(metric)
                if let (modelID, point) = link { linked[modelID, default: []].append(LoggedModel.LinkedMetric(metric: point.metric, runID: runID, datasetName: point.datasetName, datasetDigest: point.datasetDigest)) }
            }
            let params = try input.keyValues("params").map { Param(key: $0.key, value: $0.value) }
            try await tracking.logBatch(runID, metrics: metrics, params: params, tags: try input.keyValues("tags"), modelMetrics: linked, actor: context.actor)
            return MLflowJSON.empty
        }
        on(.get, "metrics/get-history", .read) { input, _ in
            let page = try await tracking.metricHistory(
                try input.runID(), key: try input.require("metric_key"), maxResults: try input.maxResults(default: 25000), pageToken: try input.pageToken())
            return MLflowJSON.page("metrics", page.items.map(MLflowJSON.metric), next: page.nextPageToken)
        }
        on(.post, "runs/log-inputs", .write) { input, context in
            let runID = try input.runID()
            let datasets = try input.objects("datasets").enumerated().map { i, item -> DatasetInput in
                guard let dataset = try item.object("dataset") else {
                    throw TrailError.invalid("datasets[\(i)].dataset", "Missing value for required parameter 'datasets[\(i)].dataset'")
                }
                let context = try item.keyValues("tags").last { $0.key == "mlflow.data.context" }?.value
                var input = DatasetInput(
                    name: try dataset.require("name"), digest: try dataset.require("digest"), sourceType: try dataset.string("source_type") ?? "",
                    source: try dataset.string("source") ?? "", context: context)
                input.schemaText = try dataset.string("schema")
                input.profileText = try dataset.string("profile")
                return input
            }
            let models = try input.objects("models").map { RunModelLink(modelID: try $0.require("model_id"), direction: .input) }
            try await tracking.logInputs(runID, datasets, models: models, actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "runs/outputs", .write) { input, context in
            let links = try input.objects("models").map { RunModelLink(modelID: try $0.require("model_id"), direction: .output, step: try $0.int("step") ?? 0) }
            try await tracking.linkModels(try input.runID(), links, actor: context.actor)
            return MLflowJSON.empty
        }
        // MLflow 2's model record on a run: kept, as MLflow keeps it, in the run's
        // `mlflow.log-model.history` tag (a JSON list, one entry per logged model).
        on(.post, "runs/log-model", .write) { input, context in
            try await tracking.recordModelHistory(try input.runID(), modelJSON: try input.require("model_json"), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.get, "artifacts/list", .read) { input, _ in
            let runID = try input.runID()
            let run = try await tracking.run(runID)
            var prefix = try input.string("path") ?? ""
            while prefix.hasSuffix("/") { prefix.removeLast() }
            let listing = MLflowArtifactRoutes.listing(try await tracking.artifacts(.run(runID)), under: prefix)
            return ["root_uri": .string(run.info.artifactURI), "files": MLflowArtifactRoutes.fileInfos(listing, prefix: prefix)]
        }
    }

    /// A metric point from MLflow fields, and its logged-model link when `model_id` is set.
    static func metric(_ input: MLflowInput, field: String?) throws -> (Metric, (String, LoggedModel.LinkedMetric)?) {
        func name(_ f: String) -> String { field.map { "\($0).\(f)" } ?? f }
        guard let key = try input.string("key"), !key.isEmpty else { throw TrailError.invalid(name("key"), "Missing value for required parameter '\(name("key"))'") }
        guard let value = try input.double("value") else { throw TrailError.invalid(name("value"), "Missing value for required parameter '\(name("value"))'") }
        guard let timestamp = try input.int("timestamp") else {
            throw TrailError.invalid(name("timestamp"), "Missing value for required parameter '\(name("timestamp"))'")
        }
        let metric = Metric(key: key, value: value, timestampMillis: timestamp, step: try input.int("step") ?? 0)
        guard let modelID = try input.string("model_id"), !modelID.isEmpty else { return (metric, nil) }
        return (
            metric,
            (modelID, LoggedModel.LinkedMetric(metric: metric, runID: nil, datasetName: try input.string("dataset_name"), datasetDigest: try input.string("dataset_digest")))
        )
    }

    // MARK: - Logged models

    func addLoggedModels(_ on: On) {
        on(.post, "logged-models", .write) { input, context in
            let model = try await tracking.createLoggedModel(
                experimentID: try ExperimentID(parsing: try input.require("experiment_id")), name: try input.string("name"),
                modelType: try input.string("model_type") ?? "", sourceRunID: try input.string("source_run_id").flatMap { $0.isEmpty ? nil : try RunID(parsing: $0, field: "source_run_id") },
                params: try input.keyValues("params").map { Param(key: $0.key, value: $0.value) }, tags: try input.keyValues("tags"), actor: context.actor)
            return ["model": MLflowJSON.loggedModel(model)]
        }
        on(.post, "logged-models/search", .read) { input, _ in
            let orders = try input.objects("order_by").map { item in
                EntitySearch.Order(field: try item.require("field_name"), ascending: try item.bool("ascending") ?? true)
            }
            let page = try await tracking.searchLoggedModels(
                experimentIDs: try input.strings("experiment_ids").map { try ExperimentID(parsing: $0) }, filter: try input.string("filter") ?? "",
                orders: orders, maxResults: try input.maxResults(default: 50), pageToken: try input.pageToken())
            return MLflowJSON.page("models", page.items.map { MLflowJSON.loggedModel($0) }, next: page.nextPageToken)
        }
        on(.get, "logged-models/:model_id", .read) { _, context in
            ["model": MLflowJSON.loggedModel(try await tracking.loggedModel(try context.parameters.require("model_id")))]
        }
        on(.patch, "logged-models/:model_id", .write) { input, context in
            let status = try LoggedModel.Status(parsing: try input.require("status"))
            return ["model": MLflowJSON.loggedModel(try await tracking.finalizeLoggedModel(try context.parameters.require("model_id"), status: status, actor: context.actor))]
        }
        on(.delete, "logged-models/:model_id", .write) { _, context in
            try await tracking.deleteLoggedModel(try context.parameters.require("model_id"), actor: context.actor)
            return MLflowJSON.empty
        }
        on(.patch, "logged-models/:model_id/tags", .write) { input, context in
            try await tracking.changeLoggedModelTags(
                try context.parameters.require("model_id"), try input.keyValues("tags").map { (key: $0.key, value: Optional($0.value)) }, actor: context.actor)
            return MLflowJSON.empty
        }
        on(.delete, "logged-models/:model_id/tags/:tag_key", .write) { _, context in
            let key = try NativeRoutes.decoded(try context.parameters.require("tag_key"), field: "tag_key")
            try await tracking.changeLoggedModelTags(try context.parameters.require("model_id"), [(key: key, value: nil)], actor: context.actor)
            return MLflowJSON.empty
        }
        on(.post, "logged-models/:model_id/params", .write) { input, context in
            try await tracking.logLoggedModelParams(
                try context.parameters.require("model_id"), try input.keyValues("params").map { Param(key: $0.key, value: $0.value) }, actor: context.actor)
            return MLflowJSON.empty
        }
    }

    // MARK: - Registered models and aliases

    func registeredModelJSON(_ name: String) async throws -> JSONValue {
        let model = try await registry.model(name)
        return MLflowJSON.registeredModel(
            model, tags: try await registry.tags(name: name, version: nil), latest: try await registry.latestVersions(name: name))
    }

    func versionJSON(_ name: String, _ number: Int64) async throws -> JSONValue {
        MLflowJSON.modelVersion(try await registry.version(name, number), tags: try await registry.tags(name: name, version: number))
    }

    static func version(_ input: MLflowInput) throws -> Int64 {
        let text = try input.require("version")
        guard let number = Int64(text), number > 0 else { throw TrailError.invalid("version", "version must be a positive integer, got '\(text.prefix(40))'") }
        return number
    }

    func addRegisteredModels(_ on: On) {
        on(.post, "registered-models/create", .write) { input, context in
            let model = try await registry.createModel(
                name: try input.require("name"), description: try input.string("description") ?? "", tags: try input.keyValues("tags"), actor: context.actor)
            return ["registered_model": try await registeredModelJSON(model.name)]
        }
        on(.get, "registered-models/get", .read) { input, _ in
            ["registered_model": try await registeredModelJSON(try input.require("name"))]
        }
        on(.patch, "registered-models/update", .write) { input, context in
            let name = try input.require("name")
            if let description = try input.string("description") { try await registry.describe(name: name, version: nil, description: description, actor: context.actor) }
            return ["registered_model": try await registeredModelJSON(name)]
        }
        on(.post, "registered-models/rename", .write) { input, _ in
            _ = try await registry.model(try input.require("name"))
            throw TrailError.invalid("new_name", "registered models keep their name: the ledger, approvals and deployments refer to it; create a new model instead")
        }
        on(.delete, "registered-models/delete", .write) { input, _ in
            _ = try await registry.model(try input.require("name"))
            throw TrailError.invalid("name", "registered models are never deleted: their history is evidence; move aliases away or archive the versions")
        }
        on(.get, "registered-models/search", .read) { input, _ in
            let page = try await registry.searchModels(
                filter: try input.string("filter") ?? "", orderBy: try input.strings("order_by"), maxResults: try input.maxResults(default: 100),
                pageToken: try input.pageToken())
            var items: [JSONValue] = []
            for tagged in page.items {
                items.append(MLflowJSON.registeredModel(tagged.item, tags: tagged.tags, latest: try await registry.latestVersions(name: tagged.item.name)))
            }
            return MLflowJSON.page("registered_models", items, next: page.nextPageToken)
        }
        let latest: Handler = { input, _ in
            let name = try input.require("name")
            let stages = try input.strings("stages").map { try ModelStage(parsing: $0, field: "stages") }
            var items: [JSONValue] = []
            for version in try await registry.latestVersions(name: name, stages: stages) { items.append(try await versionJSON(name, version.version)) }
            return ["model_versions": .array(items)]
        }
        on(.post, "registered-models/get-latest-versions", .read, latest)
        on(.get, "registered-models/get-latest-versions", .read, latest)
        on(.post, "registered-models/set-tag", .write) { input, context in
            try await registry.setTag(name: try input.require("name"), version: nil, key: try input.require("key"), value: try input.string("value") ?? "", actor: context.actor)
            return MLflowJSON.empty
        }
        on(.delete, "registered-models/delete-tag", .write) { input, context in
            try await registry.setTag(name: try input.require("name"), version: nil, key: try input.require("key"), value: nil, actor: context.actor)
            return MLflowJSON.empty
        }
        // Aliases go through the promotion gate like every other alias move.
        on(.post, "registered-models/alias", .write) { input, context in
            try await registry.setAlias(
                name: try input.require("name"), alias: try input.require("alias"), version: try Self.version(input), reason: "set through the MLflow API",
                actor: context.actor)
            return MLflowJSON.empty
        }
        on(.get, "registered-models/alias", .read) { input, _ in
            let name = try input.require("name")
            let alias = try input.require("alias")
            guard let number = try await registry.model(name).aliases[alias] else {
                throw TrailError.invalid("alias", "Registered model alias \(alias) not found.")
            }
            return ["model_version": try await versionJSON(name, number)]
        }
        on(.delete, "registered-models/alias", .write) { input, context in
            let name = try input.require("name")
            let alias = try input.require("alias")
            if try await registry.model(name).aliases[alias] != nil {
                try await registry.setAlias(name: name, alias: alias, version: nil, reason: "deleted through the MLflow API", actor: context.actor)
            }
            return MLflowJSON.empty
        }
    }

    // MARK: - Model versions and stages

    func addModelVersions(_ on: On) {
        on(.post, "model-versions/create", .write) { input, context in
            let name = try input.require("name")
            var source = try input.require("source")
            if let modelID = try input.string("model_id"), !modelID.isEmpty, !source.hasPrefix("models:/") {
                // MLflow 3 sends the logged model; a source inside its folder is that model.
                source = "models:/\(modelID)"
            }
            let version = try await registry.createVersion(
                name: name, source: source, runID: try input.string("run_id").flatMap { $0.isEmpty ? nil : try RunID(parsing: $0) },
                description: try input.string("description") ?? "", tags: try input.keyValues("tags"), tracking: tracking, actor: context.actor)
            return ["model_version": try await versionJSON(name, version.version)]
        }
        on(.get, "model-versions/get", .read) { input, _ in
            ["model_version": try await versionJSON(try input.require("name"), try Self.version(input))]
        }
        on(.patch, "model-versions/update", .write) { input, context in
            let name = try input.require("name")
            let number = try Self.version(input)
            if let description = try input.string("description") {
                try await registry.describe(name: name, version: number, description: description, actor: context.actor)
            }
            return ["model_version": try await versionJSON(name, number)]
        }
        on(.delete, "model-versions/delete", .write) { input, _ in
            _ = try await registry.version(try input.require("name"), try Self.version(input))
            throw TrailError.invalid("version", "model versions are never deleted: they are evidence; transition the version to Archived instead")
        }
        on(.get, "model-versions/search", .read) { input, _ in
            let page = try await registry.searchVersions(
                filter: try input.string("filter") ?? "", orderBy: try input.strings("order_by"), maxResults: try input.maxResults(default: 10000),
                pageToken: try input.pageToken())
            return MLflowJSON.page("model_versions", page.items.map { MLflowJSON.modelVersion($0.item, tags: $0.tags) }, next: page.nextPageToken)
        }
        on(.get, "model-versions/get-download-uri", .read) { input, _ in
            let version = try await registry.version(try input.require("name"), try Self.version(input))
            return ["artifact_uri": .string(try await downloadURI(version))]
        }
        on(.post, "model-versions/set-tag", .write) { input, context in
            try await registry.setTag(
                name: try input.require("name"), version: try Self.version(input), key: try input.require("key"), value: try input.string("value") ?? "",
                actor: context.actor)
            return MLflowJSON.empty
        }
        on(.delete, "model-versions/delete-tag", .write) { input, context in
            try await registry.setTag(name: try input.require("name"), version: try Self.version(input), key: try input.require("key"), value: nil, actor: context.actor)
            return MLflowJSON.empty
        }
        // Stage transitions go through the promotion gate.
        on(.post, "model-versions/transition-stage", .write) { input, context in
            let name = try input.require("name")
            let number = try Self.version(input)
            _ = try await registry.transitionStage(
                name: name, version: number, stage: try ModelStage(parsing: try input.require("stage")),
                archiveExisting: try input.bool("archive_existing_versions") ?? false, reason: "transitioned through the MLflow API", actor: context.actor)
            return ["model_version": try await versionJSON(name, number)]
        }
    }

    /// The concrete `mlflow-artifacts:/` folder of a version's files.
    func downloadURI(_ version: ModelVersion) async throws -> String {
        switch try? RegistryService.VersionSource(parsing: version.source) {
        case .loggedModel(let id)?: return try await tracking.loggedModel(id).artifactURI
        default: return version.source
        }
    }
}
