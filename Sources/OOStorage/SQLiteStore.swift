import Dispatch
import Foundation

/// One SQLite file owned by one service, used from async code: every access runs on the
/// store's own serial queue (SQLite calls block, so they stay off Swift's cooperative
/// threads), which also serializes writers. Opened in WAL mode with `synchronous = FULL`,
/// so a write that has returned survives the process being killed.
public final class SQLiteStore: @unchecked Sendable {
    // @unchecked Sendable: `database` is only touched on `queue` (a serial queue), inside
    // `read`/`write`; the other properties are immutable.
    private let database: SQLiteDatabase
    private let queue: DispatchQueue

    /// The file's path.
    public var path: String { database.path }

    /// Opens (creating if needed) the database at `path` and runs `schema` (idempotent DDL,
    /// `CREATE TABLE IF NOT EXISTS …`) on it.
    public init(path: String, label: String, schema: String) throws(StorageError) {
        database = try SQLiteDatabase(path: path)
        queue = DispatchQueue(label: label)
        try database.execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA foreign_keys = ON;
            """)
        try database.execute(schema)
    }

    /// Runs `body` on the store's queue with the database; reads and single statements.
    @discardableResult
    public func read<Value: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(self.database) })
            }
        }
    }

    /// Runs `body` in one write transaction (BEGIN IMMEDIATE … COMMIT) on the store's
    /// queue: all of it is durable when this returns, none of it when it throws.
    @discardableResult
    public func write<Value: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Value) async throws -> Value {
        try await read { database in try database.transaction { try body(database) } }
    }
}
