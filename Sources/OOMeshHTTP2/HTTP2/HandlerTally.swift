import Synchronization

/// Counts a server's live handler tasks, so shutdown can wait for them and a connection can
/// refuse streams while too many of its handlers still run.
///
/// A handler outlives its HTTP/2 stream when the stream is reset, times out or loses its
/// connection: the task is only cancelled, and one that ignores cancellation runs on. Left
/// uncounted, a peer that opens and resets streams in a loop (rapid reset) could make us
/// run any number of them.
final class HandlerTally: Sendable {
    private struct State {
        var live = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Live handler tasks now.
    var live: Int { state.withLock { $0.live } }

    /// A handler task starts.
    func begin() {
        state.withLock { $0.live += 1 }
    }

    /// A handler task has ended (from any thread).
    func end() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.live -= 1
            guard state.live == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no handler runs.
    func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.live == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Returns once no handler runs, or after `limit` (nil: however long it takes). True
    /// when every handler ended.
    func idle(within limit: Duration?) async -> Bool {
        guard let limit else {
            await idle()
            return true
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.idle(); return true }
            group.addTask { try? await Task.sleep(for: limit); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            if !first { self.releaseWaiters() }  // the idle() child must not wait on
            return first
        }
    }

    /// Resumes every waiter (a timed-out wait gives up).
    private func releaseWaiters() {
        let waiters = state.withLock { state in
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
