import Synchronization

/// Wakes one waiting task early: a background loop that sleeps between rounds (the
/// recommender's reward outbox, the notifier's dispatcher) is woken when there is work, so
/// the work goes out now without the call that made it waiting for it.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// A signal nobody waits on yet.
    public init() {}

    /// Wakes the waiter, or the next ``wait(upTo:)`` if nobody waits now.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when signalled, after `timeout`, or when the task is cancelled (then at once).
    /// One waiter at a time.
    public func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Only a timer that ran out wakes the waiter: one cancelled because the
                // waiter was woken otherwise must not leave a wake-up for the next wait (the
                // loop would spin).
                do {
                    try await Task.sleep(for: timeout)
                    self.signal()
                } catch {}
            }
            // The waiter's own cancellation wakes it (its timer, cancelled with it, does not).
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                self.signal()
            }
            group.cancelAll()
        }
    }
}
