import Hummingbird
import Logging
import TrailCore
import TrailService

/// Builds the HTTP application: routes, error handling, configuration.
public enum TrailApplication {
    /// The router with every route, for in-process tests and for `make`.
    public static func router(home: TrailHome, config: TrailServerConfig, logger: Logger, table: RouteTable = RouteTable()) -> Router<
        TrailRequestContext
    > {
        let router = Router(context: TrailRequestContext.self)
        router.add(middleware: ErrorMiddleware(logger: logger))
        let local = config.localOnly ? Principal(actor: config.localActor, roles: Set(Role.allCases)) : nil
        router.add(middleware: AuthMiddleware(identity: home.identity, localPrincipal: local))
        SecuredRoutes(router: router, prefix: "", table: table, identity: home.identity).get("health", .public) { _, _ in
            try JSONResponse.make(NativeAPI.Health(status: "ok", version: TrailVersion.current))
        }
        let api = SecuredRoutes(router: router, prefix: "api/v1", table: table, identity: home.identity)
        NativeRoutes(tracking: home.tracking, config: config).add(to: api)
        LedgerRoutes(ledger: home.ledger).add(to: api)
        RegistryRoutes(registry: home.registry, config: config).add(to: api)
        return router
    }

    public static func make(home: TrailHome, config: TrailServerConfig, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(home: home, config: config, logger: logger),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "ModelTrail"),
            logger: logger)
    }
}
