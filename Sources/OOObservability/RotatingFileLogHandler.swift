#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Synchronization

/// A swift-log handler writing one line per message, through a bounded queue, to a file that
/// never grows past `maxBytes` (or to standard error).
///
/// Logging never blocks the caller on I/O: a line is queued (a lock held for an append) and
/// one writer thread of the sink writes the queue out. When the queue is full (the disk or
/// the terminal is slower than the logging) new lines are dropped and counted, and the
/// writer says how many were lost (`oo: logging dropped N lines`) once it catches up. A file
/// is rotated when a line would take it past `maxBytes`: renamed to `<path>.1` (replacing
/// the previous one), and a new file started, so a long-running service keeps at most about
/// twice `maxBytes` of logs. Lines look like `StreamLogHandler`'s.
public struct RotatingFileLogHandler: LogHandler {
    /// Where the lines go, with the queue in front of it; shared by every handler that writes
    /// to the same destination.
    public final class Sink: Sendable {
        /// Limits of the queue between loggers and the writer thread.
        public struct Limits: Sendable, Hashable {
            /// The most lines queued. Default: 10,000.
            public var maxQueuedLines = 10_000
            /// The most bytes queued. Default: 8 MiB.
            public var maxQueuedBytes = 8 << 20
            /// Longer messages are cut to this many bytes (marked `…[cut]`). Default: 16 KiB.
            public var maxLineBytes = 16 << 10
            /// How long the writer waits after the first line of a batch before writing, so
            /// that the lines of a burst share one wakeup and one pass (a service logging a
            /// line per call would otherwise wake the writer thread for every call). Lines
            /// reach the output at most this late; ``flush(timeout:)`` still waits for them.
            /// Default: 10 ms.
            public var batchDelay: Duration = .milliseconds(10)
            /// Creates the defaults.
            public init() {}
        }

        /// The file written, or nil for standard error.
        public let path: String?
        /// The size past which the file is rotated (`Int.max` for standard error).
        public let maxBytes: Int
        /// The queue's limits.
        public let limits: Limits
        private let core: Core

        /// Opens (appending to) `path`, and starts the writer thread.
        public init(path: String, maxBytes: Int = 64 << 20, limits: Limits = Limits()) throws {
            self.path = path
            self.maxBytes = max(4096, maxBytes)
            self.limits = limits
            let fd = Core.open(path)
            guard fd >= 0 else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(.init(rawValue: errno) ?? .EIO)])
            }
            var info = stat()
            fstat(fd, &info)
            core = Core(fd: fd, ownsDescriptor: true, size: Int(info.st_size), path: path, maxBytes: self.maxBytes, batchDelay: limits.batchDelay)
            core.start()
        }

        /// Writes to an open descriptor (standard error by default), never rotated; the
        /// descriptor is not closed.
        public init(fileDescriptor: Int32 = STDERR_FILENO, limits: Limits = Limits()) {
            self.path = nil
            self.maxBytes = .max
            self.limits = limits
            core = Core(fd: fileDescriptor, ownsDescriptor: false, size: 0, path: nil, maxBytes: .max, batchDelay: limits.batchDelay)
            core.start()
        }

        deinit {
            core.stop()
        }

        /// Lines queued and not yet handed to the output.
        public var pendingLines: Int { core.queue.withLock { $0.enqueuedTotal - $0.writtenTotal } }

        /// Lines dropped so far because the queue was full.
        public var droppedLines: Int { core.queue.withLock { $0.droppedTotal } }

        /// Queues one line (ending in a newline); drops it when the queue is full. Never
        /// waits for I/O.
        func write(_ line: String) {
            var line = line
            if line.utf8.count > limits.maxLineBytes {
                line = String(decoding: line.utf8.prefix(limits.maxLineBytes), as: UTF8.self) + "…[cut]\n"
            }
            core.enqueue(line, limits: limits)
        }

        /// Waits until every line queued before the call is written, or `timeout` passes
        /// (at exit, so the last lines are not lost). Sleeps, never blocks a thread.
        public func flush(timeout: Duration = .seconds(2)) async {
            let target = core.queue.withLock { $0.enqueuedTotal }
            let deadline = ContinuousClock.now + timeout
            while core.queue.withLock({ $0.writtenTotal }) < target, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }

        /// Runs `body`, then ``flush(timeout:)``, also when `body` throws.
        public func flushing<Result>(_ body: () async throws -> Result) async throws -> Result {
            do {
                let result = try await body()
                await flush()
                return result
            } catch {
                await flush()
                throw error
            }
        }
    }

    private let label: String
    private let sink: Sink
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    /// A handler for `label` writing to `sink`.
    public init(label: String, sink: Sink, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit { all.merge(explicit) { _, new in new } }
        let rendered = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let timestamp = LogTimestamp.now()
        sink.write("\(timestamp) \(level) \(label):\(rendered) [\(source)] \(message)\n")
    }
}

/// The queue and the writer thread behind a ``RotatingFileLogHandler/Sink``. A separate
/// object so that the thread does not keep the sink alive: the sink's deinit stops it.
private final class Core: Sendable {
    struct Queue {
        var lines: [String] = []
        var bytes = 0
        /// Dropped since the writer last reported it.
        var droppedUnreported = 0
        var droppedTotal = 0
        var enqueuedTotal = 0
        var writtenTotal = 0
        var stopping = false
    }

