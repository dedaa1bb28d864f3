import Hummingbird
import Logging
import TrailCore
import TrailService

/// Builds the HTTP application: routes, error handling, configuration.
public enum TrailApplication {
    /// The router with every route, for in-process tests and for `make`.
    /// `webhooks` is the home's webhook service unless given (tests pass one with fast retries
    /// and an allowed loopback).
    public static func router(
        home: TrailHome, config: TrailServerConfig, logger: Logger, table: RouteTable = RouteTable(), webhooks: WebhookService? = nil,
        metrics: ServerMetrics? = nil
    ) -> Router<TrailRequestContext> {
        let router = Router(context: TrailRequestContext.self)
        let metrics = metrics ?? ServerMetrics()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: BrowserBoundaryMiddleware(host: config.host, port: config.port))
        router.add(middleware: NULMiddleware())
        let local = config.localOnly ? Principal(actor: config.localActor, roles: Set(Role.allCases)) : nil
        router.add(middleware: AuthMiddleware(identity: home.identity, localPrincipal: local))
        SecuredRoutes(router: router, prefix: "", table: table, identity: home.identity).get("health", .public) { _, _ in
            try JSONResponse.make(NativeAPI.Health(status: "ok", version: TrailVersion.current))
        }
        let api = SecuredRoutes(router: router, prefix: "api/v1", table: table, identity: home.identity)
        NativeRoutes(tracking: home.tracking, config: config).add(to: api)
        LedgerRoutes(ledger: home.ledger, verifier: home.verifier).add(to: api)
        RegistryRoutes(registry: home.registry, blobs: home.tracking.blobs, config: config).add(to: api)
        IdentityRoutes(identity: home.identity, config: config).add(to: api)
        EvidenceRoutes(home: home, config: config).add(to: api)
        PrivacyRoutes(protection: home.dataProtection, config: config).add(to: api)
        WebhookRoutes(webhooks: webhooks ?? home.webhooks, config: config).add(to: api)
        api.get("openapi.json", .read) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        // MLflow's REST API and artifact proxy, over the same services.
        let mlflow = SecuredRoutes(router: router, prefix: "api/2.0/mlflow", table: table, identity: home.identity)
        MLflowRoutes(tracking: home.tracking, registry: home.registry, config: config).add(to: mlflow)
        let proxy = SecuredRoutes(router: router, prefix: "api/2.0/mlflow-artifacts", table: table, identity: home.identity)
        MLflowArtifactRoutes(tracking: home.tracking, config: config).add(to: proxy)
        let root = SecuredRoutes(router: router, prefix: "", table: table, identity: home.identity)
        root.get("version", .public) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: MLflowRoutes.compatibleVersion)))
        }
        // Prometheus: admins only, never public.
        root.get("metrics", .admin) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: try await metrics.scrape(home: home))))
        }
        root.get("api/3.0/mlflow/server-info", .public) { _, _ in
            MLflowJSON.response([
                "store_type": "SqlStore", "workspaces_enabled": false, "trace_archival_enabled": false, "multipart_uploads_enabled": false,
                "multipart_downloads_enabled": false, "server": "ModelTrail", "server_version": .string(TrailVersion.current),
            ])
        }
        // The web UI: pages over the same services, under the same access rules.
        UIRoutes(home: home, config: config, table: table, router: router).add()
        return router
    }

    public static func make(home: TrailHome, config: TrailServerConfig, logger: Logger, webhooks: WebhookService? = nil) -> some ApplicationProtocol {
        Application(
            router: router(home: home, config: config, logger: logger, webhooks: webhooks),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "ModelTrail"),
            logger: logger)
    }
}
