import Foundation
import MLProtos
import MLServing
import OOHealth
import OOMesh
import OOSchema
import RegistryProtos
import SchemaRegistry
import SwiftProtobuf
import Testing

/// Train/serve parity against a real schema registry (SchemaRegistryService on a temporary
/// SQLite file, in process): the model records the schema it was trained on and is refused
/// when the serving schema breaks it.
@Suite("ml-serving train/serve parity gate", .timeLimit(.minutes(2)))
struct ParityGateTests {
    static let subject = "oo.ml.v1.TipFeatures"

    @Test("the first start registers the serving schema, records the model as trained on it and serves; a restart on the same schema is admitted")
    func firstStart() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            try await withRegistry(directory) { registry in
                let health = HealthMonitor()
                let configuration = testConfiguration(directory)
                let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: health, registry: registry)
                #expect(service.modelStatus == .admitted(schemaID: schema.id))
                #expect(health.status(of: ModelServingService.serviceName) == .serving)
                let model = try #require(try await service.modelRecord())
                #expect(model.modelID == "tip-bandit" && model.featureSubject == Self.subject && model.featureMessage == "oo.ml.v1.TipFeatures")
                #expect(model.featureSchemaID == schema.id)
                let versions = try await registry.listVersions(.with { $0.subject = Self.subject })
                #expect(versions.versions.map(\.schemaID) == [schema.id])
                let response = try await service.score(request: scoreRequest([tip("sleep")]), context: context())
                #expect(response.featureSchemaID == schema.id)
                #expect(try await service.listPolicies(request: .init(), context: context()).modelStatus == "SERVING")
                await service.shutdown()

                let again = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: health, registry: registry)
                #expect(again.modelStatus == .admitted(schemaID: schema.id))
                await again.shutdown()
            }
        }
    }

    @Test("a model trained on a schema the serving schema breaks (a field's type changed) is refused: NOT_SERVING, FAILED_PRECONDITION, and ListPolicies says why")
    func incompatibleRefused() async throws {
        let trained = try await featuresSchema()
        let broken = try await featuresSchema { $0.replacingOccurrences(of: "int32 hour_of_day = 1;", with: "string hour_of_day = 1;") }
        #expect(broken.id != trained.id)
        try await withTemporaryDirectory { directory in
            try await withRegistry(directory) { registry in
                let health = HealthMonitor()
                let configuration = testConfiguration(directory)
                let first = try await ModelServingService.open(configuration: configuration, servingSchema: trained, health: health, registry: registry)
                try await train(first, count: 5)
                await first.shutdown()

                let service = try await ModelServingService.open(configuration: configuration, servingSchema: broken, health: health, registry: registry)
                guard case .refused(let reason) = service.modelStatus else {
                    Issue.record("expected a refusal, got \(service.modelStatus)")
                    return
                }
                #expect(reason.contains("Model 'tip-bandit' refused"), "\(reason)")
                #expect(reason.contains("hour_of_day"), "\(reason)")
                #expect(health.status(of: ModelServingService.serviceName) == .notServing)
                #expect(health.reason(for: ModelServingService.serviceName) == reason)

                let score = await #expect(throws: RPCError.self) { _ = try await service.score(request: scoreRequest([tip("sleep")]), context: context()) }
                #expect(score?.code == .failedPrecondition)
                #expect(score?.message.contains("hour_of_day") == true)
                let update = await #expect(throws: RPCError.self) { _ = try await service.update(request: updateRequest(tip("sleep"), reward: 1), context: context()) }
                #expect(update?.code == .failedPrecondition)
                let listed = try await service.listPolicies(request: .init(), context: context())
                #expect(listed.modelStatus.hasPrefix("refused: "))
                #expect(listed.modelStatus.contains("hour_of_day"))
                #expect(listed.policies.first?.updates == 5, "the learned state is still listed")
                // Users' data can be erased whatever the model's state.
                #expect(try await service.deleteUserData(request: .with { $0.userID = "u" }, context: context()).recordsDeleted == 0)
                // The model record still names the training schema; the broken one was not registered.
                #expect(try await service.modelRecord()?.featureSchemaID == trained.id)
                #expect(try await registry.listVersions(.with { $0.subject = Self.subject }).versions.count == 1)
                await service.shutdown()
            }
        }
    }

    @Test("a compatible serving schema (one more feature) is admitted and registered as the subject's next version")
    func compatibleAdmitted() async throws {
        let trained = try await featuresSchema()
        let extended = try await featuresSchema {
            $0.replacingOccurrences(of: "double hour_done_rate = 15;", with: "double hour_done_rate = 15;\n  double streak_days = 16;")
        }
        #expect(extended.id != trained.id)
        try await withTemporaryDirectory { directory in
            try await withRegistry(directory) { registry in
                let configuration = testConfiguration(directory)
                let first = try await ModelServingService.open(configuration: configuration, servingSchema: trained, health: HealthMonitor(), registry: registry)
                await first.shutdown()
                let health = HealthMonitor()
                let service = try await ModelServingService.open(configuration: configuration, servingSchema: extended, health: health, registry: registry)
                #expect(service.modelStatus == .admitted(schemaID: extended.id))
                #expect(health.status(of: ModelServingService.serviceName) == .serving)
                #expect(try await service.modelRecord()?.featureSchemaID == trained.id)
                #expect(try await registry.listVersions(.with { $0.subject = Self.subject }).versions.map(\.schemaID) == [trained.id, extended.id])
                await service.shutdown()
            }
        }
    }

    @Test("a registry that does not answer refuses the model within the call deadline, NOT_SERVING")
    func stalledRegistry() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            try await withRegistry(directory, interceptors: [Stall()]) { registry in
                var configuration = testConfiguration(directory)
                configuration.registryCallTimeout = .milliseconds(300)
                let health = HealthMonitor()
                let started = ContinuousClock.now
                let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: health, registry: registry)
                #expect(ContinuousClock.now - started < .seconds(5))
                guard case .refused(let reason) = service.modelStatus else {
                    Issue.record("expected a refusal, got \(service.modelStatus)")
                    return
                }
                #expect(reason.contains("did not answer within"), "\(reason)")
                #expect(health.status(of: ModelServingService.serviceName) == .notServing)
                let error = await #expect(throws: RPCError.self) { _ = try await service.score(request: scoreRequest([tip("sleep")]), context: context()) }
                #expect(error?.code == .failedPrecondition)
                await service.shutdown()
            }
        }
    }
}

/// Holds every registry call for up to 10 seconds (cancelled with the call).
struct Stall: ServerInterceptor {
    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        try await Task.sleep(for: .seconds(10))
        try await next(context)
    }
}

/// Runs `body` with a client of a schema registry on a SQLite file in `directory`, served
/// in process.
func withRegistry<Result: Sendable>(
    _ directory: URL, interceptors: [any ServerInterceptor] = [], _ body: (Oo_Registry_V1_SchemaRegistry_Client) async throws -> Result
) async throws -> Result {
    let store = try SchemaStore(path: directory.appendingPathComponent("registry.sqlite").path)
    let transport = InProcessTransport()
    let server = GRPCServer(transport: transport.server, services: [SchemaRegistryService(store: store)], interceptors: interceptors)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        try await server.waitUntilListening()
        defer { server.beginGracefulShutdown() }
        return try await withGRPCClient(transport: transport.client) { client in
            try await body(Oo_Registry_V1_SchemaRegistry_Client(wrapping: client))
        }
    }
}
