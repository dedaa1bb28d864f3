import Foundation
import TrailArtifacts
import TrailCore
import TrailStore

/// Experiments, runs, params, metrics, tags, dataset inputs and artifacts.
///
/// Every mutating method takes the acting identity and makes exactly one `WriteBatch`: one
/// transaction with one ledger event, or nothing at all when the input is refused.
public struct TrackingService: Sendable {
    public let store: any MetadataStore
    public let blobs: any BlobStore
    public let clock: any TrailClock
    public let privacy: PrivacyPolicy

    /// The tag MLflow keeps in step with a run's name.
    public static let runNameTag = "mlflow.runName"

    public init(store: any MetadataStore, blobs: any BlobStore, clock: any TrailClock = SystemClock(), privacy: PrivacyPolicy = .none) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.privacy = privacy
    }

    // MARK: - Experiments

    /// Creates experiment `"0"`, "Default", if it does not exist (MLflow clients rely on it).
    public func ensureDefaultExperiment() async throws {
        if try await store.experiment(id: .defaultExperiment) != nil { return }
        do {
            _ = try await createExperiment(name: "Default", tags: [], actor: .service("modeltrail"))
        } catch let error as TrailError where error.code == .resourceAlreadyExists {
            // Another process created it first.
        }
    }

    public func createExperiment(name: String, tags: [Tag], actor: Actor) async throws -> Experiment {
        try privacy.refuseSensitive(tags.map(\.key), field: "tags", on: "an experiment tag")
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw TrailError.invalid("name", "experiment name must not be empty") }
        try Limits.checkLength(name, max: Limits.maxExperimentNameLength, field: "name")
        try checkTags(tags, field: "tags")
        let now = clock.nowMillis()
        let receipt = try await store.apply(
            WriteBatch(
                changes: [.createExperiment(name: name, tags: tags, timeMillis: now)],
                event: EventDraft(
                    action: "experiment.create", actor: actor, timeMillis: now, subject: Subject(type: "experiment", id: ""),
                    facts: ["name": .string(name), "tags": tagsJSON(tags)])))
        guard let id = receipt.experimentID, let experiment = try await store.experiment(id: id) else {
            throw TrailError.internalError("created experiment could not be read back")
        }
        return experiment
    }

    public func experiment(id: ExperimentID) async throws -> Experiment {
        guard let experiment = try await store.experiment(id: id) else {
            throw TrailError.notFound("experiment", id.description, field: "experiment_id")
        }
        return experiment
    }

    public func experiment(named name: String) async throws -> Experiment {
        guard let experiment = try await store.experiment(named: name) else {
            throw TrailError.notFound("experiment", name, field: "experiment_name")
        }
        return experiment
    }

    public func experiments(view: ViewType = .activeOnly, maxResults: Int = 1000, pageToken: String? = nil) async throws -> Page<Experiment> {
        try checkMaxResults(maxResults)
        return try await store.experiments(view: view, maxResults: maxResults, offset: try PageToken.decode(pageToken))
    }

    public func deleteExperiment(_ id: ExperimentID, actor: Actor) async throws {
        guard id != .defaultExperiment else { throw TrailError.invalid("experiment_id", "the Default experiment cannot be deleted") }
        try await setLifecycle(id, .deleted, action: "experiment.delete", actor: actor)
    }

    public func restoreExperiment(_ id: ExperimentID, actor: Actor) async throws {
        try await setLifecycle(id, .active, action: "experiment.restore", actor: actor)
    }

    func setLifecycle(_ id: ExperimentID, _ stage: LifecycleStage, action: String, actor: Actor) async throws {
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.experiment(id, mustBeActive: false)],
                changes: [.setExperimentLifecycle(id, stage, timeMillis: now)],
                event: EventDraft(
                    action: action, actor: actor, timeMillis: now, subject: Subject(type: "experiment", id: id.description),
                    facts: ["lifecycle_stage": .string(stage.rawValue)])))
    }

    public func renameExperiment(_ id: ExperimentID, to name: String, actor: Actor) async throws {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw TrailError.invalid("new_name", "experiment name must not be empty") }
        try Limits.checkLength(name, max: Limits.maxExperimentNameLength, field: "new_name")
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.experiment(id, mustBeActive: true)],
                changes: [.renameExperiment(id, name: name, timeMillis: now)],
                event: EventDraft(
                    action: "experiment.rename", actor: actor, timeMillis: now, subject: Subject(type: "experiment", id: id.description),
                    facts: ["name": .string(name)])))
    }

    /// Sets (`value` non-nil) or deletes an experiment tag; every change is kept as history.
    public func setExperimentTag(_ id: ExperimentID, key: String, value: String?, actor: Actor) async throws {
        if value != nil { try privacy.refuseSensitive([key], field: "key", on: "an experiment tag") }
        try Limits.checkKey(key, field: "key")
        if let value { try Limits.checkLength(value, max: Limits.maxTagValueLength, field: "value") }
        let now = clock.nowMillis()
        if value == nil, !(try await experiment(id: id)).tags.contains(where: { $0.key == key }) {
            throw TrailError.notFound("tag", key, field: "key")
        }
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.experiment(id, mustBeActive: true)],
                changes: [.changeExperimentTags(id, [TagChange(key: key, value: value, timeMillis: now, actor: actor)])],
                event: EventDraft(
                    action: value == nil ? "experiment.tag.delete" : "experiment.tag.set", actor: actor, timeMillis: now,
                    subject: Subject(type: "experiment", id: id.description),
                    facts: ["key": .string(key), "value": value.map { JSONValue.string(privacy.shown(key: key, value: $0)) } ?? .null])))
    }

    public func experimentTagHistory(_ id: ExperimentID) async throws -> [TagChange] {
        _ = try await experiment(id: id)
        return try await store.experimentTagHistory(id: id)
    }

    // MARK: - Runs

    /// Creates a run in `experimentID` (the Default experiment when nil), status RUNNING.
    public func createRun(
        experimentID: ExperimentID?, name: String? = nil, userID: String? = nil, startTimeMillis: Int64? = nil, tags: [Tag] = [],
        actor: Actor
    ) async throws -> Run {
        let experimentID = experimentID ?? .defaultExperiment
        try checkTags(tags, field: "tags")
        let tagName = tags.last(where: { $0.key == Self.runNameTag })?.value
        if let name, let tagName, !name.isEmpty, name != tagName {
            throw TrailError.invalid("run_name", "run_name '\(name)' contradicts the \(Self.runNameTag) tag '\(tagName)'")
        }
        let runName = (name?.isEmpty == false ? name : nil) ?? tagName ?? RunNames.random()
        try Limits.checkLength(runName, max: Limits.maxRunNameLength, field: "run_name")
        if let userID { try Limits.checkLength(userID, max: 256, field: "user_id") }
        let now = clock.nowMillis()
        var allTags = tags
        if tagName == nil { allTags.append(Tag(key: Self.runNameTag, value: runName)) }
        if let startTimeMillis, !(0...Limits.maxTimeMillis).contains(startTimeMillis) {
            throw TrailError.invalid("start_time", "start_time must be between 0 and \(Limits.maxTimeMillis) (milliseconds; the year 9999)")
        }
        let info = RunInfo(
            runID: .random(), experimentID: experimentID, name: runName, userID: userID ?? actor.id, status: .running,
            startTimeMillis: startTimeMillis ?? now, endTimeMillis: nil, lifecycleStage: .active)
        let sealed = try await sealSensitive(info.runID, params: [], tags: allTags, field: "tags")
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.experiment(experimentID, mustBeActive: true)] + sealed.preconditions,
                changes: [.createRun(info, tags: sealed.tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: now, actor: actor) })],
                event: EventDraft(
                    action: "run.create", actor: actor, timeMillis: now, subject: Subject(type: "run", id: info.runID.value),
                    related: ["experiment_id": experimentID.description],
                    facts: [
                        "run_name": .string(runName), "user_id": .string(info.userID), "status": .string(info.status.rawValue),
                        "start_time": .int(info.startTimeMillis), "tags": facts(allTags, sealed),
                    ])))
        return try await run(info.runID)
    }

    /// A run as `reader` sees it: sensitive values masked unless the reader is privileged
    /// (auditor, admin), erased ones `[erased]` for everyone.
    public func run(_ id: RunID, reader: Reader = .masked) async throws -> Run {
        guard let run = try await store.run(id: id) else { throw TrailError.notFound("run", id.description, field: "run_id") }
        return try await present(run, reader: reader)
    }

    /// Changes a run's status, end time or name (fields left nil stay as they are).
    public func updateRun(_ id: RunID, status: RunStatus? = nil, endTimeMillis: Int64? = nil, name: String? = nil, actor: Actor) async throws
        -> RunInfo
    {
        if let name { try Limits.checkLength(name, max: Limits.maxRunNameLength, field: "run_name") }
        let current = try await run(id)
        guard current.info.lifecycleStage == .active else { throw TrailError.invalid("run_id", "run '\(id)' is deleted; restore it first") }
        var endTime = endTimeMillis
        if endTime == nil, let status, status.isTerminal, current.info.endTimeMillis == nil { endTime = clock.nowMillis() }
        if let endTime, endTime > Limits.maxTimeMillis {
            throw TrailError.invalid("end_time", "end_time must be at most \(Limits.maxTimeMillis) (milliseconds; the year 9999)")
        }
        if let endTime, endTime < current.info.startTimeMillis {
            throw TrailError.invalid("end_time", "end_time \(endTime) is before the run's start_time \(current.info.startTimeMillis)")
        }
        let now = clock.nowMillis()
        var changes: [Change] = [.updateRun(id, status: status, endTimeMillis: endTime, name: name?.isEmpty == false ? name : nil)]
        if let name, !name.isEmpty, name != current.info.name {
            changes.append(.changeRunTags(id, [TagChange(key: Self.runNameTag, value: name, timeMillis: now, actor: actor)]))
        }
        var facts: [String: JSONValue] = [:]
        if let status { facts["status"] = .string(status.rawValue) }
        if let endTime { facts["end_time"] = .int(endTime) }
        if let name { facts["run_name"] = .string(name) }
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.run(id, mustBeActive: true)], changes: changes,
                event: EventDraft(
                    action: "run.update", actor: actor, timeMillis: now, subject: Subject(type: "run", id: id.value),
                    related: ["experiment_id": current.info.experimentID.description], facts: .object(facts))))
        return try await run(id).info
    }

    public func deleteRun(_ id: RunID, actor: Actor) async throws {
        try await setRunLifecycle(id, .deleted, action: "run.delete", actor: actor)
    }

    public func restoreRun(_ id: RunID, actor: Actor) async throws {
        try await setRunLifecycle(id, .active, action: "run.restore", actor: actor)
    }

    func setRunLifecycle(_ id: RunID, _ stage: LifecycleStage, action: String, actor: Actor) async throws {
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.run(id, mustBeActive: false)], changes: [.setRunLifecycle(id, stage)],
                event: EventDraft(
                    action: action, actor: actor, timeMillis: now, subject: Subject(type: "run", id: id.value),
                    facts: ["lifecycle_stage": .string(stage.rawValue)])))
    }

    // MARK: - Params, metrics, tags

    public func logParam(_ id: RunID, key: String, value: String, actor: Actor) async throws {
        try await logBatch(id, params: [Param(key: key, value: value)], actor: actor)
    }

    public func logMetric(_ id: RunID, _ metric: Metric, actor: Actor) async throws {
        try await logBatch(id, metrics: [metric], actor: actor)
    }

    /// Sets (`value` non-nil) or deletes a run tag; every change is kept as history.
    public func setTag(_ id: RunID, key: String, value: String?, actor: Actor) async throws {
        if let value {
            try await logBatch(id, tags: [Tag(key: key, value: value)], actor: actor)
            return
        }
        try Limits.checkKey(key, field: "key")
        let current = try await run(id)
        guard current.tags.contains(where: { $0.key == key }) else { throw TrailError.notFound("tag", key, field: "key") }
        let frozen = try await checkNotFrozen(id, tagKeys: [key], actor: actor)
        let now = clock.nowMillis()
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.run(id, mustBeActive: true)] + frozen,
                changes: [.changeRunTags(id, [TagChange(key: key, value: nil, timeMillis: now, actor: actor)])],
                event: EventDraft(
                    action: "tags.delete", actor: actor, timeMillis: now, subject: Subject(type: "run", id: id.value),
                    facts: ["key": .string(key)])))
    }

    /// Logs metrics, params and tags in one transaction and one ledger event. Params are
    /// immutable: a key re-logged with its value is accepted, with another value refused.
    /// `modelMetrics` are those of `metrics` that name a logged model (MLflow's `model_id`):
    /// they are linked to that model in the same transaction.
    public func logBatch(
        _ id: RunID, metrics: [Metric] = [], params: [Param] = [], tags: [Tag] = [], modelMetrics: [String: [LoggedModel.LinkedMetric]] = [:],
        actor: Actor
    ) async throws {
        guard metrics.count <= Limits.maxBatchMetrics else {
            throw TrailError.invalid("metrics", "a batch holds at most \(Limits.maxBatchMetrics) metrics, got \(metrics.count)")
        }
        guard params.count <= Limits.maxBatchParams else {
            throw TrailError.invalid("params", "a batch holds at most \(Limits.maxBatchParams) params, got \(params.count)")
        }
        guard tags.count <= Limits.maxBatchTags else {
            throw TrailError.invalid("tags", "a batch holds at most \(Limits.maxBatchTags) tags, got \(tags.count)")
        }
        guard metrics.count + params.count + tags.count <= Limits.maxBatchEntities else {
            throw TrailError.invalid("metrics", "a batch holds at most \(Limits.maxBatchEntities) entities in all")
        }
        var seenParams: [String: String] = [:]
        for (i, param) in params.enumerated() {
            try Limits.checkKey(param.key, field: "params[\(i)].key")
            try Limits.checkLength(param.value, max: Limits.maxParamValueLength, field: "params[\(i)].value")
            if let earlier = seenParams[param.key], earlier != param.value {
                throw TrailError.invalid("params[\(i)]", "param '\(param.key)' appears twice in the batch with different values")
            }
            seenParams[param.key] = param.value
        }
        var checkedKeys = Set<String>()
        for (i, metric) in metrics.enumerated() {
            if checkedKeys.insert(metric.key).inserted { try Limits.checkKey(metric.key, field: "metrics[\(i)].key") }
            guard metric.timestampMillis >= 0 else { throw TrailError.invalid("metrics[\(i)].timestamp", "timestamp must not be negative") }
        }
        try checkTags(tags, field: "tags")
        guard !(metrics.isEmpty && params.isEmpty && tags.isEmpty) else { return }
        let now = clock.nowMillis()
        let plainParams = params, plainTags = tags
        let sealed = try await sealSensitive(id, params: params, tags: tags, field: params.isEmpty ? "tags" : "params")
        let params = sealed.params, tags = sealed.tags
        var changes: [Change] = []
        if !params.isEmpty { changes.append(.insertParams(id, params)) }
        if !metrics.isEmpty { changes.append(.insertMetrics(id, metrics)) }
        if !tags.isEmpty { changes.append(.changeRunTags(id, tags.map { TagChange(key: $0.key, value: $0.value, timeMillis: now, actor: actor) })) }
        var preconditions: [Precondition] = [.run(id, mustBeActive: true)] + sealed.preconditions
        preconditions += try await checkNotFrozen(id, metricKeys: metrics.map(\.key), tagKeys: tags.map(\.key) + params.map(\.key), actor: actor)
        for (modelID, linked) in modelMetrics.sorted(by: { $0.key < $1.key }) {
            try LoggedModel.checkID(modelID, field: "metrics.model_id")
            preconditions.append(.loggedModel(modelID, mustBeActive: false))
            changes.append(.insertLoggedModelMetrics(modelID, linked))
        }
        if let rename = tags.last(where: { $0.key == Self.runNameTag }) {
            changes.append(.updateRun(id, status: nil, endTimeMillis: nil, name: rename.value))
        }
        let action: String
        switch (metrics.isEmpty, params.isEmpty, tags.isEmpty) {
        case (false, true, true): action = "metrics.log"
        case (true, false, true): action = "params.log"
        case (true, true, false): action = "tags.set"
        default: action = "batch.log"
        }
        // The rows themselves are covered by the event's write digests; the facts summarise.
        var facts: [String: JSONValue] = [:]
        if !params.isEmpty {
            facts["params"] = .array(plainParams.map { ["key": .string($0.key), "value": .string(sealed.fact(key: $0.key, value: $0.value))] })
        }
        if !metrics.isEmpty {
            facts["metrics"] = .int(Int64(metrics.count))
            facts["metric_keys"] = .array(Set(metrics.map(\.key)).sorted().map(JSONValue.string))
        }
        if !modelMetrics.isEmpty { facts["model_ids"] = .array(modelMetrics.keys.sorted().map(JSONValue.string)) }
        if !tags.isEmpty { facts["tags"] = self.facts(plainTags, sealed) }
        _ = try await store.apply(
            WriteBatch(
                preconditions: preconditions, changes: changes,
                event: EventDraft(action: action, actor: actor, timeMillis: now, subject: Subject(type: "run", id: id.value), facts: .object(facts))))
    }

    public func metricHistory(_ id: RunID, key: String, maxResults: Int = 25000, pageToken: String? = nil) async throws -> Page<Metric> {
        guard maxResults > 0 else { throw TrailError.invalid("max_results", "max_results must be positive") }
        return try await store.metricHistory(run: id, key: key, maxResults: min(maxResults, 100_000), offset: try PageToken.decode(pageToken))
    }

    /// Every change of a run's tags, values shown as to `reader`.
    public func tagHistory(_ id: RunID, reader: Reader = .masked) async throws -> [TagChange] {
        let history = try await store.runTagHistory(run: id)
        let values = history.compactMap { change in change.value.map { (change.key, $0) } }
        let presenter = try await presenter(for: values, reader: reader)
        guard presenter.changesAnything(values) else { return history }
        return history.map { change in
            var shown = change
            shown.value = change.value.map { presenter.show(key: change.key, value: $0) }
            return shown
        }
    }

    // MARK: - Dataset inputs

    /// Logs dataset inputs and the logged models the run consumed (MLflow's `runs/log-inputs`)
    /// in one transaction and one event.
    public func logInputs(_ id: RunID, _ inputs: [DatasetInput], models: [RunModelLink] = [], actor: Actor) async throws {
        guard !inputs.isEmpty || !models.isEmpty else { return }
        guard !inputs.isEmpty else { return try await linkModels(id, models, actor: actor) }
        guard inputs.count <= 1000 else { throw TrailError.invalid("datasets", "at most 1000 dataset inputs per call") }
        try Self.checkModelLinks(models)
        for (i, input) in inputs.enumerated() {
            guard !input.name.isEmpty else { throw TrailError.invalid("datasets[\(i)].name", "dataset name must not be empty") }
            try Limits.checkLength(input.name, max: Limits.maxDatasetNameLength, field: "datasets[\(i)].name")
            guard !input.digest.isEmpty else { throw TrailError.invalid("datasets[\(i)].digest", "dataset digest must not be empty") }
            if input.digest.hasPrefix("sha256:") { _ = try Digest(parsing: input.digest, field: "datasets[\(i)].digest") }
            try Limits.checkLength(input.digest, max: 80, field: "datasets[\(i)].digest")
            try Limits.checkLength(input.source, max: Limits.maxDatasetSourceLength, field: "datasets[\(i)].source")
            if let context = input.context { try Limits.checkLength(context, max: 500, field: "datasets[\(i)].context") }
        }
        let now = clock.nowMillis()
        let encoder = JSONEncoder()
        let facts = try JSONValue.parse(Array(try encoder.encode(inputs)))
        var changes: [Change] = [.insertDatasetInputs(id, inputs)]
        var all: [String: JSONValue] = ["datasets": facts]
        if !models.isEmpty {
            changes.append(.linkRunModels(id, models))
            all["models"] = .array(models.map { ["model_id": .string($0.modelID), "direction": .string($0.direction.rawValue), "step": .int($0.step)] })
        }
        _ = try await store.apply(
            WriteBatch(
                preconditions: [.run(id, mustBeActive: true)] + models.map { .loggedModel($0.modelID, mustBeActive: false) }, changes: changes,
                event: EventDraft(
                    action: "inputs.log", actor: actor, timeMillis: now, subject: Subject(type: "run", id: id.value),
                    related: Dictionary(inputs.map { ("dataset:\($0.name)", $0.digest) }, uniquingKeysWith: { a, _ in a }),
                    facts: .object(all))))
    }

    // MARK: - Search

    /// MLflow's run search: filter grammar, `order_by`, `max_results` and page tokens.
    public func searchRuns(
        experimentIDs: [ExperimentID], filter: String = "", orderBy: [String] = [], view: ViewType = .activeOnly, maxResults: Int = 1000,
        pageToken: String? = nil, reader: Reader = .masked
    ) async throws -> Page<Run> {
        try checkMaxResults(maxResults)
        guard !experimentIDs.isEmpty else { throw TrailError.invalid("experiment_ids", "name at least one experiment") }
        guard experimentIDs.count <= Limits.maxSearchExperiments else {
            throw TrailError.invalid("experiment_ids", "a search names at most \(Limits.maxSearchExperiments) experiments, got \(experimentIDs.count)")
        }
        let orders = try orderBy.map { try RunOrder(parsing: $0) }
        var seen = Set<String>()
        for order in orders where !seen.insert("\(order.entity).\(order.key)").inserted {
            throw TrailError.invalid("order_by", "'\(order.entity.rawValue).\(order.key)' appears twice in order_by")
        }
        let parsed = try RunFilter(parsing: filter)
        try checkSearchable(filter: parsed, orders: orders)
        var page = try await store.searchRuns(
            RunQuery(
                experimentIDs: experimentIDs, filter: parsed, orderBy: orders, view: view, maxResults: maxResults,
                offset: try PageToken.decode(pageToken)))
        let values = page.items.flatMap { run in run.params.map { ($0.key, $0.value) } + run.tags.map { ($0.key, $0.value) } }
        let presenter = try await presenter(for: values, reader: reader)
        if presenter.changesAnything(values) {
            page.items = page.items.map { run in
                var out = run
                out.params = run.params.map { Param(key: $0.key, value: presenter.show(key: $0.key, value: $0.value)) }
                out.tags = run.tags.map { Tag(key: $0.key, value: presenter.show(key: $0.key, value: $0.value)) }
                return out
            }
        }
        return page
    }

    // MARK: - Helpers

    func checkTags(_ tags: [Tag], field: String) throws { try Limits.checkTags(tags, field: field) }

    func checkMaxResults(_ maxResults: Int) throws {
        guard (1...Limits.maxSearchResults).contains(maxResults) else {
            throw TrailError.invalid("max_results", "max_results must be between 1 and \(Limits.maxSearchResults), got \(maxResults)")
        }
    }

    /// Tags as event facts; sensitive values appear only as salted digests.
    /// A run's tags as event facts: sensitive values as HMACs under their sealing keys.
    func facts(_ tags: [Tag], _ sealed: SealedWrite) -> JSONValue {
        .array(tags.map { ["key": .string($0.key), "value": .string(sealed.fact(key: $0.key, value: $0.value))] })
    }

    func tagsJSON(_ tags: [Tag]) -> JSONValue {
        .array(tags.map { ["key": .string($0.key), "value": .string(privacy.shown(key: $0.key, value: $0.value))] })
    }
}