    /// The output: touched only by the writer thread (the lock is never contended).
    struct Output {
        var fd: Int32
        var size: Int
        var reportedFailure = false
    }

    let queue = Mutex(Queue())
    private let output: Mutex<Output>
    private let wakeup = DispatchSemaphore(value: 0)
    private let ownsDescriptor: Bool
    private let path: String?
    private let maxBytes: Int
    /// The writer's wait after the first line of a batch (at most a second).
    private let batchDelayMicroseconds: useconds_t

    init(fd: Int32, ownsDescriptor: Bool, size: Int, path: String?, maxBytes: Int, batchDelay: Duration) {
        let (seconds, attoseconds) = max(batchDelay, .zero).components
        batchDelayMicroseconds = useconds_t(clamping: min(seconds, 1) * 1_000_000 + attoseconds / 1_000_000_000_000)
        output = Mutex(Output(fd: fd, size: size))
        self.ownsDescriptor = ownsDescriptor
        self.path = path
        self.maxBytes = maxBytes
    }

    /// O_APPEND: every write lands at the end, even after someone truncates the file.
    static func open(_ path: String) -> Int32 {
        Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    }

    /// Starts the writer: a thread of its own, since it blocks in write(2).
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "oo-log-writer"
        thread.start()
    }

    func stop() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
    }

    func enqueue(_ line: String, limits: RotatingFileLogHandler.Sink.Limits) {
        let count = line.utf8.count
        let wake = queue.withLock { queue -> Bool in
            guard queue.lines.count < limits.maxQueuedLines, queue.bytes + count <= limits.maxQueuedBytes else {
                queue.droppedUnreported += 1
                queue.droppedTotal += 1
                return false
            }
            queue.lines.append(line)
            queue.bytes += count
            queue.enqueuedTotal += 1
            // The writer sleeps only on an empty queue: wake it for the first line.
            return queue.lines.count == 1
        }
        if wake { wakeup.signal() }
    }

    private func run() {
        // A pipe whose reader has gone (`oo serve … | head`, a test's pipe) must fail the
        // write with EPIPE, reported once, not kill the process: SIGPIPE is blocked on this
        // thread, so the signal a write raises stays pending here and is never delivered.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        while true {
            wakeup.wait()
            // On this thread of its own: the lines of a burst join the batch meanwhile.
            if batchDelayMicroseconds > 0, !queue.withLock({ $0.stopping }) { usleep(batchDelayMicroseconds) }
            while true {
                let (batch, dropped, stopping) = queue.withLock { queue in
                    defer {
                        queue.lines.removeAll(keepingCapacity: true)
                        queue.bytes = 0
                        queue.droppedUnreported = 0
                    }
                    return (queue.lines, queue.droppedUnreported, queue.stopping)
                }
                if batch.isEmpty, dropped == 0 {
                    if stopping {
                        closeOutput()
                        return
                    }
                    break
                }
                for line in batch { write(line) }
                if dropped > 0 {
                    write("oo: logging dropped \(dropped) lines (the log queue was full: the output is slower than the logging)\n")
                }
                queue.withLock { $0.writtenTotal += batch.count }
            }
        }
    }

    private func closeOutput() {
        guard ownsDescriptor else { return }
        output.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    private func write(_ line: String) {
        var bytes = Array(line.utf8)
        output.withLock { output in
            if let path, output.size + bytes.count > maxBytes {
                // rename() replaces FILE.1 atomically; on failure keep writing where we were
                // (and try again at the next limit) rather than lose lines.
                if rename(path, path + ".1") == 0 {
                    let fresh = Self.open(path)
                    if fresh >= 0 {
                        close(output.fd)
                        output.fd = fresh
                    }
                } else {
                    report(&output, "cannot rotate \(path): errno \(errno)")
                }
                output.size = 0
            }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(output.fd, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    report(&output, "cannot write \(path ?? "fd \(output.fd)"): errno \(errno)")
                    return
                }
                offset += written
            }
            output.size += bytes.count
            bytes.removeAll()
        }
    }

    /// Says once, on stderr, that logging failed.
    private func report(_ output: inout Output, _ message: String) {
        guard !output.reportedFailure else { return }
        output.reportedFailure = true
        FileHandle.standardError.write(Data("oo: logging: \(message); later failures are not reported\n".utf8))
    }
}

/// The time at the head of a log line, `2026-12-07T17:46:05Z` (UTC, whole seconds), as
/// `Date.formatted(.iso8601)` writes it, worked out with `gmtime_r` and kept for the second
/// it names: formatting a date per line cost more than the rest of the line.
enum LogTimestamp {
    private static let last = Mutex((second: Int.min, text: ""))

    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return text(second: Int(spec.tv_sec))
    }

    static func text(second: Int) -> String {
        if let cached = last.withLock({ $0.second == second ? $0.text : nil }) { return cached }
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = Int(parts.tm_year) + 1900
        let yearText = year >= 0 && year < 10_000 ? String(repeating: "0", count: 4 - String(year).count) + String(year) : String(year)
        let text = "\(yearText)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
        last.withLock { $0 = (second, text) }
        return text
    }
}
