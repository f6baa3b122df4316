/// Per-call settings chosen by the caller.
public struct CallOptions: Sendable, Hashable {
    /// How long the call may take, end to end. Sent to the server as `grpc-timeout` and
    /// enforced on both sides; the call fails with `DEADLINE_EXCEEDED` when it runs out.
    /// Defaults to nil: no deadline.
    public var timeout: Duration?

    /// The largest response message accepted, in bytes. Defaults to nil: the transport's
    /// limit applies (4 MiB unless configured).
    public var maxResponseMessageBytes: Int?

    /// How request messages are compressed (`grpc-encoding`). A message that compression
    /// would not make smaller is sent uncompressed. Defaults to `.identity`: none.
    public var compression: CompressionAlgorithm

    /// Creates options.
    public init(timeout: Duration? = nil, maxResponseMessageBytes: Int? = nil, compression: CompressionAlgorithm = .identity) {
        self.timeout = timeout
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.compression = compression
    }

    /// No timeout, transport limits.
    public static var defaults: CallOptions { CallOptions() }
}
