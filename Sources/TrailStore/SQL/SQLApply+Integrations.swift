import Foundation
import TrailCore

/// Applies the webhook changes of a batch (`ApplyContext.apply` routes by `Change.concern`), and
/// fills the outbox in the transaction of the event that causes its messages.
extension ApplyContext {
    mutating func applyIntegrations(_ change: Change) throws {
        switch change {
        case .createWebhook(let endpoint, let secret):
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM webhook_endpoints WHERE webhook_id = ?"), arguments: [endpoint.webhookID])
                == true
            {
                throw TrailError(.resourceAlreadyExists, "webhook '\(endpoint.webhookID)' already exists", field: "webhook_id")
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO webhook_endpoints (webhook_id, url, events, description, created_by, creation_time, removed_time, event_index)
                    VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
                    """
            ).execute(arguments: [
                endpoint.webhookID, endpoint.url, SQLMetadataStore.encodeEvents(endpoint.events), endpoint.description, endpoint.createdBy,
                endpoint.creationTimeMillis, eventIndex,
            ])
            try recordState("webhook_endpoints", key: db.lastInsertedRowID)
            try db.cachedStatement(sql: "INSERT INTO webhook_secrets (webhook_id, secret) VALUES (?, ?)").execute(arguments: [
                endpoint.webhookID, secret,
            ])
            changed = true
        case .removeWebhook(let id, let time):
            guard
                let pk = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT pk FROM webhook_endpoints WHERE webhook_id = ? AND removed_time IS NULL"), arguments: [id])
            else { throw TrailError.notFound("webhook", id, field: "webhook_id") }
            try db.cachedStatement(sql: "UPDATE webhook_endpoints SET removed_time = ?, event_index = ? WHERE pk = ?").execute(arguments: [
                time, eventIndex, pk,
            ])
            try recordState("webhook_endpoints", key: pk)
            // The secret is key material: gone with the endpoint. Its undelivered messages stop.
            try db.cachedStatement(sql: "DELETE FROM webhook_secrets WHERE webhook_id = ?").execute(arguments: [id])
            try db.cachedStatement(sql: "UPDATE outbox SET status = 'cancelled' WHERE target = ? AND status = 'pending'").execute(arguments: [
                SQLMetadataStore.webhookTarget(id)
            ])
            changed = true
        case .setWebhookAllowance(let allowance):
            let existing = try SQLRow.fetchOne(
                db.cachedStatement(sql: "SELECT pk, removed_time FROM webhook_allowances WHERE cidr = ?"), arguments: [allowance.cidr])
            let pk: Int64
            if let existing {
                let removed: Int64? = existing[1]
                // Allowing what is allowed, or withdrawing what is not, changes nothing.
                guard (removed == nil) != (allowance.removedTimeMillis == nil) else { return }
                pk = existing[0]
                try db.cachedStatement(sql: "UPDATE webhook_allowances SET reason = ?, actor = ?, time = ?, removed_time = ?, event_index = ? WHERE pk = ?")
                    .execute(arguments: [allowance.reason, allowance.actor, allowance.timeMillis, allowance.removedTimeMillis, eventIndex, pk])
            } else {
                guard allowance.removedTimeMillis == nil else { throw TrailError.notFound("allowed network", allowance.cidr, field: "cidr") }
                try db.cachedStatement(
                    sql: "INSERT INTO webhook_allowances (cidr, reason, actor, time, removed_time, event_index) VALUES (?, ?, ?, ?, NULL, ?)"
                ).execute(arguments: [allowance.cidr, allowance.reason, allowance.actor, allowance.timeMillis, eventIndex])
                pk = try db.lastInsertedRowID
            }
            try recordState("webhook_allowances", key: pk)
            changed = true
        default:
            throw TrailError.internalError("\(change) is not an integrations change")
        }
    }
}

extension SQLMetadataStore {
    static func webhookTarget(_ id: String) -> String { "webhook:" + id }

    static func encodeEvents(_ events: [WebhookEvent]) -> String {
        JSONValue.array(events.map { .string($0.rawValue) }).canonicalString
    }

    static func decodeEvents(_ text: String) -> [WebhookEvent] {
        guard case .array(let items)? = try? JSONValue.parse(Array(text.utf8)) else { return [] }
        return items.compactMap { $0.stringValue.flatMap(WebhookEvent.init(rawValue:)) }
    }

    /// One outbox message per active endpoint subscribed to the webhook event `draft` causes,
    /// in the event's own transaction.
    static func enqueueOutbox(_ draft: EventDraft, index: Int64, modelVersion: Int64?, in db: any SQLDatabase) throws {
        guard let topic = WebhookEvent.caused(byAction: draft.action, facts: draft.facts) else { return }
        let endpoints = try SQLRow.fetchAll(
            db.cachedStatement(sql: "SELECT webhook_id, events FROM webhook_endpoints WHERE removed_time IS NULL ORDER BY pk"))
        guard !endpoints.isEmpty else { return }
        let name: String? = draft.subject.type == "model" ? draft.subject.id : nil
        let version = modelVersion ?? draft.facts["version"]?.intValue
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO outbox (delivery_id, target, topic, event_index, model_name, model_version, status, attempts, next_attempt_time, created_time)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                """)
        for row in endpoints where decodeEvents(row[1]).contains(topic) {
            let id: String = row[0]
            try insert.execute(arguments: [
                UUID().uuidString.lowercased(), webhookTarget(id), topic.rawValue, index, name, version, draft.timeMillis, draft.timeMillis,
            ])
        }
    }

    static func webhookEndpoint(_ row: SQLRow) -> WebhookEndpoint {
        WebhookEndpoint(
            webhookID: row[0], url: row[1], events: decodeEvents(row[2]), description: row[3], createdBy: row[4], creationTimeMillis: row[5],
            removedTimeMillis: row[6], eventIndex: row[7])
    }

    static let deliveryColumns = """
        delivery_id, target, topic, event_index, model_name, model_version, status, attempts, next_attempt_time, created_time,
        delivered_time, last_status_code, last_error
        """

    static func webhookDelivery(_ row: SQLRow) -> WebhookDelivery? {
        let target: String = row[1]
        guard target.hasPrefix("webhook:"), let event = WebhookEvent(rawValue: row[2]), let status = WebhookDelivery.Status(rawValue: row[6])
        else { return nil }
        return WebhookDelivery(
            deliveryID: row[0], webhookID: String(target.dropFirst("webhook:".count)), event: event, eventIndex: row[3], modelName: row[4],
            modelVersion: row[5], status: status, attempts: row[7], nextAttemptMillis: row[8], creationTimeMillis: row[9],
            deliveredTimeMillis: row[10], lastStatusCode: row[11], lastError: row[12])
    }
}

extension SQLMetadataStore: OutboxStore {
    public func webhookEndpoints() async throws -> [WebhookEndpoint] {
        try await read { db in
            try SQLRow.fetchAll(
                db,
                sql: "SELECT webhook_id, url, events, description, created_by, creation_time, removed_time, event_index FROM webhook_endpoints ORDER BY pk"
            ).map(Self.webhookEndpoint)
        }
    }

