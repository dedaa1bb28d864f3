import Hummingbird
import Logging
import TrailCore
import TrailService

/// Builds the HTTP application: routes, error handling, configuration.
public enum TrailApplication {
    /// The router with every route, for in-process tests and for `make`.
    public static func router(home: TrailHome, config: TrailServerConfig, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.get("health") { _, _ in try JSONResponse.make(NativeAPI.Health(status: "ok", version: TrailVersion.current)) }
        let native = NativeRoutes(tracking: home.tracking, config: config)
        native.add(to: router)
        LedgerRoutes(ledger: home.ledger, actor: native.actor).add(to: router.group("api/v1"))
        RegistryRoutes(registry: home.registry, config: config, actor: native.actor).add(to: router.group("api/v1"))
        return router
    }

    public static func make(home: TrailHome, config: TrailServerConfig, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(home: home, config: config, logger: logger),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "ModelTrail"),
            logger: logger)
    }
}
