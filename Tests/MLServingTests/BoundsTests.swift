import Foundation
import MLProtos
import MLServing
import OOHealth
import OOMesh
import OOStorage
import SwiftProtobuf
import Testing

/// What keeps ml-serving bounded and numerically sound: the update log compacted at every
/// snapshot (without undoing DeleteUserData), oversized features refused, non-finite
/// snapshots refused, and Thompson sampling staying finite after many near-collinear updates.
@Suite("ml-serving bounds", .timeLimit(.minutes(3)))
struct BoundsTests {
    @Test("the update log never holds more than snapshotEvery rows, and snapshots one row per policy")
    func updateLogBounded() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory, snapshotEvery: 7)
            let path = configuration.databasePath
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            var largest = 0
            for round in 0..<10 {
                try await train(service, count: 9, user: "user-\(round % 3)", seed: UInt64(round))
                largest = max(largest, try countRows(path, "update_log"))
                #expect(try countRows(path, "policy_snapshots") == configuration.policies.count)
            }
            #expect(largest < 7)
            #expect(try await service.listPolicies(request: .init(), context: context()).policies.first?.updates == 90)
            await service.shutdown()
            #expect(try countRows(path, "update_log") == 0)
        }
    }

    @Test("DeleteUserData after compaction: the user's uncovered rows go, a restart does not bring them back")
    func deleteAfterCompaction() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory, snapshotEvery: 10)
            let path = configuration.databasePath
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            try await train(service, count: 10, user: "alice", seed: 1)  // compacted by the snapshot at 10
            try await train(service, count: 4, user: "alice", seed: 2)
            try await train(service, count: 3, user: "bob", seed: 3)
            #expect(try countRows(path, "update_log", where: "user_id = ?", [.text("alice")]) == 4)
            let before = try probeScores(service)
            #expect(try await service.deleteUserData(request: .with { $0.userID = "alice" }, context: context()).recordsDeleted == 4)
            #expect(try countRows(path, "update_log", where: "user_id = ?", [.text("alice")]) == 0)
            // More updates trigger the next compaction; alice's rows stay gone and bob's are covered.
            try await train(service, count: 10, user: "bob", seed: 4)
            #expect(try countRows(path, "update_log", where: "user_id = ?", [.text("alice")]) == 0)
            // A crash and restart keeps everything learned (17 + 10 updates), alice's included.
            let reopened = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            #expect(try await reopened.listPolicies(request: .init(), context: context()).policies.first?.updates == 27)
            #expect(try probeScores(reopened)["linucb"] != before["linucb"])
            await reopened.shutdown()
        }
    }

    @Test("features over maxFeatureBytes are INVALID_ARGUMENT in Score and Update, and nothing is logged")
    func oversizedFeatures() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory)
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            var huge = tip("sleep")
            huge.project = String(repeating: "p", count: ModelServingService.maxFeatureBytes)
            let updateError = await #expect(throws: RPCError.self) {
                try await service.update(request: updateRequest(huge, reward: 1), context: context())
            }
            #expect(updateError?.code == .invalidArgument)
            #expect(updateError?.message.contains("UpdateRequest.features is") == true)
            #expect(try countRows(configuration.databasePath, "update_log") == 0)
            let scoreError = await #expect(throws: RPCError.self) {
                try await service.score(request: scoreRequest([tip("focus"), huge]), context: context())
            }
            #expect(scoreError?.code == .invalidArgument)
            #expect(scoreError?.message.contains("ScoreRequest.candidates[1].features is") == true)
            await service.shutdown()
            let logged = try Data(contentsOf: URL(fileURLWithPath: configuration.servedFeatureLog.path!))
            #expect(logged.isEmpty)
        }
    }

    @Test("a snapshot holding a NaN is refused as corrupt")
    func nonFiniteSnapshot() throws {
        var policy = try LinUCBPolicy(dimension: 3)
        try policy.update(arm: "a", features: [1, 0.5, 0.25], reward: 1)
        var bytes = policy.snapshot()
        // Header (31 bytes), arm count (4), name length (4) and "a" (1), count (8): then A[0].
        let offset = 31 + 4 + 4 + 1 + 8
        let nan = Double.nan.bitPattern
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: nan >> UInt64(8 * index)) }
        #expect(throws: PolicyError.self) { _ = try PolicySnapshot.restore(bytes) }
        // Non-finite features are refused by the policy itself.
        #expect(throws: PolicyError.self) { try policy.update(arm: "a", features: [1, .infinity, 0], reward: 1) }
        #expect(throws: PolicyError.self) { try policy.update(arm: "a", features: [1, .nan, 0], reward: 1) }
    }

    @Test("Thompson sampling stays finite and LinUCB's A⁻¹ stays the inverse after many near-collinear updates")
    func manyNearCollinearUpdates() throws {
        var thompson = try LinearThompsonPolicy(dimension: 4, v: 0.25, seed: 3)
        var linUCB = try LinUCBPolicy(dimension: 4, alpha: 1)
        var random = SeededRandom(seed: 5)
        for _ in 0..<30_000 {
            // Almost the same direction every time: A grows badly conditioned.
            let x = [1, 1 + 1e-9 * random.unit(), 1, random.unit() < 0.001 ? 1 : 0]
            try thompson.update(arm: "a", features: x, reward: random.unit())
            try linUCB.update(arm: "a", features: x, reward: random.unit())
        }
        let probe = [PolicyCandidate(arm: "a", features: [1, 1, 1, 0]), PolicyCandidate(arm: "a", features: [0, 0, 1, 1])]
        for _ in 0..<50 {
            let decision = try thompson.score(probe)
            #expect(decision.scores.allSatisfy { $0.isFinite })
            #expect(decision.chosen >= 0)
        }
        let scores = try linUCB.score(probe).scores
        #expect(scores.allSatisfy { $0.isFinite })
        // The mean of the first probe is about the mean reward (≈ 0.5 on each of 3 equal features).
        #expect(abs(scores[0] - 0.5) < 0.2, "\(scores)")
    }
}
