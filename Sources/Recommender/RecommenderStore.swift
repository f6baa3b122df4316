import Foundation
import MLProtos
import OOStorage
import RecommenderProtos
import SwiftProtobuf

/// The recommender's own data in one SQLite file: users' timezones, tasks, every tip with
/// the features and scores of all its candidates under every policy, reactions, and the
/// outbox of rewards still to be sent to ml-serving. No other service reads it.
final class RecommenderStore: Sendable {
    private let store: SQLiteStore

    /// The separator of a task's labels inside one column (a control character no label has).
    private static let labelSeparator = "\u{1F}"

    init(path: String) throws(StorageError) {
        store = try SQLiteStore(path: path, label: "oo.recommender.store", schema: """
            CREATE TABLE IF NOT EXISTS users (
                user_id TEXT PRIMARY KEY,
                timezone TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS tasks (
                user_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                content TEXT NOT NULL,
                project TEXT NOT NULL,
                labels TEXT NOT NULL,
                priority INTEGER NOT NULL,
                due_unix_ms INTEGER NOT NULL,
                done INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (user_id, task_id)
            );
            -- A user's open tasks in candidate order (see candidates(…)): the query walks
            -- this index and stops at its limit, whatever the number of done tasks.
            CREATE INDEX IF NOT EXISTS tasks_open ON tasks (user_id, done, priority DESC, due_unix_ms = 0, due_unix_ms, task_id);
            CREATE TABLE IF NOT EXISTS tips (
                tip_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                created_unix_ms INTEGER NOT NULL,
                policy TEXT NOT NULL,
                score REAL NOT NULL,
                prompt_version TEXT NOT NULL,
                category TEXT NOT NULL,
                project TEXT NOT NULL,
                hour_block INTEGER NOT NULL,
                features BLOB NOT NULL,
                scoring_latency_us INTEGER NOT NULL,
                reaction INTEGER NOT NULL DEFAULT 0,
                reacted_unix_ms INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX IF NOT EXISTS tips_by_user ON tips (user_id, created_unix_ms, reaction, category, project, hour_block);
            CREATE INDEX IF NOT EXISTS tips_by_task ON tips (user_id, task_id, reaction, reacted_unix_ms);
            CREATE INDEX IF NOT EXISTS tips_by_time ON tips (created_unix_ms);
            CREATE TABLE IF NOT EXISTS tip_candidates (
                tip_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                features BLOB NOT NULL,
                PRIMARY KEY (tip_id, task_id)
            );
            CREATE TABLE IF NOT EXISTS tip_scores (
                tip_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                policy TEXT NOT NULL,
                score REAL,
                latency_us INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS tip_scores_by_tip ON tip_scores (tip_id);
            CREATE TABLE IF NOT EXISTS reactions (
                tip_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                reaction INTEGER NOT NULL,
                reward REAL NOT NULL,
                at_unix_ms INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS reactions_by_user ON reactions (user_id);
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id TEXT NOT NULL,
                tip_id TEXT NOT NULL,
                features BLOB NOT NULL,
                reward REAL NOT NULL
            );
            CREATE INDEX IF NOT EXISTS outbox_by_user ON outbox (user_id);
            CREATE TABLE IF NOT EXISTS history_tallies (
                user_id TEXT NOT NULL,
                dimension INTEGER NOT NULL,
                key TEXT NOT NULL,
                shown INTEGER NOT NULL,
                done INTEGER NOT NULL,
                PRIMARY KEY (user_id, dimension, key)
            );
            CREATE TABLE IF NOT EXISTS outbox_dead (
                seq INTEGER PRIMARY KEY,
                user_id TEXT NOT NULL,
                tip_id TEXT NOT NULL,
                reward REAL NOT NULL,
                reason TEXT NOT NULL
            );
            """)
        // Schema versions (PRAGMA user_version) of files made by older versions:
        // 1: a tip's decision in its own row (one insert, not 1 + 50 + 200); the old
        //    per-candidate rows stay until retention prunes them.
        // 2: history as running tallies per user (O(keys) to read, not O(lifetime)), filled
        //    once from the reacted tips.
        do {
            try store.migrate { database in
                let version = try database.query("PRAGMA user_version").first?.first?.integer ?? 0
                if version < 1 {
                    let columns = Set(try database.query("PRAGMA table_info(tips)").compactMap { $0[1].text })
                    if !columns.contains("decision_candidates") {
                        try database.execute("ALTER TABLE tips ADD COLUMN decision_candidates BLOB; ALTER TABLE tips ADD COLUMN decision_scores BLOB;")
                    }
                }
                if version < 2 {
                    try database.execute("DELETE FROM history_tallies;")
                    for (dimension, column) in Dimension.allCases.map({ ($0.rawValue, $0.column) }) {
                        try database.query(
                            """
                            INSERT INTO history_tallies (user_id, dimension, key, shown, done)
                            SELECT user_id, \(dimension), CAST(\(column) AS TEXT), COUNT(*), SUM(reaction = 1) FROM tips
                            WHERE reaction != 0 GROUP BY user_id, \(column)
                            """)
                    }
                }
                if version < 2 { try database.execute("PRAGMA user_version = 2;") }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(message: "Cannot migrate \(path): \(error)")
        }
    }

    /// What a history tally counts by.
    enum Dimension: Int64, CaseIterable {
        case category = 1, project = 2, hourBlock = 3
        /// The column of `tips` it groups by.
        var column: String {
            switch self {
            case .category: "category"
            case .project: "project"
            case .hourBlock: "hour_block"
            }
        }
    }

    // MARK: Users and tasks

    func setTimezone(user: String, timezone: String) async throws {
        try await store.write { database in
            try database.query(
                "INSERT INTO users (user_id, timezone) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone",
                [.text(user), .text(timezone)])
        }
    }

    /// Inserts or updates `tasks`; nil (and nothing written) when the user would hold more
    /// than `limit` tasks.
    func importTasks(user: String, tasks: [Oo_Recommender_V1_Task], limit: Int) async throws -> (imported: Int, updated: Int)? {
        do {
            return try await writeTasks(user: user, tasks: tasks, limit: limit)
        } catch is OverLimit {
            return nil  // thrown inside the transaction, so it rolled back
        }
    }

    private struct OverLimit: Error {}

    private func writeTasks(user: String, tasks: [Oo_Recommender_V1_Task], limit: Int) async throws -> (imported: Int, updated: Int) {
        try await store.write { database in
            var imported = 0
            var updated = 0
            for task in tasks {
                let exists = try !database.query(
                    "SELECT 1 FROM tasks WHERE user_id = ? AND task_id = ?", [.text(user), .text(task.taskID)]
                ).isEmpty
                try database.query(
                    """
                    INSERT INTO tasks (user_id, task_id, content, project, labels, priority, due_unix_ms, done)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (user_id, task_id) DO UPDATE SET content = excluded.content, project = excluded.project,
                        labels = excluded.labels, priority = excluded.priority, due_unix_ms = excluded.due_unix_ms,
                        done = excluded.done
                    """,
                    [
                        .text(user), .text(task.taskID), .text(task.content), .text(task.project),
                        .text(task.labels.joined(separator: Self.labelSeparator)), .integer(Int64(task.priority)),
                        .integer(task.dueUnixMs), .integer(task.done ? 1 : 0),
                    ])
                if exists { updated += 1 } else { imported += 1 }
            }
            // Done tasks do not count against the cap: a user who finishes tasks can add more.
            let total = try database.query("SELECT COUNT(*) FROM tasks WHERE user_id = ? AND done = 0", [.text(user)]).first?.first?.integer ?? 0
            if total > Int64(limit) { throw OverLimit() }
            return (imported, updated)
        }
    }

    /// The candidates' query: (user, snoozed since, dismissed since, limit). Its order is
    /// the `tasks_open` index's, so SQLite walks the index and stops at the limit.
    static let candidatesQuery = """
        SELECT t.task_id, t.content, t.project, t.labels, t.priority, t.due_unix_ms FROM tasks t
        WHERE t.user_id = ? AND t.done = 0 AND NOT EXISTS (
            SELECT 1 FROM tips p WHERE p.user_id = t.user_id AND p.task_id = t.task_id AND (
                (p.reaction = 2 AND p.reacted_unix_ms > ?) OR (p.reaction = 3 AND p.reacted_unix_ms > ?)))
        ORDER BY t.priority DESC, t.due_unix_ms = 0, t.due_unix_ms, t.task_id
        LIMIT ?
        """

    /// The user's open tasks that may be suggested at `at`: not done, not snoozed or
    /// dismissed recently; most urgent first, at most `limit`.
    func candidates(user: String, at: Date, snoozedSince: Date, dismissedSince: Date, limit: Int) async throws -> [CandidateTask] {
        try await store.snapshotRead { database in
            let rows = try database.query(
                Self.candidatesQuery,
                [.text(user), .integer(Self.ms(snoozedSince)), .integer(Self.ms(dismissedSince)), .integer(Int64(limit))])
            return rows.map { row in
                let labels = row[3].text ?? ""
                let due = row[5].integer ?? 0
                return CandidateTask(
                    taskID: row[0].text ?? "", content: row[1].text ?? "", project: row[2].text ?? "",
                    labels: labels.isEmpty ? [] : labels.components(separatedBy: Self.labelSeparator),
                    priority: Int(row[4].integer ?? 1), due: due == 0 ? nil : Date(timeIntervalSince1970: Double(due) / 1000))
            }
        }
    }

    /// The user's time zone and reaction history at `at`, in one snapshot.
    func context(user: String, at: Date) async throws -> (timezone: String?, history: UserHistory) {
        try await store.snapshotRead { database in
            let timezone = try database.query("SELECT timezone FROM users WHERE user_id = ?", [.text(user)]).first?.first?.text
            return (timezone, try Self.history(database, user: user, at: at))
        }
    }

    /// The tallies by category, project and hour block (kept up to date by each reaction:
    /// O(keys), whatever the user's lifetime), and the last 7 days' tips before `at` (an
    /// index range of at most a week of tips).
    private static func history(_ database: SQLiteDatabase, user: String, at: Date) throws -> UserHistory {
        var history = UserHistory()
        let atMS = Self.ms(at)
        for row in try database.query("SELECT dimension, key, shown, done FROM history_tallies WHERE user_id = ?", [.text(user)]) {
            let tally = UserHistory.Tally(shown: Int(row[2].integer ?? 0), done: Int(row[3].integer ?? 0))
            let key = row[1].text ?? ""
            switch Dimension(rawValue: row[0].integer ?? 0) {
            case .category: history.byCategory[key] = tally
            case .project: history.byProject[key] = tally
            case .hourBlock: history.byHourBlock[Int(key) ?? 0] = tally
            case nil: break
            }
        }
        let week = try database.query(
            """
            SELECT COUNT(*), COALESCE(SUM(reaction = 1), 0) FROM tips
            WHERE user_id = ? AND created_unix_ms <= ? AND created_unix_ms > ?
            """, [.text(user), .integer(atMS), .integer(atMS - 7 * 86_400_000)]
        ).first
        history.shown7d = Int(week?[0].integer ?? 0)
        history.done7d = Int(week?[1].integer ?? 0)
        let last = try database.query(
            "SELECT MAX(created_unix_ms) FROM tips WHERE user_id = ? AND created_unix_ms <= ?", [.text(user), .integer(atMS)]
        ).first?.first?.integer
        history.lastTipAt = last.map { Date(timeIntervalSince1970: Double($0) / 1000) }
        return history
    }

    // MARK: Tips

    /// What a tip was chosen from, kept with it for off-policy evaluation: every candidate
    /// with its features (an `oo.ml.v1.ScoreRequest`, as sent to ml-serving) and every
    /// policy's scores, choice and latency (its `oo.ml.v1.ScoreResponse`), each as protobuf
    /// bytes in one column of the tip's row.
    struct Decision: Sendable {
        var candidates: Data
        var scores: Data
    }

    /// Stores a tip with its decision, in one insert.
    func saveTip(_ tip: Oo_Recommender_V1_Tip, category: String, hourBlock: Int, features: Data, decision: Decision) async throws {
        // Durable against kill -9, not power loss (no fsync of its own; group-committed):
        // a tip lost with the power is one the user was shown but cannot react to, and a
        // reaction to it is refused as unknown (docs/architecture.md).
        try await store.write(durability: .processCrash) { database in
            // The task may have been done, or the user erased, while ml-serving scored:
            // then nothing is stored (an erased user's data must not come back).
            guard try !database.query(
                "SELECT 1 FROM tasks WHERE user_id = ? AND task_id = ? AND done = 0", [.text(tip.userID), .text(tip.task.taskID)]
            ).isEmpty else { throw TaskGone() }
            try database.query(
                """
                INSERT INTO tips (tip_id, user_id, task_id, created_unix_ms, policy, score, prompt_version, category, project,
                    hour_block, features, scoring_latency_us, decision_candidates, decision_scores)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(tip.tipID), .text(tip.userID), .text(tip.task.taskID), .integer(tip.createdUnixMs), .text(tip.policy),
                    .real(tip.score), .text(tip.promptVersion), .text(category), .text(tip.task.project),
                    .integer(Int64(hourBlock)), .blob(features), .integer(tip.scoringLatencyUs), .blob(decision.candidates),
                    .blob(decision.scores),
                ])
        }
    }

    /// The decision stored with a tip; nil when there is no such tip or retention pruned it.
    func decision(tipID: String) async throws -> Decision? {
        try await store.snapshotRead { database in
            guard let row = try database.query(
                "SELECT decision_candidates, decision_scores FROM tips WHERE tip_id = ?", [.text(tipID)]
            ).first, let candidates = row[0].blob, let scores = row[1].blob else { return nil }
            return Decision(candidates: candidates, scores: scores)
        }
    }

    /// The tip's task is gone or done (see ``saveTip``).
    struct TaskGone: Error {}

    /// What happened to a reaction.
    enum ReactionOutcome: Sendable {
        /// Stored, with its outbox entry.
        case recorded
        /// The tip already had this reaction; the reward it earned then.
        case duplicate(reward: Double)
        /// The tip already has another reaction.
        case conflict(existing: Int)
        /// No such tip for this user.
        case notFound
    }

    /// Stores a reaction, marks a done task done, and queues the reward for ml-serving, in
    /// one transaction.
    func recordReaction(user: String, tipID: String, reaction: Int, reward: Double, at: Date) async throws -> ReactionOutcome {
        try await store.write { database in
            guard let row = try database.query(
                "SELECT task_id, reaction, features, category, project, hour_block FROM tips WHERE tip_id = ? AND user_id = ?",
                [.text(tipID), .text(user)]
            ).first else { return .notFound }
            let existing = Int(row[1].integer ?? 0)
            if existing == reaction {
                let reward = try database.query("SELECT reward FROM reactions WHERE tip_id = ?", [.text(tipID)]).first?.first?.double
                return .duplicate(reward: reward ?? 0)
            }
            if existing != 0 { return .conflict(existing: existing) }
            let atMS = Self.ms(at)
            try database.query(
                "UPDATE tips SET reaction = ?, reacted_unix_ms = ? WHERE tip_id = ?",
                [.integer(Int64(reaction)), .integer(atMS), .text(tipID)])
            try database.query(
                "INSERT INTO reactions (tip_id, user_id, reaction, reward, at_unix_ms) VALUES (?, ?, ?, ?, ?)",
                [.text(tipID), .text(user), .integer(Int64(reaction)), .real(reward), .integer(atMS)])
            if reaction == Oo_Recommender_V1_Reaction.done.rawValue {
                try database.query("UPDATE tasks SET done = 1 WHERE user_id = ? AND task_id = ?", [.text(user), row[0]])
            }
            try database.query(
                "INSERT INTO outbox (user_id, tip_id, features, reward) VALUES (?, ?, ?, ?)",
                [.text(user), .text(tipID), row[2], .real(reward)])
            // The user's history, in the same transaction.
            let done: Int64 = reaction == Oo_Recommender_V1_Reaction.done.rawValue ? 1 : 0
            for (dimension, key) in [(Dimension.category, row[3].text ?? ""), (.project, row[4].text ?? ""), (.hourBlock, "\(row[5].integer ?? 0)")] {
                try database.query(
                    """
                    INSERT INTO history_tallies (user_id, dimension, key, shown, done) VALUES (?, ?, ?, 1, ?)
                    ON CONFLICT (user_id, dimension, key) DO UPDATE SET shown = shown + 1, done = done + excluded.done
                    """, [.text(user), .integer(dimension.rawValue), .text(key), .integer(done)])
            }
            return .recorded
        }
    }

    /// A reward waiting to be sent to ml-serving.
    struct PendingUpdate: Sendable {
        var seq: Int64
        var user: String
        var tipID: String
        var features: Data
        var reward: Double
    }

    func pendingUpdates(limit: Int) async throws -> [PendingUpdate] {
        try await store.snapshotRead { database in
            try database.query("SELECT seq, user_id, tip_id, features, reward FROM outbox ORDER BY seq LIMIT ?", [.integer(Int64(limit))])
                .map {
                    PendingUpdate(
                        seq: $0[0].integer ?? 0, user: $0[1].text ?? "", tipID: $0[2].text ?? "", features: $0[3].blob ?? Data(),
                        reward: $0[4].double ?? 0)
                }
        }
    }

    /// Moves a reward ml-serving will never accept out of the outbox, keeping why.
    func deadLetter(_ update: PendingUpdate, reason: String) async throws {
        try await store.write { database in
            try database.query(
                "INSERT OR REPLACE INTO outbox_dead (seq, user_id, tip_id, reward, reason) VALUES (?, ?, ?, ?, ?)",
                [.integer(update.seq), .text(update.user), .text(update.tipID), .real(update.reward), .text(reason)])
            try database.query("DELETE FROM outbox WHERE seq = ?", [.integer(update.seq)])
        }
    }

    func markSent(seq: Int64) async throws {
        // Lost with the power, the reward is sent again; ml-serving drops the repeat by its
        // request id.
        try await store.write(durability: .processCrash) { database in
            try database.query("DELETE FROM outbox WHERE seq = ?", [.integer(seq)])
        }
    }

    func pendingUpdateCount() async throws -> Int {
        try await store.snapshotRead { Int(try $0.query("SELECT COUNT(*) FROM outbox").first?.first?.integer ?? 0) }
    }

    /// `before_tip_id` names no tip of the user.
    struct UnknownTip: Error {}

    /// The user's tips, newest first (in the order they were produced).
    func tips(user: String, limit: Int, before: String?) async throws -> [Oo_Recommender_V1_Tip] {
        try await store.snapshotRead { database in
            var sql = """
                SELECT p.tip_id, p.created_unix_ms, p.policy, p.score, p.prompt_version, p.reaction, p.scoring_latency_us,
                    t.task_id, t.content, t.project, t.labels, t.priority, t.due_unix_ms, t.done
                FROM tips p JOIN tasks t ON t.user_id = p.user_id AND t.task_id = p.task_id
                WHERE p.user_id = ?
                """
            var parameters: [SQLiteValue] = [.text(user)]
            if let before {
                guard try !database.query("SELECT 1 FROM tips WHERE tip_id = ? AND user_id = ?", [.text(before), .text(user)]).isEmpty else {
                    throw UnknownTip()
                }
                sql += " AND p.rowid < (SELECT rowid FROM tips WHERE tip_id = ? AND user_id = ?)"
                parameters += [.text(before), .text(user)]
            }
            sql += " ORDER BY p.rowid DESC LIMIT ?"
            parameters.append(.integer(Int64(limit)))
            return try database.query(sql, parameters).map { row in
                Oo_Recommender_V1_Tip.with {
                    $0.tipID = row[0].text ?? ""
                    $0.userID = user
                    $0.createdUnixMs = row[1].integer ?? 0
                    $0.policy = row[2].text ?? ""
                    $0.score = row[3].double ?? 0
                    $0.promptVersion = row[4].text ?? ""
                    $0.reaction = Oo_Recommender_V1_Reaction(rawValue: Int(row[5].integer ?? 0)) ?? .unspecified
                    $0.scoringLatencyUs = row[6].integer ?? 0
                    $0.task = .with { task in
                        task.taskID = row[7].text ?? ""
                        task.content = row[8].text ?? ""
                        task.project = row[9].text ?? ""
                        let labels = row[10].text ?? ""
                        task.labels = labels.isEmpty ? [] : labels.components(separatedBy: Self.labelSeparator)
                        task.priority = Int32(row[11].integer ?? 1)
                        task.dueUnixMs = row[12].integer ?? 0
                        task.done = row[13].integer == 1
                    }
                }
            }
        }
    }

    /// Drops the decisions (candidates and scores) of up to `limit` tips produced before
    /// `cutoff` (the tips themselves, with the served features, stay); the number of tips
    /// pruned. Also empties the per-candidate tables of files from before decisions were
    /// kept in the tip's row.
    func pruneCandidates(before cutoff: Date, limit: Int) async throws -> Int {
        try await store.write(durability: .processCrash) { database in
            try database.query(
                """
                UPDATE tips SET decision_candidates = NULL, decision_scores = NULL WHERE rowid IN (
                    SELECT rowid FROM tips WHERE created_unix_ms < ? AND decision_candidates IS NOT NULL LIMIT ?)
                """, [.integer(Self.ms(cutoff)), .integer(Int64(limit))])
            var pruned = Int(try database.query("SELECT changes()").first?.first?.integer ?? 0)
            let old = "SELECT tip_id FROM tips WHERE created_unix_ms < ? AND tip_id IN (SELECT tip_id FROM tip_candidates) LIMIT ?"
            let ids = try database.query(old, [.integer(Self.ms(cutoff)), .integer(Int64(max(0, limit - pruned)))]).compactMap { $0.first?.text }
            for id in ids {
                try database.query("DELETE FROM tip_scores WHERE tip_id = ?", [.text(id)])
                try database.query("DELETE FROM tip_candidates WHERE tip_id = ?", [.text(id)])
            }
            pruned += ids.count
            return pruned
        }
    }

    /// Deletes up to `limit` tips produced before `cutoff`, with their reactions (the
    /// history tallies keep what they taught); tips whose reward is still waiting in the
    /// outbox stay until it is sent. The number deleted.
    func pruneTips(before cutoff: Date, limit: Int) async throws -> Int {
        try await store.write(durability: .processCrash) { database in
            let ids = try database.query(
                """
                SELECT tip_id FROM tips WHERE created_unix_ms < ? AND tip_id NOT IN (SELECT tip_id FROM outbox) ORDER BY created_unix_ms LIMIT ?
                """, [.integer(Self.ms(cutoff)), .integer(Int64(limit))]
            ).compactMap { $0.first?.text }
            for id in ids {
                for sql in ["DELETE FROM tip_scores WHERE tip_id = ?", "DELETE FROM tip_candidates WHERE tip_id = ?",
                            "DELETE FROM reactions WHERE tip_id = ?", "DELETE FROM tips WHERE tip_id = ?"] {
                    try database.query(sql, [.text(id)])
                }
            }
            return ids.count
        }
    }

    /// Erases everything held for `user`; the number of rows deleted.
    func deleteUser(_ user: String) async throws -> Int64 {
        try await store.write { database in
            var deleted: Int64 = 0
            let tipIDs = "SELECT tip_id FROM tips WHERE user_id = ?"
            for sql in [
                "DELETE FROM tip_scores WHERE tip_id IN (\(tipIDs))",
                "DELETE FROM tip_candidates WHERE tip_id IN (\(tipIDs))",
                "DELETE FROM reactions WHERE user_id = ?",
                "DELETE FROM outbox WHERE user_id = ?",
                "DELETE FROM outbox_dead WHERE user_id = ?",
                "DELETE FROM tips WHERE user_id = ?",
                "DELETE FROM tasks WHERE user_id = ?",
                "DELETE FROM users WHERE user_id = ?",
                "DELETE FROM history_tallies WHERE user_id = ?",
            ] {
                try database.query(sql, [.text(user)])
                deleted += try database.query("SELECT changes()").first?.first?.integer ?? 0
            }
            return deleted
        }
    }

    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
