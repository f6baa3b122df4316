#if canImport(Glibc)
import Glibc
#endif
import OOMesh
import Synchronization

/// One HTTP/2 connection carrying gRPC calls, server or client side, driven sans-I/O:
/// socket bytes go into `nghttp2_session_mem_recv`, frames come out of
/// `nghttp2_session_mem_send` into an ``OutboundQueue`` written with one gather write per
/// loop iteration. Large DATA payloads are not copied: the data provider only reserves bytes
/// in the stream's outbox (`NGHTTP2_DATA_FLAG_NO_COPY`), and the send-data callback queues
/// the frame header followed by references to the application's message buffers.
///
/// With TLS, a ``TLSSession`` sits between the socket and nghttp2, also sans-I/O: socket
/// bytes are fed to OpenSSL and the plaintext it yields goes to nghttp2; nghttp2's frames
/// are encrypted in one batch per flush. The HTTP/2 session starts only once the handshake
/// has completed and ALPN has selected `h2`.
///
/// The connection is a driver: it turns socket, timer and nghttp2 events into calls on
/// small parts and carries out what they return. Its files, one job each:
/// - this one: the state, start (TCP → TLS → HTTP/2), graceful shutdown and close;
/// - `ConnectionIO`: socket readiness, the TLS pump, the write path;
/// - ``NGHTTP2Session``: every call into nghttp2 (``NGHTTP2Callbacks``: the trampolines back);
/// - `SessionEvents`: nghttp2's callbacks, turned into ``StreamState`` events;
/// - `ConnectionCredit`: inbound flow control, as the pure ``InboundCredit`` ledger decides;
/// - `OutboundPath`: outbox → HEADERS, DATA (zero-copy) and trailers; resets;
/// - `ServerCalls` / `ClientCalls`: each role's gRPC call handling;
/// - `ConnectionPolicy`: keepalive, idle and age timers and PING policing, as the pure
///   ``ConnectionManagement`` machine decides.
/// The pure parts (``StreamState``, ``InboundCredit``, ``ConnectionManagement``,
/// ``RequestHead``/``ResponseHead``) are tested without sockets. Stored state is internal,
/// not private, only so these extensions can reach it; nothing outside `Connection/` and
/// the transports uses it.
///
/// Loop-confined: every method runs on `loop`'s thread.
final class HTTP2Connection: EventHandler, @unchecked Sendable {
    // @unchecked Sendable: only ever used on `loop`'s thread. Other threads hold references
    // solely to pass them back to the loop in `loop.execute` closures.

    enum Role {
        /// `web`: the web protocols, when the port speaks them besides gRPC.
        case server(
            handler: @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void,
            web: WebCallServer? = nil)
        case client(authority: String)
    }

    let loop: EventLoop
    let fd: Int32
    let role: Role
    let configuration: HTTP2Configuration
    /// The `grpc-accept-encoding` this side sends (what it can decompress), built once.
    let acceptEncodingHeader: String
    var peer = "unknown"
    /// TLS between the socket and nghttp2; nil for h2c.
    let tls: TLSSession?
    /// The peer's verified certificate identity (mutual TLS), once the handshake is done.
    var peerIdentity: PeerIdentity?
    /// nghttp2's frames waiting to be encrypted, so a flush makes few large TLS records.
    var plaintextOut: [UInt8] = []
    /// Called when the connection closes because of a TLS failure, with the reason.
    var onTLSFailure: ((String) -> Void)?
    /// The nghttp2 session, once HTTP/2 has started (after TCP and TLS).
    var session: NGHTTP2Session?
    var streams: [Int32: HTTP2Stream] = [:]
    /// Header strings this connection's calls repeat, decoded once.
    var headerStrings = HeaderStringCache()
    /// Bytes for the socket: frames, DATA payloads by reference, or TLS ciphertext.
    var outbound = OutboundQueue()
    /// The send-data callback paused `nghttp2_session_mem_send` because `outbound` is full.
    var sendPaused = false
    var writeBlocked = false
    var flushScheduled = false
    var pendingCredits: [(Int32, Int)] = []
    /// DATA bytes received and bytes returned to the peer's windows, since the start: the
    /// difference is what this connection holds (frame-level tests compare them).
    var creditTotals = (receivedBytes: 0, creditedBytes: 0)
    /// What every received DATA byte owes, and the connection's budget for advances.
    var inboundCredit: InboundCredit
    /// Streams whose waiting reader got less of an advance than it wanted (the budget was
    /// spent): asked again when an advance is released.
    var starvedStreams: Set<Int32> = []
    /// Client: the socket's connect has not completed.
    var connecting = false
    /// Client: streams opened here whose request headers are not submitted yet (the
    /// session has not started, or the caller has not written its metadata). They are
    /// tracked so that a close fails them too: a stream in neither this list nor
    /// `streams` would wait forever.
    var pendingStreams: [HTTP2Stream] = []
    /// A GOAWAY was sent or received: no new streams.
    var draining = false
    /// Closes the connection when the shutdown grace period ends.
    var graceTimer: LoopTimer?

