/// Where a client's connection to its target stands, as gRPC's connectivity states name it.
public enum ConnectionState: Sendable, Hashable {
    /// No connection and none being made; the next call connects.
    case idle
    /// A connection is being made (TCP, then TLS, then HTTP/2 SETTINGS).
    case connecting
    /// Connected; calls go out at once.
    case ready
    /// The last attempt to connect failed; calls fail fast with `UNAVAILABLE` until the
    /// backoff delay has passed, and the next call after it tries again.
    case transientFailure
    /// The transport was shut down; no new calls.
    case shutdown
}

/// Delays between attempts to reconnect, as in gRPC's connection-backoff spec: each
/// failed attempt multiplies the delay, up to a ceiling, with random jitter so that many
/// clients do not reconnect in lockstep. Every default stated.
public struct ConnectionBackoff: Sendable, Hashable {
    /// The delay after the first failure. Default: 1 second.
    public var initial: Duration = .seconds(1)
    /// The factor applied after every further failure. Default: 1.6.
    public var multiplier: Double = 1.6
    /// The largest delay. Default: 120 seconds.
    public var maximum: Duration = .seconds(120)
    /// The relative random spread applied to each delay (0.2 = ±20 %). Default: 0.2.
    public var jitter: Double = 0.2

    /// Creates the defaults.
    public init() {}

    /// The delay before the attempt after `failures` consecutive failures (1 or more).
    func delay(afterFailures failures: Int) -> Duration {
        var seconds = Double(initial.components.seconds) + Double(initial.components.attoseconds) / 1e18
        let ceiling = Double(maximum.components.seconds) + Double(maximum.components.attoseconds) / 1e18
        for _ in 1..<max(1, failures) where seconds < ceiling { seconds *= multiplier }
        seconds = min(seconds, ceiling)
        seconds *= 1 + Double.random(in: -jitter...jitter)
        return .nanoseconds(Int64(max(0, seconds) * 1e9))
    }
}
