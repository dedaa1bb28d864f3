import TrailCore
import TrailStore

/// MLflow 3 logged models and the searches over experiments and logged models.
extension TrackingService {
    public func createLoggedModel(
        experimentID: ExperimentID, name: String?, modelType: String = "", sourceRunID: RunID?, params: [Param] = [], tags: [Tag] = [],
        actor: Actor
    ) async throws -> LoggedModel {
        let name = name?.isEmpty == false ? name! : RunNames.random()
        try Limits.checkLength(name, max: 500, field: "name")
        try Limits.checkLength(modelType, max: 500, field: "model_type")
        try checkTags(tags, field: "tags")
        try privacy.refuseSensitive(tags.map(\.key), field: "tags", on: "a logged model's tag")
        try privacy.refuseSensitive(params.map(\.key), field: "params", on: "a logged model's param")
        guard params.count <= Limits.maxBatchParams else {
            throw TrailError.invalid("params", "a logged model is created with at most \(Limits.maxBatchParams) params; add more with log-params")
        }
        for (i, param) in params.enumerated() {
            try Limits.checkKey(param.key, field: "params[\(i)].key")
            try Limits.checkLength(param.value, max: Limits.maxParamValueLength, field: "params[\(i)].value")
        }
        var preconditions: [Precondition] = [.experiment(experimentID, mustBeActive: true)]
        if let sourceRunID {
            let run = try await run(sourceRunID)
            guard run.info.experimentID == experimentID else {
                throw TrailError.invalid("source_run_id", "run \(sourceRunID) belongs to experiment \(run.info.experimentID), not \(experimentID)")
            }
            preconditions.append(.run(sourceRunID, mustBeActive: true))
        }
        let now = clock.nowMillis()
        let model = LoggedModel(
            modelID: LoggedModel.newID(), experimentID: experimentID, name: name, modelType: modelType, sourceRunID: sourceRunID, status: .pending,
            creationTimeMillis: now, lastUpdatedMillis: now, params: params, tags: tags)
        var related = ["experiment_id": experimentID.description]
        if let sourceRunID { related["run_id"] = sourceRunID.value }
        _ = try await store.apply(
            WriteBatch(
                preconditions: preconditions, changes: [.createLoggedModel(model)],
                event: EventDraft(
                    action: "logged_model.create", actor: actor, timeMillis: now, subject: Subject(type: "logged_model", id: model.modelID),
                    related: related,
                    facts: [
                        "name": .string(name), "model_type": .string(modelType), "params": .int(Int64(params.count)), "tags": tagsJSON(tags),
                    ])))
        return try await loggedModel(model.modelID)
    }

    public func loggedModel(_ id: String) async throws -> LoggedModel {
        try LoggedModel.checkID(id)
        guard let model = try await store.loggedModel(id: id) else { throw TrailError.notFound("logged model", id, field: "model_id") }
        return model
    }

