import CSQLite
import Foundation

/// A SQLite database file, opened for reading and writing: the small safe surface the
/// services' stores need over SQLite's C API. Not thread-safe: its owner serializes use
/// (``SQLiteStore`` does, on a serial queue).
public final class SQLiteDatabase {
    private var handle: OpaquePointer?
    /// The file's path.
    public let path: String

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws(StorageError) {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_close(handle)
            throw StorageError(message: "Cannot open the database \(path): \(message)")
        }
        self.handle = handle
        sqlite3_busy_timeout(handle, 5_000)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Prepared statements by their SQL, kept for the next ``query(_:_:)`` of the same text:
    /// a tip's hundreds of inserts prepare their statement once, not once each. Bounded by
    /// ``maxCachedStatements`` (all dropped when full; SQL built from data would otherwise
    /// grow it without end).
    private var statements: [String: OpaquePointer] = [:]
    /// 128 statements.
    public static let maxCachedStatements = 128

    private func prepared(_ sql: String) throws(StorageError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure("prepare", sql)
        }
        if statements.count >= Self.maxCachedStatements {
            for cached in statements.values { sqlite3_finalize(cached) }
            statements.removeAll(keepingCapacity: true)
        }
        statements[sql] = statement
        return statement
    }

    /// Runs one or more statements without parameters or results.
    public func execute(_ sql: String) throws(StorageError) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw StorageError(message: "\(message) (in: \(sql.prefix(80)))")
        }
    }

    /// Runs `sql` with `parameters` bound in order and returns every row.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(StorageError) -> [[SQLiteValue]] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in parameters.enumerated() {
            let position = Int32(index + 1)
            let result: Int32
            switch value {
            case .null: result = sqlite3_bind_null(statement, position)
            case .integer(let number): result = sqlite3_bind_int64(statement, position, number)
            case .real(let number): result = sqlite3_bind_double(statement, position, number)
            case .text(let text): result = sqlite3_bind_text(statement, position, text, -1, oo_sqlite_transient())
            case .blob(let bytes):
                result = bytes.withUnsafeBytes { buffer in
                    // A zero-length blob still needs a non-null pointer to be stored as a blob.
                    sqlite3_bind_blob(statement, position, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), oo_sqlite_transient())
                }
            }
            guard result == SQLITE_OK else { throw failure("bind", sql) }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
            case SQLITE_DONE:
                return rows
            default:
                throw failure("step", sql)
            }
        }
    }

    /// Runs `body` in a write transaction (BEGIN IMMEDIATE): committed when it returns,
    /// rolled back when it throws.
    public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try query("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            try? query("ROLLBACK")
            throw error
        }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob(Data()) }
            return .blob(Data(bytes: bytes, count: count))
        default: return .null
        }
    }

    private func failure(_ step: String, _ sql: String) -> StorageError {
        StorageError(message: "SQLite \(step) failed: \(String(cString: sqlite3_errmsg(handle))) (in: \(sql.prefix(80)))")
    }
}

/// A value bound to, or read from, a SQLite statement.
public enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// The integer, if this is one.
    public var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    /// The text, if this is text.
    public var text: String? { if case .text(let value) = self { value } else { nil } }
    /// The bytes, if this is a blob.
    public var blob: Data? { if case .blob(let value) = self { value } else { nil } }
    /// The number as a double (an integer column converts).
    public var double: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
}

/// Storage failed: the database could not be opened, read or written.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    /// What failed, with SQLite's message.
    public var message: String
    public var description: String { message }

    /// An error saying `message`.
    public init(message: String) { self.message = message }
}
