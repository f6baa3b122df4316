import Dispatch
import OOMesh
import Synchronization

/// gRPC over HTTP/2 on libnghttp2: the client side. Plaintext (h2c, prior knowledge) by
/// default; TLS on OpenSSL when ``Configuration/tls`` is set, verifying the server's
/// certificate against the host (or ``ClientTLSConfiguration/serverHostnameOverride``).
///
/// Calls share one HTTP/2 connection to the target, made lazily on the first call and
/// made again after it closes (or after the server sends GOAWAY). The transport runs its
/// own event-loop thread; callers' tasks exchange parts with it through thread-safe
/// per-stream buffers. Given a process's ``MeshEventLoops`` instead, it keeps one
/// connection per loop and a call made on a loop (a handler's downstream call) goes out
/// on that loop's connection, without a thread switch.
public final class HTTP2ClientTransport: ClientTransport {
    /// Client settings; every default stated.
    public struct Configuration: Sendable, Hashable {
        /// HTTP/2 and message limits. Default: ``HTTP2Configuration/clientDefaults``
        /// (keepalive PINGs after 5 minutes of silence while calls are open).
        public var http2: HTTP2Configuration = .clientDefaults
        /// The `:authority` sent with every call. Default: nil, meaning `host:port`.
        public var authority: String?
        /// TLS (and a client certificate for mutual TLS). Default: nil, plaintext h2c.
        public var tls: ClientTLSConfiguration?
        /// How long connecting (TCP, TLS, HTTP/2 preface) may take before the attempt fails.
        /// Default: 20 seconds, gRPC's minimum connect timeout.
        public var connectTimeout: Duration = .seconds(20)
        /// Delays between reconnection attempts after failures. Default: gRPC's (1 s × 1.6
        /// per failure up to 120 s, ±20 % jitter).
        public var backoff: ConnectionBackoff = ConnectionBackoff()

        /// Creates the defaults.
        public init() {}

        /// The defaults.
        public static var defaults: Configuration { Configuration() }
    }

    /// The server's host.
    public let host: String
    /// The server's port.
    public let port: Int
    private let configuration: Configuration
    /// A loop and the connection (manager) kept on it; one, or one per shared loop.
    struct Lane {
        let loop: EventLoop
        let manager: ClientConnectionManager
        let state: StateBox
    }

    private let lanes: [Lane]
    private let ownsLoop: Bool
    private let nextLane = Atomic<Int>(0)

    /// Where the connection to the target stands right now (with a connection per shared
    /// loop: ready when any is).
    public var connectionState: ConnectionState {
        let states = lanes.map(\.state.value)
        return states.contains(.ready) ? .ready : states[0]
    }

    /// Creates a transport for `host:port`; nothing connects until the first call.
    ///
    /// - Throws: ``TLSConfigurationError`` when TLS is configured and its files cannot be
    ///   used (no throw without TLS).
    ///
    /// With `loops` (the process's shared group, as `oo serve` passes it) the transport
    /// keeps a connection on each of those loops instead of starting a loop of its own.
    public init(
        host: String, port: Int, configuration: Configuration = .defaults, loops: MeshEventLoops? = nil
    ) throws(TLSConfigurationError) {
        self.host = host
        self.port = port
        self.configuration = configuration
        let tls = try configuration.tls.map { tls throws(TLSConfigurationError) in
            (context: try TLSContext(client: tls), serverName: tls.serverHostnameOverride ?? host)
        }
        let loopsToUse: [EventLoop]
        if let loops {
            loopsToUse = loops.group.loops
            ownsLoop = false
        } else {
            let loop = EventLoop(name: "oo-client")
            loop.start()
            loopsToUse = [loop]
            ownsLoop = true
        }
        lanes = loopsToUse.map { loop in
            let state = StateBox()
            return Lane(
                loop: loop,
                manager: ClientConnectionManager(
                    loop: loop, host: host, port: port, authority: configuration.authority ?? "\(host):\(port)",
                    configuration: configuration.http2, tls: tls, connectTimeout: configuration.connectTimeout,
                    backoff: configuration.backoff, state: state),
                state: state)
        }
    }

