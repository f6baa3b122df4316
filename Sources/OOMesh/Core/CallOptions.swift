/// Per-call settings chosen by the caller.
public struct CallOptions: Sendable, Hashable {
    /// How long the call may take, end to end. Sent to the server as `grpc-timeout` and
    /// enforced on both sides; the call fails with `DEADLINE_EXCEEDED` when it runs out.
    /// Defaults to nil: no deadline.
    public var timeout: Duration?

    /// The largest response message accepted, in bytes. Defaults to nil: the transport's
    /// limit applies (4 MiB unless configured).
    public var maxResponseMessageBytes: Int?

    /// Creates options.
    public init(timeout: Duration? = nil, maxResponseMessageBytes: Int? = nil) {
        self.timeout = timeout
        self.maxResponseMessageBytes = maxResponseMessageBytes
    }

    /// No timeout, transport limits.
    public static var defaults: CallOptions { CallOptions() }
}
