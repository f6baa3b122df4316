import Foundation
import MLProtos
import MLServing
import OOHealth
import OOSchema
import OOStorage
import SwiftProtobuf
import Testing

/// Snapshots, the update log and its replay, DeleteUserData and the served feature log,
/// on real SQLite files and real log files.
@Suite("ml-serving persistence", .timeLimit(.minutes(3)))
struct PersistenceTests {
    @Test("a clean restart resumes every policy exactly: the same scores from all four, the same counts and arms")
    func cleanRestart() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory, snapshotEvery: 50)
            let first = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            try await train(first, count: 120)
            let listed = try await first.listPolicies(request: .init(), context: context())
            await first.shutdown()
            // Taken after the final snapshot, so the random streams start from the same state.
            let before = try probeScores(first)
            #expect(try countRows(configuration.databasePath, "update_log") == 0, "the final snapshot covers every update")

            let second = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            let after = try probeScores(second)
            #expect(after == before)
            #expect(before["linucb"]?.count == 12)
            let relisted = try await second.listPolicies(request: .init(), context: context())
            #expect(relisted.policies == listed.policies)
            #expect(relisted.policies.map(\.updates) == [120, 120, 120, 0])
            #expect(relisted.policies.first?.arms == ["focus", "hydration", "sleep"])
            await second.shutdown()
        }
    }

    @Test("a crash between snapshots loses nothing: the update log after the last snapshot is replayed and LinUCB scores identically")
    func crashReplay() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory, snapshotEvery: 10)
            let first = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            try await train(first, count: 25)
            // Snapshots at 10 and 20 deleted the rows they cover; 21…25 are only in the log.
            #expect(try countRows(configuration.databasePath, "update_log") == 5)
            #expect(try countRows(configuration.databasePath, "policy_snapshots", where: "seq = 20") == 4)
            let before = try probeScores(first)
            // The crash: no shutdown, no final snapshot. A new process opens the same file.

            let second = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            let after = try probeScores(second)
            #expect(after["linucb"] == before["linucb"])
            #expect(after["epsilon_greedy"] == before["epsilon_greedy"], "ε-greedy's means are deterministic too")
            let listed = try await second.listPolicies(request: .init(), context: context())
            #expect(listed.policies.map(\.updates) == [25, 25, 25, 0])
            // The replayed updates count toward the next snapshot: 5 more make 10.
            try await train(second, count: 5, seed: 12)
            #expect(try countRows(configuration.databasePath, "update_log") == 0)
            #expect(try countRows(configuration.databasePath, "policy_snapshots", where: "seq = 30") == 4)
            await second.shutdown()
        }
    }

    @Test("DeleteUserData deletes exactly the user's update-log rows, returns how many, and the learned state survives a restart")
    func deleteUserData() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory, snapshotEvery: 1_000)
            let path = configuration.databasePath
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            try await train(service, count: 7, user: "alice", seed: 1)
            try await train(service, count: 5, user: "bob", seed: 2)
            try await train(service, count: 3, user: "alice", seed: 3)
            #expect(try countRows(path, "update_log", where: "user_id = ?", [.text("alice")]) == 10)
            let before = try probeScores(service)

            let deleted = try await service.deleteUserData(request: .with { $0.userID = "alice" }, context: context())
            #expect(deleted.recordsDeleted == 10)
            #expect(try countRows(path, "update_log", where: "user_id = ?", [.text("alice")]) == 0)
            #expect(try countRows(path, "update_log", where: "user_id = ?", [.text("bob")]) == 5)
            #expect(try countRows(path, "update_log") == 5)
            #expect(try await service.deleteUserData(request: .with { $0.userID = "alice" }, context: context()).recordsDeleted == 0)
            #expect(try await service.deleteUserData(request: .with { $0.userID = "nobody" }, context: context()).recordsDeleted == 0)
            // The aggregates keep what alice's updates taught them.
            #expect(try probeScores(service)["linucb"] == before["linucb"])

            // A crash now: the snapshot DeleteUserData took stands in for the deleted rows.
            let reopened = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            #expect(try probeScores(reopened)["linucb"] == before["linucb"])
            #expect(try await reopened.listPolicies(request: .init(), context: context()).policies.first?.updates == 15)
            await reopened.shutdown()
        }
    }

    @Test("the served feature log holds one FeatureLogRecord per scored candidate, with the schema id, request id and time")
    func servedLog() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            let configuration = testConfiguration(directory)
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            let start = Int64(Date().timeIntervalSince1970 * 1000) - 1
            var sent: [Oo_Ml_V1_TipFeatures] = []
            for request in 0..<3 {
                let features = tipStream(count: 4, categories: ["sleep", "focus"], seed: UInt64(request))
                sent += features
                _ = try await service.score(request: scoreRequest(features, requestID: "req-\(request)"), context: context())
            }
            await service.flushServedFeatureLog()
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: configuration.servedFeatureLog.path!)))
            // The format oo schema parity reads.
            let records = try FeatureLog.read(bytes)
            #expect(records.count == 12)
            #expect(records.allSatisfy { $0.schemaID == service.servingSchemaID && $0.schemaID == schema.id })
            #expect(try records.map { try Oo_Ml_V1_TipFeatures(serializedBytes: $0.features) } == sent)
            let full = try delimitedRecords(bytes)
            #expect(full.map(\.requestID) == (0..<3).flatMap { request in Array(repeating: "req-\(request)", count: 4) })
            #expect(full.allSatisfy { $0.timestampUnixMs >= start && $0.timestampUnixMs <= start + 60_000 })
            await service.shutdown()
        }
    }

    @Test("the served feature log is rotated before it passes maxBytes, keeping one older file")
    func servedLogRotation() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            var configuration = testConfiguration(directory)
            configuration.servedFeatureLog.maxBytes = 1_500
            let path = configuration.servedFeatureLog.path!
            let service = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            for request in 0..<10 {
                _ = try await service.score(request: scoreRequest(tipStream(count: 5, categories: ["sleep"]), requestID: "req-\(request)"), context: context())
            }
            await service.shutdown()
            let current = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let older = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + ".1")))
            #expect(current.count <= 1_500 && older.count <= 1_500)
            let newest = try delimitedRecords(current)
            let previous = try delimitedRecords(older)
            #expect(newest.last?.requestID == "req-9")
            #expect(newest.count % 5 == 0 && previous.count % 5 == 0, "a request's records are never split across files")
            // Consecutive: the older file ends where the current one begins.
            let lastOld = Int(previous.last!.requestID.dropFirst(4))!
            let firstNew = Int(newest.first!.requestID.dropFirst(4))!
            #expect(firstNew == lastOld + 1)
            #expect(!FileManager.default.fileExists(atPath: path + ".2"))
        }
    }

    @Test("a policy whose parameter changed keeps its statistics; one whose kind changed starts afresh from the log")
    func reconfiguredPolicies() async throws {
        let schema = try await featuresSchema()
        try await withTemporaryDirectory { directory in
            var configuration = testConfiguration(directory, snapshotEvery: 1_000)
            let first = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            try await train(first, count: 30)
            await first.shutdown()
            configuration.policies = [
                .init(name: "linucb", kind: .linUCB(alpha: 0)),
                .init(name: "thompson", kind: .epsilonGreedy(epsilon: 0)),
            ]
            let second = try await ModelServingService.open(configuration: configuration, servingSchema: schema, health: HealthMonitor())
            let listed = try await second.listPolicies(request: .init(), context: context()).policies
            // linucb kept its 30 updates; "thompson" is now ε-greedy with nothing to replay
            // (the final snapshot compacted the log).
            #expect(listed.map(\.updates) == [30, 0])
            #expect(listed.map(\.kind) == ["linucb", "epsilon_greedy"])
            // With α = 0 LinUCB scores are its means, which ε-greedy over the same data would give.
            let scores = try probeScores(second)
            #expect(scores["linucb"]?.allSatisfy(\.isFinite) == true)
            await second.shutdown()
        }
    }
}

/// Every `oo.ml.v1.FeatureLogRecord` of a length-delimited log, with all its fields.
func delimitedRecords(_ bytes: [UInt8]) throws -> [Oo_Ml_V1_FeatureLogRecord] {
    var records: [Oo_Ml_V1_FeatureLogRecord] = []
    var offset = 0
    while offset < bytes.count {
        var length = 0
        var shift = 0
        while true {
            let byte = bytes[offset]
            offset += 1
            length |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        records.append(try Oo_Ml_V1_FeatureLogRecord(serializedBytes: Array(bytes[offset..<(offset + length)])))
        offset += length
    }
    return records
}
