#if canImport(Glibc)
import Glibc
#endif
import CMeshLinux
import Logging
import Metrics
import OOMesh
import Synchronization

/// gRPC over HTTP/2 on libnghttp2: the server side. Plaintext (h2c, prior knowledge) by
/// default; TLS on OpenSSL, with ALPN `h2` and optional client certificates, when
/// ``Configuration/tls`` is set.
///
/// The listening socket is bound when the transport is created, so ``port`` is known at
/// once (pass port 0 to get a free one). Connections are spread across a group of event
/// loops, one thread each; each call's handler runs as a task that prefers its
/// connection's loop as executor.
///
/// ```swift
/// let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 50051)
/// try await GRPCServer(transport: transport, services: [MyService()]).serve()
/// ```
public final class HTTP2ServerTransport: ServerTransport {
    /// Server settings; every default stated.
    public struct Configuration: Sendable, Hashable {
        /// HTTP/2 and message limits. Default: ``HTTP2Configuration/defaults``.
        public var http2: HTTP2Configuration = .defaults
        /// Event-loop threads. Default: the number of CPU cores.
        public var eventLoopThreads: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        /// Connections held at once. At the limit, a new connection takes the place of the
        /// oldest one that has not yet sent its HTTP/2 preface (a silent or half-open
        /// socket); when every connection has, the new one is closed as soon as accepted.
        /// Clamped to the process's open-file limit (`RLIMIT_NOFILE`, soft) less
        /// ``reservedFileDescriptors``, so accepting never runs out of descriptors.
        /// Default: 10,000.
        public var maxConnections: Int = 10_000
        /// Descriptors kept free of connections for everything else the process opens
        /// (files, databases, its own clients). Default: 64.
        public var reservedFileDescriptors: Int = 64
        /// TLS (and mutual TLS). Default: nil, plaintext h2c.
        public var tls: ServerTLSConfiguration?
        /// How long a graceful shutdown lets calls in flight run on before their
        /// connections are closed (handlers cancelled, clients see `UNAVAILABLE`).
        /// Default: 30 seconds; nil waits for every call however long it takes.
        public var shutdownGracePeriod: Duration? = .seconds(30)
        /// An event-loop iteration busy for longer than this is a stall: logged (at most
        /// one line per loop every 10 seconds, with the count since the last), counted in
        /// ``loopStalls`` and in the metric `oo_event_loop_stalls_total{loop}`, its length
        /// in `oo_event_loop_stall_seconds`. A stall still going on is reported by a
        /// watchdog thread while it lasts. Default: 100 ms (every call on the loop waited
        /// that long; a handler doing that much work belongs off the loop, see
        /// `RPCService.handlerExecution`). nil: not watched.
        public var loopStallThreshold: Duration? = .milliseconds(100)
        /// The web protocols (Connect, gRPC-Web) beside gRPC on this port, for browsers, apps
        /// and curl: chosen per request by its content type, served by the same handlers.
        /// Default: nil, gRPC only (internal services); the gateway turns them on.
        public var web: WebProtocolsConfiguration?

        /// Creates the defaults.
        public init() {}

        /// The defaults.
        public static var defaults: Configuration { Configuration() }
    }

    private struct State {
        var connections: [ObjectIdentifier: HTTP2Connection] = [:]
        /// Connections accepted and not yet closed (counted at accept, before their loop
        /// registers them in `connections`).
        var admitted = 0
        /// Connections being shed to make room, not to be chosen twice.
        var shedding: Set<ObjectIdentifier> = []
        var lastAcceptFailureLog: ContinuousClock.Instant?
        var shuttingDown = false
        var listenerClosed = false
        var waiter: CheckedContinuation<Void, Never>?
        var started = false
        /// The listener is registered with its loop: connections are being accepted.
        var listening = false
        /// Waiting in ``waitUntilListening()``.
        var listeningWaiters: [CheckedContinuation<Void, any Error>] = []
    }

