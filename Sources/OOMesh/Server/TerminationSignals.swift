import Dispatch
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
public final class TerminationSignals: @unchecked Sendable {
    // @unchecked Sendable: `sources` is set once in init; DispatchSource's cancel is
    // thread-safe.
    private let sources: [any DispatchSourceSignal]

    /// Starts handling SIGTERM and SIGINT with `action` (given the signal's number).
    public init(_ action: @escaping @Sendable (Int32) -> Void) {
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)  // the dispatch source sees it; the default action must not run
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { action(number) }
            source.resume()
            return source
        }
    }

    /// Stops handling the signals (they stay ignored).
    public func cancel() {
        for source in sources { source.cancel() }
    }
}
