import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Handles SIGTERM and SIGINT for as long as it is kept: the process runs an action
/// instead of dying at once. Servers use it to shut down gracefully
/// (`GRPCServer.beginGracefulShutdown()`), as orchestrators expect on SIGTERM.
///
/// ```swift
/// let signals = TerminationSignals { _ in server.beginGracefulShutdown() }
/// defer { signals.cancel() }
/// ```
///
/// Any number may exist, one after another or at once: every live one's action runs. The
/// signals are routed through one pair of dispatch sources made on first use (libdispatch
/// installs its handler for a signal only once per process, so a second pair would never
/// fire); from then on, a signal arriving with no live handler does what it would by
/// default (ends the process).
public final class TerminationSignals: Sendable {
    private let id: Int

    /// Starts handling SIGTERM and SIGINT with `action` (given the signal's number).
    public init(_ action: @escaping @Sendable (Int32) -> Void) {
        id = SignalHub.shared.add(action)
    }

    /// Stops handling the signals with this action.
    public func cancel() {
        SignalHub.shared.remove(id)
    }
}

/// The process's one pair of signal sources and the actions they run.
private final class SignalHub: Sendable {
    static let shared = SignalHub()

    private struct State {
        var actions: [Int: @Sendable (Int32) -> Void] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Made once, thread-safely, on first use (a `static let`), and kept for the process's
    /// life.
    private static let sources: Sources = Sources()

    func add(_ action: @escaping @Sendable (Int32) -> Void) -> Int {
        _ = Self.sources  // installs the sources before the first action can be needed
        return state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.actions[id] = action
            return id
        }
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.actions.removeValue(forKey: id) }
    }

    fileprivate func deliver(_ number: Int32) {
        let actions = state.withLock { Array($0.actions.values) }
        guard !actions.isEmpty else {
            // Nobody handles it any more: the signal does what it would have done.
            signal(number, SIG_DFL)
            raise(number)
            return
        }
        for action in actions { action(number) }
    }

    /// The dispatch sources for SIGTERM and SIGINT.
    private final class Sources: @unchecked Sendable {
        // @unchecked Sendable: `sources` is written once in init (run once, by the
        // `static let`) and never read; it only keeps the sources alive.
        private let sources: [any DispatchSourceSignal]

        init() {
            sources = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
                signal(number, SIG_IGN)  // the dispatch source sees it; the default action must not run
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { SignalHub.shared.deliver(number) }
                source.resume()
                return source
            }
        }
    }
}
