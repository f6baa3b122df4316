#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Synchronization

/// A swift-log handler writing one line per message to a file that never grows past
/// `maxBytes`: when a line would take it over, the file is renamed to `<path>.1` (replacing
/// the previous one) and a new file is started. So a long-running service keeps at most
/// about twice `maxBytes` of logs. Lines look like `StreamLogHandler`'s.
public struct RotatingFileLogHandler: LogHandler {
    /// The file and its rotation, shared by every handler writing to the same path.
    public final class Sink: Sendable {
        private struct State {
            var fd: Int32
            var size: Int
            var reportedFailure = false
        }

        public let path: String
        public let maxBytes: Int
        private let state: Mutex<State>

        /// Opens (appending to) `path`.
        public init(path: String, maxBytes: Int = 64 << 20) throws {
            self.path = path
            self.maxBytes = max(4096, maxBytes)
            let fd = Self.open(path)
            guard fd >= 0 else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(.init(rawValue: errno) ?? .EIO)])
            }
            var info = stat()
            fstat(fd, &info)
            state = Mutex(State(fd: fd, size: Int(info.st_size)))
        }

        deinit {
            let fd = state.withLock { $0.fd }
            if fd >= 0 { close(fd) }
        }

        /// O_APPEND: every write lands at the end, even after someone truncates the file.
        private static func open(_ path: String) -> Int32 {
            Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        }

        func write(_ line: String) {
            var bytes = Array(line.utf8)
            state.withLock { state in
                if state.size + bytes.count > maxBytes {
                    // rename() replaces FILE.1 atomically; on failure keep writing where we
                    // were (and try again at the next limit) rather than lose lines.
                    if rename(path, path + ".1") == 0 {
                        let fresh = Self.open(path)
                        if fresh >= 0 {
                            close(state.fd)
                            state.fd = fresh
                        }
                        state.size = 0
                    } else {
                        report(&state, "cannot rotate \(path): errno \(errno)")
                        state.size = 0
                    }
                }
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { Glibc.write(state.fd, $0.baseAddress, $0.count) }
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else {
                        report(&state, "cannot write \(path): errno \(errno)")
                        return
                    }
                    offset += written
                }
                state.size += bytes.count
                bytes.removeAll()
            }
        }

        /// Says once, on stderr, that logging to the file failed.
        private func report(_ state: inout State, _ message: String) {
            guard !state.reportedFailure else { return }
            state.reportedFailure = true
            FileHandle.standardError.write(Data("oo: logging: \(message); later failures are not reported\n".utf8))
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
        let timestamp = Date().formatted(.iso8601)
        sink.write("\(timestamp) \(level) \(label):\(rendered) [\(source)] \(message)\n")
    }
}