    deinit {
        // Not joined: the loop's thread ends by itself after these jobs (a join here could
        // block a cooperative thread, wherever the last reference went away). Shared loops
        // are their owner's to stop.
        for lane in lanes {
            lane.loop.execute { [manager = lane.manager] in manager.shutdown() }
            if ownsLoop { lane.loop.stop() }
        }
    }

    /// The lane of the loop this code runs on (no thread switch), else the next one.
    func lane() -> Lane {
        if lanes.count == 1 { return lanes[0] }
        if let current = lanes.first(where: { $0.loop.inEventLoop }) { return current }
        return lanes[nextLane.wrappingAdd(1, ordering: .relaxed).oldValue % lanes.count]
    }

    /// Loads the TLS files again (a rotated client certificate, key or CA) for the
    /// connections made from now on; a connection already up keeps its session. When the
    /// files do not load the error says why and the files in use stay in use. Does nothing
    /// for plaintext.
    public func reloadTLS() throws(TLSConfigurationError) {
        guard let tls = configuration.tls else { return }
        let fresh = (context: try TLSContext(client: tls), serverName: tls.serverHostnameOverride ?? host)
        for lane in lanes { lane.loop.execute { [manager = lane.manager] in manager.tls = fresh } }
    }

    public func connect() async throws {
        for lane in lanes {
            await withCheckedContinuation { continuation in
                lane.loop.execute { [manager = lane.manager] in manager.whenShutDown { continuation.resume() } }
            }
        }
    }

    public func beginGracefulShutdown() {
        for lane in lanes { lane.loop.execute { [manager = lane.manager] in manager.shutdown() } }
    }

    public func withStream<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ body: (RPCStream<RPCResponsePart, RPCRequestPart>) async throws -> Result
    ) async throws -> Result {
        let lane = lane()
        let manager = lane.manager
        let loop = lane.loop
        let link = StreamLink()
        let outbox = StreamOutbox(
            highWaterBytes: configuration.http2.maxQueuedOutboundBytesPerStream,
            maxMessageBytes: configuration.http2.maxSendMessageBytes
        ) { [loop] in
            loop.executeOrRun { if let stream = link.stream { manager.pump(stream) } }
        }
        let stream = HTTP2Stream(
            id: 0, role: .client, descriptor: descriptor, outbox: outbox,
            maxMessageBytes: options.maxResponseMessageBytes ?? configuration.http2.maxReceiveMessageBytes)
        link.stream = stream
        let inbox = StreamInbox<RPCResponsePart>(returnCredit: { [loop] in
            loop.executeOrRun { if let stream = link.stream { manager.returnCredit(stream) } }
        }, readerWaiting: { [loop] in
            loop.executeOrRun { if let stream = link.stream { stream.connection?.readerWaiting(stream) } }
        })
        stream.clientInbox = inbox
        stream.deadline = options.timeout.map { .now + $0 }
        outbox.enableReplay()
        if options.compression != .identity {
            outbox.setCompression(options.compression)
        }
        loop.executeOrRun { manager.attach(stream) }
        defer { loop.executeOrRun { manager.finished(stream) } }

        let rpcStream = RPCStream(
            descriptor: descriptor,
            inbound: RPCAsyncSequence(wrapping: ResponseInboxSequence(
                inbox: inbox, decoder: InboundMessageDecoder(limit: options.maxResponseMessageBytes ?? configuration.http2.maxReceiveMessageBytes))),
            outbound: ClosableRPCWriter(wrapping: ClientStreamWriter(outbox: outbox) { [loop] error in
                loop.executeOrRun { manager.cancel(stream, error) }
            }))
        return try await body(rpcStream)
    }
}

