import Dispatch
import Foundation
import MLProtos
import OOMesh
import OOStorage
import RecommenderProtos
import SwiftProtobuf
import Testing

@testable import Recommender

/// The stores' SQLite layer on real files: group commit, readers beside the writer, the
/// statement cache, and a tip's decision in its own row.
@Suite("Storage", .timeLimit(.minutes(1)))
struct StorageTests {
    static func store() throws -> (SQLiteStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oo-store-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path, label: "test", schema: "CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, value TEXT NOT NULL);")
        return (store, path)
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Holds the writer's queue until `release` is signalled, so writes pile up behind it.
    static func holdWriter(_ store: SQLiteStore, until release: DispatchSemaphore) -> Task<Void, any Error> {
        Task { try await store.exclusive { _ in release.wait() } }
    }

    @Test("writes that arrive during a commit share the next one; one that throws is rolled back alone")
    func groupCommit() async throws {
        let (store, path) = try Self.store()
        defer { Self.remove(path) }
        let release = DispatchSemaphore(value: 0)
        let held = Self.holdWriter(store, until: release)
        struct Refused: Error {}
        let writes = Task {
            await withTaskGroup(of: Result<Void, any Error>.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        do {
                            try await store.write(durability: index % 2 == 0 ? .powerLoss : .processCrash) { database in
                                try database.query("INSERT INTO rows (id, value) VALUES (?, ?)", [.integer(Int64(index)), .text("row \(index)")])
                                if index == 7 { throw Refused() }
                            }
                            return .success(())
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var outcomes: [Result<Void, any Error>] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
        }
        // Every write waits behind the held queue (bounded wait).
        let deadline = ContinuousClock.now + .seconds(10)
        while store.waitingWriteCount < 40, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(store.waitingWriteCount == 40)
        let before = store.commitCount
        release.signal()
        try await held.value
        let outcomes = await writes.value
        #expect(outcomes.filter { if case .failure = $0 { true } else { false } }.count == 1)
        // 40 writes, one commit.
        #expect(store.commitCount - before == 1)
        let ids = try await store.snapshotRead { try $0.query("SELECT id FROM rows ORDER BY id").compactMap { $0[0].integer } }
        #expect(ids == (0..<40).filter { $0 != 7 }.map(Int64.init))
    }

    @Test("a snapshot read does not wait for the writer, and cannot write")
    func readersBesideTheWriter() async throws {
        let (store, path) = try Self.store()
        defer { Self.remove(path) }
        try await store.write { try $0.query("INSERT INTO rows (id, value) VALUES (1, 'committed')") }
        let release = DispatchSemaphore(value: 0)
        let held = Self.holdWriter(store, until: release)
        // The writer's queue is held: a read on it would hang; a snapshot read answers.
        let value = try await store.snapshotRead { try $0.query("SELECT value FROM rows WHERE id = 1").first?.first?.text }
        #expect(value == "committed")
        await #expect(throws: StorageError.self) {
            try await store.snapshotRead { try $0.query("INSERT INTO rows (id, value) VALUES (2, 'sneaked')") }
        }
        release.signal()
        try await held.value
    }

    @Test("the statement cache: repeated statements, SQL from data past its bound, a failing statement reused")
    func statementCache() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oo-db-\(UUID().uuidString).sqlite").path
        defer { Self.remove(path) }
        let database = try SQLiteDatabase(path: path)
        try database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT)")
        for index in 0..<500 { try database.query("INSERT INTO t (id, value) VALUES (?, ?)", [.integer(Int64(index)), .text("v\(index)")]) }
        // More distinct statements than the cache holds.
        for index in 0..<(SQLiteDatabase.maxCachedStatements * 2) {
            #expect(try database.query("SELECT value FROM t WHERE id = \(index)").first?.first?.text == "v\(index)")
        }
        // A statement that failed (a constraint) is reset and works with new values.
        #expect(throws: StorageError.self) { try database.query("INSERT INTO t (id, value) VALUES (?, ?)", [.integer(1), .text("dup")]) }
        try database.query("INSERT INTO t (id, value) VALUES (?, ?)", [.integer(1000), .text("new")])
        #expect(try database.query("SELECT COUNT(*) FROM t").first?.first?.integer == 501)
    }

    @Test("a tip is one row holding its decision: every candidate's features and every policy's scores, as protobuf")
    func decisionInTheTipRow() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oo-rec-\(UUID().uuidString).sqlite").path
        defer { Self.remove(path) }
        let store = try RecommenderStore(path: path)
        _ = try await store.importTasks(user: "ada", tasks: [.with { $0.taskID = "t1"; $0.content = "water" }, .with { $0.taskID = "t2"; $0.content = "read" }], limit: 10)
        let request = Oo_Ml_V1_ScoreRequest.with {
            $0.requestID = "tip-1"
            $0.userID = "ada"
            $0.candidates = ["t1", "t2"].map { id in .with { $0.candidateID = id; $0.features = .with { $0.priority = 2 } } }
        }
        let response = Oo_Ml_V1_ScoreResponse.with {
            $0.policies = [.with { $0.policy = "linucb"; $0.active = true; $0.scores = [0.3, 0.7]; $0.chosen = 1 },
                           .with { $0.policy = "random"; $0.scores = [0.5, 0.5]; $0.chosen = 0 }]
        }
        let tip = Oo_Recommender_V1_Tip.with {
            $0.tipID = "tip-1"
            $0.userID = "ada"
            $0.task = .with { $0.taskID = "t2" }
            $0.policy = "linucb"
        }
        try await store.saveTip(tip, category: "chores", hourBlock: 2, features: Data(), decision: .init(candidates: try request.serializedBytes(), scores: try response.serializedBytes()))
        let stored = try #require(try await store.decision(tipID: "tip-1"))
        #expect(try Oo_Ml_V1_ScoreRequest(serializedBytes: stored.candidates) == request)
        #expect(try Oo_Ml_V1_ScoreResponse(serializedBytes: stored.scores) == response)
        // Retention drops the decision, keeps the tip.
        #expect(try await store.pruneCandidates(before: Date(timeIntervalSince1970: 1), limit: 10) == 1)
        #expect(try await store.decision(tipID: "tip-1") == nil)
        #expect(try await store.tips(user: "ada", limit: 10, before: nil).map(\.tipID) == ["tip-1"])
    }

    @Test("the outbox loop's wake-up: a signal wakes the waiter; a wait woken by a signal leaves nothing behind for the next")
    func wakeSignal() async {
        let wake = WakeSignal()
        let started = ContinuousClock.now
        async let woken: Void = wake.wait(upTo: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        wake.signal()
        await woken
        #expect(ContinuousClock.now - started < .seconds(10))
        // The woken wait's timer was cancelled; it must not wake this one early.
        let second = ContinuousClock.now
        await wake.wait(upTo: .milliseconds(300))
        #expect(ContinuousClock.now - second >= .milliseconds(290))
    }

    @Test("a waiting outbox loop ends when its task is cancelled")
    func wakeSignalCancelled() async {
        let wake = WakeSignal()
        let waiter = Task { await wake.wait(upTo: .seconds(600)) }
        try? await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        // Bounded: a waiter that ignored its cancellation would hold this for 600 s; the
        // suite's time limit fails it long before.
        await waiter.value
    }

    @Test("history is kept as tallies by each reaction, rebuilt from the tips for a file made before them, erased with the user; done tasks do not count against the cap")
    func historyTallies() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oo-hist-\(UUID().uuidString).sqlite").path
        defer { Self.remove(path) }
        var store = try RecommenderStore(path: path)
        let tasks: [Oo_Recommender_V1_Task] = (1...4).map { index in .with { $0.taskID = "t\(index)"; $0.content = "task \(index)"; $0.project = index % 2 == 0 ? "home" : "work" } }
        _ = try await store.importTasks(user: "ada", tasks: tasks, limit: 10)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for (index, reaction) in [(1, 1), (2, 2), (3, 1)] {
            let tip = Oo_Recommender_V1_Tip.with {
                $0.tipID = "tip-\(index)"
                $0.userID = "ada"
                $0.task = .with { $0.taskID = "t\(index)"; $0.project = tasks[index - 1].project }
                $0.createdUnixMs = RecommenderStore.ms(now) - Int64(index) * 1000
            }
            try await store.saveTip(tip, category: index == 2 ? "errand" : "chores", hourBlock: 3, features: Data(), decision: .init(candidates: Data(), scores: Data()))
            #expect(try await store.recordReaction(user: "ada", tipID: tip.tipID, reaction: reaction, reward: 1, at: now).isRecorded)
        }
        let expected = try await store.context(user: "ada", at: now).history
        #expect(expected.byCategory == ["chores": .init(shown: 2, done: 2), "errand": .init(shown: 1, done: 0)])
        #expect(expected.byProject == ["work": .init(shown: 2, done: 2), "home": .init(shown: 1, done: 0)])
        #expect(expected.byHourBlock == [3: .init(shown: 3, done: 2)])
        #expect(expected.shown7d == 3 && expected.done7d == 2)
        // A file from before the tallies: rebuilt from its tips when opened.
        let raw = try SQLiteDatabase(path: path)
        try raw.execute("DELETE FROM history_tallies; PRAGMA user_version = 1;")
        store = try RecommenderStore(path: path)
        #expect(try await store.context(user: "ada", at: now).history == expected)
        // Done tasks (t1, t3) leave room under the cap: 2 open + 8 new = 10.
        let more: [Oo_Recommender_V1_Task] = (5...12).map { index in .with { $0.taskID = "t\(index)"; $0.content = "task" } }
        #expect(try await store.importTasks(user: "ada", tasks: more, limit: 10) != nil)
        #expect(try await store.importTasks(user: "ada", tasks: [.with { $0.taskID = "t13"; $0.content = "one too many" }], limit: 10) == nil)
        _ = try await store.deleteUser("ada")
        #expect(try await store.context(user: "ada", at: now).history == UserHistory())
    }

    @Test("candidates come most urgent first (priority, then due date, undated last) from an index walk that stops at the limit, whatever the number of done tasks")
    func candidatesByIndex() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oo-cand-\(UUID().uuidString).sqlite").path
        defer { Self.remove(path) }
        let store = try RecommenderStore(path: path)
        let tasks: [Oo_Recommender_V1_Task] = [
            .with { $0.taskID = "low"; $0.content = "a"; $0.priority = 1; $0.dueUnixMs = 1_000 },
            .with { $0.taskID = "urgent-undated"; $0.content = "b"; $0.priority = 4 },
            .with { $0.taskID = "urgent-late"; $0.content = "c"; $0.priority = 4; $0.dueUnixMs = 9_000 },
            .with { $0.taskID = "urgent-soon"; $0.content = "d"; $0.priority = 4; $0.dueUnixMs = 2_000 },
            .with { $0.taskID = "mid"; $0.content = "e"; $0.priority = 2 },
        ]
        _ = try await store.importTasks(user: "ada", tasks: tasks, limit: 10)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let order = try await store.candidates(user: "ada", at: now, snoozedSince: now, dismissedSince: now, limit: 4).map(\.taskID)
        #expect(order == ["urgent-soon", "urgent-late", "urgent-undated", "mid"])
        // The plan: the tasks_open index in order, no sort of all the user's tasks.
        let raw = try SQLiteDatabase(path: path)
        let plan = try raw.query("EXPLAIN QUERY PLAN " + RecommenderStore.candidatesQuery, [.text("ada"), .integer(0), .integer(0), .integer(50)])
            .compactMap { $0.last?.text }
        #expect(plan.contains { $0.contains("USING INDEX tasks_open") }, "plan: \(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "plan: \(plan)")
    }
}

extension RecommenderStore.ReactionOutcome {
    var isRecorded: Bool { if case .recorded = self { true } else { false } }
}
