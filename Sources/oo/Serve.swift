import ArgumentParser
import ExampleProtos
import ExampleService
import Foundation
import Gateway
import GatewayProtos
import HealthProtos
import Logging
import MLProtos
import MLServing
import MeshRuntime
import Notifier
import NotifierProtos
import OOAuth
import OOHealth
import OOMesh
import OOMeshHTTP2
import Instrumentation
import Metrics
import OOObservability
import OOReflection
import OOSchema
import Recommender
import RecommenderProtos
import RegistryProtos
import SchemaRegistry
import SwiftProtobuf

/// `oo serve <service>`: runs one service in this process until SIGTERM or SIGINT, then
/// drains (health NOT_SERVING, GOAWAY, calls in flight finish) and exits.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve one service over gRPC until stopped: TLS (--tls-cert/--tls-key), or plaintext h2c with --insecure-plaintext.",
        discussion: """
            TLS: --tls-cert and --tls-key are this service's certificate, served to clients and \
            presented to downstream services; --tls-ca verifies peers (client certificates, then \
            required, and downstream servers). The files are reloaded when they change and on SIGHUP. \
            tools/make-certs makes a development set. Without TLS, --insecure-plaintext is required.

            Every option can also come from the environment (OO_<OPTION>, e.g. OO_ML_SERVING for \
            --ml-serving) or a JSON config file (--config), in that order of precedence after the flag.
            """)

    enum Service: String, ExpressibleByArgument, CaseIterable {
        case gateway, recommender, notifier, registry, greeter
        case mlServing = "ml-serving"
    }

    @Argument(help: "The service to run: \(Service.allCases.map(\.rawValue).joined(separator: ", ")).")
    var service: Service

    @Option(help: "A JSON file of settings keyed by option name.") var config: String?
    @Option(help: "The address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "The port to listen on (0 picks a free one; default: the service's port in `oo up`).") var port: Int?
    @Option(name: .customLong("data-dir"), help: "Where the service's SQLite file goes (default: oo-data).") var dataDirectory: String?
    @Option(help: "The service's SQLite file (default: <data-dir>/<service>.sqlite).") var database: String?

    @Option(help: "gateway: the recommender's host:port.") var recommender: String?
    @Option(help: "gateway: the notifier's host:port.") var notifier: String?
    @Option(name: .customLong("ml-serving"), help: "gateway, recommender: ml-serving's host:port.") var mlServing: String?
    @Option(help: "ml-serving: the schema registry's host:port (train/serve parity check).") var registry: String?

    @Option(name: .customLong("jwt-secret-file"), help: "gateway: a file holding the HS256 secret tokens are signed with.")
    var jwtSecretFile: String?
    @Option(name: .customLong("jwt-es256-public-key"), help: "gateway: a PEM file with an ES256 public key tokens are signed with.")
    var jwtPublicKey: String?
    @Option(name: .customLong("jwt-issuer"), help: "gateway: the required token issuer (default oo-dev).") var jwtIssuer: String?
    @Option(name: .customLong("jwt-audience"), help: "gateway: the required token audience (default oo-gateway).") var jwtAudience: String?
    @Option(name: .customLong("jwt-jwks"), help: "gateway: a JWKS file of token keys selected by kid (HS256 oct, ES256 EC), for rotation with overlap.")
    var jwtJWKS: String?
    @Option(name: .customLong("jwt-max-lifetime"), help: "gateway: the longest a token may be valid, in seconds (exp - iat, and exp - now; default 86400).")
    var jwtMaxLifetime: Double?
    @Option(name: .customLong("jwt-reload-interval"), help: "gateway: seconds between looks at the token key files for a rotation (default 5; 0: only on SIGHUP).")
    var jwtReloadInterval: Double?

    @Option(name: .customLong("control-share"), help: "recommender: share of users served by the random control policy (default 0).")
    var controlShare: Double?
    @Option(name: .customLong("active-policy"), help: "ml-serving: the policy that serves (default linucb).") var activePolicy: String?
    @Option(name: .customLong("admin-port"), help: "The port of the admin HTTP endpoint serving /metrics (default: the service port + 100; -1: none).")
    var adminPort: Int?
    @Option(name: .customLong("log-file"), help: "Write logs to this file (rotated to FILE.1 at --log-max-bytes) instead of stderr.")
    var logFile: String?
    @Option(name: .customLong("log-max-bytes"), help: "With --log-file: rotate past this size (default 64 MiB).")
    var logMaxBytes: Int?
    @Option(name: .customLong("tls-cert"), help: "This service's certificate chain (PEM, leaf first): served over TLS and presented to downstream services.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The private key of --tls-cert (PEM).") var tlsKey: String?
    @Option(name: .customLong("tls-ca"), help: "CA certificates (PEM) that verify peers: clients' certificates and downstream servers'.")
    var tlsCA: String?
    @Option(name: .customLong("tls-client-auth"), help: "Client certificates: require (the default with --tls-ca), optional or none.")
    var tlsClientAuth: String?
    @Option(name: .customLong("client-cert"), help: "The certificate presented to downstream services (default: --tls-cert).") var clientCert: String?
    @Option(name: .customLong("client-key"), help: "The key of --client-cert (default: --tls-key).") var clientKey: String?
    @Option(name: .customLong("client-ca"), help: "CA certificates that verify downstream servers (default: --tls-ca; else the system's).")
    var clientCA: String?
    @Option(name: .customLong("tls-reload-interval"), help: "Seconds between looks at the TLS files for a rotation (default 5; 0: only on SIGHUP).")
    var tlsReloadInterval: Double?
    @Option(name: .customLong("webhook-allow"), help: "notifier: internal networks webhooks may reach, as CIDRs (e.g. 10.1.0.0/16,127.0.0.1/32); default none.")
    var webhookAllow: String?
    @Option(name: .customLong("rate-limit"), help: "gateway: calls per second each user may make, sustained (default 50).") var rateLimit: Double?
    @Option(name: .customLong("rate-burst"), help: "gateway: calls each user may make at once above the rate (default 100).") var rateBurst: Double?
    @Option(name: .customLong("web-protocols"), help: "Serve Connect and gRPC-Web beside gRPC on the port, for browsers, apps and curl: on or off (default: on for the gateway, off for internal services).")
    var webProtocols: String?
    @Option(name: .customLong("cors-origin"), help: "Browser origins allowed to call (CORS), comma-separated, e.g. https://app.example; * for any (default: none).")
    var corsOrigin: String?
    @Flag(name: .customLong("simulation-clock"), help: "gateway: honour the at_unix_ms clients send instead of its own clock (oo simulate only).")
    var simulationClock = false
    @Option(name: .customLong("authorization-policy"), help: "A JSON file replacing the mesh's authorization policy (docs/security.md); TLS only.")
    var authorizationPolicy: String?
    @Flag(name: .customLong("insecure-plaintext"), help: "Serve and call plaintext h2c, without TLS: anyone who can reach the port can read and call (logs a warning).")
    var insecurePlaintext = false
    @Flag(name: .customLong("exit-when-stdin-closes"), help: "Drain and exit when standard input reaches EOF (oo up gives each service this lifeline).")
    var exitWhenStdinCloses = false
    @Option(name: .customLong("linucb-alpha"), help: "ml-serving: LinUCB's exploration weight α (default 0.3).") var linucbAlpha: Double?

    func run() async throws {
        let settings = try Settings(configPath: config)
        let host = settings.string(self.host, "host", default: "127.0.0.1")
        let defaultPort = service == .greeter ? 50051 : MeshLayout().port(of: service.rawValue)
        let port = try settings.int(self.port, "port", default: defaultPort)
        let data = settings.string(dataDirectory, "data-dir", default: "oo-data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let databasePath = settings.string(database, "database", default: "\(data)/\(service.rawValue).sqlite")
        // Logs carry the current call's trace ids; metrics go to a Prometheus registry served
        // on the admin port; traces follow W3C traceparent across every hop.
        // Either way through a bounded queue and a writer thread: logging never blocks a
        // call (or an event loop) on I/O; lines past the queue's limit are dropped and counted.
        let logSink: RotatingFileLogHandler.Sink
        if let path = settings.string(logFile, "log-file") {
            logSink = try RotatingFileLogHandler.Sink(path: path, maxBytes: try settings.int(logMaxBytes, "log-max-bytes", default: 64 << 20))
        } else {
            logSink = RotatingFileLogHandler.Sink(fileDescriptor: STDERR_FILENO)
        }
        LoggingSystem.bootstrap({ label, metadataProvider in
            RotatingFileLogHandler(label: label, sink: logSink, metadataProvider: metadataProvider)
        }, metadataProvider: TraceMetadata.provider)
        let metrics = PrometheusRegistry()
        MetricsSystem.bootstrap(metrics)
        InstrumentationSystem.bootstrap(MeshTracer(logger: Logger(label: "oo.tracing")))
        let logger = Logger(label: "oo.\(service.rawValue)")
        let health = HealthMonitor(initial: .unknown)
        let adminPort = try settings.int(self.adminPort, "admin-port", default: port == 0 ? 0 : port + 100)
        // /readyz follows the overall gRPC health: NOT_SERVING while starting (ml-serving's
        // parity gate) and draining.
        let admin = adminPort < 0 ? nil : try AdminServer(host: host, port: adminPort, registry: metrics) {
            let status = health.status() ?? .unknown
            let reason = health.reason(for: HealthMonitor.overall).map { $0.isEmpty ? "" : ": \($0)" } ?? ""
            return (status == .serving, "\(status)\(reason)")
        }
        defer { admin?.stop() }

        let security = try MeshSecurity(
            settings: settings,
            flags: .init(
                certificate: tlsCert, key: tlsKey, ca: tlsCA, clientAuthentication: tlsClientAuth,
                clientCertificate: clientCert, clientKey: clientKey, clientCA: clientCA,
                reloadInterval: tlsReloadInterval, insecurePlaintext: insecurePlaintext))
        if security.server == nil {
            logger.warning("serving and calling plaintext h2c (--insecure-plaintext): anyone who can reach \(host):\(port) can read and make calls; use --tls-cert/--tls-key")
        }

        // One group of event loops for the server and every downstream client: a handler
        // runs on its connection's loop and its downstream calls go out on that loop's
        // connections, so a hop costs no thread switch (docs/architecture.md).
        let loops = MeshEventLoops(threads: HTTP2ServerTransport.Configuration.defaults.eventLoopThreads, logger: logger)

        // Downstream clients: their connections run for as long as the server does.
        var clients: [GRPCClient] = []
        var clientTransports: [HTTP2ClientTransport] = []
        func client(_ flag: String?, _ name: String) throws -> GRPCClient {
            guard let address = settings.string(flag, name) else {
                throw SettingsError(message: "\(service.rawValue) needs --\(name) host:port (or \(Settings.variable(name))).")
            }
            let (host, port) = try parseAddress(address, for: name)
            var transportConfiguration = HTTP2ClientTransport.Configuration.defaults
            transportConfiguration.tls = security.client
            let transport = try HTTP2ClientTransport(host: host, port: port, configuration: transportConfiguration, loops: loops)
            clientTransports.append(transport)
            let client = GRPCClient(
                transport: transport,
                interceptors: [ClientTracingInterceptor(), ClientMetricsInterceptor()])
            clients.append(client)
            return client
        }

        var serverConfiguration = HTTP2ServerTransport.Configuration.defaults
        serverConfiguration.tls = security.server
        switch settings.string(webProtocols, "web-protocols", default: service == .gateway ? "on" : "off") {
        case "on":
            let origins = settings.string(corsOrigin, "cors-origin", default: "")
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            serverConfiguration.web = WebProtocolsConfiguration(cors: CORSPolicy(allowedOrigins: Set(origins)))
        case "off":
            if settings.string(corsOrigin, "cors-origin") != nil {
                throw SettingsError(message: "--cors-origin needs the web protocols on (--web-protocols on).")
            }
        case let other:
            throw SettingsError(message: "--web-protocols is on or off, not '\(other)'.")
        }
        let transport = try HTTP2ServerTransport(host: host, port: port, configuration: serverConfiguration, loops: loops)
        var services: [any RPCService] = [HealthService(monitor: health)]
        // Tracing outermost, so metrics, the call log and authentication run inside the span.
        var interceptors: [any ServerInterceptor] = [
            ServerTracingInterceptor(), ServerMetricsInterceptor(), ServerCallLoggingInterceptor(logger: logger),
        ]
        // Every call's caller, by the workload identity of its client certificate, must be
        // allowed by the policy (PERMISSION_DENIED otherwise, logged and counted). Without TLS
        // there is no identity to check: plaintext serves unauthorized, as its warning says.
        if security.server != nil {
            let policy = try loadAuthorizationPolicy(settings.string(authorizationPolicy, "authorization-policy"))
            interceptors.append(AuthorizationInterceptor(policy: policy) { caller, method, reason in
                Counter(label: "oo_authorization_denied_total",
                        dimensions: [("service", method.service), ("method", method.method), ("caller", caller)]).increment()
                logger.warning("authorization denied: \(reason)")
            })
        }
        var background: [@Sendable () async -> Void] = []
        var onDrain: [@Sendable () -> Void] = []
        var pendingMLServing: (@Sendable () async throws -> ModelServingService)?
        var reloadKeys: (@Sendable (String) -> Void)?
        var keyWatcher: TLSFileWatcher?
        var serviceName = ""
        // The .proto files reflection describes: the service's and health's.
        var protoFiles: [EmbeddedProtoFile] = [Grpc_Health_V1_HealthProtoFile.descriptors]

        switch service {
        case .greeter:
            services.append(Greeter())
            serviceName = "oo.example.v1.Greeter"
            protoFiles.append(Oo_Example_V1_GreeterProtoFile.descriptors)
        case .registry:
            services.append(SchemaRegistryService(store: try SchemaStore(path: databasePath)))
            serviceName = "oo.registry.v1.SchemaRegistry"
            protoFiles.append(Oo_Registry_V1_RegistryProtoFile.descriptors)
        case .notifier:
            var configuration = NotifierConfiguration.defaults
            configuration.databasePath = databasePath
            // Webhooks may not reach internal addresses unless listed here.
            configuration.webhookAddresses.allowedNetworks = settings.string(webhookAllow, "webhook-allow")?
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
            let notifier = try NotifierService(configuration: configuration, logger: logger, health: health)
            services.append(notifier)
            background.append { await notifier.dispatcher.run() }
            serviceName = NotifierService.serviceName
            protoFiles.append(Oo_Notifier_V1_NotifierProtoFile.descriptors)
        case .recommender:
            var configuration = RecommenderConfiguration.defaults
            configuration.databasePath = databasePath
            configuration.controlShare = try settings.double(controlShare, "control-share", default: 0)
            guard (0...1).contains(configuration.controlShare) else {
                throw SettingsError(message: "--control-share must be between 0 and 1, got \(configuration.controlShare).")
            }
            let modelServing = Oo_Ml_V1_ModelServing_Client(wrapping: try client(mlServing, "ml-serving"))
            let recommender = try RecommenderService(configuration: configuration, modelServing: modelServing, logger: logger)
            services.append(recommender)
            background.append { await recommender.run() }
            onDrain.append { recommender.beginShutdown() }
            serviceName = Oo_Recommender_V1_Recommender.descriptor.fullyQualifiedService
            protoFiles.append(Oo_Recommender_V1_RecommenderProtoFile.descriptors)
        case .gateway:
            var configuration = GatewayConfiguration.defaults
            configuration.honoursClientClock = try settings.bool(simulationClock, "simulation-clock")
            configuration.rateLimitPerSecond = try settings.double(rateLimit, "rate-limit", default: configuration.rateLimitPerSecond)
            configuration.rateLimitBurst = try settings.double(rateBurst, "rate-burst", default: configuration.rateLimitBurst)
            guard configuration.rateLimitPerSecond > 0, configuration.rateLimitBurst >= 1,
                configuration.rateLimitPerSecond.isFinite, configuration.rateLimitBurst.isFinite
            else {
                throw SettingsError(message: "--rate-limit must be above 0 and --rate-burst at least 1.")
            }
            if configuration.honoursClientClock {
                logger.warning("--simulation-clock: clients choose the time of their tips and reactions; for simulations only")
            }
            let tokenKeys = try TokenKeys(settings: settings, flags: .init(
                secretFile: jwtSecretFile, publicKeyFile: jwtPublicKey, jwksFile: jwtJWKS, issuer: jwtIssuer,
                audience: jwtAudience, maxLifetime: jwtMaxLifetime, reloadInterval: jwtReloadInterval))
            let (verifier, summary) = try tokenKeys.load()
            logger.info("token keys: \(summary)")
            let keyRing = JWTKeyRing(verifier)
            // Rotated keys apply to the next call: when the files change, and on SIGHUP. A set
            // that does not load is logged and the one in use kept.
            reloadKeys = { why in
                do {
                    let (verifier, summary) = try tokenKeys.load()
                    keyRing.replace(with: verifier)
                    logger.info("token keys reloaded (\(why)): \(summary)")
                } catch {
                    logger.error("token keys not reloaded (\(why)); the ones in use stay: \(error)")
                }
            }
            keyWatcher = tokenKeys.watcher
            let gateway = GatewayService(
                configuration: configuration,
                recommender: Oo_Recommender_V1_Recommender_Client(wrapping: try client(recommender, "recommender")),
                notifier: Oo_Notifier_V1_Notifier_Client(wrapping: try client(notifier, "notifier")),
                modelServing: Oo_Ml_V1_ModelServing_Client(wrapping: try client(mlServing, "ml-serving")),
                logger: logger)
            services.append(gateway)
            interceptors.append(AuthenticationInterceptor(
                keys: keyRing, guardedServices: [Oo_Gateway_V1_Gateway.descriptor.fullyQualifiedService],
                configuration: configuration))
            serviceName = Oo_Gateway_V1_Gateway.descriptor.fullyQualifiedService
            protoFiles.append(Oo_Gateway_V1_GatewayProtoFile.descriptors)
        case .mlServing:
            var configuration = MLServingConfiguration.defaults
            configuration.databasePath = databasePath
            configuration.servedFeatureLog.path = "\(data)/ml-serving-served.featlog"
            configuration.activePolicy = settings.string(activePolicy, "active-policy", default: configuration.activePolicy)
            // 0.3, not the textbook 1.0: rewards are 0 to 1, and `oo simulate` learns faster
            // with less exploration (docs/simulation.md).
            let alpha = try settings.double(linucbAlpha, "linucb-alpha", default: 0.3)
            configuration.policies = configuration.policies.map { policy in
                guard case .linUCB = policy.kind else { return policy }
                return .init(name: policy.name, kind: .linUCB(alpha: alpha))
            }
            let registryClient = try settings.string(registry, "registry").map { _ in try client(registry, "registry") }
            configuration.registryAddress = settings.string(registry, "registry")
            let servingSchema = SchemaSet(descriptorSet: try Google_Protobuf_FileDescriptorSet(
                serializedBytes: Oo_Ml_V1_FeaturesProtoFile.descriptors.serializedFileDescriptorSet))
            pendingMLServing = { [configuration] in
                try await ModelServingService.open(
                    configuration: configuration, servingSchema: servingSchema, health: health,
                    registry: registryClient.map { Oo_Registry_V1_SchemaRegistry_Client(wrapping: $0) }, logger: logger)
            }
            serviceName = ModelServingService.serviceName
            protoFiles.append(Oo_Ml_V1_ServingProtoFile.descriptors)
        }

        let downstream = clients
        // Rotated certificates and keys are picked up without a restart: when the files
        // change, and on SIGHUP. A set that does not load is logged and the one in use kept.
        let reloadTargets = clientTransports
        let reloadTLS: @Sendable (String) -> Void = { why in
            do {
                try transport.reloadTLS()
                for client in reloadTargets { try client.reloadTLS() }
                logger.info("TLS files reloaded (\(why))")
            } catch {
                logger.error("TLS files not reloaded (\(why)); the ones in use stay: \(error)")
            }
        }
        let tokenReload = reloadKeys
        let hasTLS = security.server != nil
        let hangUp = !hasTLS && tokenReload == nil ? nil : ReloadSignal {
            if hasTLS { reloadTLS("SIGHUP") }
            tokenReload?("SIGHUP")
        }
        defer { hangUp?.cancel() }
        // The queued log lines are written out before the process exits, whichever way.
        try await logSink.flushing {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in downstream { group.addTask { try await client.runConnections() } }
            if let open = pendingMLServing { services.append(try await open()) }
            // Server reflection (v1 and v1alpha), for grpcurl, grpc_cli and `oo call`.
            let reflection = try ReflectionService(services: services, files: protoFiles)
            services += [reflection, reflection.v1alpha]
            let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
            let drainHooks = onDrain
            let drain: @Sendable () -> Void = {
                health.enterDraining()
                for hook in drainHooks { hook() }
                server.beginGracefulShutdown()
            }
            let signals = TerminationSignals { _ in drain() }
            defer { signals.cancel() }
            if exitWhenStdinCloses {
                Thread.detachNewThread {
                    var buffer = [UInt8](repeating: 0, count: 256)
                    while true {
                        let count = read(0, &buffer, buffer.count)
                        if count > 0 || (count < 0 && errno == EINTR) { continue }
                        break
                    }
                    logger.info("standard input closed (the launcher is gone): draining")
                    drain()
                }
            }
            if health.status(of: serviceName) == nil { health.setStatus(.serving, for: serviceName) }
            health.setStatus(.serving)
            for work in background { group.addTask { await work() } }
            if let watcher = security.watcher { group.addTask { await watcher.run { reloadTLS("the files changed") } } }
            if let watcher = keyWatcher, let tokenReload { group.addTask { await watcher.run { tokenReload("the key files changed") } } }
            logger.info("serving \(service.rawValue) on \(host):\(transport.port)")
            print("oo: serving \(service.rawValue) on \(host):\(transport.port)" + (security.server == nil ? " (plaintext)" : " (TLS)") + (admin.map { " (metrics on http://\(host):\($0.port)/metrics)" } ?? ""))
            try await server.serve()
            for service in services {
                if let modelServing = service as? ModelServingService { await modelServing.shutdown() }
            }
            logger.info("\(service.rawValue) stopped")
            for client in downstream { client.beginGracefulShutdown() }
            group.cancelAll()
        }
        }
    }

    /// The mesh's default policy, or the one in `path` (JSON: `AuthorizationPolicy`'s fields).
    private func loadAuthorizationPolicy(_ path: String?) throws -> AuthorizationPolicy {
        guard let path else { return .meshDefault }
        do {
            return try JSONDecoder().decode(AuthorizationPolicy.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw SettingsError(message: "Cannot use the authorization policy \(path): \(error)")
        }
    }
}
