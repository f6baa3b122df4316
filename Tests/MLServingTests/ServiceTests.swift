import Foundation
import MLProtos
import MLServing
import OOHealth
import OOMesh
import SwiftProtobuf
import Testing

/// The service through its generated client over the in-process transport: what Score,
/// Update, ListPolicies and DeleteUserData answer, and the status codes of bad input.
@Suite("ml-serving service", .timeLimit(.minutes(2)))
struct ServiceTests {
    @Test("Score runs every policy on every candidate, marks the active one and times each; ListPolicies lists them")
    func scoreAndList() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let health = HealthMonitor()
            let service = try await ModelServingService.open(configuration: testConfiguration(directory), servingSchema: schema, health: health)
            #expect(health.status(of: ModelServingService.serviceName) == .serving)
            #expect(service.modelStatus == .unchecked)
            try await withInProcessClient(service, health: health) { client in
                let candidates = tipStream(count: 7, categories: ["sleep", "focus", ""])
                let response = try await client.score(scoreRequest(candidates), options: CallOptions(timeout: .seconds(10)))
                #expect(response.policies.map(\.policy) == ["linucb", "thompson", "epsilon_greedy", "random"])
                #expect(response.policies.map(\.active) == [true, false, false, false])
                for policy in response.policies {
                    #expect(policy.scores.count == 7 && policy.scores.allSatisfy(\.isFinite))
                    #expect((0..<7).contains(Int(policy.chosen)))
                    #expect(policy.latencyUs >= 0 && policy.latencyUs < 1_000_000)
                }
                // LinUCB picks its argmax.
                let linucb = response.policies[0]
                #expect(linucb.scores[Int(linucb.chosen)] == linucb.scores.max())
                #expect(response.featureSchemaID == "", "no registry: no admitted schema id")

                _ = try await client.update(updateRequest(candidates[0], reward: 1), options: CallOptions(timeout: .seconds(10)))
                let updated = try await client.update(updateRequest(candidates[2], reward: 0.25), options: CallOptions(timeout: .seconds(10)))
                #expect(updated.updates == 2)
                let listed = try await client.listPolicies(.init(), options: CallOptions(timeout: .seconds(10)))
                #expect(listed.modelStatus == "unchecked: no registry configured")
                #expect(listed.policies.map(\.kind) == ["linucb", "thompson", "epsilon_greedy", "random"])
                #expect(listed.policies.map(\.updates) == [2, 2, 2, 0])
                let arms = Set([TipFeaturizer.arm(of: candidates[0]), TipFeaturizer.arm(of: candidates[2])]).sorted()
                #expect(listed.policies.allSatisfy { $0.arms == arms })
            }
            await service.shutdown()
        }
    }

    @Test("Update is idempotent by request id: a resent update changes nothing, another id is learned")
    func idempotentUpdate() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory)
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            let features = tipStream(count: 1, categories: ["sleep"])[0]
            let first = try await service.update(request: updateRequest(features, reward: 1, requestID: "tip-1"), context: context())
            let resent = try await service.update(request: updateRequest(features, reward: 1, requestID: "tip-1"), context: context())
            let other = try await service.update(request: updateRequest(features, reward: 0, requestID: "tip-2"), context: context())
            #expect(first.updates == 1 && resent.updates == 1 && other.updates == 2)
            #expect(try countRows(configuration.databasePath, "update_log") == 2)
        }
    }

    @Test("the active policy is configuration: thompson active marks thompson")
    func activePolicy() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            var configuration = testConfiguration(directory)
            configuration.activePolicy = "thompson"
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            let response = try await service.score(request: scoreRequest([tip("sleep")]), context: context())
            #expect(response.policies.filter(\.active).map(\.policy) == ["thompson"])
            await service.shutdown()
        }
    }

    @Test("bad input gets the right status: empty or too many candidates, missing features, a reward that is NaN, infinite or outside 0…1")
    func badInput() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let health = HealthMonitor()
            let configuration = testConfiguration(directory)
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: health)
            try await withInProcessClient(service, health: health) { client async throws in
                let options = CallOptions(timeout: .seconds(10))
                #expect(await code { _ = try await client.score(scoreRequest([]), options: options) } == .invalidArgument)
                let tooMany = scoreRequest(Array(repeating: tip("sleep"), count: configuration.maxCandidates + 1))
                #expect(await code { _ = try await client.score(tooMany, options: options) } == .invalidArgument)
                #expect(await code { _ = try await client.score(scoreRequest(Array(repeating: tip("sleep"), count: configuration.maxCandidates)), options: options) } == .ok)
                var missing = scoreRequest([tip("sleep"), tip("focus")])
                missing.candidates[1].clearFeatures()
                #expect(await code { _ = try await client.score(missing, options: options) } == .invalidArgument)

                for reward in [Double.nan, .infinity, -.infinity, -0.01, 1.01] {
                    #expect(await code { _ = try await client.update(updateRequest(tip("sleep"), reward: reward), options: options) } == .invalidArgument, "reward \(reward)")
                }
                var noFeatures = updateRequest(tip("sleep"), reward: 1)
                noFeatures.clearFeatures()
                #expect(await code { _ = try await client.update(noFeatures, options: options) } == .invalidArgument)
                let longArm = tip(String(repeating: "x", count: ModelServingService.maxArmNameBytes + 1))
                #expect(await code { _ = try await client.update(updateRequest(longArm, reward: 1), options: options) } == .invalidArgument)
                #expect(await code { _ = try await client.deleteUserData(.init(), options: options) } == .invalidArgument)
                // Nothing refused reached the update log or the policies.
                #expect(try countRows(configuration.databasePath, "update_log") == 0)
                #expect(try await client.listPolicies(.init(), options: options).policies.allSatisfy { $0.updates == 0 && $0.arms.isEmpty })
            }
            await service.shutdown()
            // After shutdown: UNAVAILABLE.
            await #expect(throws: RPCError.self) { _ = try await service.score(request: scoreRequest([tip("sleep")]), context: context()) }
        }
    }

    @Test("updates for more arms than maxArms are refused with RESOURCE_EXHAUSTED and not logged")
    func armLimit() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            var configuration = testConfiguration(directory)
            configuration.maxArms = 2
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            _ = try await service.update(request: updateRequest(tip("a"), reward: 1), context: context())
            _ = try await service.update(request: updateRequest(tip("b"), reward: 0), context: context())
            let error = await #expect(throws: RPCError.self) {
                _ = try await service.update(request: updateRequest(tip("c"), reward: 1), context: context())
            }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message.contains("limit of 2 arms") == true, "\(String(describing: error))")
            _ = try await service.update(request: updateRequest(tip("a"), reward: 0.5), context: context())
            #expect(try countRows(configuration.databasePath, "update_log") == 3)
            // Scoring an arm never learned still works (the prior).
            #expect(try await service.score(request: scoreRequest([tip("c"), tip("a")]), context: context()).policies.count == 4)
            await service.shutdown()
        }
    }

    @Test("a bad configuration is refused with a message naming the field")
    func badConfiguration() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            var configuration = testConfiguration(directory)
            configuration.activePolicy = "nope"
            let error = await #expect(throws: MLServingError.self) {
                _ = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            }
            #expect(error?.message.contains("'nope'") == true)
            configuration = testConfiguration(directory)
            configuration.policies.append(.init(name: "linucb", kind: .random))
            #expect(throws: MLServingError.self) { try configuration.validate() }
            configuration = testConfiguration(directory)
            configuration.policies[0].kind = .linUCB(alpha: -1)
            #expect(throws: MLServingError.self) { try configuration.validate() }
            configuration = testConfiguration(directory)
            configuration.registryAddress = "127.0.0.1:1"
            await #expect(throws: MLServingError.self) {
                _ = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            }
        }
    }

    @Test("concurrent Score and Update calls all succeed and every update is counted once")
    func concurrency() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let service = try await ModelServingService.open(configuration: testConfiguration(directory, snapshotEvery: 25), servingSchema: schema, health: HealthMonitor())
            let stream = tipStream(count: 200, categories: ["sleep", "focus", "hydration"])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 200, by: 8) {
                            _ = try await service.score(request: scoreRequest(Array(stream[max(0, index - 5)...index])), context: context())
                            _ = try await service.update(request: updateRequest(stream[index], reward: 0.5, user: "w\(worker)"), context: context())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let listed = try await service.listPolicies(request: .init(), context: context())
            #expect(listed.policies.map(\.updates) == [200, 200, 200, 0])
            #expect(try countRows(service.configuration.databasePath, "update_log") == 0, "snapshots at 25, 50, … 200 compacted the log")
            await service.shutdown()
        }
    }
}

/// Runs `body` with a client of `service` (and the health service) over the in-process
/// transport.
func withInProcessClient<Result: Sendable>(
    _ service: ModelServingService, health: HealthMonitor, _ body: (Oo_Ml_V1_ModelServing_Client) async throws -> Result
) async throws -> Result {
    let transport = InProcessTransport()
    let server = GRPCServer(transport: transport.server, services: [service, HealthService(monitor: health)])
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        try await server.waitUntilListening()
        defer { server.beginGracefulShutdown() }
        return try await withGRPCClient(transport: transport.client) { client in
            try await body(Oo_Ml_V1_ModelServing_Client(wrapping: client))
        }
    }
}

/// The status code `call` ends with (OK when it returns); nil for an error that is not an
/// `RPCError`. Every error status must carry a message.
func code(_ call: () async throws -> Void) async -> StatusCode? {
    do {
        try await call()
        return .ok
    } catch let error as RPCError {
        #expect(!error.message.isEmpty)
        return error.code
    } catch {
        return nil
    }
}
