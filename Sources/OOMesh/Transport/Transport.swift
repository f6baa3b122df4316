/// One RPC at the transport level: parts coming in and a writer for parts going out.
///
/// Every call shape is a bidirectional stream at this level; unary is a special case the
/// layers above enforce.
public struct RPCStream<Inbound: Sendable, Outbound: Sendable>: Sendable {
    /// The method this stream is for.
    public var descriptor: MethodDescriptor
    /// Parts from the peer, in order. Iteration throws an ``RPCError`` if the stream fails.
    public var inbound: RPCAsyncSequence<Inbound>
    /// Parts to the peer.
    public var outbound: ClosableRPCWriter<Outbound>

    /// Creates a stream.
    public init(descriptor: MethodDescriptor, inbound: RPCAsyncSequence<Inbound>, outbound: ClosableRPCWriter<Outbound>) {
        self.descriptor = descriptor
        self.inbound = inbound
        self.outbound = outbound
    }
}

/// The client side of a transport: opens streams to one server (or a set of them).
///
/// A transport is *run* by ``connect()``, which returns once the transport has shut down;
/// ``GRPCClient`` and ``withGRPCClient(transport:interceptors:_:)`` do that for you.
public protocol ClientTransport: Sendable {
    /// Runs the transport's connections until ``beginGracefulShutdown()`` is called and
    /// every open stream has finished. Connections are made lazily, on the first stream.
    func connect() async throws

    /// Stops accepting new streams, lets open ones finish, then closes connections.
    func beginGracefulShutdown()

    /// Opens a stream and runs `body` with it; the stream is torn down when `body` returns.
    ///
    /// The transport sends `options.timeout` as `grpc-timeout` and fails the stream with
    /// `DEADLINE_EXCEEDED` when it passes. Cancelling the calling task resets the stream
    /// and makes inbound iteration throw `CANCELLED`.
    func withStream<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ body: (RPCStream<RPCResponsePart, RPCRequestPart>) async throws -> Result
    ) async throws -> Result
}

/// The server side of a transport: accepts connections and hands each new stream to the
/// server.
public protocol ServerTransport: Sendable {
    /// Accepts streams until ``beginGracefulShutdown()`` is called and the open streams have
    /// finished, calling `streamHandler` once per stream. Returns once everything is closed.
    func listen(
        streamHandler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void
    ) async throws

    /// As ``listen(streamHandler:)``, with the server's `methods`: a transport that also
    /// speaks the web protocols (Connect, gRPC-Web) reads JSON and answers GET with them. The
    /// default ignores them.
    func listen(
        streamHandler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void,
        methods: ServedMethods
    ) async throws

    /// Stops accepting new streams and connections; open streams may finish.
    func beginGracefulShutdown()

    /// Returns once ``listen(streamHandler:)`` accepts streams, so a caller can tell
    /// clients the server is up without racing its start. Throws when the transport shut
    /// down first. The default returns at once (a transport that needs no start-up).
    func waitUntilListening() async throws
}

extension ServerTransport {
    public func waitUntilListening() async throws {}
}