    /// The host the transport listens on.
    public let host: String
    /// The port it listens on.
    public let port: Int
    private let configuration: Configuration
    private let listenFD: Int32
    private let group: EventLoopGroup
    /// Whether the loops are this transport's own (stopped with it) or a process's shared
    /// ``MeshEventLoops`` (stopped by their owner).
    private let ownsLoops: Bool
    /// The TLS context new connections use; replaced by ``reloadTLS()``.
    private let tlsContext: Mutex<TLSContext?>
    private let logger: Logger
    private let state = Mutex(State())
    /// Every connection's live handler tasks.
    private let handlers = HandlerTally()

    /// Binds `host:port` and starts the event loops.
    ///
    /// - Throws: ``TLSConfigurationError`` when the TLS files cannot be used, and
    ///   ``SocketError`` when the address cannot be bound.
    ///
    /// With `loops`, connections run on that shared group (with the process's client
    /// transports on the same loops, a handler's downstream calls go out on its own loop:
    /// no thread switch per hop) and ``Configuration/eventLoopThreads`` and
    /// ``Configuration/loopStallThreshold`` are the group's; without, the transport starts
    /// its own loops and stops them when it is done.
    public init(
        host: String = "127.0.0.1", port: Int, configuration: Configuration = .defaults,
        loops: MeshEventLoops? = nil, logger: Logger = Logger(label: "oo.mesh.http2.server")
    ) throws {
        self.tlsContext = Mutex(try configuration.tls.map { configuration throws(TLSConfigurationError) in try TLSContext(server: configuration) })
        self.logger = logger
        let (fd, boundPort) = try Socket.listen(host: host, port: port)
        self.host = host
        self.port = boundPort
        self.configuration = configuration
        self.listenFD = fd
        if let loops {
            self.group = loops.group
            self.ownsLoops = false
        } else {
            self.group = EventLoopGroup(
                count: configuration.eventLoopThreads, name: "oo-server",
                stallCounters: Self.stallCounters(threshold: configuration.loopStallThreshold, name: "oo-server", logger: logger))
            self.ownsLoops = true
        }
        var limit = rlimit()
        let files = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max
            ? Int(clamping: limit.rlim_cur) : Int.max
        self.connectionLimit = max(1, min(configuration.maxConnections, files - configuration.reservedFileDescriptors))
    }

    /// Stall counters for loop `index` of a group called `name`: counted, exported as
    /// `oo_event_loop_stalls_total`/`oo_event_loop_stall_seconds`, logged at most once per
    /// loop per 10 s.
    static func stallCounters(threshold: Duration?, name: String, logger: Logger) -> (Int) -> LoopStallCounters? {
        let stallLog = StallLog(logger: logger)
        return { index in
            threshold.map { threshold in
                let stalls = Counter(label: "oo_event_loop_stalls_total", dimensions: [("loop", "\(name)-\(index)")])
                let durations = Metrics.Timer(label: "oo_event_loop_stall_seconds", dimensions: [("loop", "\(name)-\(index)")])
                return LoopStallCounters(threshold: threshold) { stall in
                    if stall.ended {
                        stalls.increment()
                        durations.recordNanoseconds(Int64(stall.duration / .nanoseconds(1)))
                    }
                    stallLog.note(stall)
                }
            }
        }
    }

    deinit {
        // A transport that never listened (or has finished) releases its loop threads and
        // its socket. While listening it cannot go away: its listener holds it.
        if ownsLoops { for loop in group.loops { loop.stop() } }
        if !state.withLock({ $0.listenerClosed }) { Glibc.close(listenFD) }
    }

    /// Live handler tasks right now (their streams may have ended: a cancelled handler
    /// runs until it returns).
    public var liveHandlerCount: Int { handlers.live }

    /// Event-loop stalls so far (see ``Configuration/loopStallThreshold``): how many
    /// iterations ran over the threshold, and the longest.
    public var loopStalls: (count: Int, longest: Duration) {
        group.loops.reduce((0, .zero)) { total, loop in
            guard let counters = loop.stallCounters else { return total }
            return (total.0 + counters.stalls, max(total.1, counters.longest))
        }
    }

