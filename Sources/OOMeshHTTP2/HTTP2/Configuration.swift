import OOMesh

/// Settings of the HTTP/2 transport shared by servers and clients.
///
/// Every default is stated; names follow other gRPC stacks so settings carry across.
public struct HTTP2Configuration: Sendable, Hashable {
    /// The largest message accepted, checked from the length prefix before buffering.
    /// Larger ones fail the call with `RESOURCE_EXHAUSTED`. Default: 4 MiB, as in gRPC.
    public var maxReceiveMessageBytes: Int = 4 * 1024 * 1024

    /// The HTTP/2 flow-control window each stream starts with (SETTINGS_INITIAL_WINDOW_SIZE):
    /// how much a peer may send on one stream before our application reads it.
    /// Default: 1 MiB.
    public var targetStreamWindowBytes: Int = 1024 * 1024

    /// The connection-level flow-control window: how much a peer may send across all the
    /// streams of a connection before our application reads it. Default: 8 MiB.
    public var targetConnectionWindowBytes: Int = 8 * 1024 * 1024

    /// How many outbound bytes a stream may have queued before its writer suspends.
    /// Default: 256 KiB (a larger single message is always accepted, then the writer waits).
    public var maxQueuedOutboundBytesPerStream: Int = 256 * 1024

    /// The largest header list (request or response metadata) accepted, in bytes as
    /// HTTP/2 counts them (SETTINGS_MAX_HEADER_LIST_SIZE). Default: 16 KiB.
    public var maxHeaderListBytes: Int = 16 * 1024

    /// The most streams a peer may have open at once on one connection
    /// (SETTINGS_MAX_CONCURRENT_STREAMS). Default: 256.
    public var maxConcurrentStreams: Int = 256

    /// The message encodings this side accepts (besides identity, always accepted) and
    /// announces in `grpc-accept-encoding`. A request in another encoding is refused with
    /// `UNIMPLEMENTED` and this list; a server answers in the request's encoding when the
    /// client accepts it. Default: gzip and deflate.
    public var enabledCompression: [CompressionAlgorithm] = [.gzip, .deflate]

    /// Creates the defaults.
    public init() {}

    /// The defaults.
    public static var defaults: HTTP2Configuration { HTTP2Configuration() }
}
