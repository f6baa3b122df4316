/// Per-message facts and choices that travel beside a message's bytes.
public struct MessageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    /// Creates flags from their raw bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Received: the message arrived compressed (the gRPC compressed flag was set).
    public static let compressed = MessageFlags(rawValue: 1 << 0)
    /// To send: send this message uncompressed even though the call compresses messages
    /// (for example, to keep a secret out of a compression side channel).
    public static let skipCompression = MessageFlags(rawValue: 1 << 1)
}

/// What a client sends on a stream, in order: one `metadata` (the request headers), then
/// zero or more `message`s. The end of the stream is signalled by finishing the writer.
public enum RPCRequestPart: Sendable {
    /// Request metadata; always the first part.
    case metadata(Metadata)
    /// One serialized request message, with its flags.
    case message([UInt8], MessageFlags)
}

/// What a server sends on a stream, in order: an optional `metadata` (response headers),
/// zero or more `message`s, then exactly one `status` with trailing metadata. A `status`
/// with no `metadata` before it is a Trailers-Only response.
public enum RPCResponsePart: Sendable {
    /// Response metadata (initial metadata). A server may put the reserved key
    /// ``Metadata/responseEncodingKey`` in it to choose how response messages are
    /// compressed; the transport removes that entry and honours it when the client
    /// accepts the encoding (identity otherwise).
    case metadata(Metadata)
    /// One serialized response message, with its flags.
    case message([UInt8], MessageFlags)
    /// The final status and trailing metadata; ends the stream.
    case status(Status, Metadata)
}

extension Metadata {
    /// The reserved response-metadata key through which a server handler's choice of
    /// response encoding (``ServerContext/responseEncoding``) reaches the transport.
    public static let responseEncodingKey = "grpc-encoding"
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
    /// How the client compresses its request messages (its `grpc-encoding`).
    public var requestEncoding: CompressionAlgorithm

    /// Creates a context.
    public init(
        descriptor: MethodDescriptor, peer: String, deadline: ContinuousClock.Instant?, peerIdentity: PeerIdentity? = nil,
        requestEncoding: CompressionAlgorithm = .identity
    ) {
        self.descriptor = descriptor
        self.peer = peer
        self.deadline = deadline
        self.peerIdentity = peerIdentity
        self.requestEncoding = requestEncoding
    }
}
