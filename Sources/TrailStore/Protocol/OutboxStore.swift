import TrailCore

/// The outbox and the webhook settings, beside the record. Registering, removing and allowing
/// go through `MetadataStore.apply` like every recorded mutation (changes of the
/// `integrations` concern); the outbox's messages are written by `apply` itself in the
/// transaction of the event that causes them. What is written here is operational: a ping,
/// leases and the outcome of each delivery attempt, which change as deliveries proceed.
public protocol OutboxStore: Sendable {
    /// Every endpoint, active and removed, oldest first.
    func webhookEndpoints() async throws -> [WebhookEndpoint]
    /// The secret of an active endpoint (nil once removed).
    func webhookSecret(id: String) async throws -> String?
    /// Every allowance, active and withdrawn.
    func webhookAllowances() async throws -> [WebhookAllowance]
    /// Queues a ping to one endpoint (attempted at once by its caller, never by the worker).
    func enqueueWebhookPing(webhookID: String, timeMillis: Int64) async throws -> WebhookDelivery
    /// Pending messages due at `nowMillis`, leased for `leaseMillis` so that no other worker
    /// takes them meanwhile.
    func claimDueDeliveries(nowMillis: Int64, leaseMillis: Int64, limit: Int) async throws -> [WebhookDelivery]
    /// Records one attempt and where the message stands after it.
    func finishDeliveryAttempt(deliveryID: String, attempt: WebhookDelivery.Attempt, status: WebhookDelivery.Status, nextAttemptMillis: Int64)
        async throws
    /// An endpoint's messages, newest first, with their attempts.
    func webhookDeliveries(webhookID: String, limit: Int) async throws -> [WebhookDelivery]
    /// Messages still pending.
    func outboxBacklog() async throws -> Int64
}