    public func webhookSecret(id: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT secret FROM webhook_secrets WHERE webhook_id = ?", arguments: [id]) }
    }

    public func webhookAllowances() async throws -> [WebhookAllowance] {
        try await read { db in
            try SQLRow.fetchAll(db, sql: "SELECT cidr, reason, actor, time, removed_time, event_index FROM webhook_allowances ORDER BY pk").map {
                WebhookAllowance(cidr: $0[0], reason: $0[1], actor: $0[2], timeMillis: $0[3], removedTimeMillis: $0[4], eventIndex: $0[5])
            }
        }
    }

    public func enqueueWebhookPing(webhookID: String, timeMillis: Int64) async throws -> WebhookDelivery {
        let id = UUID().uuidString.lowercased()
        return try await write("queue a webhook ping") { db in
            try db.execute(
                sql: """
                    INSERT INTO outbox (delivery_id, target, topic, event_index, model_name, model_version, status, attempts, next_attempt_time, created_time)
                    VALUES (?, ?, ?, NULL, NULL, NULL, 'pending', 0, ?, ?)
                    """, arguments: [id, Self.webhookTarget(webhookID), WebhookEvent.ping.rawValue, Int64.max, timeMillis])
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT \(Self.deliveryColumns) FROM outbox WHERE delivery_id = ?", arguments: [id]),
                let delivery = Self.webhookDelivery(row)
            else { throw TrailError.internalError("the ping vanished") }
            return delivery
        }
    }

