import Dispatch
import Foundation
import OOStorage
import OOSchema

/// A registered version as the store keeps it.
public struct StoredVersion: Sendable, Hashable {
    /// The subject it belongs to.
    public var subject: String
    /// 1, 2, … per subject, never reused.
    public var version: Int
    /// The schema's global id.
    public var schemaID: String
    /// Soft-deleted.
    public var deleted: Bool
}

/// What a registration did.
public enum RegistrationOutcome: Sendable, Equatable {
    /// A new version was stored.
    case created(version: Int)
    /// The subject already had this schema as a live version.
    case existing(version: Int)
    /// The schema is incompatible with these versions: nothing was stored.
    case incompatible([BreakingChange])
}

/// The registry's durable state in one SQLite file (WAL mode, synchronous=FULL): schemas
/// by id, versions per subject, compatibility modes. A call returns only once its write is
/// committed, so an acknowledged registration survives the process being killed.
///
/// SQLite calls block, so they run on the store's own serial queue, never on Swift's
/// cooperative threads; that queue also serializes registrations, so the compatibility
/// check and the insert of a version see the same state.
public final class SchemaStore: @unchecked Sendable {
    // @unchecked Sendable: `database` is only touched on `queue` (a serial queue), through
    // `onQueue`; the other properties are immutable.
    private let database: SQLiteDatabase
    private let queue = DispatchQueue(label: "oo.registry.store")

    /// The subject key under which the global default mode is stored.
    static let globalSubject = ""

    /// Opens (creating if needed) the store at `path`.
    public init(path: String) throws(StorageError) {
        database = try SQLiteDatabase(path: path)
        try database.execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA foreign_keys = ON;
            CREATE TABLE IF NOT EXISTS schemas (
                id TEXT PRIMARY KEY,
                descriptor_set BLOB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS versions (
                subject TEXT NOT NULL,
                version INTEGER NOT NULL,
                schema_id TEXT NOT NULL REFERENCES schemas(id),
                deleted INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (subject, version)
            );
            CREATE TABLE IF NOT EXISTS modes (
                subject TEXT PRIMARY KEY,
                mode TEXT NOT NULL
            );
            """)
    }

    /// Registers `schemaID` (with its `descriptorSet` bytes) as the next version of
    /// `subject`, unless the subject already has it (then its version is returned) or
    /// `check` finds breaking changes against the subject's live versions (oldest first,
    /// each with its descriptor set bytes) under `mode`.
    public func register(
        subject: String, schemaID: String, descriptorSet: Data,
        check: @escaping @Sendable (_ mode: CompatibilityMode, _ previous: [(StoredVersion, Data)]) -> [BreakingChange]
    ) async throws -> RegistrationOutcome {
        try await onQueue { database in
            try database.transaction { () throws -> RegistrationOutcome in
                let live = try Self.versions(database, subject: subject, includeDeleted: false)
                if let existing = live.first(where: { $0.schemaID == schemaID }) {
                    return .existing(version: existing.version)
                }
                let mode = try Self.mode(database, subject: subject).mode
                // Only what the mode compares with: every live version, or the latest.
                let needed = mode == .none ? [] : (mode.isTransitive ? live : Array(live.suffix(1)))
                let previous = try needed.map { version -> (StoredVersion, Data) in
                    (version, try Self.descriptorSet(database, id: version.schemaID) ?? Data())
                }
                let changes = check(mode, previous)
                if !changes.isEmpty { return .incompatible(changes) }
                try database.query("INSERT OR IGNORE INTO schemas (id, descriptor_set) VALUES (?, ?)",
                                   [.text(schemaID), .blob(descriptorSet)])
                let next = try database.query("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE subject = ?",
                                              [.text(subject)]).first?.first?.integer ?? 1
                try database.query("INSERT INTO versions (subject, version, schema_id) VALUES (?, ?, ?)",
                                   [.text(subject), .integer(next), .text(schemaID)])
                return .created(version: Int(next))
            }
        }
    }

    /// The descriptor set bytes of the schema with `id`, deleted versions included.
    public func schema(id: String) async throws -> Data? {
        try await onQueue { try Self.descriptorSet($0, id: id) }
    }

    /// The versions of `subject`, oldest first.
    public func versions(subject: String, includeDeleted: Bool) async throws -> [StoredVersion] {
        try await onQueue { try Self.versions($0, subject: subject, includeDeleted: includeDeleted) }
    }

    /// The subjects with at least one live version, sorted.
    public func subjects() async throws -> [String] {
        try await onQueue { database in
            try database.query("SELECT DISTINCT subject FROM versions WHERE deleted = 0 ORDER BY subject").compactMap { $0.first?.text }
        }
    }

    /// Soft-deletes one version; false when there is no such live version.
    public func deleteVersion(subject: String, version: Int) async throws -> Bool {
        try await onQueue { database in
            try database.transaction {
                let found = try database.query(
                    "SELECT 1 FROM versions WHERE subject = ? AND version = ? AND deleted = 0",
                    [.text(subject), .integer(Int64(version))])
                guard !found.isEmpty else { return false }
                try database.query("UPDATE versions SET deleted = 1 WHERE subject = ? AND version = ?",
                                   [.text(subject), .integer(Int64(version))])
                return true
            }
        }
    }

    /// Sets the mode of `subject` (``globalSubject``: the default for every subject).
    public func setMode(_ mode: CompatibilityMode, subject: String) async throws {
        _ = try await onQueue { database in
            try database.query("INSERT INTO modes (subject, mode) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET mode = excluded.mode",
                               [.text(subject), .text(mode.rawValue)])
        }
    }

    /// The mode that applies to `subject`, and whether it is the global default.
    public func mode(subject: String) async throws -> (mode: CompatibilityMode, isDefault: Bool) {
        try await onQueue { try Self.mode($0, subject: subject) }
    }

    // MARK: On the queue

    /// The global default when nothing is configured: BACKWARD, as Confluent's registry.
    public static let defaultMode = CompatibilityMode.backward

    private static func mode(_ database: SQLiteDatabase, subject: String) throws -> (mode: CompatibilityMode, isDefault: Bool) {
        let rows = try database.query("SELECT subject, mode FROM modes WHERE subject IN (?, ?)", [.text(subject), .text(globalSubject)])
        func stored(_ key: String) -> CompatibilityMode? {
            rows.first { $0[0].text == key }.flatMap { $0[1].text }.flatMap(CompatibilityMode.init(rawValue:))
        }
        if subject != globalSubject, let own = stored(subject) { return (own, false) }
        return (stored(globalSubject) ?? defaultMode, subject != globalSubject)
    }

    private static func versions(_ database: SQLiteDatabase, subject: String, includeDeleted: Bool) throws -> [StoredVersion] {
        try database.query(
            "SELECT version, schema_id, deleted FROM versions WHERE subject = ? AND (deleted = 0 OR ?) ORDER BY version",
            [.text(subject), .integer(includeDeleted ? 1 : 0)]
        ).map { row in
            StoredVersion(subject: subject, version: Int(row[0].integer ?? 0), schemaID: row[1].text ?? "", deleted: row[2].integer == 1)
        }
    }

    private static func descriptorSet(_ database: SQLiteDatabase, id: String) throws -> Data? {
        try database.query("SELECT descriptor_set FROM schemas WHERE id = ?", [.text(id)]).first?.first?.blob
    }

    /// Runs `body` on the store's queue, with the database.
    private func onQueue<Value: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Swift.Result { try body(self.database) })
            }
        }
    }
}
