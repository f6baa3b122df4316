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

    private struct Outgoing {
        var responseMetadata = Metadata()
        var trailingMetadata = Metadata()
    }
    private let outgoing = Mutex(Outgoing())

    /// Creates a context.
    public init(
        descriptor: MethodDescriptor, requestMetadata: Metadata, peer: String, deadline: ContinuousClock.Instant?,
        peerIdentity: PeerIdentity? = nil
    ) {
        self.descriptor = descriptor
        self.requestMetadata = requestMetadata
        self.peer = peer
        self.deadline = deadline
        self.peerIdentity = peerIdentity
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
}