    /// Open connections right now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    public func listen(
        streamHandler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void
    ) async throws {
        try await listen(streamHandler: streamHandler, methods: .none)
    }

    public func listen(
        streamHandler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void,
        methods: ServedMethods
    ) async throws {
        let web = configuration.web.map { web in
            WebCallServer(
                configuration: web, methods: methods, maxReceiveMessageBytes: configuration.http2.maxReceiveMessageBytes,
                maxSendMessageBytes: configuration.http2.maxSendMessageBytes,
                enabledCompression: configuration.http2.enabledCompression, streamHandler: streamHandler)
        }
        let acceptLoop = group.loops[0]
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyDown = state.withLock { state -> Bool in
                state.started = true
                if state.shuttingDown { return true }
                state.waiter = continuation
                return false
            }
            if alreadyDown { return continuation.resume() }
            acceptLoop.execute { [self] in
                let listener = Listener(transport: self, fd: listenFD, loop: acceptLoop, handler: streamHandler, web: web)
                if state.withLock({ $0.shuttingDown }) {
                    closeListener()
                } else {
                    acceptLoop.register(listenFD, handler: listener)
                    let waiters = state.withLock { state in
                        state.listening = true
                        defer { state.listeningWaiters = [] }
                        return state.listeningWaiters
                    }
                    for waiter in waiters { waiter.resume() }
                }
            }
        }
        // Handlers that outlived their connections (cancelled, not yet returned) get what
        // is left of the grace period; they run on the loops, so those stop after.
        if !(await handlers.idle(within: configuration.shutdownGracePeriod)) {
            logger.warning("Stopping with \(handlers.live) handler tasks still running after the shutdown grace period")
        }
        // The loops' threads end by themselves; wait for them without blocking a thread.
        // Shared loops are their owner's to stop (other transports still use them).
        if ownsLoops { await group.shutdown() }
    }

    /// Loads the TLS files again (a rotated certificate chain, key or CA) for the
    /// connections accepted from now on; connections already up keep the session they
    /// have. When the files do not load (a key that does not match its certificate, a file
    /// half written) the error says why and the files in use stay in use. Does nothing for
    /// plaintext.
    public func reloadTLS() throws(TLSConfigurationError) {
        guard let tls = configuration.tls else { return }
        let fresh = try TLSContext(server: tls)
        tlsContext.withLock { $0 = fresh }
    }

    /// Returns once the transport accepts connections: ``listen(streamHandler:)`` (which
    /// `GRPCServer.serve()` calls) has registered the listening socket with its event loop.
    ///
    /// The socket is bound when the transport is made, so a client can connect before
    /// then, but its calls wait until the server runs. Tests and launchers that must not
    /// race a server's start wait here.
    ///
    /// - Throws: `RPCError(.unavailable)` when the transport shuts down before listening.
    public func waitUntilListening() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> Bool? in
                if state.listening { return true }
                if state.shuttingDown { return false }
                state.listeningWaiters.append(continuation)
                return nil
            }
            switch outcome {
            case true?: continuation.resume()
            case false?: continuation.resume(throwing: RPCError(code: .unavailable, message: "The server shut down before it listened."))
            case nil: break
            }
        }
    }

    public func beginGracefulShutdown() {
        let (connections, waiter, listeningWaiters) = state.withLock {
            state -> ([HTTP2Connection], CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, any Error>]) in
            guard !state.shuttingDown else { return ([], nil, []) }
            state.shuttingDown = true
            let listeningWaiters = state.listeningWaiters
            state.listeningWaiters = []
            if state.connections.isEmpty, state.started {
                defer { state.waiter = nil }
                return ([], state.waiter, listeningWaiters)
            }
            return (Array(state.connections.values), nil, listeningWaiters)
        }
        for waiter in listeningWaiters {
            waiter.resume(throwing: RPCError(code: .unavailable, message: "The server shut down before it listened."))
        }
        group.loops[0].execute { [self] in closeListener() }
        let grace = configuration.shutdownGracePeriod
        for connection in connections {
            connection.loop.execute { connection.beginGracefulShutdown(grace: grace) }
        }
        if !state.withLock({ $0.started }) {
            group.loops[0].execute { [self] in closeListener() }
        }
        waiter?.resume()
    }

    private func closeListener() {
        let close = state.withLock { state -> Bool in
            defer { state.listenerClosed = true }
            return !state.listenerClosed
        }
        guard close else { return }
        group.loops[0].deregister(listenFD)
        Glibc.close(listenFD)
    }

    /// The connection limit in force: ``Configuration/maxConnections`` within the
    /// descriptors the process may open.
    let connectionLimit: Int

    fileprivate func accepted(
        _ fd: Int32, handler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void,
        web: WebCallServer?
    ) {
        let (admitted, shed) = state.withLock { state -> (Bool, HTTP2Connection?) in
            guard !state.shuttingDown else { return (false, nil) }
            if state.admitted < connectionLimit {
                state.admitted += 1
                return (true, nil)
            }
            // Full: make room by shedding the oldest connection that never spoke HTTP/2.
            let candidate = state.connections.values
                .filter { !$0.peerSpokeHTTP2.load(ordering: .relaxed) && !state.shedding.contains(ObjectIdentifier($0)) }
                .min { $0.startedAt < $1.startedAt }
            guard let candidate else { return (false, nil) }
            state.shedding.insert(ObjectIdentifier(candidate))
            state.admitted += 1
            return (true, candidate)
        }
        if let shed {
            shed.loop.execute { shed.close(reason: "shed to admit a new connection: the server is at its limit of \(self.connectionLimit) connections and this one sent no HTTP/2 preface") }
        }
        guard admitted else {
            Glibc.close(fd)
            return
        }
        let loop = group.next()
        loop.execute { [self] in
            var tls: TLSSession?
            if let tlsContext = tlsContext.withLock({ $0 }) {
                do {
                    tls = try TLSSession(context: tlsContext, serverName: nil)
                } catch {
                    logger.error("Refusing a connection: \(error)")
                    Glibc.close(fd)
                    state.withLock { $0.admitted -= 1 }
                    return
                }
            }
            let connection = HTTP2Connection(
                loop: loop, fd: fd, role: .server(handler: handler, web: web), configuration: configuration.http2, tls: tls)
            connection.handlerTally = handlers
            if tls != nil {
                connection.onTLSFailure = { [logger, peer = Socket.peerDescription(fd)] reason in
                    logger.warning("TLS connection from \(peer) refused: \(reason)")
                }
            }
            let shuttingDown = state.withLock { state in
                state.connections[ObjectIdentifier(connection)] = connection
                return state.shuttingDown
            }
            connection.onClose = { [self] connection in connectionClosed(connection) }
            connection.start()
            if shuttingDown { connection.beginGracefulShutdown(grace: configuration.shutdownGracePeriod) }
        }
    }

    /// Accepting failed with `errno` (out of descriptors, say): logged at most once a second.
    fileprivate func acceptFailed(errno: Int32, retryIn delay: Duration) {
        let now = ContinuousClock.now
        let log = state.withLock { state -> Bool in
            defer { if state.lastAcceptFailureLog.map({ now - $0 >= .seconds(1) }) ?? true { state.lastAcceptFailureLog = now } }
            return state.lastAcceptFailureLog.map { now - $0 >= .seconds(1) } ?? true
        }
        if log {
            logger.warning("Not accepting connections for \(delay): \(SocketError(call: "accept", errno: errno))")
        }
    }

    private func connectionClosed(_ connection: HTTP2Connection) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.connections[ObjectIdentifier(connection)] = nil
            state.shedding.remove(ObjectIdentifier(connection))
            state.admitted -= 1
            guard state.shuttingDown, state.connections.isEmpty else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

