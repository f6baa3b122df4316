import OOMesh

/// One HTTP/2 stream carrying one RPC, as its connection sees it.
///
/// The connection owns it and touches its plain properties on the loop thread only; the
/// application reaches it through `inbox`/`outbox`, which are thread-safe.
final class HTTP2Stream: @unchecked Sendable {
    // @unchecked Sendable: captured by closures that always run on the owning connection's
    // event loop (via `EventLoop.execute`), and the only state touched off the loop is in
    // `serverInbox`/`clientInbox`/`outbox`, which are Mutex-protected Sendable classes.

    /// The HTTP/2 stream id; 0 for a client stream not yet submitted.
    var id: Int32
    let descriptor: MethodDescriptor
    let outbox: StreamOutbox
    /// Server streams: request parts for the handler.
    var serverInbox: StreamInbox<RPCRequestPart>?
    /// Client streams: response parts for the caller.
    var clientInbox: StreamInbox<RPCResponsePart>?

    var deframer: MessageDeframer
    /// Server: a web-protocol request (Connect, gRPC-Web): its DATA goes to the inbox as
    /// it comes (no gRPC framing) and its response is plain HTTP, ended without trailers.
    var isWeb = false
    /// This stream's share of the connection's inbound flow-control ledger.
    var credit = InboundCredit.Stream()

    /// Header fields of the HEADERS block being received.
    var receivedHeaders: [(name: String, value: String)] = []
    var receivedHeaderBytes = 0

    /// Server: the handler's task. Client: nil.
    var task: Task<Void, Never>?
    var deadline: ContinuousClock.Instant?
    var deadlineTimer: LoopTimer?

    /// The gRPC life of the stream: headers sent and received, outcome settled, closed
    /// (a pure machine; the connection performs what its events return).
    var state: StreamState
    /// The data provider is waiting for bytes (NGHTTP2_ERR_DEFERRED): the next write must
    /// resume it. nghttp2's provider state, not the call's.
    var dataDeferred = false
    /// Client: the connection the stream was given to.
    var connection: HTTP2Connection?
    /// Client: how many times the stream was retried transparently after being refused.
    var transparentRetries = 0
    /// Client: the caller is done with the call; a pending retry must not start it again.
    var abandoned = false

    /// Client: back to the state of a stream not yet started, for a transparent retry on
    /// a connection (the outbox has been rewound).
    func resetForRetry() {
        id = 0
        state = StreamState(role: .client)
        dataDeferred = false
        deframer = MessageDeframer(maxMessageBytes: deframer.maxMessageBytes, defersDecompression: true)
        credit = InboundCredit.Stream()
        receivedHeaders = []
        receivedHeaderBytes = 0
        deadlineTimer?.cancel()
        deadlineTimer = nil
        connection = nil
        transparentRetries += 1
    }

    init(id: Int32, role: StreamState.Role, descriptor: MethodDescriptor, outbox: StreamOutbox, maxMessageBytes: Int) {
        self.id = id
        self.state = StreamState(role: role)
        self.descriptor = descriptor
        self.outbox = outbox
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes, defersDecompression: true)
    }
}

/// The application's writer for a server stream.
struct ServerStreamWriter: ClosableRPCWriterProtocol {
    let outbox: StreamOutbox
    /// The encodings this server may compress with.
    let enabledCompression: [CompressionAlgorithm]
    /// The client's `grpc-accept-encoding`, for a handler's choice of response encoding.
    let clientAcceptEncoding: String?

    func write(_ part: RPCResponsePart) async throws {
        try await write(contentsOf: [part])
    }

    func write(contentsOf parts: [RPCResponsePart]) async throws {
        var headers: Metadata?
        var messages: [StreamOutbox.Message] = []
        messages.reserveCapacity(parts.count)
        var end: StreamOutbox.End?
        for part in parts {
            switch part {
            case .metadata(var metadata):
                if let chosen = metadata.firstString(forKey: Metadata.responseEncodingKey) {
                    metadata.removeAll(forKey: Metadata.responseEncodingKey)
                    outbox.setCompression(responseEncoding(chosen))
                }
                headers = metadata
            case .message(let bytes, let flags): messages.append(.init(bytes: bytes, compress: !flags.contains(.skipCompression)))
            case .status(let status, let trailers): end = .trailers(status, trailers)
            }
        }
        try await outbox.write(headers: headers, messages: messages, end: end)
    }

    func finish() async {}
    func finish(throwing error: any Error) async {
        let error = RPCError(converting: error)
        _ = try? await outbox.write(headers: nil, messages: [], end: .trailers(error.status, error.metadata))
    }

    /// The handler's chosen encoding when this server has it and the client accepts it;
    /// identity otherwise.
    private func responseEncoding(_ name: String) -> CompressionAlgorithm {
        guard let algorithm = CompressionAlgorithm(rawValue: name), enabledCompression.contains(algorithm),
              MessageCompression.parseAcceptEncoding(clientAcceptEncoding).contains(algorithm) else { return .identity }
        return algorithm
    }
}

/// The application's writer for a client stream.
struct ClientStreamWriter: ClosableRPCWriterProtocol {
    let outbox: StreamOutbox
    let cancel: @Sendable (RPCError) -> Void

    func write(_ part: RPCRequestPart) async throws {
        try await write(contentsOf: [part])
    }

    func write(contentsOf parts: [RPCRequestPart]) async throws {
        var headers: Metadata?
        var messages: [StreamOutbox.Message] = []
        messages.reserveCapacity(parts.count)
        for part in parts {
            switch part {
            case .metadata(let metadata): headers = metadata
            case .message(let bytes, let flags): messages.append(.init(bytes: bytes, compress: !flags.contains(.skipCompression)))
            }
        }
        try await outbox.write(headers: headers, messages: messages, end: nil)
    }

    func finish() async {
        _ = try? await outbox.write(headers: nil, messages: [], end: .endStream)
    }

    func finish(throwing error: any Error) async {
        cancel(RPCError(code: .cancelled, message: "The client cancelled the call: \(error)", cause: error))
    }
}