/// The connection state, written on the loop and read anywhere.
final class StateBox: Sendable {
    private let storage = Mutex(ConnectionState.idle)
    var value: ConnectionState {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// A late-bound weak reference from a stream's buffers back to the stream.
private final class StreamLink: @unchecked Sendable {
    // @unchecked Sendable: `stream` is written once, before any closure holding the link
    // can run, and read only on the event loop afterwards.
    weak var stream: HTTP2Stream?
}

/// Owns the client's connection. Loop-confined.
final class ClientConnectionManager: @unchecked Sendable {
    // @unchecked Sendable: every method runs on `loop` (callers use `loop.execute`).

    let loop: EventLoop
    let host: String
    let port: Int
    let authority: String
    let configuration: HTTP2Configuration
    /// The TLS context and the name the server's certificate must match; nil for h2c.
    /// New connections use it; replaced on the loop by `HTTP2ClientTransport.reloadTLS()`.
    var tls: (context: TLSContext, serverName: String)?
    private var connection: HTTP2Connection?
    private var activeStreams = 0
    private var shuttingDown = false
    private var shutDown = false
    private var shutdownWaiters: [() -> Void] = []
    let connectTimeout: Duration
    let backoff: ConnectionBackoff
    let state: StateBox
    /// Consecutive failed attempts to connect, the last one's reason, and when the next
    /// attempt may start.
    private var failures = 0
    private var lastFailure = ""
    private var nextAttempt: ContinuousClock.Instant?
    /// A name lookup for the next connection is running on ``NameResolver/queue``.
    private var resolving = false
    /// Streams waiting for that lookup.
    private var awaitingAddresses: [HTTP2Stream] = []

    init(
        loop: EventLoop, host: String, port: Int, authority: String, configuration: HTTP2Configuration,
        tls: (context: TLSContext, serverName: String)?, connectTimeout: Duration, backoff: ConnectionBackoff, state: StateBox
    ) {
        self.loop = loop
        self.host = host
        self.port = port
        self.authority = authority
        self.configuration = configuration
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.backoff = backoff
        self.state = state
    }

    func attach(_ stream: HTTP2Stream, retry: Bool = false) {
        if retry, stream.abandoned { return }
        if !retry { activeStreams += 1 }
        guard !shuttingDown || retry else {
            return fail(stream, RPCError(code: .unavailable, message: "The client is shutting down; no new calls are accepted."))
        }
        if connection == nil || connection!.isClosed || connection!.draining {
            // Fail fast while backing off after a failed attempt (gRPC's default, no
            // wait-for-ready).
            if let nextAttempt, ContinuousClock.now < nextAttempt {
                let wait = nextAttempt - .now
                return fail(stream, RPCError(
                    code: .unavailable,
                    message: "Cannot connect to \(host):\(port): \(lastFailure); next attempt in \(Int((wait / .milliseconds(1)).rounded(.up))) ms (after \(failures) failed)."))
            }
            // A numeric host needs no lookup; a name is looked up off the loop.
            guard let address = Socket.numericAddress(host: host, port: port) else {
                return awaitAddresses(stream)
            }
            do {
                connection = try makeConnection(to: [address])
            } catch {
                connectFailed(String(describing: error))
                return fail(stream, RPCError(code: .unavailable, message: "Cannot connect to \(host):\(port): \(error)", cause: error))
            }
        }
        stream.connection = connection
        connection!.openClientStream(stream)
        // A retried stream's outbox already holds its request: submit it now.
        if retry { connection!.pump(stream) }
    }

    /// Parks `stream` until the host name is resolved (starting the lookup if none runs);
    /// its deadline still applies while it waits.
    private func awaitAddresses(_ stream: HTTP2Stream) {
        awaitingAddresses.append(stream)
        if let deadline = stream.deadline {
            stream.deadlineTimer?.cancel()
            stream.deadlineTimer = loop.schedule(at: deadline) { [self] in
                guard let index = awaitingAddresses.firstIndex(where: { $0 === stream }) else { return }
                awaitingAddresses.remove(at: index)
                fail(stream, RPCError(code: .deadlineExceeded, message: "The call's deadline passed while \(host) was being resolved."))
            }
        }
        guard !resolving else { return }
        resolving = true
        NameResolver.queue.async { [self, name = host, port, loop] in
            let result = Result { try Socket.resolve(host: name, port: port) }
            loop.execute { self.resolved(result) }
        }
    }

    /// The lookup finished: connect and start the streams that waited, or fail them.
    private func resolved(_ result: Result<[Socket.Address], any Error>) {
        resolving = false
        let waiting = awaitingAddresses
        awaitingAddresses = []
        for stream in waiting {
            stream.deadlineTimer?.cancel()
            stream.deadlineTimer = nil
        }
        let live = waiting.filter { !$0.abandoned && !$0.state.finished }
        guard !live.isEmpty else { return }
        if connection == nil || connection!.isClosed || connection!.draining {
            do {
                connection = try makeConnection(to: try result.get())
            } catch {
                connectFailed(String(describing: error))
                for stream in live {
                    fail(stream, RPCError(code: .unavailable, message: "Cannot connect to \(host):\(port): \(error)", cause: error))
                }
                return
            }
        }
        for stream in live {
            stream.connection = connection
            connection!.openClientStream(stream)
            connection!.pump(stream)
        }
    }

    private func connectFailed(_ reason: String) {
        failures += 1
        lastFailure = reason
        nextAttempt = .now + backoff.delay(afterFailures: failures)
        if !shuttingDown { state.value = .transientFailure }
    }

    private func makeConnection(to addresses: [Socket.Address]) throws -> HTTP2Connection {
        var lastError: (any Error)?
        for address in addresses {
            do {
                let session = try tls.map { tls throws(TLSConfigurationError) in
                    try TLSSession(context: tls.context, serverName: tls.serverName)
                }
                let fd = try Socket.startConnect(to: address)
                let connection = HTTP2Connection(
                    loop: loop, fd: fd, role: .client(authority: authority), configuration: configuration, tls: session,
                    connecting: true)
                connection.onRefusedStream = { [self] stream in self.attach(stream, retry: true) }
                connection.onReady = { [self] in
                    failures = 0
                    nextAttempt = nil
                    if !shuttingDown { state.value = .ready }
                }
                connection.onClose = { [self] closed in
                    if self.connection === closed {
                        self.connection = nil
                        if closed.peerSpokeHTTP2.load(ordering: .relaxed) {
                            if !shuttingDown { state.value = .idle }
                        } else {
                            connectFailed(closed.closeReason ?? "the connection closed while connecting")
                        }
                    }
                    finishShutdownIfIdle()
                }
                connection.connectTimeout = connectTimeout
                state.value = .connecting
                connection.start()
                return connection
            } catch {
                lastError = error
            }
        }
        throw lastError ?? SocketError(call: "resolve(\(host))", errno: 2)
    }

    private func fail(_ stream: HTTP2Stream, _ error: RPCError) {
        _ = stream.state.settle()
        stream.outbox.close(.fail(error))
        stream.clientInbox?.finish(error)
    }

    func pump(_ stream: HTTP2Stream) {
        stream.connection?.pump(stream)
    }

    func returnCredit(_ stream: HTTP2Stream) {
        stream.connection?.returnCredit(stream)
    }

    func cancel(_ stream: HTTP2Stream, _ error: RPCError) {
        if let connection = stream.connection {
            connection.resetStream(stream, reason: error.message, code: .cancelled)
        } else {
            awaitingAddresses.removeAll { $0 === stream }
            fail(stream, error)
        }
    }

    func finished(_ stream: HTTP2Stream) {
        stream.abandoned = true
        if let index = awaitingAddresses.firstIndex(where: { $0 === stream }) {
            awaitingAddresses.remove(at: index)
            stream.deadlineTimer?.cancel()
        }
        stream.connection?.clientStreamFinished(stream)
        stream.connection = nil
        activeStreams -= 1
        finishShutdownIfIdle()
    }

    func shutdown() {
        shuttingDown = true
        finishShutdownIfIdle()
    }

    func whenShutDown(_ action: @escaping () -> Void) {
        if shutDown { action() } else { shutdownWaiters.append(action) }
    }

    private func finishShutdownIfIdle() {
        guard shuttingDown, !shutDown, activeStreams == 0 else { return }
        if let connection, !connection.isClosed {
            connection.beginGracefulShutdown()
            return  // its onClose comes back here
        }
        shutDown = true
        state.value = .shutdown
        let waiters = shutdownWaiters
        shutdownWaiters = []
        for waiter in waiters { waiter() }
    }
}
