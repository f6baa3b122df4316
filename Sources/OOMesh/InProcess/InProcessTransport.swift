import Synchronization

/// A client and a server transport joined in memory: calls never leave the process.
///
/// It keeps the transport seam honest and makes tests fast. It behaves like the network
/// transport where callers can tell: deadlines, cancellation both ways, backpressure
/// (each direction of a stream buffers at most `bufferedParts` parts).
///
/// ```swift
/// let transport = InProcessTransport()
/// async let _ = GRPCServer(transport: transport.server, services: [Greeter()]).serve()
/// try await withGRPCClient(transport: transport.client) { client in … }
/// ```
public struct InProcessTransport: Sendable {
    /// The server half; give it to a ``GRPCServer``.
    public let server: Server
    /// The client half; give it to a ``GRPCClient``.
    public let client: Client

    /// Creates a joined pair. `bufferedParts` bounds each direction of each stream.
    public init(bufferedParts: Int = 16) {
        let server = Server()
        self.server = server
        self.client = Client(server: server, bufferedParts: bufferedParts)
    }

    /// One stream handed from the client half to the server half.
    struct Handoff: Sendable {
        let stream: RPCStream<RPCRequestPart, RPCResponsePart>
        let context: ServerStreamContext
        let cancelled: CancellationSignal
    }

    /// The server half.
    public final class Server: ServerTransport {
        private let streams: AsyncStream<Handoff>
        private let continuation: AsyncStream<Handoff>.Continuation

        init() {
            (streams, continuation) = AsyncStream.makeStream(of: Handoff.self)
        }

        public func listen(
            streamHandler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void
        ) async throws {
            await withDiscardingTaskGroup { group in
                for await handoff in streams {
                    group.addTask {
                        // Run the handler until it ends or the client side cancels the stream.
                        await withTaskGroup(of: Void.self) { call in
                            call.addTask { await streamHandler(handoff.stream, handoff.context) }
                            call.addTask { await handoff.cancelled.wait() }
                            await call.next()
                            call.cancelAll()
                        }
                    }
                }
            }
        }

        public func beginGracefulShutdown() {
            continuation.finish()
        }

        /// False once the server has shut down.
        func accept(_ handoff: Handoff) -> Bool {
            if case .enqueued = continuation.yield(handoff) { return true }
            return false
        }
    }

    /// The client half.
    public final class Client: ClientTransport {
        private let server: Server
        private let bufferedParts: Int
        private let shutdown = CancellationSignal()

        init(server: Server, bufferedParts: Int) {
            self.server = server
            self.bufferedParts = bufferedParts
        }

        public func connect() async throws {
            await shutdown.wait()
        }

        public func beginGracefulShutdown() {
            shutdown.fire()
        }

        public func withStream<Result: Sendable>(
            descriptor: MethodDescriptor,
            options: CallOptions,
            _ body: (RPCStream<RPCResponsePart, RPCRequestPart>) async throws -> Result
        ) async throws -> Result {
            if shutdown.isFired {
                throw RPCError(code: .unavailable, message: "The in-process client transport has shut down.")
            }
            let requests = BoundedChannel<RPCRequestPart>(capacity: bufferedParts)
            let responses = BoundedChannel<RPCResponsePart>(capacity: bufferedParts)
            let cancelled = CancellationSignal()
            let responseEnded = CancellationSignal()
            let deadline = options.timeout.map { ContinuousClock.now + $0 }

            let serverStream = RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: BoundedChannelSequence(channel: requests)),
                outbound: ClosableRPCWriter(wrapping: ServerWriter(channel: responses, requests: requests, ended: responseEnded)))
            let handoff = Handoff(
                stream: serverStream,
                context: ServerStreamContext(descriptor: descriptor, peer: "in-process", deadline: deadline),
                cancelled: cancelled)
            guard server.accept(handoff) else {
                throw RPCError(code: .unavailable, message: "The in-process server is not accepting calls.")
            }
            let clientStream = RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: BoundedChannelSequence(channel: responses)),
                outbound: ClosableRPCWriter(wrapping: ClientWriter(channel: requests, responses: responses, cancelled: cancelled, responseEnded: responseEnded)))

            /// Tears the call down on both sides with `error`.
            @Sendable func abort(_ error: RPCError) {
                requests.finish(throwing: error)
                responses.finish(throwing: error)
                cancelled.fire()
            }

            defer { abort(RPCError(code: .cancelled, message: "The call was torn down by the client.")) }
            guard let deadline else { return try await body(clientStream) }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    abort(RPCError(code: .deadlineExceeded, message: "The call did not finish within its deadline of \(options.timeout!)."))
                }
                defer { group.cancelAll() }
                return try await body(clientStream)
            }
        }
    }

    /// The server's writer: a status ends the response stream and the call.
    struct ServerWriter: ClosableRPCWriterProtocol {
        let channel: BoundedChannel<RPCResponsePart>
        let requests: BoundedChannel<RPCRequestPart>
        let ended: CancellationSignal

        func write(_ part: RPCResponsePart) async throws {
            try await channel.send(Self.inProcessForm(of: part))
            if case .status = part {
                channel.finish()
                ended.fire()
                requests.finish(throwing: RPCError(code: .cancelled, message: "The server has already ended the call."))
            }
        }

        func finish() async { channel.finish() }
        func finish(throwing error: any Error) async { channel.finish(throwing: RPCError(converting: error)) }

        /// Messages are handed over as they are, never compressed: the encoding choice is
        /// dropped and no message is flagged.
        static func inProcessForm(of part: RPCResponsePart) -> RPCResponsePart {
            switch part {
            case .metadata(var metadata):
                metadata.removeAll(forKey: Metadata.responseEncodingKey)
                return .metadata(metadata)
            case .message(let bytes, _): return .message(bytes, [])
            case .status: return part
            }
        }
    }

    /// The client's writer: writes after the response has ended are discarded.
    struct ClientWriter: ClosableRPCWriterProtocol {
        let channel: BoundedChannel<RPCRequestPart>
        let responses: BoundedChannel<RPCResponsePart>
        let cancelled: CancellationSignal
        let responseEnded: CancellationSignal

        func write(_ part: RPCRequestPart) async throws {
            do {
                if case .message(let bytes, let flags) = part, !flags.isEmpty {
                    try await channel.send(.message(bytes, []))  // never compressed in process
                } else {
                    try await channel.send(part)
                }
            } catch where responseEnded.isFired && !Task.isCancelled {
                return  // the server has ended the call; its status says how
            }
        }

        func finish() async { channel.finish() }

        func finish(throwing error: any Error) async {
            let error = RPCError(code: .cancelled, message: "The client cancelled the call.", cause: error)
            channel.finish(throwing: error)
            responses.finish(throwing: error)
            cancelled.fire()
        }
    }
}

/// A one-shot signal that tasks can wait for.
final class CancellationSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    var isFired: Bool { state.withLock { $0.fired } }

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once fired. (Not cancellable: callers cancel it by firing it.)
    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
