import Foundation
import Gateway
import GatewayProtos
import HealthProtos
import Logging
import MLProtos
import MLServing
import Notifier
import NotifierProtos
import OOAuth
import OOHealth
import OOMesh
import OOMeshHTTP2
import OOSchema
import Recommender
import RecommenderProtos
import SwiftProtobuf

/// The four services in this process, each on its own HTTP/2 server on a loopback port and
/// its own SQLite file, calling each other over real gRPC; and a gateway client.
struct MeshFixture: Sendable {
    let gateway: Oo_Gateway_V1_Gateway_Client
    let recommender: Oo_Recommender_V1_Recommender_Client
    /// The notifier, called directly (its dispatcher runs: the gateway only queues deliveries).
    let notifier: Oo_Notifier_V1_Notifier_Client
    let gatewayPort: Int
    let secret: [UInt8]
    let directory: URL

    static let issuer = "oo-test"
    static let audience = "oo-gateway-test"

    /// Bearer metadata for `user`, signed with the fixture's secret (or `secret`).
    func auth(
        _ user: String, secret: [UInt8]? = nil, issuer: String = MeshFixture.issuer, audience: String = MeshFixture.audience,
        expiresIn: TimeInterval = 600
    ) throws -> Metadata {
        let signer = try JWTSigner(hs256Secret: secret ?? self.secret)
        let token = try signer.sign(subject: user, issuer: issuer, audience: audience, expiresAt: Date().addingTimeInterval(expiresIn))
        return ["authorization": .string("Bearer \(token)")]
    }
}

/// What to change in the fixture's mesh.
struct MeshOptions: Sendable {
    var gateway = GatewayConfiguration.defaults
    /// Point the gateway at a port where nothing listens instead of the real service.
    var recommenderDown = false
    var notifierDown = false
    /// Extra keys the gateway accepts.
    var extraKeys: [JWTVerifier.Key] = []
}

/// A loopback port nobody listens on (bound, then closed).
func closedPort() throws -> Int {
    let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
    let port = transport.port
    transport.beginGracefulShutdown()
    return port
}

