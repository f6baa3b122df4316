import OOMesh
import Synchronization

/// Bytes and control events waiting to leave on one stream.
///
/// The application writes parts; the loop takes headers and pulls DATA bytes when HTTP/2
/// flow control lets it. A writer suspends while more than `highWaterBytes` are queued
/// and resumes once the loop has drained the queue below half of that, so a peer that
/// stops reading stops the writer instead of growing our memory.
final class StreamOutbox: Sendable {
    /// How the stream ends.
    enum End: Sendable {
        /// Server: trailers with this status, then END_STREAM.
        case trailers(Status, Metadata)
        /// Client: END_STREAM after the last message.
        case endStream
    }

    /// What happens to writes once the stream is over.
    enum Closed: Sendable {
        /// Writes throw this error (the stream was reset or cancelled).
        case fail(RPCError)
        /// Writes are dropped silently (a client whose response is complete).
        case discard
    }

    private struct State {
        var headers: Metadata?
        /// A web response's status and headers (plain HTTP), until the loop takes them.
        var httpHead: HTTPResponseHead?
        var headersTaken = false
        var chunks: [[UInt8]] = []
        var chunkHead = 0
        var offset = 0
        var queuedBytes = 0
        var end: End?
        var endTaken = false
        var closed: Closed?
        var kickScheduled = false
        var writer: CheckedContinuation<Void, any Error>?
        var writerID: UInt64 = 0
        /// Client: what was sent so far (headers, chunks), kept until the server shows it
        /// has the request, so that a refused stream can be sent again; nil once that is
        /// impossible or unnecessary.
        var replay: Replay?

        /// Queues a framed message: its 5-byte prefix and its body, as two chunks.
        mutating func enqueue(_ message: (prefix: [UInt8], body: [UInt8])) {
            // Room for a typical call's prefix and body at once, not grown 1, 2, 4.
            if chunks.capacity == 0 { chunks.reserveCapacity(4) }
            chunks.append(message.prefix)
            chunks.append(message.body)
            queuedBytes += message.prefix.count + message.body.count
        }
    }

    struct Replay {
        var headers: Metadata?
        var chunks: [[UInt8]] = []
        var bytes = 0
    }

    /// The most request bytes kept for a transparent retry; a call that has sent more
    /// before being refused fails instead.
    static let replayLimitBytes = 64 * 1024

    private let state = Mutex(State())
    private let highWaterBytes: Int
    /// Asks the loop to look at this outbox (submit headers, resume DATA).
    private let kick: @Sendable () -> Void

    /// How messages are compressed: a `CompressionAlgorithm.allCases` index, read without
    /// the lock on every write (it is set once, before the first message).
    private let compressionIndex = Atomic<Int>(0)

    /// The largest message that may be written (before compression).
    private let maxMessageBytes: Int

    init(highWaterBytes: Int, maxMessageBytes: Int = .max, kick: @escaping @Sendable () -> Void) {
        self.highWaterBytes = highWaterBytes
        self.maxMessageBytes = maxMessageBytes
        self.kick = kick
    }

    // MARK: Application side

    /// Client: starts keeping what is sent, for ``rewindForRetry()``.
    func enableReplay() {
        state.withLock { $0.replay = Replay() }
    }

    /// Client: the server has the request (it answered); nothing needs keeping any more.
    func stopReplay() {
        state.withLock { $0.replay = nil }
    }

    /// Client, for a transparent retry: queues everything sent so far again (headers
    /// included) ahead of what is still queued. False when that is no longer possible
    /// (too much was sent, or the stream is over).
    func rewindForRetry() -> Bool {
        state.withLock { state in
            guard let replay = state.replay, state.closed == nil, replay.headers != nil || !state.headersTaken else { return false }
            let remaining = Array(state.chunks[state.chunkHead...])
            state.chunks = replay.chunks + remaining
            state.chunkHead = 0
            state.offset = 0
            state.queuedBytes = state.chunks.reduce(0) { $0 + $1.count }
            if let headers = replay.headers {
                state.headers = headers
                state.headersTaken = false
            }
            state.endTaken = false
            state.replay = Replay()
            return true
        }
    }

    /// Compresses the messages written from now on (each one only if that makes it
    /// smaller). Set before the first message.
    func setCompression(_ algorithm: CompressionAlgorithm) {
        compressionIndex.store(CompressionAlgorithm.allCases.firstIndex(of: algorithm)!, ordering: .relaxed)
    }

    /// The encoding messages are compressed with (announced in `grpc-encoding`).
    var compression: CompressionAlgorithm {
        CompressionAlgorithm.allCases[compressionIndex.load(ordering: .relaxed)]
    }

    /// A message to queue, and whether it may be compressed.
    struct Message {
        var bytes: [UInt8]
        var compress = true
    }

    /// Messages at least this large are compressed off the writer's thread (a handler's
    /// task may be running on its event loop): about half a millisecond of deflate.
    static let inlineCompressionBytes = 32 * 1024

