import Foundation
import HealthProtos
import MLProtos
import MLServing
import OOHealth
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// ml-serving over the real HTTP/2 transport (libnghttp2, loopback), with the health
/// service beside it, as `oo serve ml-serving` runs it.
@Suite("ml-serving over HTTP/2", .timeLimit(.minutes(2)))
struct HTTP2Tests {
    @Test("Score, Update, ListPolicies, DeleteUserData and health over HTTP/2; bad input gets its status code over the wire")
    func overHTTP2() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let health = HealthMonitor()
            let configuration = testConfiguration(directory, snapshotEvery: 1_000)
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: health)
            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
            let server = GRPCServer(transport: transport, services: [service, HealthService(monitor: health)])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                defer { server.beginGracefulShutdown() }
                try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port)) { client in
                    let serving = Oo_Ml_V1_ModelServing_Client(wrapping: client)
                    let options = CallOptions(timeout: .seconds(10))

                    let healthClient = Grpc_Health_V1_Health_Client(wrapping: client)
                    let status = try await healthClient.check(.with { $0.service = ModelServingService.serviceName }, options: options)
                    #expect(status.status == .serving)

                    // A small learning loop: score, show the active pick, reward it.
                    var earned = 0.0
                    for round in 0..<60 {
                        let candidates = tipStream(count: 6, categories: ["sleep", "focus", "hydration"], seed: UInt64(round))
                        let response = try await serving.score(scoreRequest(candidates, requestID: "r\(round)"), options: options)
                        let active = try #require(response.policies.first { $0.active })
                        let shown = candidates[Int(active.chosen)]
                        let reward = shown.tipCategory == "sleep" ? 1.0 : 0.0
                        earned += reward
                        _ = try await serving.update(updateRequest(shown, reward: reward, user: round % 2 == 0 ? "even" : "odd", requestID: "r\(round)"), options: options)
                    }
                    let listed = try await serving.listPolicies(.init(), options: options)
                    #expect(listed.policies.first { $0.active }?.updates == 60)
                    #expect(listed.modelStatus == "unchecked: no registry configured")

                    let deleted = try await serving.deleteUserData(.with { $0.userID = "even" }, options: options)
                    #expect(deleted.recordsDeleted == 30)

                    let error = await #expect(throws: RPCError.self) { _ = try await serving.score(scoreRequest([]), options: options) }
                    #expect(error?.code == .invalidArgument)
                    let nan = await #expect(throws: RPCError.self) {
                        _ = try await serving.update(updateRequest(tip("sleep"), reward: .nan), options: options)
                    }
                    #expect(nan?.code == .invalidArgument)
                    #expect(nan?.message.contains("reward") == true)
                }
            }
            await service.shutdown()
            #expect(try countRows(configuration.databasePath, "update_log", where: "user_id = 'even'") == 0)
        }
    }
}
