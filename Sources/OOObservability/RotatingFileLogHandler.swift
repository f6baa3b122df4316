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
            var handle: FileHandle?
            var size: Int
        }

        public let path: String
        public let maxBytes: Int
        private let state: Mutex<State>

        /// Opens (appending to) `path`.
        public init(path: String, maxBytes: Int = 64 << 20) throws {
            self.path = path
            self.maxBytes = max(4096, maxBytes)
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            let size = Int(try handle.seekToEnd())
            state = Mutex(State(handle: handle, size: size))
        }

        func write(_ line: String) {
            let bytes = Data(line.utf8)
            state.withLock { state in
                if state.size + bytes.count > maxBytes {
                    try? state.handle?.close()
                    try? FileManager.default.removeItem(atPath: path + ".1")
                    try? FileManager.default.moveItem(atPath: path, toPath: path + ".1")
                    FileManager.default.createFile(atPath: path, contents: nil)
                    state.handle = try? FileHandle(forWritingTo: URL(fileURLWithPath: path))
                    state.size = 0
                }
                try? state.handle?.write(contentsOf: bytes)
                state.size += bytes.count
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
        let timestamp = Date().formatted(.iso8601)
        sink.write("\(timestamp) \(level) \(label):\(rendered) [\(source)] \(message)\n")
    }
}
