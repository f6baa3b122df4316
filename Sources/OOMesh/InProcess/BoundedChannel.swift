import Synchronization

/// A single-consumer queue with a fixed capacity: senders suspend while it is full, the
/// receiver suspends while it is empty. Either side can end it with an error.
///
/// The in-process transport uses one per direction of each stream, so an in-process call
/// has the same backpressure as a network one.
final class BoundedChannel<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var head = 0
        var terminal: RPCError??  // .some(nil): finished cleanly; .some(error): failed
        var receiver: CheckedContinuation<Element?, any Error>?
        var senders: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextSenderID: UInt64 = 0

        var count: Int { buffer.count - head }

        mutating func popFirst() -> Element? {
            guard head < buffer.count else { return nil }
            let element = buffer[head]
            head += 1
            if head > 64, head * 2 > buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    private enum SendAction { case done, wait(UInt64), fail(RPCError) }
    private enum ReceiveAction { case element(Element?), fail(RPCError), wait }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Appends an element, waiting for room. Throws the channel's error once it has ended.
    func send(_ element: Element) async throws {
        let action: SendAction = state.withLock { state in
            if let terminal = state.terminal {
                return .fail(terminal ?? RPCError(code: .internal, message: "Wrote to a stream that was already finished."))
            }
            if let receiver = state.receiver {
                state.receiver = nil
                receiver.resume(returning: element)
                return .done
            }
            state.buffer.append(element)
            guard state.count > capacity else { return .done }
            state.nextSenderID += 1
            return .wait(state.nextSenderID)
        }
        switch action {
        case .done: return
        case .fail(let error): throw error
        case .wait(let id):
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let resumeNow: Result<Void, RPCError>? = state.withLock { state in
                        if let terminal = state.terminal { return terminal.map { .failure($0) } ?? .success(()) }
                        if state.count <= capacity { return .success(()) }
                        // Cancelled before we got here: `onCancel` has already run and found no waiter.
                        if Task.isCancelled { return .failure(RPCError(code: .cancelled, message: "The write was cancelled.")) }
                        state.senders.append((id, continuation))
                        return nil
                    }
                    if let resumeNow { continuation.resume(with: resumeNow) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    guard let index = state.senders.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.senders.remove(at: index).continuation
                }
                waiter?.resume(throwing: RPCError(code: .cancelled, message: "The write was cancelled."))
            }
        }
    }

    /// Takes the next element, waiting for one; nil once finished cleanly.
    func receive() async throws -> Element? {
        let (action, wake): (ReceiveAction, [CheckedContinuation<Void, any Error>]) = state.withLock { state in
            if let element = state.popFirst() {
                var wake: [CheckedContinuation<Void, any Error>] = []
                if state.count <= capacity, !state.senders.isEmpty {
                    wake = state.senders.map(\.continuation)
                    state.senders.removeAll()
                }
                return (.element(element), wake)
            }
            if let terminal = state.terminal {
                return (terminal.map { .fail($0) } ?? .element(nil), [])
            }
            return (.wait, [])
        }
        for sender in wake { sender.resume() }
        switch action {
        case .element(let element): return element
        case .fail(let error): throw error
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let now: Result<Element?, RPCError>? = state.withLock { state in
                        if let element = state.popFirst() { return .success(element) }
                        if let terminal = state.terminal { return terminal.map { .failure($0) } ?? .success(nil) }
                        if Task.isCancelled { return .failure(RPCError(code: .cancelled, message: "The read was cancelled.")) }
                        state.receiver = continuation
                        return nil
                    }
                    if let now { continuation.resume(with: now) }
                }
            } onCancel: {
                let receiver = state.withLock { state -> CheckedContinuation<Element?, any Error>? in
                    defer { state.receiver = nil }
                    return state.receiver
                }
                receiver?.resume(throwing: RPCError(code: .cancelled, message: "The read was cancelled."))
            }
        }
    }

    /// Ends the channel: cleanly (the receiver drains what is buffered, then sees the end)
    /// or with an error (the receiver sees it after what is buffered). Later calls do nothing.
    func finish(throwing error: RPCError? = nil) {
        let (receiver, senders) = state.withLock { state -> (CheckedContinuation<Element?, any Error>?, [CheckedContinuation<Void, any Error>]) in
            guard state.terminal == nil else { return (nil, []) }
            state.terminal = .some(error)
            let receiver = state.receiver
            state.receiver = nil
            let senders = state.senders.map(\.continuation)
            state.senders.removeAll()
            return (receiver, senders)
        }
        if let receiver {
            if let error { receiver.resume(throwing: error) } else { receiver.resume(returning: nil) }
        }
        for sender in senders {
            if let error { sender.resume(throwing: error) } else { sender.resume() }
        }
    }
}

/// Iterates a channel; every iterator continues from the same channel.
struct BoundedChannelSequence<Element: Sendable>: AsyncSequence, Sendable {
    let channel: BoundedChannel<Element>

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let channel: BoundedChannel<Element>
        mutating func next() async throws -> Element? { try await channel.receive() }
    }
}
