import Foundation
import OOStorage

/// A user's preferences as stored (already validated).
struct StoredPreferences: Sendable, Hashable {
    var timezone = "UTC"
    var quietStartMinute = 0
    var quietEndMinute = 0
    var channels = [NotificationChannel.log]
    var webhookURL = ""

    /// What a user who never set preferences gets: UTC, no quiet hours, the log channel.
    static let defaults = StoredPreferences()
}

/// The channels a tip can go out on.
enum NotificationChannel: String, Sendable, Hashable, CaseIterable {
    /// A structured swift-log line.
    case log
    /// An HTTP POST of a small JSON body to the user's webhook URL.
    case webhook
}

/// Where a delivery is in its life. Stored as the `DeliveryStatus` enum's number.
enum DeliveryState: Int64, Sendable {
    /// Sent on every channel.
    case sent = 1
    /// Inside quiet hours: waits for `deliver_at`.
    case deferred = 2
    /// Being sent, or a channel failed and it waits for its retry.
    case queued = 4
}

/// One row of the delivery log.
struct DeliveryRecord: Sendable, Hashable {
    var id: String
    var userID: String
    var tipID: String
    var title: String
    var state: DeliveryState
    /// The request's notion of now (its `at_unix_ms`, or the clock's).
    var requestedUnixMS: Int64
    /// When it is (or was) due: the request time, or the end of the quiet window.
    var deliverAtUnixMS: Int64
    /// When it was sent; 0 while pending.
    var sentUnixMS: Int64
    var attempts: Int
    var lastError: String
    /// When the dispatcher next takes it (wall clock); nil once sent.
    var nextAttemptUnixMS: Int64?
    /// The channels it has already gone out on (a retry does not repeat them).
    var channelsSent: [String]
}

/// What recording a Deliver did.
enum RecordOutcome: Sendable {
    /// A new delivery row was written (durably).
    case recorded(DeliveryRecord)
    /// The tip went to this user within the dedupe window: the original delivery.
    case duplicate(DeliveryRecord)
    /// Nothing was written: the user already has this many pending deliveries, the limit.
    case tooManyPending(Int64)
}

/// The notifier's durable state in one SQLite file: preferences per user and the delivery
/// log. Every method returns once its transaction has committed (WAL, `synchronous=FULL`).
final class NotifierStore: Sendable {
    private let store: SQLiteStore

    private static let schema = """
        CREATE TABLE IF NOT EXISTS preferences (
            user_id TEXT PRIMARY KEY,
            timezone TEXT NOT NULL,
            quiet_start_minute INTEGER NOT NULL,
            quiet_end_minute INTEGER NOT NULL,
            channels TEXT NOT NULL,
            webhook_url TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS deliveries (
            delivery_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            tip_id TEXT NOT NULL,
            title TEXT NOT NULL,
            status INTEGER NOT NULL,
            requested_unix_ms INTEGER NOT NULL,
            deliver_at_unix_ms INTEGER NOT NULL,
            sent_unix_ms INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            next_attempt_unix_ms INTEGER,
            channels_sent TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS deliveries_by_user ON deliveries (user_id, requested_unix_ms);
        CREATE INDEX IF NOT EXISTS deliveries_by_tip ON deliveries (user_id, tip_id, requested_unix_ms);
        CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_unix_ms)
            WHERE next_attempt_unix_ms IS NOT NULL;
        CREATE INDEX IF NOT EXISTS deliveries_done ON deliveries (requested_unix_ms)
            WHERE next_attempt_unix_ms IS NULL;
        """

    private static let columns = """
        delivery_id, user_id, tip_id, title, status, requested_unix_ms, deliver_at_unix_ms,
        sent_unix_ms, attempts, last_error, next_attempt_unix_ms, channels_sent
        """

    /// Opens (creating if needed) the store at `path`.
    init(path: String) throws(StorageError) {
        store = try SQLiteStore(path: path, label: "oo.notifier.store", schema: Self.schema)
    }

    // MARK: Preferences

    /// `userID`'s preferences, or nil when never set.
    func preferences(userID: String) async throws -> StoredPreferences? {
        try await store.snapshotRead { database in try Self.preferences(database, userID: userID) }
    }

    /// Replaces `userID`'s preferences.
    func setPreferences(_ preferences: StoredPreferences, userID: String) async throws {
        try await store.write { database in
            try database.query(
                """
                INSERT INTO preferences (user_id, timezone, quiet_start_minute, quiet_end_minute, channels, webhook_url)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone,
                    quiet_start_minute = excluded.quiet_start_minute, quiet_end_minute = excluded.quiet_end_minute,
                    channels = excluded.channels, webhook_url = excluded.webhook_url
                """,
                [
                    .text(userID), .text(preferences.timezone), .integer(Int64(preferences.quietStartMinute)),
                    .integer(Int64(preferences.quietEndMinute)),
                    .text(preferences.channels.map(\.rawValue).joined(separator: ",")), .text(preferences.webhookURL),
                ])
        }
    }

