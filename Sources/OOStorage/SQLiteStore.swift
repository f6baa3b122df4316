import Dispatch
import Foundation
import Synchronization

/// One SQLite file owned by one service, used from async code. SQLite calls block, so every
/// access runs on a dispatch queue, never on Swift's cooperative threads:
///
/// - **Writes** (``write(durability:_:)``) go to the writer connection's serial queue and are
///   **group-committed**: the writes that arrive while a commit is under way are run together,
///   each in its own savepoint (one that throws is rolled back alone), under one COMMIT, so
///   concurrent writers share one fsync.
/// - **Snapshot reads** (``snapshotRead(_:)``) go to reader connections of their own (WAL
///   lets readers run beside the writer), so they never queue behind a commit.
/// - ``exclusive(_:)`` runs on the writer's queue with nothing else writing: for callers that
///   must order their own transactions against every write.
///
/// The file is in WAL mode. How durable a write is, is the caller's choice per write
/// (``Durability``): `synchronous = FULL` (fsync'd before it returns) or `NORMAL` (survives
/// the process being killed; the last commits may be lost with the machine's power).
public final class SQLiteStore: @unchecked Sendable {
    // @unchecked Sendable: `writer` is only touched on `writerQueue` (serial) and each reader
    // connection only on its own serial queue; `pending` is a Mutex; the rest is immutable.

    /// What a write must survive before it is acknowledged.
    public enum Durability: Sendable, Hashable {
        /// The machine losing power: the commit is fsync'd before the write returns
        /// (`synchronous = FULL`). For what a caller was told is stored: reactions, settings.
        case powerLoss
        /// The process being killed (`kill -9`), not the machine's power: WAL without an
        /// fsync per commit (`synchronous = NORMAL`; fsync'd at checkpoints). For records
        /// whose loss in a power cut is acceptable, such as a served tip.
        case processCrash
    }

    private let writer: SQLiteDatabase
    private let writerQueue: DispatchQueue
    private let readers: [(database: SQLiteDatabase, queue: DispatchQueue)]
    private let nextReader = Atomic<Int>(0)
    private let commits = Atomic<Int>(0)

    /// Group commits so far: fewer than writes when writers shared them.
    public var commitCount: Int { commits.load(ordering: .relaxed) }
    /// Writes waiting for the next commit.
    public var waitingWriteCount: Int { pending.withLock { $0.writes.count } }

    private struct PendingWrite: Sendable {
        var durability: Durability
        /// Runs the body on the writer; returns what resumes the caller once committed.
        var perform: @Sendable (SQLiteDatabase) throws -> @Sendable () -> Void
        /// Resumes the caller with an error.
        var fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var writes: [PendingWrite] = []
        var drainScheduled = false
    }

    private let pending = Mutex(Queue())
    /// The writer's current `synchronous` setting (touched on `writerQueue` only).
    private var synchronousFull = true

    /// At most this many writes share one commit (64); more wait for the next.
    public static let maxWritesPerCommit = 64

    /// The file's path.
    public var path: String { writer.path }