    /// Frames `messages`: the common single message needs no array of framed messages.
    private static func frame(
        _ messages: [Message], _ compression: CompressionAlgorithm
    ) -> (single: (prefix: [UInt8], body: [UInt8])?, framed: [(prefix: [UInt8], body: [UInt8])]) {
        func frame(_ item: Message) -> (prefix: [UInt8], body: [UInt8]) {
            if item.compress, compression != .identity, let compressed = MessageCompression.compress(item.bytes, with: compression) {
                return (MessageFraming.prefix(length: compressed.count, compressed: true), compressed)
            }
            return (MessageFraming.prefix(length: item.bytes.count), item.bytes)
        }
        if messages.count == 1 { return (frame(messages[0]), []) }
        return (nil, messages.map(frame))
    }

    /// Queues parts; suspends while the queue is over its high-water mark.
    func write(headers: Metadata?, messages: [Message], end: End?) async throws {
        if let oversized = messages.first(where: { $0.bytes.count > maxMessageBytes }) {
            throw RPCError(
                code: .resourceExhausted,
                message: "A message of \(oversized.bytes.count) bytes exceeds the send limit of \(maxMessageBytes) bytes.")
        }
        // Compression runs here, on the writer's task, never inside the loop's
        // processing of frames; a large message is compressed on Swift's global pool, so
        // a handler running on its event loop does not stall the loop compressing.
        let compression = self.compression
        let single: (prefix: [UInt8], body: [UInt8])?
        let framed: [(prefix: [UInt8], body: [UInt8])]
        if compression != .identity, messages.contains(where: { $0.compress && $0.bytes.count >= Self.inlineCompressionBytes }) {
            (single, framed) = await withTaskExecutorPreference(globalConcurrentExecutor) {
                Self.frame(messages, compression)
            }
        } else {
            (single, framed) = Self.frame(messages, compression)
        }
        let (scheduleKick, mustWait): (Bool, Bool) = try state.withLock { state in
            if let closed = state.closed {
                switch closed {
                case .fail(let error): throw error
                case .discard: return (false, false)
                }
            }
            if state.end != nil {
                throw RPCError(code: .internal, message: "Wrote to a stream that was already ended.")
            }
            if let headers {
                if state.headersTaken || state.headers != nil {
                    throw RPCError(code: .internal, message: "Response metadata was already sent.")
                }
                state.headers = headers
            }
            if let single { state.enqueue(single) }
            for message in framed { state.enqueue(message) }
            if let end { state.end = end }
            let schedule = !state.kickScheduled
            state.kickScheduled = true
            return (schedule, state.queuedBytes > highWaterBytes && end == nil)
        }
        if scheduleKick { kick() }
        if mustWait { try await waitForDrain() }
    }

    /// Web protocols (plain HTTP): queues a response's head (first write only), body bytes
    /// as they are (no gRPC framing) and the end of the body, without suspending. Returns
    /// whether the writer should now ``waitForDrain()``.
    func enqueueHTTP(_ chunk: WebResponseChunk) throws -> Bool {
        let (scheduleKick, mustWait): (Bool, Bool) = try state.withLock { state in
            if let closed = state.closed {
                switch closed {
                case .fail(let error): throw error
                case .discard: return (false, false)
                }
            }
            if state.end != nil { throw RPCError(code: .internal, message: "Wrote to a response that was already ended.") }
            if let head = chunk.head {
                if state.headersTaken || state.httpHead != nil {
                    throw RPCError(code: .internal, message: "The response head was already sent.")
                }
                state.httpHead = head
            }
            if !chunk.body.isEmpty {
                if state.chunks.capacity == 0 { state.chunks.reserveCapacity(4) }
                state.chunks.append(chunk.body)
                state.queuedBytes += chunk.body.count
            }
            if chunk.end { state.end = .endStream }
            let schedule = !state.kickScheduled
            state.kickScheduled = true
            return (schedule, state.queuedBytes > highWaterBytes && !chunk.end)
        }
        if scheduleKick { kick() }
        return mustWait
    }

    func waitForDrain() async throws {
        let id = state.withLock { state -> UInt64 in
            state.writerID += 1
            return state.writerID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, RPCError>? = state.withLock { state in
                    if case .fail(let error) = state.closed { return .failure(error) }
                    if state.closed != nil || state.queuedBytes <= highWaterBytes / 2 { return .success(()) }
                    if Task.isCancelled { return .failure(RPCError(code: .cancelled, message: "The call was cancelled.")) }
                    state.writer = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let writer = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard state.writerID == id else { return nil }
                defer { state.writer = nil }
                return state.writer
            }
            writer?.resume(throwing: RPCError(code: .cancelled, message: "The call was cancelled."))
        }
    }

