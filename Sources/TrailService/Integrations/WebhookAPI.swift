import Foundation
import TrailCore

/// Request and response bodies of `/api/v1/webhooks`.
public enum WebhookAPI {
    public struct Create: Codable, Sendable {
        public var url: String
        public var events: [String]
        public var description: String?
        /// Supplied by the admin; generated when absent.
        public var secret: String?
        public init(url: String, events: [String], description: String?, secret: String?) {
            self.url = url
            self.events = events
            self.description = description
            self.secret = secret
        }
    }

    public struct Webhooks: Codable, Sendable {
        public var webhooks: [WebhookEndpoint]
        public init(webhooks: [WebhookEndpoint]) { self.webhooks = webhooks }
    }

    public struct Deliveries: Codable, Sendable {
        public var deliveries: [WebhookDelivery]
        public init(deliveries: [WebhookDelivery]) { self.deliveries = deliveries }
    }

    public struct Allowance: Codable, Sendable {
        public var cidr: String
        public var reason: String
        public init(cidr: String, reason: String) {
            self.cidr = cidr
            self.reason = reason
        }
    }

    public struct Allowances: Codable, Sendable {
        public var allowances: [WebhookAllowance]
        public init(allowances: [WebhookAllowance]) { self.allowances = allowances }
    }
}