    private static func preferences(_ database: SQLiteDatabase, userID: String) throws -> StoredPreferences? {
        let rows = try database.query(
            "SELECT timezone, quiet_start_minute, quiet_end_minute, channels, webhook_url FROM preferences WHERE user_id = ?",
            [.text(userID)])
        guard let row = rows.first else { return nil }
        return StoredPreferences(
            timezone: row[0].text ?? "UTC",
            quietStartMinute: Int(row[1].integer ?? 0),
            quietEndMinute: Int(row[2].integer ?? 0),
            channels: (row[3].text ?? "").split(separator: ",").compactMap { NotificationChannel(rawValue: String($0)) },
            webhookURL: row[4].text ?? "")
    }

    // MARK: Deliveries

    /// Writes `record` unless `userID` already has a delivery of the same tip requested
    /// less than `dedupeWindowMS` before or after it: then that (the most recent) one is
    /// returned and nothing is written. The check and the insert are one transaction, so
    /// two concurrent Delivers of a tip record it once.
    /// A user with `maxPending` or more pending deliveries (deferred or queued) gets
    /// ``RecordOutcome/tooManyPending(_:)`` and nothing is written (a duplicate is still
    /// recognized as one).
    ///
    /// Durable against kill -9, not power loss (a delivery is as durable as the tip it
    /// announces; no fsync of its own, group-committed).
    ///
    /// The record is made by `make` from the user's preferences (nil when never set), read in
    /// the same transaction: one trip to the store per Deliver, not a read and then a write.
    func record(
        userID: String, dedupeWindowMS: Int64, maxPending: Int, make: @escaping @Sendable (StoredPreferences?) -> DeliveryRecord
    ) async throws -> (outcome: RecordOutcome, preferences: StoredPreferences?) {
        try await store.write(durability: .processCrash) { database in
            let preferences = try Self.preferences(database, userID: userID)
            let record = make(preferences)
            precondition(record.userID == userID, "a delivery is recorded under its own user")
            if dedupeWindowMS > 0 {
                let (low, lowOverflow) = record.requestedUnixMS.subtractingReportingOverflow(dedupeWindowMS)
                let (high, highOverflow) = record.requestedUnixMS.addingReportingOverflow(dedupeWindowMS)
                let rows = try database.query(
                    """
                    SELECT \(Self.columns) FROM deliveries
                    WHERE user_id = ? AND tip_id = ? AND requested_unix_ms > ? AND requested_unix_ms < ?
                    ORDER BY requested_unix_ms DESC, rowid DESC LIMIT 1
                    """,
                    [
                        .text(record.userID), .text(record.tipID), .integer(lowOverflow ? .min : low),
                        .integer(highOverflow ? .max : high),
                    ])
                if let row = rows.first, let original = Self.record(row) { return (.duplicate(original), preferences) }
            }
            let pending =
                try database.query(
                    "SELECT COUNT(*) FROM deliveries WHERE user_id = ? AND next_attempt_unix_ms IS NOT NULL",
                    [.text(record.userID)]
                ).first?.first?.integer ?? 0
            if pending >= Int64(maxPending) { return (.tooManyPending(pending), preferences) }
            try database.query(
                "INSERT INTO deliveries (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", Self.values(record))
            return (.recorded(record), preferences)
        }
    }

    /// Saves the outcome of an attempt (state, sent time, attempts, error, next attempt,
    /// channels sent). A delivery deleted meanwhile (DeleteUserData) stays deleted.
    /// Durable against kill -9; lost with the power, a sent delivery may be sent again.
    func update(_ record: DeliveryRecord) async throws {
        try await store.write(durability: .processCrash) { database in
            try database.query(
                """
                UPDATE deliveries SET status = ?, deliver_at_unix_ms = ?, sent_unix_ms = ?, attempts = ?, last_error = ?,
                    next_attempt_unix_ms = ?, channels_sent = ?
                WHERE delivery_id = ?
                """,
                [
                    .integer(record.state.rawValue), .integer(record.deliverAtUnixMS), .integer(record.sentUnixMS),
                    .integer(Int64(record.attempts)), .text(record.lastError),
                    record.nextAttemptUnixMS.map { .integer($0) } ?? .null,
                    .text(record.channelsSent.joined(separator: ",")), .text(record.id),
                ])
        }
    }

