import Synchronization

/// Deadline propagation: while a server handler runs, its call's deadline is task-local,
/// and every call the handler makes through a ``GRPCClient`` without a timeout of its own
/// gets the time left less ``margin`` (at least the method's default timeout, if shorter).
/// So a fan-out never outlives the call that caused it, with no code in the handler.
public enum CallDeadline {
    /// The deadline of the server call whose handler is running, if it has one.
    @TaskLocal public static var current: ContinuousClock.Instant?

    /// Time kept back from the inherited deadline for the handler to answer after its own
    /// calls return. Default 20 ms. Set it once at start-up.
    public static var margin: Duration { marginStorage.withLock { $0 } }

    /// Sets ``margin``.
    public static func setMargin(_ margin: Duration) { marginStorage.withLock { $0 = margin } }

    private static let marginStorage = Mutex<Duration>(.milliseconds(20))

    /// The timeout a call made now inherits: the time left less the margin (never below
    /// zero: an expired deadline fails the call at once with DEADLINE_EXCEEDED); nil outside
    /// a handler or without a deadline.
    static func inheritedTimeout() -> Duration? {
        guard let deadline = current else { return nil }
        return max(.zero, deadline - .now - margin)
    }
}