    /// Keepalive, idle and age limits and PING policing (a pure machine); its timers.
    var management: ConnectionManagement
    var keepaliveTimer: LoopTimer?
    var idleTimer: LoopTimer?
    var ageTimer: LoopTimer?
    /// Set when the connection must close as soon as what is queued has been written.
    var closeAfterFlush: String?
    var isClosed = false
    /// Called once, on the loop, when the connection has closed.
    var onClose: ((HTTP2Connection) -> Void)?
    /// Client: called once, on the loop, when HTTP/2 is up (after TCP and TLS).
    var onReady: (() -> Void)?
    /// Client: a stream refused before the server processed it, rewound for a retry.
    var onRefusedStream: (@Sendable (HTTP2Stream) -> Void)?
    /// Whether HTTP/2 came up on this connection (the session started).
    var becameReady = false
    /// The peer's first SETTINGS frame has arrived: it speaks HTTP/2. Read by the server
    /// transport's admission from another thread (which connections may be shed).
    let peerSpokeHTTP2 = Atomic<Bool>(false)
    /// Server: handler tasks of this connection still running (their streams may be gone).
    /// A class so that the tasks, which may outlive the connection, can count themselves out.
    let liveHandlers = ManagedCounter()
    /// Server: the transport's count of every connection's handlers.
    var handlerTally: HandlerTally?
    /// Server: streams refused because too many handlers still ran.
    var refusedForHandlers = 0
    /// When the connection was accepted or started connecting.
    let startedAt = ContinuousClock.now
    /// Server: closes the connection when TLS and the client's preface and SETTINGS have
    /// not all arrived within `HTTP2Configuration.handshakeTimeout`.
    var handshakeTimer: LoopTimer?
    /// Why the connection closed, once it has.
    var closeReason: String?
    /// Client: how long connecting (TCP, TLS) may take. Default: none.
    var connectTimeout: Duration?
    var connectTimer: LoopTimer?
    /// Client: why connecting failed, for the streams that waited.
    var connectError: String?

    var isServer: Bool {
        if case .server = role { return true } else { return false }
    }

    /// Number of streams open or waiting to open.
    var activeStreamCount: Int { streams.count + pendingStreams.count }

    init(loop: EventLoop, fd: Int32, role: Role, configuration: HTTP2Configuration, tls: TLSSession? = nil, connecting: Bool = false) {
        self.loop = loop
        self.fd = fd
        self.role = role
        self.configuration = configuration
        self.acceptEncodingHeader = MessageCompression.acceptEncodingHeader(configuration.enabledCompression)
        self.tls = tls
        self.connecting = connecting
        self.inboundCredit = InboundCredit(advanceBudgetBytes: configuration.maxCreditAdvanceBytesPerConnection)
        let isServer: Bool
        if case .server = role { isServer = true } else { isServer = false }
        self.management = ConnectionManagement(policy: .init(configuration, isServer: isServer), now: .now)
    }

    // MARK: Lifecycle

    /// Registers the socket with the loop; a server connection starts its session now, a
    /// client one once the socket has connected.
    func start() {
        loop.assertInLoop()
        loop.register(fd, handler: self, writable: connecting)
        if let connectTimeout, !isServer {
            connectTimer = loop.schedule(at: .now + connectTimeout) { [weak self] in
                guard let self, !peerSpokeHTTP2.load(ordering: .relaxed) else { return }
                close(reason: becameReady
                    ? "the server sent no HTTP/2 SETTINGS within the connect timeout (\(connectTimeout)); is it an HTTP/2 server?"
                    : "connecting timed out after \(connectTimeout)")
            }
        }
        if isServer, let timeout = configuration.handshakeTimeout {
            handshakeTimer = loop.schedule(at: .now + timeout) { [weak self] in
                guard let self, !peerSpokeHTTP2.load(ordering: .relaxed) else { return }
                close(reason: "no \(tls == nil ? "" : "TLS handshake, ")HTTP/2 preface and SETTINGS within \(timeout)")
            }
        }
        if !connecting { socketReady() }
    }

    /// The TCP connection is up: start TLS, or HTTP/2 at once for h2c.
    func socketReady() {
        peer = Socket.peerDescription(fd)
        Socket.setNoDelay(fd)
        if tls != nil {
            advanceHandshake()
        } else {
            startSession()
        }
    }

    /// Drives the TLS handshake with the bytes received so far; starts HTTP/2 when done.
    func advanceHandshake() {
        guard let tls, !isClosed else { return }
        let progress = tls.handshake()
        outbound.appendStaging { tls.drain(into: &$0) }
        switch progress {
        case .inProgress:
            if !outbound.isEmpty { _ = writeOut() }
        case .done:
            peerIdentity = tls.peerIdentity
            if !outbound.isEmpty, !writeOut(), isClosed { return }
            startSession()
        case .failed(let reason):
            // Send the alert OpenSSL queued (best effort), then close.
            if !outbound.isEmpty { _ = writeOut() }
            failTLS(reason)
        }
    }

