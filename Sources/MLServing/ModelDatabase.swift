import Foundation
import MLProtos
import OOStorage
import SwiftProtobuf

/// ml-serving's SQLite file: the model record, one snapshot per policy and the update log.
///
/// - `model`: one row, the serialized `oo.ml.v1.ModelArtifact` (model id, feature subject,
///   the schema id it was trained on).
/// - `policy_snapshots`: per policy name, its kind, its ``BanditPolicy/snapshot()`` bytes
///   and the last update-log sequence number the snapshot includes.
/// - `update_log`: every acknowledged update (user, request, the `TipFeatures` bytes,
///   reward, time), appended and committed before the update is applied or answered.
///   Sequence numbers come from AUTOINCREMENT, so they are never reused after rows are
///   deleted. Rows a snapshot covers are deleted when the snapshot is taken.
///
/// The static helpers run on the store's queue, inside ``OOStorage/SQLiteStore/read(_:)``
/// or ``OOStorage/SQLiteStore/write(_:)``.
struct ModelDatabase: Sendable {
    static let schema = """
        CREATE TABLE IF NOT EXISTS model (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            artifact BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS policy_snapshots (
            policy TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            state BLOB NOT NULL,
            seq INTEGER NOT NULL,
            at_ms INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS update_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            features BLOB NOT NULL,
            reward REAL NOT NULL,
            at_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS update_log_by_user ON update_log (user_id);
        CREATE TABLE IF NOT EXISTS applied_requests (
            request_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS applied_requests_by_seq ON applied_requests (seq);
        """

    /// A stored snapshot.
    struct Snapshot: Sendable {
        var kind: String
        var state: [UInt8]
        var seq: Int64
    }

    /// A logged update.
    struct LoggedUpdate: Sendable {
        var seq: Int64
        /// nil when the stored bytes are not a `TipFeatures` (the row is skipped).
        var features: Oo_Ml_V1_TipFeatures?
        var reward: Double
    }

    let store: SQLiteStore

    init(path: String) throws(MLServingError) {
        do {
            store = try SQLiteStore(path: path, label: "oo.ml-serving.db", schema: Self.schema)
        } catch {
            throw MLServingError("Cannot open ml-serving's database \(path): \(error.message). Check databasePath.")
        }
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func model(_ db: SQLiteDatabase) throws -> Oo_Ml_V1_ModelArtifact? {
        guard let bytes = try db.query("SELECT artifact FROM model WHERE id = 1").first?.first?.blob else { return nil }
        return try Oo_Ml_V1_ModelArtifact(serializedBytes: bytes)
    }

    static func saveModel(_ db: SQLiteDatabase, _ artifact: Oo_Ml_V1_ModelArtifact) throws {
        try db.query(
            "INSERT INTO model (id, artifact) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET artifact = excluded.artifact",
            [.blob(try artifact.serializedData())])
    }

    static func snapshots(_ db: SQLiteDatabase) throws -> [String: Snapshot] {
        var result: [String: Snapshot] = [:]
        for row in try db.query("SELECT policy, kind, state, seq FROM policy_snapshots") {
            guard let name = row[0].text, let kind = row[1].text, let state = row[2].blob, let seq = row[3].integer else { continue }
            result[name] = Snapshot(kind: kind, state: [UInt8](state), seq: seq)
        }
        return result
    }

    /// Upserts every snapshot at `seq` (the caller holds a transaction).
    static func writeSnapshots(_ db: SQLiteDatabase, _ states: [(name: String, kind: String, state: [UInt8])], seq: Int64) throws {
        let now = now()
        for entry in states {
            try db.query(
                """
                INSERT INTO policy_snapshots (policy, kind, state, seq, at_ms) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (policy) DO UPDATE SET kind = excluded.kind, state = excluded.state, seq = excluded.seq, at_ms = excluded.at_ms
                """,
                [.text(entry.name), .text(entry.kind), .blob(Data(entry.state)), .integer(seq), .integer(now)])
        }
    }

    /// How many request ids are remembered for recognising a resent update.
    static let rememberedRequests: Int64 = 100_000

    /// Appends one update and returns its sequence number, or nil when an update with this
    /// non-empty `requestID` was applied already (a caller resending after a lost answer):
    /// then nothing is written. The caller holds a transaction.
    static func append(_ db: SQLiteDatabase, userID: String, requestID: String, features: Data, reward: Double) throws -> Int64? {
        if !requestID.isEmpty,
           try !db.query("SELECT 1 FROM applied_requests WHERE request_id = ?", [.text(requestID)]).isEmpty {
            return nil
        }
        let rows = try db.query(
            "INSERT INTO update_log (user_id, request_id, features, reward, at_ms) VALUES (?, ?, ?, ?, ?) RETURNING seq",
            [.text(userID), .text(requestID), .blob(features), .real(reward), .integer(now())])
        guard let seq = rows.first?.first?.integer else { throw StorageError(message: "INSERT … RETURNING gave no sequence number.") }
        if !requestID.isEmpty {
            try db.query("INSERT INTO applied_requests (request_id, seq) VALUES (?, ?)", [.text(requestID), .integer(seq)])
            // Bounded: the oldest ids are forgotten (a resend comes within seconds, not 100,000 updates later).
            if seq % 1_000 == 0 {
                try db.query("DELETE FROM applied_requests WHERE seq <= ?", [.integer(seq - rememberedRequests)])
            }
        }
        return seq
    }

    /// Up to `limit` updates after `seq`, in order.
    static func updates(_ db: SQLiteDatabase, after seq: Int64, limit: Int) throws -> [LoggedUpdate] {
        try db.query("SELECT seq, features, reward FROM update_log WHERE seq > ? ORDER BY seq LIMIT ?", [.integer(seq), .integer(Int64(limit))])
            .map { row in
                guard let seq = row[0].integer, let bytes = row[1].blob, let reward = row[2].double else {
                    throw StorageError(message: "An update-log row is malformed.")
                }
                return LoggedUpdate(seq: seq, features: try? Oo_Ml_V1_TipFeatures(serializedBytes: bytes), reward: reward)
            }
    }
}
