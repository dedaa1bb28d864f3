import Foundation
import Hummingbird
import TrailCore
import TrailService

/// `/api/v1/webhooks`: a thin translation to `WebhookService` (the CLI's `trail webhooks` with
/// `--server`). Everything here is for admins: endpoints receive registry events, and the
/// allowed networks decide what the server may reach.
struct WebhookRoutes {
    let webhooks: WebhookService
    let config: TrailServerConfig

    func add(to api: SecuredRoutes) {
        api.get("webhooks", .admin) { _, _ in try JSONResponse.make(WebhookAPI.Webhooks(webhooks: try await webhooks.webhooks())) }
        api.post("webhooks", .admin) { request, context in
            let input = try await JSONResponse.decode(WebhookAPI.Create.self, from: request, limit: config.maxBodyBytes)
            return try JSONResponse.make(
                try await webhooks.create(
                    url: input.url, events: input.events, description: input.description ?? "", secret: input.secret, actor: context.actor),
                status: .created)
        }
        api.delete("webhooks/:webhook_id", .admin) { _, context in
            let id = try NativeRoutes.decoded(try context.parameters.require("webhook_id"), field: "webhook_id")
            return try JSONResponse.make(try await webhooks.remove(id, actor: context.actor))
        }
        api.post("webhooks/:webhook_id/test", .admin) { _, context in
            let id = try NativeRoutes.decoded(try context.parameters.require("webhook_id"), field: "webhook_id")
            return try JSONResponse.make(try await webhooks.test(id, actor: context.actor))
        }
        api.get("webhooks/:webhook_id/deliveries", .admin) { request, context in
            let id = try NativeRoutes.decoded(try context.parameters.require("webhook_id"), field: "webhook_id")
            let limit = try NativeRoutes.int(request.uri.queryParameters.get("limit"), field: "limit") ?? 100
            return try JSONResponse.make(WebhookAPI.Deliveries(deliveries: try await webhooks.deliveries(id, limit: limit)))
        }
        api.get("webhooks/allowances", .admin) { _, _ in
            try JSONResponse.make(WebhookAPI.Allowances(allowances: try await webhooks.allowances()))
        }
        api.post("webhooks/allowances", .admin) { request, context in
            let input = try await JSONResponse.decode(WebhookAPI.Allowance.self, from: request, limit: config.maxBodyBytes)
            return try JSONResponse.make(try await webhooks.allow(input.cidr, reason: input.reason, actor: context.actor))
        }
        api.post("webhooks/allowances/withdraw", .admin) { request, context in
            let input = try await JSONResponse.decode(WebhookAPI.Allowance.self, from: request, limit: config.maxBodyBytes)
            return try JSONResponse.make(try await webhooks.disallow(input.cidr, reason: input.reason, actor: context.actor))
        }
    }
}