    func startSession() {
        session = NGHTTP2Session(
            server: isServer, connection: Unmanaged.passUnretained(self).toOpaque(),
            settings: .init(
                maxConcurrentStreams: configuration.maxConcurrentStreams,
                initialStreamWindowBytes: configuration.targetStreamWindowBytes,
                connectionWindowBytes: configuration.targetConnectionWindowBytes,
                maxHeaderListBytes: configuration.maxHeaderListBytes,
                disablePush: !isServer),
            firstClientStreamID: configuration.firstClientStreamID)
        startConnectionManagement()
        becameReady = true
        // Streams whose caller has written its metadata start now; the rest stay pending
        // until it does (`submitRequest` takes them off the list).
        for stream in pendingStreams { pump(stream) }
        scheduleFlush()
    }

    /// The peer's first SETTINGS arrived: the connection is up for real. A client is ready
    /// only now (a TCP listener that never speaks HTTP/2 must not count as a server), and
    /// the connect timeout stops; a server stops its handshake deadline.
    func peerReady() {
        peerSpokeHTTP2.store(true, ordering: .relaxed)
        handshakeTimer?.cancel()
        handshakeTimer = nil
        connectTimer?.cancel()
        connectTimer = nil
        onReady?()
        onReady = nil
    }

    /// Shuts the connection down gracefully: streams already open finish, new ones are
    /// refused, and the connection closes once the last stream has; after `grace` (when
    /// given) whatever is still open is closed anyway.
    ///
    /// A server first sends a shutdown notice (GOAWAY with the largest stream id) and a
    /// PING; when the PING's ACK comes back, every stream the client started before it saw
    /// the notice has arrived, and the final GOAWAY names the last one (RFC 9113 §6.8). A
    /// client sends the final GOAWAY at once.
    func beginGracefulShutdown(grace: Duration? = nil) {
        guard !isClosed else { return }
        if let grace, graceTimer == nil {
            graceTimer = loop.schedule(at: .now + grace) { [weak self] in
                self?.close(reason: "the server's shutdown grace period (\(grace)) ran out")
            }
        }
        guard !draining else { return }
        draining = true
        guard let session else {
            if connecting || tls != nil { close(reason: "shut down before the connection was ready") }
            return
        }
        if isServer {
            session.submitShutdownNotice()
            submitPing(management.shutdownPingSent())
        } else {
            submitFinalGoaway()
        }
        scheduleFlush()
    }

    func submitFinalGoaway() {
        guard let session else { return }
        management.finalGoawaySent()
        session.submitGoaway(.noError)
        scheduleFlush()
    }

    /// Closes the socket and fails every stream still open.
    func close(reason: String) {
        guard !isClosed else { return }
        isClosed = true
        closeReason = reason
        connectTimer?.cancel()
        connectTimer = nil
        handshakeTimer?.cancel()
        handshakeTimer = nil
        onReady = nil
        let error = RPCError(code: .unavailable, message: "The connection to \(peer) closed: \(reason).")
        for stream in Array(streams.values) + pendingStreams {
            terminate(stream, error: error)
        }
        streams.removeAll()
        pendingStreams.removeAll()
        loop.deregister(fd)
        Glibc.close(fd)
        session?.delete()
        session = nil
        // Nothing more will be written: release the queued bytes (and the application
        // buffers they reference) now, not when the last stream lets go of the connection.
        outbound.removeAll()
        plaintextOut = []
        onTLSFailure = nil
        graceTimer?.cancel()
        graceTimer = nil
        for timer in [keepaliveTimer, idleTimer, ageTimer] { timer?.cancel() }
        keepaliveTimer = nil
        idleTimer = nil
        ageTimer = nil
        onClose?(self)
        onClose = nil
    }

    /// Ends a stream from our side without a status exchange (connection loss).
    func terminate(_ stream: HTTP2Stream, error: RPCError) {
        let tellCaller = stream.state.terminated()
        stream.deadlineTimer?.cancel()
        stream.outbox.close(.fail(error))
        if let inbox = stream.serverInbox {
            inbox.finish(RPCError(code: .cancelled, message: error.message))
            stream.task?.cancel()
        }
        if tellCaller { stream.clientInbox?.finish(error) }
    }
}

extension EventLoop {
    /// Runs `body` now when already on the loop (outside nghttp2 callbacks: only tasks call
    /// this), else hands it to the loop.
    func executeOrRun(_ body: @escaping @Sendable () -> Void) {
        if inEventLoop { body() } else { execute(body) }
    }
}

/// An atomic counter that closures may capture (an `Atomic` cannot be).
final class ManagedCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    func decrement() { value.subtract(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}
