import Foundation

/// The registry events a webhook can subscribe to. Where MLflow 3 has the same event the name
/// is MLflow's (`entity.action`, `mlflow/entities/webhook.py`), so an MLflow receiver reads
/// ModelTrail's deliveries unchanged; the others are ModelTrail's own, in the same shape.
public enum WebhookEvent: String, Sendable, Codable, CaseIterable, Hashable {
    case registeredModelCreated = "registered_model.created"
    case modelVersionCreated = "model_version.created"
    case modelVersionAliasCreated = "model_version_alias.created"
    case modelVersionAliasDeleted = "model_version_alias.deleted"
    /// ModelTrail: a version moved to another stage.
    case modelVersionStageChanged = "model_version_stage.changed"
    /// ModelTrail: the promotion gate refused an alias move or a stage change.
    case promotionRefused = "promotion.refused"
    /// ModelTrail: an approver approved or rejected a version for a target.
    case approvalCreated = "approval.created"
    /// ModelTrail: a verified attestation was attached to a version.
    case attestationCreated = "attestation.created"
    /// ModelTrail: a drift check found a feature past the alert threshold.
    case driftAlert = "drift.alerted"
    /// Sent by `trail webhooks test`; never caused by a ledger event.
    case ping = "webhook.ping"

    /// MLflow's `entity` (the part before the last dot).
    public var entity: String { String(rawValue[..<rawValue.lastIndex(of: ".")!]) }
    /// MLflow's `action` (the part after the last dot).
    public var action: String { String(rawValue[rawValue.index(after: rawValue.lastIndex(of: ".")!)...]) }

    /// The events an endpoint may subscribe to (every one but the ping, which goes to the
    /// endpoint it tests whatever its filter).
    public static var subscribable: [WebhookEvent] { allCases.filter { $0 != .ping } }

    /// The webhook event a ledger event causes, if any: the one mapping from the record's
    /// vocabulary (`docs/ledger.md`) to the webhooks', applied by the store inside the event's
    /// own transaction so the outbox row commits with the fact or not at all.
    public static func caused(byAction action: String, facts: JSONValue) -> WebhookEvent? {
        switch action {
        case "model.create": .registeredModelCreated
        case "model_version.create": .modelVersionCreated
        case "alias.set": .modelVersionAliasCreated
        // An emergency move to no version removes the alias.
        case "alias.emergency": facts["to"] == .null ? .modelVersionAliasDeleted : .modelVersionAliasCreated
        case "alias.delete": .modelVersionAliasDeleted
        case "stage.transition": .modelVersionStageChanged
        case "promotion.refused": .promotionRefused
        case "approval.approve", "approval.reject": .approvalCreated
        case "attestation.add": .attestationCreated
        case "drift.check": facts["level"]?.stringValue == "alert" ? .driftAlert : nil
        default: nil
        }
    }
}

/// An admin-registered receiver of webhook deliveries. Registering and removing one are ledger
/// events (`webhook.create`, `webhook.remove`); its secret is never part of the record.
public struct WebhookEndpoint: Sendable, Hashable, Codable {
    public var webhookID: String
    public var url: String
    public var events: [WebhookEvent]
    public var description: String
    public var createdBy: String
    public var creationTimeMillis: Int64
    /// Set when an admin removed it; a removed endpoint receives nothing more.
    public var removedTimeMillis: Int64?
    public var eventIndex: Int64

    public init(
        webhookID: String, url: String, events: [WebhookEvent], description: String, createdBy: String, creationTimeMillis: Int64,
        removedTimeMillis: Int64? = nil, eventIndex: Int64 = 0
    ) {
        self.webhookID = webhookID
        self.url = url
        self.events = events
        self.description = description
        self.createdBy = createdBy
        self.creationTimeMillis = creationTimeMillis
        self.removedTimeMillis = removedTimeMillis
        self.eventIndex = eventIndex
    }

    public var isActive: Bool { removedTimeMillis == nil }