/// Runs `body` with a whole mesh in this process; everything stops when it returns.
func withMesh<Result: Sendable>(
    _ options: MeshOptions = MeshOptions(), _ body: @Sendable (MeshFixture) async throws -> Result
) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-mesh-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var logger = Logger(label: "oo.test")
    logger.logLevel = .critical
    let health = HealthMonitor()
    var secret = [UInt8](repeating: 0, count: 32)
    for index in secret.indices { secret[index] = UInt8.random(in: 0...255) }

    // ml-serving
    var mlConfiguration = MLServingConfiguration()
    mlConfiguration.databasePath = directory.appendingPathComponent("ml.sqlite").path
    mlConfiguration.servedFeatureLog.path = directory.appendingPathComponent("served.featlog").path
    let servingSchema = SchemaSet(descriptorSet: try Google_Protobuf_FileDescriptorSet(
        serializedBytes: Oo_Ml_V1_FeaturesProtoFile.descriptors.serializedFileDescriptorSet))
    let modelServing = try await ModelServingService.open(
        configuration: mlConfiguration, servingSchema: servingSchema, health: health, logger: logger)
    let mlTransport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
    let mlServer = GRPCServer(transport: mlTransport, services: [modelServing])

    // notifier
    var notifierConfiguration = NotifierConfiguration.defaults
    notifierConfiguration.databasePath = directory.appendingPathComponent("notifier.sqlite").path
    let notifier = try NotifierService(configuration: notifierConfiguration, logger: logger)
    let notifierTransport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
    let notifierServer = GRPCServer(transport: notifierTransport, services: [notifier])

    // recommender, calling ml-serving
    let recommenderToML = GRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: mlTransport.port))
    var recommenderConfiguration = RecommenderConfiguration.defaults
    recommenderConfiguration.databasePath = directory.appendingPathComponent("recommender.sqlite").path
    let recommenderService = try RecommenderService(
        configuration: recommenderConfiguration, modelServing: Oo_Ml_V1_ModelServing_Client(wrapping: recommenderToML), logger: logger)
    let recommenderTransport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
    let recommenderServer = GRPCServer(transport: recommenderTransport, services: [recommenderService])

    // gateway, calling all three
    let gatewayToRecommender = GRPCClient(transport: try HTTP2ClientTransport(
        host: "127.0.0.1", port: options.recommenderDown ? try closedPort() : recommenderTransport.port))
    let gatewayToNotifier = GRPCClient(transport: try HTTP2ClientTransport(
        host: "127.0.0.1", port: options.notifierDown ? try closedPort() : notifierTransport.port))
    let gatewayToML = GRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: mlTransport.port))
    let gatewayService = GatewayService(
        configuration: options.gateway, recommender: Oo_Recommender_V1_Recommender_Client(wrapping: gatewayToRecommender),
        notifier: Oo_Notifier_V1_Notifier_Client(wrapping: gatewayToNotifier),
        modelServing: Oo_Ml_V1_ModelServing_Client(wrapping: gatewayToML), logger: logger)
    let verifier = try JWTVerifier(configuration: .init(
        issuer: MeshFixture.issuer, audience: MeshFixture.audience, keys: [.hs256(secret: secret)] + options.extraKeys))
    let gatewayTransport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
    let gatewayServer = GRPCServer(
        transport: gatewayTransport, services: [gatewayService, HealthService(monitor: health)],
        interceptors: [AuthenticationInterceptor(verifier: verifier, guardedServices: ["oo.gateway.v1.Gateway"], configuration: options.gateway)])

    let servers = [mlServer, notifierServer, recommenderServer, gatewayServer]
    let clients = [recommenderToML, gatewayToRecommender, gatewayToNotifier, gatewayToML]
    return try await withThrowingTaskGroup(of: Void.self) { group in
        for server in servers { group.addTask { try await server.serve() } }
        for server in servers { try await server.waitUntilListening() }
        for client in clients { group.addTask { try await client.runConnections() } }
        group.addTask { await recommenderService.run() }
        group.addTask { await notifier.dispatcher.run() }
        defer {
            for server in servers { server.beginGracefulShutdown() }
            for client in clients { client.beginGracefulShutdown() }
            group.cancelAll()
        }
        let testTransport = try HTTP2ClientTransport(host: "127.0.0.1", port: gatewayTransport.port)
        let recommenderTransportClient = try HTTP2ClientTransport(host: "127.0.0.1", port: recommenderTransport.port)
        let notifierTransportClient = try HTTP2ClientTransport(host: "127.0.0.1", port: notifierTransport.port)
        return try await withGRPCClient(transport: testTransport) { client in
            try await withGRPCClient(transport: recommenderTransportClient) { direct in
                try await withGRPCClient(transport: notifierTransportClient) { notifierClient in
                    try await body(MeshFixture(
                        gateway: Oo_Gateway_V1_Gateway_Client(wrapping: client),
                        recommender: Oo_Recommender_V1_Recommender_Client(wrapping: direct),
                        notifier: Oo_Notifier_V1_Notifier_Client(wrapping: notifierClient),
                        gatewayPort: gatewayTransport.port, secret: secret, directory: directory))
                }
            }
        }
    }
}

/// Todoist-shaped JSON for `count` tasks labelled by kind.
func tasksJSON(_ count: Int, prefix: String = "t") -> String {
    let kinds = ["errand", "call", "reading"]
    let items = (0..<count).map { index in
        #"{"id":"\#(prefix)\#(index)","content":"task \#(index)","project":"Home","labels":["\#(kinds[index % 3])"],"priority":\#(1 + index % 4),"due":null}"#
    }
    return "[" + items.joined(separator: ",") + "]"
}

/// The status code `body` fails with (nil when it succeeds).
func code(_ body: () async throws -> Void) async -> StatusCode? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

/// The error `body` fails with.
func rpcError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(code: .unknown, message: "\(error)")
    }
}