    public func claimDueDeliveries(nowMillis: Int64, leaseMillis: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await write("claim outbox messages") { db in
            let rows = try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT \(Self.deliveryColumns) FROM outbox WHERE status = 'pending' AND next_attempt_time <= ?
                    ORDER BY next_attempt_time, pk LIMIT ?
                    """, arguments: [nowMillis, Int64(limit)])
            let lease = try db.cachedStatement(sql: "UPDATE outbox SET next_attempt_time = ? WHERE delivery_id = ?")
            let until = nowMillis.addingReportingOverflow(leaseMillis).overflow ? Int64.max : nowMillis + leaseMillis
            var claimed: [WebhookDelivery] = []
            for row in rows {
                guard var delivery = Self.webhookDelivery(row) else { continue }
                // Another replica sees the message again only when the lease runs out.
                try lease.execute(arguments: [until, delivery.deliveryID])
                delivery.nextAttemptMillis = until
                claimed.append(delivery)
            }
            return claimed
        }
    }

    public func finishDeliveryAttempt(
        deliveryID: String, attempt: WebhookDelivery.Attempt, status: WebhookDelivery.Status, nextAttemptMillis: Int64
    ) async throws {
        try await write("record a delivery attempt") { db in
            try db.execute(
                sql: "INSERT INTO outbox_attempts (delivery_id, attempt, time, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [deliveryID, attempt.attempt, attempt.timeMillis, attempt.statusCode, attempt.error, attempt.durationMillis])
            // A message cancelled meanwhile (its endpoint removed) stays cancelled.
            try db.execute(
                sql: """
                    UPDATE outbox SET attempts = ?, status = ?, next_attempt_time = ?, last_status_code = ?, last_error = ?,
                        delivered_time = ? WHERE delivery_id = ? AND status = 'pending'
                    """,
                arguments: [
                    attempt.attempt, status.rawValue, nextAttemptMillis, attempt.statusCode, attempt.error,
                    status == .delivered ? attempt.timeMillis : nil, deliveryID,
                ])
        }
    }

    public func webhookDeliveries(webhookID: String, limit: Int) async throws -> [WebhookDelivery] {
        try await read { db in
            var out = try SQLRow.fetchAll(
                db, sql: "SELECT \(Self.deliveryColumns) FROM outbox WHERE target = ? ORDER BY pk DESC LIMIT ?",
                arguments: [Self.webhookTarget(webhookID), Int64(limit)]
            ).compactMap(Self.webhookDelivery)
            let attempts = try db.cachedStatement(
                sql: "SELECT attempt, time, status_code, error, duration_ms FROM outbox_attempts WHERE delivery_id = ? ORDER BY pk")
            for i in out.indices {
                out[i].history = try SQLRow.fetchAll(attempts, arguments: [out[i].deliveryID]).map {
                    WebhookDelivery.Attempt(attempt: $0[0], timeMillis: $0[1], statusCode: $0[2], error: $0[3], durationMillis: $0[4])
                }
            }
            return out
        }
    }

    public func outboxBacklog() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE status = 'pending'") ?? 0 }
    }
}