/// Accepts connections on the listening socket, on the first loop.
private final class Listener: EventHandler {
    let transport: HTTP2ServerTransport
    let fd: Int32
    let loop: EventLoop
    let handler: @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void
    let web: WebCallServer?
    /// Accepting failed for want of descriptors or memory; waiting before trying again.
    private var pausedForBackoff = false
    private var acceptFailures = 0

    init(transport: HTTP2ServerTransport, fd: Int32, loop: EventLoop,
         handler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void,
         web: WebCallServer?) {
        self.transport = transport
        self.fd = fd
        self.loop = loop
        self.handler = handler
        self.web = web
    }

    func handleReadable() {
        guard !pausedForBackoff else { return }
        // Bounded per readiness, so one busy listener cannot keep the loop from its other work.
        for _ in 0..<256 {
            let client = oo_accept(fd)
            if client >= 0 {
                acceptFailures = 0
                transport.accepted(client, handler: handler, web: web)
                continue
            }
            let error = errno
            switch error {
            case EAGAIN, EWOULDBLOCK:
                return  // all accepted
            case EINTR, ECONNABORTED, EPROTO, EPERM:
                continue  // that connection is gone; the next may be fine
            default:
                // EMFILE, ENFILE, ENOBUFS, ENOMEM: the socket stays readable, so retrying now
                // would spin. Stop watching it and look again after a growing delay.
                acceptFailures += 1
                let delay = Duration.milliseconds(min(1000, 10 << min(acceptFailures, 7)))
                transport.acceptFailed(errno: error, retryIn: delay)
                pausedForBackoff = true
                loop.setReadableInterest(fd, false)
                _ = loop.schedule(at: .now + delay) { [self] in
                    pausedForBackoff = false
                    // Unless the listener was closed meanwhile (its fd may be reused).
                    if loop.isWatching(fd, by: self) { loop.setReadableInterest(fd, true) }
                }
                return
            }
        }
    }

