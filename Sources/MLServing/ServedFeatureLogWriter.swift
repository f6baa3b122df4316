#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import MLProtos
import SwiftProtobuf
import Synchronization

/// Appends the served feature log: one `oo.ml.v1.FeatureLogRecord` per scored candidate,
/// each preceded by its length as a varint (the format ``OOSchema/FeatureLog`` and
/// `oo schema parity` read).
///
/// Writes happen on the writer's own serial queue, off Swift's cooperative threads and off
/// the request's path: ``append(requestID:schemaID:features:timestampMs:)`` only enqueues.
/// The queue is bounded: past `maxPendingRecords` waiting records, new ones are dropped and
/// counted (``droppedRecords``) instead of growing memory without limit. A file that would
/// pass `maxBytes` is renamed to `<path>.1` (replacing the older one) and a new one begun.
final class ServedFeatureLogWriter: Sendable {
    private struct File {
        var descriptor: Int32
        var size: Int
    }

    let path: String
    private let maxBytes: Int
    private let maxPending: Int
    private let maxPendingBytes: Int
    private let queue: DispatchQueue
    private let logger: Logger
    /// Touched only on `queue`; the mutex makes that checkable (it is never contended).
    private let file: Mutex<File?>
    /// Records enqueued and not yet written, and their bytes.
    private struct Pending {
        var records = 0
        var bytes = 0
        /// Encoded requests waiting for the next drain, with their record counts.
        var chunks: [(bytes: [UInt8], records: Int)] = []
        /// A drain is scheduled on `queue`.
        var scheduled = false
    }

    /// How long a drain waits after the first waiting request, so that the requests of a
    /// burst share one wakeup of the writer (not one per Score). Records are in the file at
    /// most this late; ``flush()`` does not wait for it.
    static let batchDelay = DispatchTimeInterval.milliseconds(5)
    private let pending = Mutex(Pending())
    private let dropped = Mutex(0)

    /// Opens (creating if needed) the log at `path` for appending.
    init(path: String, maxBytes: Int, maxPendingRecords: Int, maxPendingBytes: Int = 32 << 20, logger: Logger) throws(MLServingError) {
        self.path = path
        self.maxBytes = maxBytes
        self.maxPending = maxPendingRecords
        self.maxPendingBytes = maxPendingBytes
        self.logger = logger
        queue = DispatchQueue(label: "oo.ml-serving.served-log")
        file = Mutex(try Self.open(path))
    }

    /// Records dropped because the queue was full or a write failed.
    var droppedRecords: Int { dropped.withLock { $0 } }

    /// Enqueues one record per feature message (each already encoded: Score measures them
    /// anyway, so they are encoded once); returns false (and counts them dropped)
    /// when the queue is full (by records or by bytes). The records are encoded here, on
    /// the caller's thread, so what waits is exactly what is counted.
    @discardableResult
    func append(requestID: String, schemaID: String, encodedFeatures features: [Data], timestampMs: Int64) -> Bool {
        var bytes: [UInt8] = []
        var encodingFailures = 0
        for message in features {
            var record = Oo_Ml_V1_FeatureLogRecord()
            record.schemaID = schemaID
            record.requestID = requestID
            record.timestampUnixMs = timestampMs
            do {
                record.features = message
                let body: [UInt8] = try record.serializedBytes()
                Self.appendVarint(UInt64(body.count), to: &bytes)
                bytes += body
            } catch {
                encodingFailures += 1
            }
        }
        if encodingFailures > 0 { dropped.withLock { $0 += encodingFailures } }
        let (count, size) = (features.count, bytes.count)
        let accepted = pending.withLock { pending -> Bool? in
            guard pending.records + count <= maxPending, pending.bytes + size <= maxPendingBytes else { return nil }
            pending.records += count
            pending.bytes += size
            pending.chunks.append((bytes, count))
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        guard let schedule = accepted else {
            let total = dropped.withLock { dropped in
                dropped += count
                return dropped
            }
            // Said once per 10,000 dropped records, not per request.
            if (total - count) / 10_000 != total / 10_000 || total == count {
                logger.warning("The served feature log \(path) is behind (at most \(maxPending) records, \(maxPendingBytes) bytes wait); \(total) records dropped so far.")
            }
            return false
        }
        if schedule { queue.asyncAfter(deadline: .now() + Self.batchDelay) { [self] in drain() } }
        return true
    }

    /// On `queue`: writes every waiting request, in the order they came.
    private func drain() {
        let chunks = pending.withLock { pending in
            defer {
                pending.chunks.removeAll(keepingCapacity: true)
                pending.scheduled = false
            }
            return pending.chunks
        }
        for chunk in chunks {
            write(chunk.bytes)
            pending.withLock {
                $0.records -= chunk.records
                $0.bytes -= chunk.bytes.count
            }
        }
    }

    /// Returns once every record enqueued before it is written.
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                drain()
                continuation.resume()
            }
        }
    }

    /// Writes what is queued and closes the file; later appends are dropped.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                drain()
                file.withLock { file in
                    if let descriptor = file?.descriptor { Glibc.close(descriptor) }
                    file = nil
                }
                continuation.resume()
            }
        }
    }

    /// On `queue`: rotates when needed, then writes all of `bytes`.
    private func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        file.withLock { file in
            guard var current = file else { return }
            if current.size > 0, current.size + bytes.count > maxBytes {
                Glibc.close(current.descriptor)
                file = nil
                if rename(path, path + ".1") != 0 {
                    logger.error("Cannot rotate the served feature log \(path): \(String(cString: strerror(errno))).")
                }
                do throws(MLServingError) {
                    current = try Self.open(path)
                } catch {
                    logger.error("Cannot reopen the served feature log: \(error.message). Served features are no longer logged.")
                    return
                }
            }
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { buffer in
                    Glibc.write(current.descriptor, buffer.baseAddress! + written, buffer.count - written)
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    logger.error("Writing the served feature log \(path) failed: \(String(cString: strerror(errno))).")
                    dropped.withLock { $0 += 1 }
                    break
                }
                written += result
            }
            current.size += written
            file = current
        }
    }

    private static func open(_ path: String) throws(MLServingError) -> File {
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw MLServingError("Cannot open the served feature log \(path): \(String(cString: strerror(errno))). Check servedFeatureLog.path.")
        }
        var info = stat()
        let size = fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
        return File(descriptor: descriptor, size: size)
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }
}