    enum CodingKeys: String, CodingKey {
        case webhookID = "webhook_id", url, events, description, createdBy = "created_by", creationTimeMillis = "creation_time"
        case removedTimeMillis = "removed_time", eventIndex = "event_index"
    }
}

/// A network an admin allowed webhook targets in although it is private, loopback or
/// link-local (a recorded setting: `webhook.allow`, `webhook.disallow`).
public struct WebhookAllowance: Sendable, Hashable, Codable {
    public var cidr: String
    public var reason: String
    public var actor: String
    public var timeMillis: Int64
    public var removedTimeMillis: Int64?
    public var eventIndex: Int64

    public init(cidr: String, reason: String, actor: String, timeMillis: Int64, removedTimeMillis: Int64? = nil, eventIndex: Int64 = 0) {
        self.cidr = cidr
        self.reason = reason
        self.actor = actor
        self.timeMillis = timeMillis
        self.removedTimeMillis = removedTimeMillis
        self.eventIndex = eventIndex
    }

    public var isActive: Bool { removedTimeMillis == nil }

    enum CodingKeys: String, CodingKey {
        case cidr, reason, actor, timeMillis = "time", removedTimeMillis = "removed_time", eventIndex = "event_index"
    }
}

/// One message of the outbox to one endpoint, and where its delivery stands. Operational data:
/// kept outside the record (the ledger event that caused it is the fact).
public struct WebhookDelivery: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Waiting for its next attempt (`next_attempt_time`).
        case pending
        /// A 2xx answer was received.
        case delivered
        /// Every attempt failed; nothing more is tried.
        case failed
        /// The endpoint was removed before the message was delivered.
        case cancelled
    }

    public struct Attempt: Sendable, Hashable, Codable {
        public var attempt: Int64
        public var timeMillis: Int64
        public var statusCode: Int64?
        public var error: String?
        public var durationMillis: Int64

        public init(attempt: Int64, timeMillis: Int64, statusCode: Int64?, error: String?, durationMillis: Int64) {
            self.attempt = attempt
            self.timeMillis = timeMillis
            self.statusCode = statusCode
            self.error = error
            self.durationMillis = durationMillis
        }

        enum CodingKeys: String, CodingKey {
            case attempt, timeMillis = "time", statusCode = "status_code", error, durationMillis = "duration_ms"
        }
    }

    /// Stable across retries: it is the `X-MLflow-Delivery-Id` every attempt sends, so a
    /// receiver can drop duplicates.
    public var deliveryID: String
    public var webhookID: String
    public var event: WebhookEvent
    /// The ledger event that caused it (nil for a ping).
    public var eventIndex: Int64?
    public var modelName: String?
    public var modelVersion: Int64?
    public var status: Status
    public var attempts: Int64
    public var nextAttemptMillis: Int64
    public var creationTimeMillis: Int64
    public var deliveredTimeMillis: Int64?
    public var lastStatusCode: Int64?
    public var lastError: String?
    public var history: [Attempt]

    public init(
        deliveryID: String, webhookID: String, event: WebhookEvent, eventIndex: Int64?, modelName: String?, modelVersion: Int64?, status: Status,
        attempts: Int64, nextAttemptMillis: Int64, creationTimeMillis: Int64, deliveredTimeMillis: Int64?, lastStatusCode: Int64?,
        lastError: String?, history: [Attempt] = []
    ) {
        self.deliveryID = deliveryID
        self.webhookID = webhookID
        self.event = event
        self.eventIndex = eventIndex
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.status = status
        self.attempts = attempts
        self.nextAttemptMillis = nextAttemptMillis
        self.creationTimeMillis = creationTimeMillis
        self.deliveredTimeMillis = deliveredTimeMillis
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.history = history
    }

    enum CodingKeys: String, CodingKey {
        case deliveryID = "delivery_id", webhookID = "webhook_id", event, eventIndex = "event_index", modelName = "model_name"
        case modelVersion = "model_version", status, attempts, nextAttemptMillis = "next_attempt_time", creationTimeMillis = "creation_time"
        case deliveredTimeMillis = "delivered_time", lastStatusCode = "last_status_code", lastError = "last_error", history
    }
}