    /// Ends the outbound side for good: later writes fail or are dropped, a suspended
    /// writer is released, queued bytes are discarded.
    func close(_ closed: Closed) {
        let writer = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.closed == nil { state.closed = closed }
            state.chunks.removeAll()
            state.chunkHead = 0
            state.offset = 0
            state.queuedBytes = 0
            defer { state.writer = nil }
            return state.writer
        }
        guard let writer else { return }
        if case .fail(let error) = closed { writer.resume(throwing: error) } else { writer.resume() }
    }

    /// Replaces whatever is queued with a final status (a server ending a call on its own:
    /// deadline, limits). Returns false if the stream had already ended.
    func forceEnd(_ status: Status, error: RPCError) -> Bool {
        let (ended, writer) = state.withLock { state -> (Bool, CheckedContinuation<Void, any Error>?) in
            if state.endTaken { return (false, nil) }
            state.chunks.removeAll()
            state.chunkHead = 0
            state.offset = 0
            state.queuedBytes = 0
            state.end = .trailers(status, [:])
            if state.closed == nil { state.closed = .fail(error) }
            defer { state.writer = nil }
            return (true, state.writer)
        }
        writer?.resume(throwing: error)
        return ended
    }

    // MARK: Loop side

    /// What the loop should do next, taking the headers if they are new.
    struct Pump {
        var headers: Metadata?
        /// A web response's head, new.
        var httpHead: HTTPResponseHead?
        var hasData: Bool
        var end: End?
    }

    func pump() -> Pump {
        state.withLock { state in
            state.kickScheduled = false
            var headers: Metadata?
            if let pending = state.headers, !state.headersTaken {
                headers = pending
                state.headersTaken = true
                state.headers = nil
                state.replay?.headers = pending
            }
            let httpHead = state.headersTaken ? nil : state.httpHead
            if httpHead != nil {
                state.headersTaken = true
                state.httpHead = nil
            }
            return Pump(headers: headers, httpHead: httpHead, hasData: state.queuedBytes > 0, end: state.endTaken ? nil : state.end)
        }
    }

    /// Marks the end as taken (trailers-only responses, where no DATA is sent).
    func takeEnd() -> End? {
        state.withLock { state in
            guard !state.endTaken, let end = state.end else { return nil }
            state.endTaken = true
            return end
        }
    }

    /// How many queued bytes the next DATA frame carries (at most `limit`), and, when those
    /// are the last and the stream has ended, the end (returned once). The bytes stay
    /// queued until ``take(_:prefix:slice:)`` removes them, when the frame is written.
    func reserve(upTo limit: Int) -> (count: Int, end: End?) {
        state.withLock { state in
            let count = min(state.queuedBytes, limit)
            var end: End?
            if count == state.queuedBytes, !state.endTaken, let pending = state.end {
                end = pending
                state.endTaken = true
            }
            return (count, end)
        }
    }

    /// Removes the first `count` queued bytes without copying them: runs `prefix`, then
    /// hands each piece to `slice` as a range of the array the application wrote. Returns
    /// false, calling neither, when fewer than `count` bytes are queued (the stream was
    /// closed since ``reserve(upTo:)``).
    func take(_ count: Int, prefix: () -> Void, slice: ([UInt8], Range<Int>) -> Void) -> Bool {
        let (taken, writer) = state.withLock { state -> (Bool, CheckedContinuation<Void, any Error>?) in
            guard state.queuedBytes >= count else { return (false, nil) }
            prefix()
            var left = count
            while left > 0 {
                let chunk = state.chunks[state.chunkHead]
                let take = min(chunk.count - state.offset, left)
                if take > 0 { slice(chunk, state.offset..<(state.offset + take)) }
                left -= take
                state.offset += take
                if state.offset == chunk.count {
                    if state.replay != nil {
                        state.replay!.chunks.append(chunk)
                        state.replay!.bytes += chunk.count
                        if state.replay!.bytes > Self.replayLimitBytes { state.replay = nil }
                    }
                    // Release the sent chunk now: a writer that keeps the queue from ever
                    // running empty must not keep everything it ever wrote alive.
                    state.chunks[state.chunkHead] = []
                    state.chunkHead += 1
                    state.offset = 0
                }
            }
            // Empty chunks (a zero-length message's body) at the front are done too.
            while state.chunkHead < state.chunks.count, state.chunks[state.chunkHead].isEmpty {
                state.chunkHead += 1
            }
            if state.chunkHead == state.chunks.count {
                state.chunks.removeAll(keepingCapacity: true)
                state.chunkHead = 0
            } else if state.chunkHead >= 64, state.chunkHead * 2 >= state.chunks.count {
                state.chunks.removeFirst(state.chunkHead)
                state.chunkHead = 0
            }
            state.queuedBytes -= count
            var writer: CheckedContinuation<Void, any Error>?
            if state.queuedBytes <= highWaterBytes / 2 {
                writer = state.writer
                state.writer = nil
            }
            return (true, writer)
        }
        writer?.resume()
        return taken
    }
}