    /// Marks a logged model READY (its files are uploaded) or UPLOAD_FAILED.
    public func finalizeLoggedModel(_ id: String, status: LoggedModel.Status, actor: Actor) async throws -> LoggedModel {
        guard status == .ready || status == .uploadFailed else {
            throw TrailError.invalid("status", "a logged model is finalized as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED")
        }
        let current = try await loggedModel(id)
        guard current.status != status else { return current }
        let files = try await store.artifacts(owner: .loggedModel(id))
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.loggedModel(id, mustBeActive: true)],
                changes: [.updateLoggedModel(id, status: status, lifecycle: nil, timeMillis: now)],
                event: EventDraft(
                    action: "logged_model.finalize", actor: actor, timeMillis: now, subject: Subject(type: "logged_model", id: id),
                    facts: ["status": .string(status.rawValue), "files": .int(Int64(files.count))])))
        return try await loggedModel(id)
    }

    public func deleteLoggedModel(_ id: String, actor: Actor) async throws {
        _ = try await loggedModel(id)
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.loggedModel(id, mustBeActive: true)],
                changes: [.updateLoggedModel(id, status: nil, lifecycle: .deleted, timeMillis: now)],
                event: EventDraft(
                    action: "logged_model.delete", actor: actor, timeMillis: now, subject: Subject(type: "logged_model", id: id),
                    facts: ["lifecycle_stage": "deleted"])))
    }

    /// Sets tags (`value` non-nil) or deletes one; every change is kept.
    public func changeLoggedModelTags(_ id: String, _ tags: [(key: String, value: String?)], actor: Actor) async throws {
        let current = try await loggedModel(id)
        for (i, tag) in tags.enumerated() {
            try Limits.checkKey(tag.key, field: "tags[\(i)].key")
            if let value = tag.value {
                try Limits.checkLength(value, max: Limits.maxTagValueLength, field: "tags[\(i)].value")
            } else if !current.tags.contains(where: { $0.key == tag.key }) {
                throw TrailError.notFound("tag", tag.key, field: "tag_key")
            }
        }
        guard !tags.isEmpty else { return }
        try privacy.refuseSensitive(tags.filter { $0.value != nil }.map(\.key), field: "tags", on: "a logged model's tag")
        let now = clock.nowMillis()
        let changes = tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: now, actor: actor) }
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.loggedModel(id, mustBeActive: true)], changes: [.changeLoggedModelTags(id, changes)],
                event: EventDraft(
                    action: tags.allSatisfy({ $0.value == nil }) ? "logged_model.tag.delete" : "logged_model.tag.set", actor: actor, timeMillis: now,
                    subject: Subject(type: "logged_model", id: id),
                    facts: [
                        "tags": .array(
                            tags.map { tag in
                                ["key": .string(tag.key), "value": tag.value.map { .string(privacy.shown(key: tag.key, value: $0)) } ?? .null]
                            })
                    ])))
    }

    public func logLoggedModelParams(_ id: String, _ params: [Param], actor: Actor) async throws {
        _ = try await loggedModel(id)
        guard params.count <= Limits.maxBatchParams else {
            throw TrailError.invalid("params", "at most \(Limits.maxBatchParams) params per request, got \(params.count)")
        }
        for (i, param) in params.enumerated() {
            try Limits.checkKey(param.key, field: "params[\(i)].key")
            try Limits.checkLength(param.value, max: Limits.maxParamValueLength, field: "params[\(i)].value")
        }
        guard !params.isEmpty else { return }
        try privacy.refuseSensitive(params.map(\.key), field: "params", on: "a logged model's param")
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.loggedModel(id, mustBeActive: true)], changes: [.insertLoggedModelParams(id, params)],
                event: EventDraft(
                    action: "logged_model.params.log", actor: actor, timeMillis: now, subject: Subject(type: "logged_model", id: id),
                    facts: ["params": .array(params.map { ["key": .string($0.key), "value": .string(privacy.shown(key: $0.key, value: $0.value))] })])))
    }

    /// Records that run `id` consumed (`input`) or produced (`output`) logged models.
    static func checkModelLinks(_ links: [RunModelLink]) throws {
        guard links.count <= 1000 else { throw TrailError.invalid("models", "at most 1000 models per call") }
        for (i, link) in links.enumerated() {
            try LoggedModel.checkID(link.modelID, field: "models[\(i)].model_id")
            guard link.step >= 0 else { throw TrailError.invalid("models[\(i)].step", "step must not be negative") }
        }
    }

    public func linkModels(_ id: RunID, _ links: [RunModelLink], actor: Actor) async throws {
        guard !links.isEmpty else { return }
        try Self.checkModelLinks(links)
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.run(id, mustBeActive: true)] + links.map { .loggedModel($0.modelID, mustBeActive: false) },
                changes: [.linkRunModels(id, links)],
                event: EventDraft(
                    action: links.allSatisfy({ $0.direction == .output }) ? "run.outputs" : "run.model_inputs", actor: actor, timeMillis: now,
                    subject: Subject(type: "run", id: id.value),
                    facts: [
                        "models": .array(
                            links.map { ["model_id": .string($0.modelID), "direction": .string($0.direction.rawValue), "step": .int($0.step)] })
                    ])))
    }

    /// MLflow 2's model record on a run (`runs/log-model`): appended, as MLflow keeps it, to the
    /// run's `mlflow.log-model.history` tag (a JSON list, one entry per logged model).
    public func recordModelHistory(_ id: RunID, modelJSON: String, actor: Actor) async throws {
        guard case .object(let model)? = try? JSONValue.parse(Array(modelJSON.utf8)) else {
            throw TrailError.invalid("model_json", "model_json must be a JSON object (the MLmodel file as JSON)")
        }
        for field in ["artifact_path", "flavors", "utc_time_created", "run_id"] where model[field] == nil {
            throw TrailError.invalid("model_json", "model_json is missing '\(field)'")
        }
        let tag = "mlflow.log-model.history"
        var history: [JSONValue] = []
        if let current = try await run(id).tags.first(where: { $0.key == tag })?.value, case .array(let items)? = try? JSONValue.parse(Array(current.utf8)) {
            history = items
        }
        history.append(.object(model))
        try await setTag(id, key: tag, value: JSONValue.array(history).canonicalString, actor: actor)
    }

    /// MLflow's logged-model search: the filter grammar over attributes, params, tags and
    /// metrics; `orders` of `field_name` objects; offset page tokens.
    public func searchLoggedModels(
        experimentIDs: [ExperimentID], filter: String = "", orders: [EntitySearch.Order] = [], maxResults: Int = 50, pageToken: String? = nil
    ) async throws -> Page<LoggedModel> {
        try checkMaxResults(maxResults)
        guard !experimentIDs.isEmpty else { throw TrailError.invalid("experiment_ids", "name at least one experiment") }
        let search = try EntitySearch(parsing: filter, kind: .loggedModels)
        for order in orders where !order.field.hasPrefix("metrics.") && !EntitySearch.Kind.loggedModels.orderFields.contains(order.field) {
            throw TrailError.invalid("order_by", "cannot order logged models by '\(order.field.prefix(80))'")
        }
        let models = try await store.loggedModels(experimentIDs: experimentIDs).filter { $0.lifecycleStage == .active }
        let records = models.map { model -> (LoggedModel, EntitySearch.Record) in
            var metrics: [String: Double] = [:]
            for linked in model.metrics { metrics[linked.metric.key] = linked.metric.value }
            return (
                model,
                EntitySearch.Record(
                    strings: [
                        "name": model.name, "model_id": model.modelID, "model_type": model.modelType, "status": model.status.rawValue,
                        "source_run_id": model.sourceRunID?.value ?? "",
                    ],
                    numbers: ["creation_timestamp": Double(model.creationTimeMillis), "last_updated_timestamp": Double(model.lastUpdatedMillis)],
                    tags: Dictionary(model.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }),
                    params: Dictionary(model.params.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }), metrics: metrics)
            )
        }.filter { search.matches($0.1) }
        let sorted = EntitySearch.sort(
            records, by: orders.map { EntitySearch.Order(field: $0.field == "creation_time" ? "creation_timestamp" : $0.field, ascending: $0.ascending) },
            tieBreakers: [EntitySearch.Order(field: "creation_timestamp", ascending: false), EntitySearch.Order(field: "model_id", ascending: true)])
        return try EntitySearch.page(sorted, maxResults: maxResults, pageToken: pageToken)
    }

    /// MLflow's experiment search: filter over name, id, times and tags; order_by; view type.
    public func searchExperiments(
        filter: String = "", orderBy: [String] = [], view: ViewType = .activeOnly, maxResults: Int = 1000, pageToken: String? = nil
    ) async throws -> Page<Experiment> {
        try checkMaxResults(maxResults)
        let search = try EntitySearch(parsing: filter, kind: .experiments)
        let orders = try EntitySearch.orders(orderBy, kind: .experiments)
        var all: [Experiment] = []
        var token: String? = nil
        repeat {
            let page = try await store.experiments(view: view, maxResults: Limits.maxSearchResults, offset: try PageToken.decode(token))
            all += page.items
            token = page.nextPageToken
        } while token != nil
        let records = all.map { e in
            (
                e,
                EntitySearch.Record(
                    strings: ["name": e.name, "experiment_id": e.id.description],
                    numbers: ["creation_time": Double(e.creationTimeMillis), "last_update_time": Double(e.lastUpdateTimeMillis)],
                    tags: Dictionary(e.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }))
            )
        }.filter { search.matches($0.1) }
        let sorted = EntitySearch.sort(
            records, by: orders,
            tieBreakers: [EntitySearch.Order(field: "creation_time", ascending: false), EntitySearch.Order(field: "experiment_id", ascending: true)])
        return try EntitySearch.page(sorted, maxResults: maxResults, pageToken: pageToken)
    }
}
