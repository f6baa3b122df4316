import OOMesh
import Synchronization

/// Parts received on one stream, waiting for the application to take them.
///
/// The loop puts parts in; one task takes them out. Every message part carries the number
/// of DATA bytes it used; those bytes are handed back to HTTP/2 flow control only when the
/// application takes the message, so a stream whose reader is slow stops receiving once
/// its window is full: the queue is bounded by the flow-control window, not by the peer.
final class StreamInbox<Part: Sendable>: Sendable {
    private struct State {
        /// Queued parts from `head` on; taken ones before it are nil (released at once).
        var items: [(part: Part?, flowBytes: Int)] = []
        var head = 0
        var terminal: RPCError??
        var reader: CheckedContinuation<Part?, any Error>?
        var creditPending = 0
        var creditScheduled = false
    }

    private enum NextAction { case part(Part, scheduleCredit: Bool), end, fail(RPCError), wait }

    private let state = Mutex(State())
    /// Called (off the loop) when consumed bytes should be returned to flow control.
    private let returnCredit: @Sendable () -> Void

    init(returnCredit: @escaping @Sendable () -> Void) {
        self.returnCredit = returnCredit
    }

    /// Loop side: adds a part. Returns the flow-control bytes to credit at once, because a
    /// waiting reader took the part straight away, or because the inbox has ended and the
    /// part is dropped (nobody will ever take it, so its bytes must not stay owed).
    func deliver(_ part: Part, flowBytes: Int = 0) -> Int {
        let (reader, dropped): (CheckedContinuation<Part?, any Error>?, Bool) = state.withLock { state in
            guard state.terminal == nil else { return (nil, true) }
            if let reader = state.reader {
                state.reader = nil
                return (reader, false)
            }
            // A unary call queues metadata, a message and an end: one allocation, not three.
            if state.items.capacity == 0 { state.items.reserveCapacity(4) }
            state.items.append((part, flowBytes))
            return (nil, false)
        }
        if dropped { return flowBytes }
        guard let reader else { return 0 }
        reader.resume(returning: part)
        return flowBytes
    }

    /// Loop side, once the HTTP/2 stream has closed: takes the flow-control bytes of the
    /// parts still queued, for the connection to hand back at once. The stream's own window
    /// no longer matters, and the application may never take those parts (a handler that
    /// failed or was cancelled); left owed, they would shrink the connection's window for
    /// good and finally stall every stream on it. With `dropParts` the parts are discarded
    /// too (a server stream, whose handler has sent its status or been cancelled);
    /// otherwise they stay readable (a client's response), without credit.
    func releaseQueuedCredit(dropParts: Bool) -> Int {
        state.withLock { state in
            var bytes = 0
            for index in state.head..<state.items.count {
                bytes += state.items[index].flowBytes
                state.items[index].flowBytes = 0
            }
            if dropParts {
                state.items.removeAll()
                state.head = 0
            }
            return bytes
        }
    }

    /// Loop side: ends the inbound stream, cleanly (nil) or with an error. Parts already
    /// queued are still delivered first.
    func finish(_ error: RPCError?) {
        let reader: CheckedContinuation<Part?, any Error>? = state.withLock { state in
            guard state.terminal == nil else { return nil }
            state.terminal = .some(error)
            defer { state.reader = nil }
            return state.items.count == state.head ? state.reader : nil
        }
        if let reader {
            if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
        }
    }

    /// Loop side: takes the flow-control bytes the application has consumed since last asked.
    func takeCredit() -> Int {
        state.withLock { state in
            defer { state.creditPending = 0; state.creditScheduled = false }
            return state.creditPending
        }
    }

    /// Application side: the next part, waiting for one; nil at the clean end.
    func next() async throws -> Part? {
        switch state.withLock({ Self.take(&$0) }) {
        case .part(let part, let schedule):
            if schedule { returnCredit() }
            return part
        case .end:
            return nil
        case .fail(let error):
            throw error
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    // Look again under the lock: a part may have arrived since the first
                    // look. Waiting now would let the next delivery skip past it.
                    let immediate: (Result<Part?, RPCError>, scheduleCredit: Bool)? = state.withLock { state in
                        switch Self.take(&state) {
                        case .part(let part, let schedule): return (.success(part), schedule)
                        case .end: return (.success(nil), false)
                        case .fail(let error): return (.failure(error), false)
                        case .wait:
                            if Task.isCancelled {
                                return (.failure(RPCError(code: .cancelled, message: "The call was cancelled.")), false)
                            }
                            state.reader = continuation
                            return nil
                        }
                    }
                    if let (result, scheduleCredit) = immediate {
                        if scheduleCredit { returnCredit() }
                        continuation.resume(with: result)
                    }
                }
            } onCancel: {
                let reader = state.withLock { state in
                    defer { state.reader = nil }
                    return state.reader
                }
                reader?.resume(throwing: RPCError(code: .cancelled, message: "The call was cancelled."))
            }
        }
    }

    /// Under the lock: takes the next queued part (recording its credit), or says why not.
    private static func take(_ state: inout State) -> NextAction {
        if state.head < state.items.count {
            let item = state.items[state.head]
            state.items[state.head].part = nil
            state.head += 1
            if state.head == state.items.count {
                state.items.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head >= 64, state.head * 2 >= state.items.count {
                // A reader that never quite catches up must not keep the taken slots.
                state.items.removeFirst(state.head)
                state.head = 0
            }
            var schedule = false
            if item.flowBytes > 0 {
                state.creditPending += item.flowBytes
                if !state.creditScheduled {
                    state.creditScheduled = true
                    schedule = true
                }
            }
            return .part(item.part!, scheduleCredit: schedule)
        }
        if let terminal = state.terminal {
            return terminal.map { .fail($0) } ?? .end
        }
        return .wait
    }
}

/// The request parts of a server stream, as the application reads them.
///
/// Concrete (not generic over the part type) on purpose: the application reaches it
/// through a type-erased sequence, and a generic iterator's witness would run
/// `StreamInbox.next()` unspecialized, looking up generic metadata on every message
/// (about 7 % of server CPU in a unary benchmark profile).
struct RequestInboxSequence: AsyncSequence, Sendable {
    let inbox: StreamInbox<RPCRequestPart>

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inbox: inbox) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let inbox: StreamInbox<RPCRequestPart>
        func next() async throws -> RPCRequestPart? { try await inbox.next() }
    }
}

/// The response parts of a client stream, as the caller reads them (concrete for the
/// same reason as ``RequestInboxSequence``).
struct ResponseInboxSequence: AsyncSequence, Sendable {
    let inbox: StreamInbox<RPCResponsePart>

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inbox: inbox) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let inbox: StreamInbox<RPCResponsePart>
        func next() async throws -> RPCResponsePart? { try await inbox.next() }
    }
}
