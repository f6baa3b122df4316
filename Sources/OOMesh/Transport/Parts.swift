/// What a client sends on a stream, in order: one `metadata` (the request headers), then
/// zero or more `message`s. The end of the stream is signalled by finishing the writer.
public enum RPCRequestPart: Sendable {
    /// Request metadata; always the first part.
    case metadata(Metadata)
    /// One serialized request message.
    case message([UInt8])
}

/// What a server sends on a stream, in order: an optional `metadata` (response headers),
/// zero or more `message`s, then exactly one `status` with trailing metadata. A `status`
/// with no `metadata` before it is a Trailers-Only response.
public enum RPCResponsePart: Sendable {
    /// Response metadata (initial metadata).
    case metadata(Metadata)
    /// One serialized response message.
    case message([UInt8])
    /// The final status and trailing metadata; ends the stream.
    case status(Status, Metadata)
}

/// Where a server stream came from and how long it may run; given to the server by the
/// transport with each new stream.
public struct ServerStreamContext: Sendable {
    /// The method the client asked for, parsed from `:path`.
    public var descriptor: MethodDescriptor
    /// The peer's address, e.g. `ipv4:127.0.0.1:51234` or `in-process`.
    public var peer: String
    /// When the call must be finished by, from the client's `grpc-timeout`. The transport
    /// enforces it: when it passes, the client gets `DEADLINE_EXCEEDED` and the handler's
    /// task is cancelled.
    public var deadline: ContinuousClock.Instant?
    /// The client's verified certificate identity, on a mutual-TLS connection; nil otherwise.
    public var peerIdentity: PeerIdentity?

    /// Creates a context.
    public init(descriptor: MethodDescriptor, peer: String, deadline: ContinuousClock.Instant?, peerIdentity: PeerIdentity? = nil) {
        self.descriptor = descriptor
        self.peer = peer
        self.deadline = deadline
        self.peerIdentity = peerIdentity
    }
}
