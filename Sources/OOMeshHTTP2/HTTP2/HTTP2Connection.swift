#if canImport(Glibc)
import Glibc
#endif
import CNGHTTP2
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
/// Loop-confined: every method runs on `loop`'s thread.
final class HTTP2Connection: EventHandler, @unchecked Sendable {
    // @unchecked Sendable: only ever used on `loop`'s thread. Other threads hold references
    // solely to pass them back to the loop in `loop.execute` closures.

    enum Role {
        case server(handler: @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void)
        case client(authority: String)
    }

    let loop: EventLoop
    let fd: Int32
    let role: Role
    let configuration: HTTP2Configuration
    /// The `grpc-accept-encoding` this side sends (what it can decompress), built once.
    private let acceptEncodingHeader: String
    private(set) var peer = "unknown"
    /// TLS between the socket and nghttp2; nil for h2c.
    private let tls: TLSSession?
    /// The peer's verified certificate identity (mutual TLS), once the handshake is done.
    private(set) var peerIdentity: PeerIdentity?
    /// nghttp2's frames waiting to be encrypted, so a flush makes few large TLS records.
    private var plaintextOut: [UInt8] = []
    /// Called when the connection closes because of a TLS failure, with the reason.
    var onTLSFailure: ((String) -> Void)?
    private var session: OpaquePointer?
    private var streams: [Int32: HTTP2Stream] = [:]
    /// Header strings this connection's calls repeat, decoded once.
    private var headerStrings = HeaderStringCache()
    /// Bytes for the socket: frames, DATA payloads by reference, or TLS ciphertext.
    private var outbound = OutboundQueue()
    /// The send-data callback paused `nghttp2_session_mem_send` because `outbound` is full.
    private var sendPaused = false
    private var writeBlocked = false
    private var flushScheduled = false
    private var pendingCredits: [(Int32, Int)] = []
    /// What every received DATA byte owes, and the connection's budget for advances.
    private var inboundCredit: InboundCredit
    /// Streams whose waiting reader got less of an advance than it wanted (the budget was
    /// spent): asked again when an advance is released.
    private var starvedStreams: Set<Int32> = []
    /// Client: the socket's connect has not completed.
    private(set) var connecting = false
    /// Client: streams opened here whose request headers are not submitted yet (the
    /// session has not started, or the caller has not written its metadata). They are
    /// tracked so that a close fails them too: a stream in neither this list nor
    /// `streams` would wait forever.
    private var pendingStreams: [HTTP2Stream] = []
    /// A GOAWAY was sent or received: no new streams.
    private(set) var draining = false
    /// Closes the connection when the shutdown grace period ends.
    private var graceTimer: LoopTimer?

    /// Keepalive, idle and age limits and PING policing (a pure machine); its timers.
    private var management: ConnectionManagement
    private var keepaliveTimer: LoopTimer?
    private var idleTimer: LoopTimer?
    private var ageTimer: LoopTimer?
    /// Set when the connection must close as soon as what is queued has been written.
    private var closeAfterFlush: String?
    private(set) var isClosed = false
    /// Called once, on the loop, when the connection has closed.
    var onClose: ((HTTP2Connection) -> Void)?
    /// Client: called once, on the loop, when HTTP/2 is up (after TCP and TLS).
    var onReady: (() -> Void)?
    /// Client: a stream refused before the server processed it, rewound for a retry.
    var onRefusedStream: (@Sendable (HTTP2Stream) -> Void)?
    /// Whether HTTP/2 came up on this connection (the session started).
    private(set) var becameReady = false
    /// The peer's first SETTINGS frame has arrived: it speaks HTTP/2. Read by the server
    /// transport's admission from another thread (which connections may be shed).
    let peerSpokeHTTP2 = Atomic<Bool>(false)
    /// Server: handler tasks of this connection still running (their streams may be gone).
    /// A class so that the tasks, which may outlive the connection, can count themselves out.
    let liveHandlers = ManagedCounter()
    /// Server: the transport's count of every connection's handlers.
    var handlerTally: HandlerTally?
    /// Server: streams refused because too many handlers still ran.
    private(set) var refusedForHandlers = 0
    /// When the connection was accepted or started connecting.
    let startedAt = ContinuousClock.now
    /// Server: closes the connection when TLS and the client's preface and SETTINGS have
    /// not all arrived within `HTTP2Configuration.handshakeTimeout`.
    private var handshakeTimer: LoopTimer?
    /// Why the connection closed, once it has.
    private(set) var closeReason: String?
    /// Client: how long connecting (TCP, TLS) may take. Default: none.
    var connectTimeout: Duration?
    private var connectTimer: LoopTimer?
    /// Client: why connecting failed, for the streams that waited.
    private var connectError: String?