    func handleWritable() {}
}

/// Logs loop stalls, at most one line per loop every 10 seconds (with the count of the
/// stalls it did not log), so a loop stalling on every call does not flood the log.
private final class StallLog: Sendable {
    private struct Entry { var lastLogged: ContinuousClock.Instant; var unlogged: Int }
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    static let interval: Duration = .seconds(10)

    init(logger: Logger) { self.logger = logger }

    func note(_ stall: LoopStall) {
        let now = ContinuousClock.now
        let skipped = entries.withLock { entries -> Int? in
            if let entry = entries[stall.loop], now - entry.lastLogged < Self.interval {
                entries[stall.loop]!.unlogged += 1
                return nil
            }
            defer { entries[stall.loop] = Entry(lastLogged: now, unlogged: 0) }
            return entries[stall.loop]?.unlogged ?? 0
        }
        guard let skipped else { return }
        let more = skipped > 0 ? " (and \(skipped) more since the last report)" : ""
        logger.warning("\(stall)\(more); a handler computing or blocking on the loop? Run such a service off the loop (RPCService.handlerExecution).")
    }
}

/// The event loops of one process, shared by its server and every client transport it
/// makes (`oo serve` makes one): a handler runs on the loop of its connection, and its
/// downstream calls go out on connections of that same loop, so a hop costs no thread
/// switch. Each client transport keeps a connection per loop. The owner stops the loops
/// with ``shutdown()`` after the transports are done.
public final class MeshEventLoops: Sendable {
    let group: EventLoopGroup

    /// Starts `threads` loops (default: one per core), each timed against `stallThreshold`
    /// (default 100 ms; nil: not timed) as ``HTTP2ServerTransport/Configuration/loopStallThreshold``.
    public init(
        threads: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), stallThreshold: Duration? = .milliseconds(100),
        logger: Logger = Logger(label: "oo.mesh.http2.loops")
    ) {
        group = EventLoopGroup(
            count: threads, name: "oo-loop",
            stallCounters: HTTP2ServerTransport.stallCounters(threshold: stallThreshold, name: "oo-loop", logger: logger))
    }

    /// How many loops there are.
    public var count: Int { group.loops.count }

    /// Stops the loops and returns once their threads have ended.
    public func shutdown() async {
        await group.shutdown()
    }
}
