import Synchronization

/// What a handler knows about the call it is serving, and where it puts the metadata it
/// wants to send back.
///
/// Response metadata set before the first response message is sent as response headers;
/// trailing metadata is sent with the status.
public final class ServerContext: Sendable {
    /// The method being called.
    public let descriptor: MethodDescriptor
    /// The request headers the client sent (custom metadata; reserved HTTP/2 and gRPC
    /// headers removed).
    public let requestMetadata: Metadata
    /// The client's address, e.g. `ipv4:127.0.0.1:51234`.
    public let peer: String
    /// When the call must end, from the client's `grpc-timeout`; nil when it set none.
    public let deadline: ContinuousClock.Instant?
    /// The client's verified certificate identity on a mutual-TLS connection; nil otherwise.
    public let peerIdentity: PeerIdentity?
    /// How the client compresses its request messages (its `grpc-encoding`); a message may
    /// still arrive uncompressed when compressing it did not help.
    public let requestEncoding: CompressionAlgorithm

    private struct Outgoing {
        var responseMetadata = Metadata()
        var trailingMetadata = Metadata()
        var responseEncoding: CompressionAlgorithm?
    }
    private let outgoing = Mutex(Outgoing())
    private let lastRequestCompressed = Atomic<Bool>(false)
    private let received = Atomic<Int>(0)
    private let sent = Atomic<Int>(0)

    /// Creates a context.
    public init(
        descriptor: MethodDescriptor, requestMetadata: Metadata, peer: String, deadline: ContinuousClock.Instant?,
        peerIdentity: PeerIdentity? = nil, requestEncoding: CompressionAlgorithm = .identity
    ) {
        self.descriptor = descriptor
        self.requestMetadata = requestMetadata
        self.peer = peer
        self.deadline = deadline
        self.peerIdentity = peerIdentity
        self.requestEncoding = requestEncoding
    }

    /// Time left until the deadline (negative once passed); nil without a deadline.
    public var remainingTime: Duration? {
        deadline.map { $0 - .now }
    }

    /// True once the call has been cancelled: by the client, by the deadline, or because
    /// the connection went away.
    public var isCancelled: Bool { Task.isCancelled }

    /// Metadata to send as response headers. Changes after the first response message
    /// has been written have no effect.
    public var responseMetadata: Metadata {
        get { outgoing.withLock { $0.responseMetadata } }
        set { outgoing.withLock { $0.responseMetadata = newValue } }
    }

    /// Metadata to send with the final status.
    public var trailingMetadata: Metadata {
        get { outgoing.withLock { $0.trailingMetadata } }
        set { outgoing.withLock { $0.trailingMetadata = newValue } }
    }

    /// How response messages are compressed. nil (the default) leaves it to the transport,
    /// which answers in the request's encoding when the client accepts it. A choice the
    /// client does not accept (its `grpc-accept-encoding`) falls back to identity. Takes
    /// effect only when set before the first response message is written; single messages
    /// can still opt out with ``ResponseWriter/write(_:compress:)``.
    public var responseEncoding: CompressionAlgorithm? {
        get { outgoing.withLock { $0.responseEncoding } }
        set { outgoing.withLock { $0.responseEncoding = newValue } }
    }

    /// Whether the request message read most recently arrived compressed on the wire: for
    /// unary and server-streaming calls the request; for streaming requests the message the
    /// request stream returned last.
    public var requestMessageWasCompressed: Bool {
        lastRequestCompressed.load(ordering: .relaxed)
    }

    /// The response metadata and encoding choice, read under one lock (for the headers).
    func responseHead() -> (metadata: Metadata, encoding: CompressionAlgorithm?) {
        outgoing.withLock { ($0.responseMetadata, $0.responseEncoding) }
    }

    func noteRequestMessage(_ flags: MessageFlags) {
        lastRequestCompressed.store(flags.contains(.compressed), ordering: .relaxed)
        received.add(1, ordering: .relaxed)
    }

    func noteResponseMessages(_ count: Int) {
        sent.add(count, ordering: .relaxed)
    }

    /// Request messages the handler has read so far (for metrics interceptors).
    public var messagesReceived: Int { received.load(ordering: .relaxed) }
    /// Response messages handed to the transport so far (for metrics interceptors).
    public var messagesSent: Int { sent.load(ordering: .relaxed) }
}