    /// Takes up to `limit` deliveries due at `nowMS` (oldest due first) with their users'
    /// preferences, and pushes their next attempt to `leaseUntilMS`, so they are not taken
    /// again while being sent; if the process dies mid-send they are taken again then.
    func claimDue(nowMS: Int64, limit: Int, leaseUntilMS: Int64) async throws -> [(DeliveryRecord, StoredPreferences?)] {
        try await store.write(durability: .processCrash) { database in
            let rows = try database.query(
                """
                SELECT \(Self.columns) FROM deliveries
                WHERE next_attempt_unix_ms IS NOT NULL AND next_attempt_unix_ms <= ?
                ORDER BY next_attempt_unix_ms LIMIT ?
                """,
                [.integer(nowMS), .integer(Int64(limit))])
            var claimed: [(DeliveryRecord, StoredPreferences?)] = []
            var preferencesByUser: [String: StoredPreferences?] = [:]
            for row in rows {
                guard let record = Self.record(row) else { continue }
                try database.query(
                    "UPDATE deliveries SET next_attempt_unix_ms = ? WHERE delivery_id = ?",
                    [.integer(leaseUntilMS), .text(record.id)])
                if preferencesByUser[record.userID] == nil {
                    preferencesByUser[record.userID] = .some(try Self.preferences(database, userID: record.userID))
                }
                claimed.append((record, preferencesByUser[record.userID] ?? nil))
            }
            return claimed
        }
    }

    /// `userID`'s deliveries, newest first (by request time), at most `limit`.
    func deliveries(userID: String, limit: Int) async throws -> [DeliveryRecord] {
        try await store.snapshotRead { database in
            try database.query(
                """
                SELECT \(Self.columns) FROM deliveries WHERE user_id = ?
                ORDER BY requested_unix_ms DESC, rowid DESC LIMIT ?
                """,
                [.text(userID), .integer(Int64(limit))]
            ).compactMap(Self.record)
        }
    }

    /// The delivery with `id`, if any.
    func delivery(id: String) async throws -> DeliveryRecord? {
        try await store.snapshotRead { database in
            try database.query("SELECT \(Self.columns) FROM deliveries WHERE delivery_id = ?", [.text(id)]).first.flatMap(Self.record)
        }
    }

    /// Deletes `userID`'s preferences and deliveries (pending ones included, so their
    /// retries stop); returns how many rows went.
    func deleteUser(userID: String) async throws -> Int64 {
        try await store.write { database in
            try database.query("DELETE FROM preferences WHERE user_id = ?", [.text(userID)])
            let preferences = try database.query("SELECT changes()").first?.first?.integer ?? 0
            try database.query("DELETE FROM deliveries WHERE user_id = ?", [.text(userID)])
            let deliveries = try database.query("SELECT changes()").first?.first?.integer ?? 0
            return preferences + deliveries
        }
    }

    /// Deletes up to `limit` sent deliveries requested and sent before `cutoffMS` (oldest
    /// first); pending ones (deferred or queued: `next_attempt_unix_ms` set) are never
    /// touched. Returns how many went.
    func pruneSent(before cutoffMS: Int64, limit: Int) async throws -> Int {
        try await store.write { database in
            try database.query(
                """
                DELETE FROM deliveries WHERE rowid IN (
                    SELECT rowid FROM deliveries
                    WHERE next_attempt_unix_ms IS NULL AND status = ? AND requested_unix_ms < ? AND sent_unix_ms < ?
                    ORDER BY requested_unix_ms LIMIT ?)
                """,
                [.integer(DeliveryState.sent.rawValue), .integer(cutoffMS), .integer(cutoffMS), .integer(Int64(limit))])
            return Int(try database.query("SELECT changes()").first?.first?.integer ?? 0)
        }
    }

    // MARK: Rows

    private static func values(_ record: DeliveryRecord) -> [SQLiteValue] {
        [
            .text(record.id), .text(record.userID), .text(record.tipID), .text(record.title), .integer(record.state.rawValue),
            .integer(record.requestedUnixMS), .integer(record.deliverAtUnixMS), .integer(record.sentUnixMS),
            .integer(Int64(record.attempts)), .text(record.lastError), record.nextAttemptUnixMS.map { .integer($0) } ?? .null,
            .text(record.channelsSent.joined(separator: ",")),
        ]
    }

    private static func record(_ row: [SQLiteValue]) -> DeliveryRecord? {
        guard row.count == 12, let id = row[0].text, let userID = row[1].text, let tipID = row[2].text,
            let state = row[4].integer.flatMap(DeliveryState.init(rawValue:))
        else { return nil }
        return DeliveryRecord(
            id: id, userID: userID, tipID: tipID, title: row[3].text ?? "", state: state,
            requestedUnixMS: row[5].integer ?? 0, deliverAtUnixMS: row[6].integer ?? 0, sentUnixMS: row[7].integer ?? 0,
            attempts: Int(row[8].integer ?? 0), lastError: row[9].text ?? "", nextAttemptUnixMS: row[10].integer,
            channelsSent: (row[11].text ?? "").split(separator: ",").map(String.init))
    }
}
