import ArgumentParser
import Foundation
import TrailCore
import TrailService

/// `trail webhooks`: endpoints that receive registry events, signed, from the durable outbox
/// (admins; see docs/webhooks.md).
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "Webhook endpoints for registry events: signed deliveries from a durable outbox (admins).",
        discussion: """
            Events: \(WebhookEvent.subscribable.map(\.rawValue).joined(separator: ", ")). \
            Targets on loopback, link-local, private or metadata addresses are refused unless an admin allows \
            their network ('trail webhooks allow CIDR --reason …').
            """,
        subcommands: [Add.self, List.self, Remove.self, Test.self, Deliveries.self, Allow.self, Disallow.self, Allowances.self],
        defaultSubcommand: List.self)

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an endpoint (recorded); prints its secret once.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "http:// or https:// URL that receives the deliveries.") var url: String
        @Option(help: "Events to send, comma-separated (default: every registry event).") var events: String?
        @Option(help: "What the endpoint is for.") var description: String = ""
        @Option(help: "Use this secret (16 to 256 visible ASCII characters) instead of a generated one.") var secret: String?

        func run() async throws {
            try await runReporting(options) {
                let names = events.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? WebhookEvent.subscribable.map(\.rawValue)
                let created = try await options.backend().createWebhook(url: url, events: names, description: description, secret: secret)
                if options.json { return Output.printJSON(created) }
                print("registered \(created.webhook.webhookID) → \(created.webhook.url) (ledger event \(created.webhook.eventIndex))")
                print("events: \(created.webhook.events.map(\.rawValue).joined(separator: ", "))")
                print("secret (shown once; verify X-MLflow-Signature with it): \(created.secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List endpoints, active and removed.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let hooks = try await options.backend().webhooks()
                if options.json { return Output.printJSON(hooks) }
                if hooks.isEmpty { return print("no webhooks (add one: trail webhooks add https://… --events model_version_alias.created)") }
                Output.table(
                    ["ID", "URL", "EVENTS", "BY", "CREATED", "REMOVED"],
                    hooks.map {
                        [
                            $0.webhookID, String($0.url.prefix(60)), $0.events.map(\.rawValue).joined(separator: ","), $0.createdBy,
                            Output.date($0.creationTimeMillis), Output.date($0.removedTimeMillis),
                        ]
                    })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an endpoint (recorded): its secret is destroyed, pending deliveries cancelled.")
        @OptionGroup var options: GlobalOptions
        @Argument var webhookID: String

        func run() async throws {
            try await runReporting(options) {
                let hook = try await options.backend().removeWebhook(id: webhookID)
                options.json ? Output.printJSON(hook) : print("removed \(hook.webhookID) (ledger event \(hook.eventIndex))")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a signed webhook.ping now and show the attempt.")
        @OptionGroup var options: GlobalOptions
        @Argument var webhookID: String

        func run() async throws {
            try await runReporting(options) {
                let delivery = try await options.backend().testWebhook(id: webhookID)
                if options.json { return Output.printJSON(delivery) }
                let last = delivery.history.last
                let outcome = last?.error ?? last?.statusCode.map { "HTTP \($0)" }
                print("ping \(delivery.deliveryID): \(delivery.status.rawValue)" + (outcome.map { ", \($0)" } ?? ""))
                if delivery.status != .delivered { throw ExitCode(1) }
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An endpoint's deliveries, newest first, with every attempt.")
        @OptionGroup var options: GlobalOptions
        @Argument var webhookID: String
        @Option(help: "At most this many (1 to 1000).") var limit: Int = 50

        func run() async throws {
            try await runReporting(options) {
                let deliveries = try await options.backend().webhookDeliveries(id: webhookID, limit: limit)
                if options.json { return Output.printJSON(deliveries) }
                if deliveries.isEmpty { return print("no deliveries yet") }
                Output.table(
                    ["DELIVERY", "EVENT", "LEDGER", "STATUS", "ATTEMPTS", "LAST", "NEXT"],
                    deliveries.map {
                        [
                            $0.deliveryID, $0.event.rawValue, $0.eventIndex.map { String($0) } ?? "-", $0.status.rawValue, String($0.attempts),
                            String(($0.lastStatusCode.map { "HTTP \($0)" } ?? $0.lastError ?? "-").prefix(50)),
                            $0.status == .pending && $0.nextAttemptMillis < Int64.max ? Output.date($0.nextAttemptMillis) : "-",
                        ]
                    })
            }
        }
    }

    struct Allow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let webhooks reach a private, loopback or link-local network (recorded, with the reason).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The network, e.g. 10.20.0.0/16 or 127.0.0.1/32.") var cidr: String
        @Option(help: "Why; recorded.") var reason: String

        func run() async throws {
            try await runReporting(options) {
                let allowance = try await options.backend().allowWebhookNetwork(cidr, reason: reason)
                options.json ? Output.printJSON(allowance) : print("webhooks may reach \(allowance.cidr) (ledger event \(allowance.eventIndex))")
            }
        }
    }

    struct Disallow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw an allowance (recorded).")
        @OptionGroup var options: GlobalOptions
        @Argument var cidr: String
        @Option(help: "Why; recorded.") var reason: String

        func run() async throws {
            try await runReporting(options) {
                let allowance = try await options.backend().disallowWebhookNetwork(cidr, reason: reason)
                options.json ? Output.printJSON(allowance) : print("webhooks may no longer reach \(allowance.cidr) (ledger event \(allowance.eventIndex))")
            }
        }
    }

    struct Allowances: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Networks webhooks may reach although they are not public.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let allowances = try await options.backend().webhookAllowances()
                if options.json { return Output.printJSON(allowances) }
                if allowances.isEmpty { return print("no allowances: webhooks reach public addresses only") }
                Output.table(
                    ["CIDR", "BY", "SINCE", "WITHDRAWN", "REASON"],
                    allowances.map { [$0.cidr, $0.actor, Output.date($0.timeMillis), Output.date($0.removedTimeMillis), String($0.reason.prefix(60))] })
            }
        }
    }
}
