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
/// fire); from then on, with no live handler, the signals are ignored.
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
        var installed = false
    }

    private let state = Mutex(State())
    // The sources live as long as the process; kept here so they are not released.
    private let sources = SourceHolder()

    func add(_ action: @escaping @Sendable (Int32) -> Void) -> Int {
        let (id, install) = state.withLock { state -> (Int, Bool) in
            let id = state.nextID
            state.nextID += 1
            state.actions[id] = action
            defer { state.installed = true }
            return (id, !state.installed)
        }
        if install {
            let made = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
                signal(number, SIG_IGN)  // the dispatch source sees it; the default action must not run
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [weak self] in self?.deliver(number) }
                source.resume()
                return source
            }
            sources.keep(made)
        }
        return id
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.actions.removeValue(forKey: id) }
    }

    private func deliver(_ number: Int32) {
        let actions = state.withLock { Array($0.actions.values) }
        for action in actions { action(number) }
    }
}

/// Keeps the signal sources alive.
private final class SourceHolder: @unchecked Sendable {
    // @unchecked Sendable: `sources` is written once, under the lock, by the one caller
    // that installs the sources (SignalHub.add decides that under its own lock), and never
    // read: it only keeps them from being released.
    private let lock = Mutex(())
    private var sources: [any DispatchSourceSignal] = []

    func keep(_ made: [any DispatchSourceSignal]) {
        lock.withLock { _ in sources = made }
    }
}
