import OOMesh

/// Settings of the HTTP/2 transport shared by servers and clients.
///
/// Every default is stated; names follow other gRPC stacks so settings carry across.
public struct HTTP2Configuration: Sendable, Hashable {
    /// The largest message accepted, checked from the length prefix before buffering.
    /// Larger ones fail the call with `RESOURCE_EXHAUSTED`. Default: 4 MiB, as in gRPC.
    public var maxReceiveMessageBytes: Int = 4 * 1024 * 1024

    /// The largest message this side sends (before compression); writing a larger one
    /// fails with `RESOURCE_EXHAUSTED` before anything is queued. Default: 4 MiB, the
    /// receive limit of gRPC peers.
    public var maxSendMessageBytes: Int = 4 * 1024 * 1024

    /// The HTTP/2 flow-control window each stream starts with (SETTINGS_INITIAL_WINDOW_SIZE):
    /// how much a peer may send on one stream before our application reads it.
    /// Default: 1 MiB.
    public var targetStreamWindowBytes: Int = 1024 * 1024

    /// The connection-level flow-control window: how much a peer may send across all the
    /// streams of a connection before our application reads it. Default: 8 MiB.
    public var targetConnectionWindowBytes: Int = 8 * 1024 * 1024

    /// How many received bytes a connection may credit back to its peer before the
    /// application has taken them, across all its streams.
    ///
    /// Received bytes are owed to the flow-control windows until the application takes
    /// the message they belong to, so the windows bound what a peer can make us buffer.
    /// A message larger than the stream window could then never arrive; so while a reader
    /// waits on the very message being assembled, its bytes are credited as they come, up
    /// to this budget per connection (grpc-go extends the window the same way). What one
    /// connection can make us hold is at most ``targetConnectionWindowBytes`` plus this.
    /// Default: 4 MiB, one message of the default receive limit.
    public var maxCreditAdvanceBytesPerConnection: Int = 4 * 1024 * 1024

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

    /// Send a PING after this long without receiving anything, and close the connection
    /// when its ACK does not come within ``keepaliveTimeout``: finds dead peers (a call
    /// without a deadline to a server that vanished fails instead of hanging) and keeps
    /// connections open through middleboxes. Default: nil here and on servers (gRPC servers
    /// usually set 2 hours); clients get 5 minutes (``clientDefaults``), the shortest
    /// interval gRPC servers accept by default (grpc-go's and ours, ``minPeerPingInterval``).
    public var keepaliveInterval: Duration?

    /// Client: send keepalive PINGs also while no call is open. Default: false, PINGs only
    /// while calls are open (gRPC's `keepalive_permit_without_calls`): servers police PINGs
    /// on idle connections (grpc-go ends such a connection with `too_many_pings`), and an
    /// idle connection that died is found by the next call's connect anyway. Servers
    /// always ping at their ``keepaliveInterval``.
    public var keepaliveWithoutCalls: Bool = false

    /// How long a keepalive PING may wait for its ACK. Default: 20 seconds, as in gRPC.
    public var keepaliveTimeout: Duration = .seconds(20)

    /// Server: a connection without any open stream for this long is shut down gracefully
    /// (GOAWAY), freeing its resources; clients reconnect on their next call. Default: 30
    /// minutes (nil: never).
    public var maxConnectionIdle: Duration? = .seconds(30 * 60)

    /// Server: how long a new connection may take to finish its TLS handshake (if any)
    /// and send the HTTP/2 preface and SETTINGS before it is closed, so silent or
    /// half-open sockets do not hold descriptors. Default: 20 seconds (gRPC C-core and
    /// grpc-go allow 120 s; a client on a network that slow will not make its deadlines
    /// anyway). nil: no limit.
    public var handshakeTimeout: Duration? = .seconds(20)

    /// Server: a connection this old is shut down gracefully, so clients spread out again
    /// over replicas; calls still open get ``maxConnectionAgeGrace`` to finish. Default:
    /// nil, never.
    public var maxConnectionAge: Duration?

    /// Server: how long calls may run on after ``maxConnectionAge``. Default: nil, as long
    /// as they take.
    public var maxConnectionAgeGrace: Duration?

    /// Server: the shortest interval between PINGs a client may send (ping-abuse policing,
    /// like grpc-go's `MinTime`); a PING sooner than this is a strike. Default: 5 minutes.
    public var minPeerPingInterval: Duration = .seconds(300)

    /// Server: how many strikes are forgiven; one more and the connection is closed with
    /// GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"). Strikes reset when a call starts.
    /// Default: 2, as in grpc-go.
    public var maxPingStrikes: Int = 2

    /// Server: allow clients to PING while no call is open, at ``minPeerPingInterval``.
    /// Default: false, as in gRPC (`permit_without_stream`, gRFC A8): with no call open a
    /// PING sooner than two hours after the last one is a strike, so only clients with
    /// ``keepaliveWithoutCalls`` need this on.
    public var permitPeerPingsWithoutCalls: Bool = false

    /// Tests only: the client's first stream id, to reach the end of the id space without
    /// 2^30 calls. nil: 1, as HTTP/2 says.
    var firstClientStreamID: Int32?

    /// Creates the defaults.
    public init() {}

    /// The defaults.
    public static var defaults: HTTP2Configuration { HTTP2Configuration() }

    /// The defaults of a client transport: ``defaults`` with keepalive PINGs every
    /// 5 minutes of silence while calls are open.
    public static var clientDefaults: HTTP2Configuration {
        var configuration = HTTP2Configuration()
        configuration.keepaliveInterval = .seconds(300)
        return configuration
    }
}