    private var isServer: Bool {
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
    private func socketReady() {
        peer = Socket.peerDescription(fd)
        Socket.setNoDelay(fd)
        if tls != nil {
            advanceHandshake()
        } else {
            startSession()
        }
    }

    /// Drives the TLS handshake with the bytes received so far; starts HTTP/2 when done.
    private func advanceHandshake() {
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

    private func startSession() {
        let callbacks = NGHTTP2Callbacks.make()
        defer { nghttp2_session_callbacks_del(callbacks) }
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        let userData = Unmanaged.passUnretained(self).toOpaque()
        var result: Int32
        if isServer {
            result = nghttp2_session_server_new2(&session, callbacks, userData, option)
        } else {
            result = nghttp2_session_client_new2(&session, callbacks, userData, option)
        }
        precondition(result == 0, "nghttp2 session creation failed: \(result)")
        if !isServer, let first = configuration.firstClientStreamID {
            nghttp2_session_set_next_stream_id(session, first)
        }
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(configuration.maxConcurrentStreams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(configuration.targetStreamWindowBytes)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(configuration.maxHeaderListBytes)),
        ]
        if !isServer {
            settings.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0))
        }
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(configuration.targetConnectionWindowBytes))
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
    private func peerReady() {
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
            nghttp2_submit_shutdown_notice(session)
            submitPing(ConnectionManagement.PingPurpose(rawValue: management.shutdownPingSent())!)
        } else {
            submitFinalGoaway()
        }
        scheduleFlush()
    }

    private func submitFinalGoaway() {
        guard let session else { return }
        management.finalGoawaySent()
        nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
            UInt32(NGHTTP2_NO_ERROR.rawValue), nil, 0)
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
        if let session { nghttp2_session_del(session) }
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
    private func terminate(_ stream: HTTP2Stream, error: RPCError) {
        let tellCaller = stream.state.terminated()
        stream.deadlineTimer?.cancel()
        stream.outbox.close(.fail(error))
        if let inbox = stream.serverInbox {
            inbox.finish(RPCError(code: .cancelled, message: error.message))
            stream.task?.cancel()
        }
        if tellCaller { stream.clientInbox?.finish(error) }
    }

    // MARK: Connection management

    private func startConnectionManagement() {
        let now = ContinuousClock.now
        management.received(now: now)
        management.streamActivity(now: now)
        let first = management.firstChecks(now: now)
        if let at = first.keepalive { scheduleKeepalive(at: at) }
        if let at = first.idle { scheduleIdleCheck(at: at) }
        if let at = first.age {
            ageTimer = loop.schedule(at: at) { [weak self] in
                guard let self else { return }
                beginGracefulShutdown(grace: configuration.maxConnectionAgeGrace)
            }
        }
    }

    /// Sends one of our PINGs, its purpose in its opaque data.
    private func submitPing(_ purpose: ConnectionManagement.PingPurpose) {
        let opaque = purpose.opaqueData
        nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), opaque)
        scheduleFlush()
    }

    private func scheduleKeepalive(at check: ContinuousClock.Instant) {
        keepaliveTimer?.cancel()
        keepaliveTimer = loop.schedule(at: check) { [weak self] in self?.keepaliveTick() }
    }

    private func keepaliveTick() {
        guard !isClosed, session != nil else { return }
        switch management.keepaliveTimerFired(now: .now, hasOpenStreams: !streams.isEmpty) {
        case .sendPing(let check):
            submitPing(.keepalive)
            scheduleKeepalive(at: check)
        case .wait(let check):
            scheduleKeepalive(at: check)
        case .close(let reason):
            close(reason: reason)
        case .none:
            break
        }
    }

    private func scheduleIdleCheck(at check: ContinuousClock.Instant) {
        idleTimer = loop.schedule(at: check) { [weak self] in
            guard let self, !isClosed else { return }
            switch management.idleTimerFired(now: .now, hasOpenStreams: !streams.isEmpty) {
            case .shutDown: beginGracefulShutdown()
            case .wait(let check): scheduleIdleCheck(at: check)
            case .none: break
            }
        }
    }

    /// A PING ACK: answers our keepalive PING or the shutdown PING (told by its data).
    private func receivedPingAck(_ frame: nghttp2_frame) {
        let opaque = ConnectionManagement.PingPurpose.opaque(frame.ping.opaque_data)
        switch management.pingAckReceived(opaque: opaque, now: .now) {
        case .keepaliveAnswered(let next):
            // The next PING an interval of silence from now, not when the ACK's timeout
            // would have run out.
            scheduleKeepalive(at: next)
        case .sendFinalGoaway:
            submitFinalGoaway()
        case .ignore:
            break
        }
    }

    /// Ping policing: past the forgiven strikes the connection ends with
    /// GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
    private func policePing() {
        guard management.peerPingReceived(now: .now, hasOpenStreams: !streams.isEmpty) == .tooManyPings,
              let session else { return }
        let debug = Array("too_many_pings".utf8)
        nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
            UInt32(NGHTTP2_ENHANCE_YOUR_CALM.rawValue), debug, debug.count)
        draining = true
        // In an nghttp2 callback: no flush or close here; the flush closes once it is sent.
        closeAfterFlush = "the peer sent too many PINGs (GOAWAY ENHANCE_YOUR_CALM)"
        scheduleFlush()
    }

    // MARK: Socket events

    func handleReadable() {
        guard !isClosed, !connecting else { return }
        if management.wantsReceiveTimes { management.received(now: .now) }
        let buffer = loop.readBuffer
        for _ in 0..<8 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                if tls != nil {
                    receiveCiphertext(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                } else {
                    receive(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                if isClosed { return }
                if count < buffer.count { break }
            } else if count == 0 {
                close(reason: "the peer closed the connection")
                return
            } else {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { break }
                close(reason: String(describing: SocketError(call: "read", errno: error)))
                return
            }
        }
        scheduleFlush()
    }

    func handleWritable() {
        guard !isClosed else { return }
        if connecting {
            let error = Socket.pendingError(fd)
            connecting = false
            loop.setWritableInterest(fd, false)
            if error != 0 {
                connectError = String(describing: SocketError(call: "connect", errno: error))
                close(reason: connectError!)
                return
            }
            socketReady()
            return
        }
        writeBlocked = false
        loop.setWritableInterest(fd, false)
        flush()
    }

    /// Ends the connection because of a TLS failure, telling `onTLSFailure` why.
    private func failTLS(_ reason: String) {
        onTLSFailure?(reason)
        close(reason: reason)
    }

    /// TLS: hands socket bytes to OpenSSL, then the plaintext it yields to nghttp2. The
    /// ciphertext is copied into OpenSSL's input buffer first, so the loop's read buffer is
    /// free to receive the plaintext.
    private func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else { return }
        tls.feed(bytes)
        if !tls.handshakeDone {
            advanceHandshake()
            guard tls.handshakeDone, !isClosed else { return }
        }
        let buffer = loop.readBuffer
        while !isClosed {
            switch tls.read(into: buffer) {
            case .bytes(let count):
                receive(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            case .needMoreInput:
                // OpenSSL may have queued a reply of its own (a TLS 1.3 key update).
                outbound.appendStaging { tls.drain(into: &$0) }
                return
            case .closed:
                close(reason: "the peer closed the TLS session")
                return
            case .failed(let reason):
                return failTLS(reason)
            }
        }
    }

    private func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let session else { return }
        let result = nghttp2_session_mem_recv(session, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
        applyCredits()
        if result < 0 {
            // A protocol violation: nghttp2 has queued a GOAWAY where it could; send it, then close.
            let reason = String(cString: nghttp2_strerror(Int32(result)))
            flush()
            close(reason: "HTTP/2 protocol error: \(reason)")
        }
    }

    // MARK: Writing

    func scheduleFlush() {
        guard !flushScheduled, !isClosed else { return }
        flushScheduled = true
        loop.flushAtEndOfIteration(self)
    }

    func flushAtEndOfIteration() {
        flushScheduled = false
        flush()
    }

    /// Pulls every frame nghttp2 has ready and writes them, coalesced.
    private func flush() {
        guard !isClosed, !writeBlocked else { return }
        guard let session else {
            // Before HTTP/2 starts (a TLS handshake): only handshake bytes to send.
            if !outbound.isEmpty { _ = writeOut() }
            return
        }
        while true {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 {
                close(reason: "HTTP/2 error: \(String(cString: nghttp2_strerror(Int32(count))))")
                return
            }
            if count > 0 { queueCopy(UnsafeRawBufferPointer(start: data, count: count)) }
            if tls != nil, plaintextOut.count >= Self.writeBatchBytes {
                guard encryptPlaintext() else { return }
            }
            if outbound.count >= Self.writeBatchBytes {
                guard writeOut() else { return }
            }
            if count == 0 {
                // A pause means the send-data callback found the batch full, not that
                // nghttp2 has nothing more.
                guard sendPaused else { break }
                sendPaused = false
            }
        }
        applyCredits()
        if tls != nil, !plaintextOut.isEmpty {
            guard encryptPlaintext() else { return }
        }
        if !outbound.isEmpty {
            guard writeOut() else { return }
        }
        if let reason = closeAfterFlush {
            return close(reason: reason)
        }
        if nghttp2_session_want_read(session) == 0, nghttp2_session_want_write(session) == 0 {
            close(reason: draining ? "the connection was shut down" : "the session ended")
        }
    }

    /// Queues bytes for the peer, copied: into the TLS plaintext batch, or the outbound queue.
    private func queueCopy(_ bytes: UnsafeRawBufferPointer) {
        if tls != nil { plaintextOut.append(contentsOf: bytes) } else { outbound.append(copying: bytes) }
    }

    /// Bytes gathered before a write (and, with TLS, before encrypting): large enough for
    /// few system calls and full TLS records, small enough to bound what one connection
    /// holds beyond its streams' outboxes.
    private static let writeBatchBytes = 64 * 1024

    /// TLS: encrypts `plaintextOut` into `outbound`. False when the connection closed.
    private func encryptPlaintext() -> Bool {
        guard let tls else { return true }
        let failure = plaintextOut.withUnsafeBytes { tls.write($0) }
        plaintextOut.removeAll(keepingCapacity: plaintextOut.capacity <= OutboundQueue.maxSpareBytes)
        outbound.appendStaging { tls.drain(into: &$0) }
        if let failure {
            failTLS(failure)
            return false
        }
        return true
    }

    /// Writes `outbound`; false when the socket would block (the rest waits for EPOLLOUT)
    /// or the connection closed.
    private func writeOut() -> Bool {
        switch outbound.write(to: fd) {
        case .done:
            return true
        case .wouldBlock:
            writeBlocked = true
            loop.setWritableInterest(fd, true)
            return false
        case .failed(let error):
            let reason = String(describing: SocketError(call: "write", errno: error))
            if connecting {
                connectError = reason
            } else {
                close(reason: reason)
            }
            return false
        }
    }

    // MARK: Flow control

    private func applyCredits() {
        guard let session, !pendingCredits.isEmpty else { return }
        for (streamID, bytes) in pendingCredits where bytes > 0 {
            if streamID == 0 || streams[streamID] == nil || nghttp2_session_consume(session, streamID, bytes) != 0 {
                nghttp2_session_consume_connection(session, bytes)
            }
        }
        pendingCredits.removeAll(keepingCapacity: true)
        scheduleFlush()
    }

    /// The application took messages from `stream`: return their bytes to the peer's window
    /// and release their advances.
    func returnCredit(_ stream: HTTP2Stream) {
        guard !isClosed else { return }
        let debt = stream.serverInbox?.takeCredit() ?? stream.clientInbox?.takeCredit() ?? .init(owed: 0, advance: 0)
        if debt.owed > 0 { pendingCredits.append((stream.state.closed ? 0 : stream.id, debt.owed)) }
        releaseAdvance(debt.advance)
        applyCredits()
    }

    /// A reader started waiting on `stream` while bytes of its next message are held:
    /// credit them early, as far as the budget allows, so a message larger than the
    /// window can complete.
    func readerWaiting(_ stream: HTTP2Stream) {
        guard !isClosed, !stream.state.closed else { return }
        let grant = advance(stream)
        if grant > 0 {
            pendingCredits.append((stream.id, grant))
            applyCredits()
        }
    }

    /// Advances `stream`'s held bytes for its waiting reader; remembers it when the budget
    /// fell short. Returns the bytes to credit.
    private func advance(_ stream: HTTP2Stream) -> Int {
        let grant = inboundCredit.readerWaiting(on: &stream.credit)
        if inboundCredit.wantsAdvance(stream.credit) {
            starvedStreams.insert(stream.id)
        } else if !starvedStreams.isEmpty {
            starvedStreams.remove(stream.id)
        }
        return grant
    }

    /// Frees `bytes` of the advance budget, and gives them to streams that were short.
    private func releaseAdvance(_ bytes: Int) {
        guard bytes > 0 else { return }
        inboundCredit.released(bytes)
        for id in starvedStreams {
            guard inboundCredit.advancedBytes < inboundCredit.advanceBudgetBytes else { break }
            guard let stream = streams[id], let waiting = stream.serverInbox?.isReaderWaiting ?? stream.clientInbox?.isReaderWaiting,
                  waiting else {
                if streams[id] == nil { starvedStreams.remove(id) }
                continue
            }
            let grant = advance(stream)
            if grant > 0 { pendingCredits.append((id, grant)) }
        }
    }

    /// `stream` takes no more DATA: its held bytes go back to the connection window now and
    /// its advance is released; later DATA is credited and dropped as it arrives.
    private func killInbound(_ stream: HTTP2Stream) {
        let held = inboundCredit.kill(&stream.credit)
        stream.deframer.discardPartialMessage()
        starvedStreams.remove(stream.id)
        if held > 0 { pendingCredits.append((0, held)) }
    }

    // MARK: Outbound, per stream

    /// Submits whatever the stream's outbox has ready: headers, resumed DATA, an end.
    func pump(_ stream: HTTP2Stream) {
        guard !stream.state.closed else { return }
        guard !isClosed else {
            // The connection closed before this stream got going (a late first write, a
            // retry landing on a connection that just closed): fail it, or it waits forever.
            if !stream.state.finished {
                terminate(stream, error: RPCError(
                    code: .unavailable, message: "The connection to \(peer) closed: \(closeReason ?? "closed")."))
            }
            return
        }
        guard let session else {
            if !pendingStreams.contains(where: { $0 === stream }) { pendingStreams.append(stream) }
            return
        }
        let next = stream.outbox.pump()
        if !stream.state.headersSent {
            if isServer {
                if let headers = next.headers {
                    submitResponse(stream, metadata: headers)
                } else if next.hasData {
                    submitResponse(stream, metadata: [:])
                } else if next.end != nil, case .trailers(let status, let trailers)? = stream.outbox.takeEnd() {
                    submitTrailersOnly(stream, httpStatus: 200, status: status, trailers: trailers)
                }
            } else if let headers = next.headers {
                submitRequest(stream, metadata: headers)
            }
        } else if stream.dataDeferred, next.hasData || next.end != nil {
            stream.dataDeferred = false
            nghttp2_session_resume_data(session, stream.id)
        }
        scheduleFlush()
    }


    private var dataProvider: nghttp2_data_provider {
        nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: NGHTTP2Callbacks.readData)
    }

    private func submitResponse(_ stream: HTTP2Stream, metadata: Metadata) {
        let block = HeaderBlock.response(encoding: stream.outbox.compression, acceptEncoding: acceptEncodingHeader, metadata: metadata)
        var provider = dataProvider
        let result = block.withNV { nghttp2_submit_response(session, stream.id, $0, $1, &provider) }
        stream.state.headersSubmitted()
        if result != 0 { resetStream(stream, reason: "submit_response failed: \(result)") }
    }

    private func submitTrailersOnly(_ stream: HTTP2Stream, httpStatus: Int, status: Status, trailers: Metadata, extra: [String: String] = [:]) {
        let block = HeaderBlock.trailersOnly(httpStatus: httpStatus, status: status, trailers: trailers, extra: extra)
        let result = block.withNV { nghttp2_submit_response(session, stream.id, $0, $1, nil) }
        stream.state.trailersOnlySubmitted()
        if result != 0 { resetStream(stream, reason: "submit_response failed: \(result)") }
    }

    private func submitRequest(_ stream: HTTP2Stream, metadata: Metadata) {
        guard case .client(let authority) = role else { return }
        let block = HeaderBlock.request(
            path: stream.descriptor.path, authority: authority, secure: tls != nil, encoding: stream.outbox.compression,
            acceptEncoding: acceptEncodingHeader, timeout: stream.deadline.map { $0 - .now }, metadata: metadata)
        var provider = dataProvider
        let id = block.withNV { nghttp2_submit_request(session, nil, $0, $1, &provider, nil) }
        stream.state.headersSubmitted()
        pendingStreams.removeAll { $0 === stream }
        if id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE.rawValue, let onRefusedStream,
           stream.transparentRetries < 3, stream.outbox.rewindForRetry() {
            // Every stream id of this connection is used: nothing was sent, so the call goes
            // on a new connection; this one drains.
            stream.resetForRetry()
            beginGracefulShutdown()
            loop.execute { onRefusedStream(stream) }
            return
        }
        guard id > 0 else {
            stream.state.failedToStart()
            let error = RPCError(code: .unavailable, message: "Could not start the call on this connection: \(String(cString: nghttp2_strerror(id))).")
            stream.outbox.close(.fail(error))
            stream.clientInbox?.finish(error)
            return
        }
        stream.id = id
        streams[id] = stream
        if nghttp2_session_get_next_stream_id(session) > Self.lastStreamIDBeforeDraining {
            // Few stream ids left (a busy connection reaches 2^31 in about a day): the calls
            // open here finish, new ones go on a new connection.
            beginGracefulShutdown()
        }
    }

    /// Client: past this stream id the connection drains and the next call opens a new
    /// one, so calls never meet `NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE` (2^31 − 1 is the last
    /// id; the headroom leaves room for the calls already queued).
    static let lastStreamIDBeforeDraining: UInt32 = UInt32(Int32.max) - (1 << 16)

    /// Resets a stream with RST_STREAM(CANCEL) and fails it locally.
    func resetStream(_ stream: HTTP2Stream, reason: String, code: StatusCode = .internal) {
        if let session, stream.id > 0, streams[stream.id] != nil {
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, UInt32(NGHTTP2_CANCEL.rawValue))
        }
        let error = RPCError(code: code, message: reason)
        stream.outbox.close(.fail(error))
        if let inbox = stream.serverInbox {
            inbox.finish(error)
            stream.task?.cancel()
        }
        if let inbox = stream.clientInbox, stream.state.settle() {
            inbox.finish(error)
        }
        pendingStreams.removeAll { $0 === stream }
        scheduleFlush()
    }

    // MARK: Client API

    /// Starts (or queues, while connecting) a client stream.
    func openClientStream(_ stream: HTTP2Stream) {
        if isClosed || draining {
            let error = RPCError(code: .unavailable, message: "The connection is closing; retry on a new one.")
            _ = stream.state.settle()
            stream.outbox.close(.fail(error))
            stream.clientInbox?.finish(error)
            return
        }
        if let deadline = stream.deadline {
            stream.deadlineTimer = loop.schedule(at: deadline) { [self] in
                guard !stream.state.finished else { return }
                resetStream(stream, reason: "The call did not finish within its deadline.", code: .deadlineExceeded)
            }
        }
        pendingStreams.append(stream)
    }

    /// The caller is done with a client stream; reset it if the call is still open.
    func clientStreamFinished(_ stream: HTTP2Stream) {
        stream.deadlineTimer?.cancel()
        pendingStreams.removeAll { $0 === stream }
        guard !stream.state.finished else { return }
        resetStream(stream, reason: "The call was cancelled by the client.", code: .cancelled)
    }

    // MARK: nghttp2 callbacks

    func onBeginHeaders(_ frame: nghttp2_frame) -> Int32 {
        guard isServer, frame.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
              frame.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        let streamID = frame.hd.stream_id
        let outbox = StreamOutbox(
            highWaterBytes: configuration.maxQueuedOutboundBytesPerStream, maxMessageBytes: configuration.maxSendMessageBytes
        ) { [loop, self] in
            // A handler writing on the loop (the usual case) pumps at once, allocating no
            // closure; one on another thread hands the pump to the loop.
            if loop.inEventLoop { self.pumpStream(id: streamID) } else { loop.execute { self.pumpStream(id: streamID) } }
        }
        let stream = HTTP2Stream(id: streamID, role: .server, descriptor: MethodDescriptor(service: "", method: ""), outbox: outbox,
                                 maxMessageBytes: configuration.maxReceiveMessageBytes)
        streams[streamID] = stream
        return 0
    }

    private func pumpStream(id: Int32) {
        if let stream = streams[id] { pump(stream) }
    }

    func onHeader(_ frame: nghttp2_frame, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let stream = streams[frame.hd.stream_id] else { return 0 }
        stream.receivedHeaderBytes += name.count + value.count + 32
        if stream.receivedHeaderBytes > configuration.maxHeaderListBytes {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        // One allocation for a typical header block instead of growing 1, 2, 4, 8.
        if stream.receivedHeaders.capacity == 0 { stream.receivedHeaders.reserveCapacity(12) }
        stream.receivedHeaders.append((headerStrings.string(name), headerStrings.string(value)))
        return 0
    }

    func onFrameReceived(_ frame: nghttp2_frame) -> Int32 {
        let endStream = frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch frame.hd.type {
        case UInt8(NGHTTP2_HEADERS.rawValue):
            guard let stream = streams[frame.hd.stream_id] else { return 0 }
            let headers = stream.receivedHeaders
            stream.receivedHeaders = []
            stream.receivedHeaderBytes = 0
            switch stream.state.receivedHeaders() {
            case .request:
                management.callStarted()
                acceptRequest(stream, headers: headers)
            case .responseHeaders:
                receiveResponseHeaders(stream, headers: headers)
            case .trailers:
                receiveTrailers(stream, headers: headers)
            case .ignore:
                break
            }
            if endStream { remoteEnded(stream) }
        case UInt8(NGHTTP2_DATA.rawValue):
            if endStream, let stream = streams[frame.hd.stream_id] { remoteEnded(stream) }
        case UInt8(NGHTTP2_SETTINGS.rawValue):
            if frame.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0, !peerSpokeHTTP2.load(ordering: .relaxed) {
                peerReady()
            }
        case UInt8(NGHTTP2_GOAWAY.rawValue):
            draining = true
        case UInt8(NGHTTP2_PING.rawValue):
            if frame.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 {
                receivedPingAck(frame)
            } else if isServer {
                policePing()
            }
        default:
            break
        }
        return 0
    }

    func onFrameSent(_ frame: nghttp2_frame) -> Int32 {
        // A server that has sent its status while the client is still sending ends the
        // stream with RST_STREAM(NO_ERROR), so the client stops and the stream is freed.
        guard frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
              let stream = streams[frame.hd.stream_id], stream.state.sentEndStream() else { return 0 }
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, UInt32(NGHTTP2_NO_ERROR.rawValue))
        return 0
    }

    func onDataChunk(streamID: Int32, _ data: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID], stream.state.takesData else {
            pendingCredits.append((0, data.count))
            return 0
        }
        // Every byte is held until the message it completes is taken (InboundCredit).
        let dropped = inboundCredit.received(data.count, on: &stream.credit)
        if dropped > 0 {
            pendingCredits.append((0, dropped))
            return 0
        }
        // Debts settled at once: messages a waiting reader took straight away.
        var credit = 0
        var released = 0
        do {
            let encoding = stream.deframer.encoding
            try stream.deframer.process(data) { message, wireLength, compressed in
                let debt = inboundCredit.completed(wireBytes: 5 + wireLength, on: &stream.credit)
                let settled: InboundCredit.MessageDebt
                // Still compressed, if it was: its reader inflates it (InboundMessageDecoder).
                let flags = MessageFlags.received(compressed: compressed, deferredWith: encoding)
                if let inbox = stream.serverInbox {
                    settled = inbox.deliver(.message(message, flags), debt: debt)
                } else if let inbox = stream.clientInbox {
                    settled = inbox.deliver(.message(message, flags), debt: debt)
                } else {
                    settled = debt
                }
                credit += settled.owed
                released += settled.advance
            }
        } catch {
            // Dead inbound: what the stream holds goes back now, later DATA as it comes.
            if credit > 0 { pendingCredits.append((streamID, credit)) }
            releaseAdvance(released)
            killInbound(stream)
            failStream(stream, error)
            return 0
        }
        releaseAdvance(released)
        // Part of a message is held: a reader waiting for it gets it advanced (else the
        // inbox tells us when one starts waiting).
        if inboundCredit.wantsAdvance(stream.credit),
           stream.serverInbox?.signalWhenReaderWaits() ?? stream.clientInbox?.signalWhenReaderWaits() ?? false {
            credit += advance(stream)
        }
        if credit > 0 { pendingCredits.append((streamID, credit)) }
        return 0
    }

    /// A closed stream's queued parts and held bytes: credited at connection level now.
    private func releaseQueued(_ stream: HTTP2Stream, dropParts: Bool) {
        let debt = stream.serverInbox?.releaseQueuedCredit(dropParts: dropParts)
            ?? stream.clientInbox?.releaseQueuedCredit(dropParts: dropParts) ?? .init(owed: 0, advance: 0)
        if debt.owed > 0 { pendingCredits.append((0, debt.owed)) }
        killInbound(stream)
        releaseAdvance(debt.advance)
    }

    func onStreamClosed(streamID: Int32, errorCode: UInt32) -> Int32 {
        guard let stream = streams.removeValue(forKey: streamID) else { return 0 }
        if configuration.maxConnectionIdle != nil { management.streamActivity(now: .now) }
        stream.deadlineTimer?.cancel()
        let mayRetry = onRefusedStream != nil && stream.transparentRetries < 3
        let action = stream.state.closed(errorCode: errorCode, mayRetry: mayRetry)
        switch action {
        case .cancelHandler, .released:
            // A status not sent yet means the handler still runs: it is cancelled below.
            let error = RPCError(
                code: .cancelled,
                message: errorCode == NGHTTP2_NO_ERROR.rawValue ? "The stream closed." : "The client reset the stream (HTTP/2 error \(errorCode)).")
            stream.outbox.close(.fail(error))
            stream.serverInbox?.finish(error)
            // Request parts the handler never took: their bytes go back to the connection
            // window now (see `StreamInbox.releaseQueuedCredit`).
            releaseQueued(stream, dropParts: true)
            if case .cancelHandler = action { stream.task?.cancel() }
        case .retryOrFail(let code):
            // Refused unprocessed (an explicit refusal, or a stream above a GOAWAY's last
            // stream id): send it again, on this connection or a new one, when it can
            // still be replayed.
            if let onRefusedStream, stream.outbox.rewindForRetry() {
                stream.resetForRetry()
                // Not from inside this nghttp2 callback: on the next turn of the loop.
                loop.execute { onRefusedStream(stream) }
                return 0
            }
            _ = stream.state.settle()
            clientStreamClosed(stream, failing: code, errorCode: errorCode)
        case .failCaller(let code):
            clientStreamClosed(stream, failing: code, errorCode: errorCode)
        case .done:
            clientStreamClosed(stream, failing: nil, errorCode: errorCode)
        }
        if draining, streams.isEmpty { scheduleFlush() }
        return 0
    }

    /// A client stream nghttp2 closed: the request side is discarded; response parts still
    /// queued for the caller stay readable, but their bytes go back to the connection
    /// window now (a caller that stops reading must not starve the connection's other
    /// calls); a caller without an outcome gets `code`.
    private func clientStreamClosed(_ stream: HTTP2Stream, failing code: StatusCode?, errorCode: UInt32) {
        stream.outbox.close(.discard)
        releaseQueued(stream, dropParts: false)
        if let code {
            stream.clientInbox?.finish(RPCError(
                code: code, message: "The server reset the stream (HTTP/2 error \(errorCode)) before sending a status."))
        }
    }

    /// The data provider: reserves up to `buffer.count` bytes of the stream's outbox for the
    /// next DATA frame. A large frame is not copied (``sendData(_:header:length:)`` writes
    /// it from the application's buffers); a small one is copied into nghttp2's `buffer`,
    /// which costs less than a separate I/O vector.
    func readData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = streams[streamID] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let (count, end) = stream.outbox.reserve(upTo: buffer.count)
        if count >= OutboundQueue.referenceThreshold {
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue
        } else if count > 0 {
            var copied = 0
            let taken = stream.outbox.take(count, prefix: {}) { bytes, range in
                bytes.withUnsafeBytes { source in
                    buffer.baseAddress!.advanced(by: copied)
                        .copyMemory(from: source.baseAddress!.advanced(by: range.lowerBound), byteCount: range.count)
                }
                copied += range.count
            }
            guard taken else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        }
        if let end {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if case .trailers(let status, let trailers) = end {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                let block = HeaderBlock.trailers(status: status, trailers: trailers)
                _ = block.withNV { nghttp2_submit_trailer(session, streamID, $0, $1) }
                stream.state.trailersSubmitted()
            }
            return count
        }
        if count == 0 {
            stream.dataDeferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return count
    }

    /// The send-data callback: queues one DATA frame, its 9-byte `header` then `length`
    /// bytes taken from the stream's outbox (referenced, not copied, when large and not
    /// encrypted). Pauses `mem_send` once a write batch is full.
    func sendData(_ frame: nghttp2_frame, header: UnsafeRawBufferPointer, length: Int) -> Int32 {
        // No select-padding callback is set, so nghttp2 never pads a DATA frame.
        guard frame.data.padlen == 0, let stream = streams[frame.hd.stream_id] else {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        let taken = stream.outbox.take(length) {
            queueCopy(header)
        } slice: { bytes, range in
            if tls != nil { plaintextOut.append(contentsOf: bytes[range]) } else { outbound.append(bytes, range: range) }
        }
        // The outbox was closed after the frame was reserved: reset the stream.
        guard taken else { return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue }
        if outbound.count >= Self.writeBatchBytes || plaintextOut.count >= Self.writeBatchBytes {
            sendPaused = true
            return NGHTTP2_ERR_PAUSE.rawValue
        }
        return 0
    }

    // MARK: Server: requests

    private func acceptRequest(_ stream: HTTP2Stream, headers: [(name: String, value: String)]) {
        guard case .server(let handler) = role else { return }
        // Handlers of reset or timed-out streams may still run (cancellation is only a
        // request): refuse new streams while the connection has as many handlers as it
        // allows streams. REFUSED_STREAM tells the client it may retry.
        if liveHandlers.current >= configuration.maxConcurrentStreams {
            refusedForHandlers += 1
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, UInt32(NGHTTP2_REFUSED_STREAM.rawValue))
            stream.state.refused()
            return
        }
        let head: RequestHead
        switch RequestHead.parse(headers, enabledCompression: configuration.enabledCompression, acceptEncodingHeader: acceptEncodingHeader) {
        case .success(let parsed): head = parsed
        case .failure(let refusal): return reject(stream, refusal)
        }
        stream.deframer.encoding = head.requestEncoding
        if head.responseEncoding != .identity { stream.outbox.setCompression(head.responseEncoding) }
        let deadline = head.timeout.map { ContinuousClock.now + $0.duration }

        // Weak: the stream owns its inbox; a strong capture would keep every stream alive.
        let inbox = StreamInbox<RPCRequestPart>(returnCredit: { [loop, self, weak stream] in
            guard let stream else { return }
            if loop.inEventLoop { self.returnCredit(stream) } else { loop.execute { self.returnCredit(stream) } }
        }, readerWaiting: { [loop, self, weak stream] in
            guard let stream else { return }
            loop.executeOrRun { self.readerWaiting(stream) }
        })
        stream.serverInbox = inbox
        _ = inbox.deliver(.metadata(head.metadata))
        let rpcStream = RPCStream(
            descriptor: head.descriptor,
            inbound: RPCAsyncSequence(wrapping: RequestInboxSequence(
                inbox: inbox, decoder: InboundMessageDecoder(limit: configuration.maxReceiveMessageBytes))),
            outbound: ClosableRPCWriter(wrapping: ServerStreamWriter(
                outbox: stream.outbox, enabledCompression: configuration.enabledCompression, clientAcceptEncoding: head.acceptEncoding)))
        let context = ServerStreamContext(
            descriptor: head.descriptor, peer: peer, deadline: deadline, peerIdentity: peerIdentity, requestEncoding: head.requestEncoding)
        if let deadline, let timeoutText = head.timeout?.text {
            stream.deadline = deadline
            stream.deadlineTimer = loop.schedule(at: deadline) { [self] in
                failStream(stream, RPCError(code: .deadlineExceeded, message: "The call exceeded its deadline (grpc-timeout \(timeoutText))."))
            }
        }
        liveHandlers.increment()
        handlerTally?.begin()
        stream.task = Task(executorPreference: loop) { [liveHandlers, handlerTally] in
            await handler(rpcStream, context)
            liveHandlers.decrement()
            handlerTally?.end()
        }
    }

    /// Answers a request the transport itself refuses, with a Trailers-Only response.
    private func reject(_ stream: HTTP2Stream, _ refusal: RequestHead.Refusal) {
        submitTrailersOnly(stream, httpStatus: refusal.httpStatus, status: refusal.status, trailers: [:], extra: refusal.extraHeaders)
        scheduleFlush()
    }

    private func remoteEnded(_ stream: HTTP2Stream) {
        switch stream.state.receivedEndStream(hasPartialMessage: stream.deframer.hasPartialMessage) {
        case .failPartialMessage:
            failStream(stream, RPCError(code: .internal, message: "The stream ended in the middle of a message (fewer bytes than its length prefix declared)."))
        case .finishRequest:
            stream.serverInbox?.finish(nil)
        case .failMissingStatus:
            stream.clientInbox?.finish(RPCError(code: .internal, message: "The server ended the stream without sending a status (no grpc-status trailer)."))
        case .none:
            break
        }
    }

    /// Ends a call because of a transport-detected error: a server answers with the status
    /// (and cancels the handler); a client resets the stream.
    private func failStream(_ stream: HTTP2Stream, _ error: RPCError) {
        guard stream.state.canFail else { return }
        killInbound(stream)
        if isServer {
            stream.serverInbox?.finish(error)
            stream.task?.cancel()
            if stream.outbox.forceEnd(error.status, error: error) {
                pump(stream)
            }
        } else {
            resetStream(stream, reason: error.message, code: error.code)
        }
    }

    // MARK: Client: responses

    private func receiveResponseHeaders(_ stream: HTTP2Stream, headers: [(name: String, value: String)]) {
        guard let inbox = stream.clientInbox else { return }
        switch ResponseHead.parse(headers) {
        case .informational:
            return
        case .trailersOnly(let status, let metadata):
            _ = stream.state.settle()
            _ = inbox.deliver(.status(status, metadata))
            inbox.finish(nil)
            stream.outbox.close(.discard)
        case .failure(let code, let message):
            resetStream(stream, reason: message, code: code)
        case .headers(let metadata, let encoding):
            stream.deframer.encoding = encoding
            stream.state.responseHeadersAccepted()
            stream.outbox.stopReplay()
            _ = inbox.deliver(.metadata(metadata))
        }
    }

    private func receiveTrailers(_ stream: HTTP2Stream, headers: [(name: String, value: String)]) {
        guard let inbox = stream.clientInbox else { return }
        if stream.deframer.hasPartialMessage {
            return resetStream(stream, reason: "The response ended in the middle of a message.", code: .internal)
        }
        let (status, metadata) = ResponseHead.trailers(headers)
        _ = stream.state.settle()
        _ = inbox.deliver(.status(status, metadata))
        inbox.finish(nil)
        stream.outbox.close(.discard)
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