    /// Opens (creating if needed) the database at `path`, runs `schema` (idempotent DDL,
    /// `CREATE TABLE IF NOT EXISTS …`) on it, and opens `readerCount` reader connections
    /// (default 2).
    public init(path: String, label: String, schema: String, readerCount: Int = 2) throws(StorageError) {
        writer = try SQLiteDatabase(path: path)
        writerQueue = DispatchQueue(label: label)
        try writer.execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA foreign_keys = ON;
            """)
        try writer.execute(schema)
        var readers: [(SQLiteDatabase, DispatchQueue)] = []
        for index in 0..<max(1, readerCount) {
            let reader = try SQLiteDatabase(path: path)
            // A reader never writes: a write slipped into a snapshot read fails loudly.
            try reader.execute("PRAGMA query_only = ON;")
            readers.append((reader, DispatchQueue(label: "\(label).reader-\(index)")))
        }
        self.readers = readers
    }

    /// Runs `body` on a reader connection: a consistent snapshot of everything committed
    /// when it starts, without waiting for writes in progress. `body` may not write.
    @discardableResult
    public func snapshotRead<Value: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Value) async throws -> Value {
        let index = nextReader.add(1, ordering: .relaxed).oldValue % readers.count
        return try await withCheckedThrowingContinuation { continuation in
            readers[index].queue.async {
                continuation.resume(with: Result { try body(self.readers[index].database) })
            }
        }
    }

    /// Runs `body` on the writer's queue with the writer connection, between group commits:
    /// no write runs meanwhile. `body` manages its own transactions (or reads).
    @discardableResult
    public func exclusive<Value: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            writerQueue.async {
                continuation.resume(with: Result {
                    // Its own transactions are as durable as the store's default.
                    if !self.synchronousFull {
                        try self.writer.query("PRAGMA synchronous = FULL")
                        self.synchronousFull = true
                    }
                    return try body(self.writer)
                })
            }
        }
    }

    /// Runs `body` (schema changes: `ALTER TABLE …` for files made by an older version) in
    /// one transaction on the writer, for an initializer, before the store is shared (as the
    /// schema is run in ``init(path:label:schema:readerCount:)``).
    public func migrate(_ body: (SQLiteDatabase) throws -> Void) throws {
        try writer.transaction { try body(writer) }
    }

    /// Runs `body` atomically in a write transaction, group-committed with the writes
    /// beside it: all of it is committed (as durably as `durability` says) when this returns,
    /// none of it when it throws.
    @discardableResult
    public func write<Value: Sendable>(
        durability: Durability = .powerLoss, _ body: @escaping @Sendable (SQLiteDatabase) throws -> Value
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let write = PendingWrite(
                durability: durability,
                perform: { database in
                    let value = try body(database)
                    return { continuation.resume(returning: value) }
                },
                fail: { continuation.resume(throwing: $0) })
            let schedule = pending.withLock { queue in
                queue.writes.append(write)
                defer { queue.drainScheduled = true }
                return !queue.drainScheduled
            }
            if schedule { writerQueue.async { self.drain() } }
        }
    }

    /// On the writer's queue: commits the writes waiting, up to ``maxWritesPerCommit`` at once.
    private func drain() {
        let (batch, more): ([PendingWrite], Bool) = pending.withLock { queue in
            let taken = Array(queue.writes.prefix(Self.maxWritesPerCommit))
            queue.writes.removeFirst(taken.count)
            // Writes left over (more than one commit takes) keep the drain scheduled: this
            // one schedules the next. Otherwise the next write() schedules it.
            queue.drainScheduled = !queue.writes.isEmpty
            return (taken, queue.drainScheduled)
        }
        defer { if more { writerQueue.async { self.drain() } } }
        guard !batch.isEmpty else { return }
        let full = batch.contains { $0.durability == .powerLoss }
        do {
            if full != synchronousFull {
                try writer.query(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                synchronousFull = full
            }
            try writer.query("BEGIN IMMEDIATE")
        } catch {
            for write in batch { write.fail(error) }
            return
        }
        var outcomes: [@Sendable () -> Void] = []
        var committed: [Bool] = []
        for write in batch {
            let outcome: @Sendable () -> Void
            do {
                try writer.query("SAVEPOINT oo_write")
                do {
                    outcome = try write.perform(writer)
                    try writer.query("RELEASE oo_write")
                } catch {
                    _ = try? writer.query("ROLLBACK TO oo_write")
                    _ = try? writer.query("RELEASE oo_write")
                    throw error
                }
            } catch {
                outcomes.append { write.fail(error) }
                committed.append(false)
                continue
            }
            outcomes.append(outcome)
            committed.append(true)
        }
        do {
            try writer.query("COMMIT")
            commits.add(1, ordering: .relaxed)
        } catch {
            _ = try? writer.query("ROLLBACK")
            for (write, done) in zip(batch, zip(outcomes, committed)) {
                if done.1 { write.fail(error) } else { done.0() }
            }
            return
        }
        for outcome in outcomes { outcome() }
    }
}
