/// Keepalive, the idle and age limits and PING policing of one connection, as a pure state
/// machine: events come in with the time they happened (`now:`), decisions come out as
/// small action values. It touches no socket, timer or nghttp2 session: the connection
/// turns each action into a PING, a GOAWAY or a timer, and tests drive it in virtual time.
///
/// Which of our PINGs an ACK answers is told by its opaque data: keepalive PINGs and the
/// graceful-shutdown PING carry different payloads, so the ACK of a keepalive PING that
/// was in flight when shutdown began is not taken for the shutdown PING's ACK.
struct ConnectionManagement {
    /// The limits, from ``HTTP2Configuration``.
    struct Policy {
        var isServer: Bool
        var keepaliveInterval: Duration?
        var keepaliveTimeout: Duration
        var keepaliveWithoutCalls: Bool
        var maxConnectionIdle: Duration?
        var maxConnectionAge: Duration?
        var minPeerPingInterval: Duration
        var maxPingStrikes: Int
        var permitPeerPingsWithoutCalls: Bool

        init(_ configuration: HTTP2Configuration, isServer: Bool) {
            self.isServer = isServer
            keepaliveInterval = configuration.keepaliveInterval
            keepaliveTimeout = configuration.keepaliveTimeout
            keepaliveWithoutCalls = configuration.keepaliveWithoutCalls
            maxConnectionIdle = isServer ? configuration.maxConnectionIdle : nil
            maxConnectionAge = isServer ? configuration.maxConnectionAge : nil
            minPeerPingInterval = configuration.minPeerPingInterval
            maxPingStrikes = configuration.maxPingStrikes
            permitPeerPingsWithoutCalls = configuration.permitPeerPingsWithoutCalls
        }
    }

    /// What a PING of ours is for; its raw value is the PING's 8 bytes of opaque data.
    enum PingPurpose: UInt64 {
        /// "oo-alive".
        case keepalive = 0x6f6f_2d61_6c69_7665
        /// "oo-drain".
        case shutdown = 0x6f6f_2d64_7261_696e
    }

    /// With no call open and ``HTTP2Configuration/permitPeerPingsWithoutCalls`` off, a peer's
    /// PINGs must be at least this far apart (gRFC A8: two hours).
    static let minPeerPingIntervalWithoutCalls: Duration = .seconds(2 * 60 * 60)

    let policy: Policy
    /// When the last bytes came from the peer (kept only when keepalive is on).
    private(set) var lastReceived: ContinuousClock.Instant
    /// When a stream was last open (kept only with an idle limit).
    private(set) var lastStreamActivity: ContinuousClock.Instant
    /// When our keepalive PING in flight was sent.
    private(set) var keepalivePingSent: ContinuousClock.Instant?
    /// The graceful-shutdown PING is in flight: its ACK lets the final GOAWAY go.
    private(set) var awaitingShutdownPingAck = false
    private var lastPeerPing: ContinuousClock.Instant?
    /// The peer's PINGs that came sooner than allowed, since its last call started.
    private(set) var pingStrikes = 0

    init(policy: Policy, now: ContinuousClock.Instant) {
        self.policy = policy
        lastReceived = now
        lastStreamActivity = now
    }

    /// When the first keepalive, idle and age checks are due (nil: never).
    func firstChecks(now: ContinuousClock.Instant) -> (keepalive: ContinuousClock.Instant?, idle: ContinuousClock.Instant?, age: ContinuousClock.Instant?) {
        (policy.keepaliveInterval.map { now + $0 }, policy.maxConnectionIdle.map { now + $0 }, policy.maxConnectionAge.map { now + $0 })
    }

    /// Whether the connection must tell this machine about every read (keepalive is on).
    var wantsReceiveTimes: Bool { policy.keepaliveInterval != nil }

    /// Bytes arrived from the peer.
    mutating func received(now: ContinuousClock.Instant) {
        lastReceived = now
    }

    /// A stream closed (or one was open when looked at): the idle clock restarts.
    mutating func streamActivity(now: ContinuousClock.Instant) {
        lastStreamActivity = now
    }

    // MARK: Keepalive

    /// What to do when the keepalive timer fires.
    enum KeepaliveAction: Equatable {
        /// Send a keepalive PING now; look again at `check` (when its ACK is due).
        case sendPing(check: ContinuousClock.Instant)
        /// Nothing yet; look again at `check`.
        case wait(check: ContinuousClock.Instant)
        /// The PING's ACK is late: the peer is gone.
        case close(reason: String)
        /// Keepalive is off.
        case none
    }

    mutating func keepaliveTimerFired(now: ContinuousClock.Instant, hasOpenStreams: Bool) -> KeepaliveAction {
        guard let interval = policy.keepaliveInterval else { return .none }
        if let sent = keepalivePingSent {
            if now - sent >= policy.keepaliveTimeout {
                return .close(reason: "no keepalive PING ACK within \(policy.keepaliveTimeout)")
            }
            return .wait(check: sent + policy.keepaliveTimeout)
        }
        let quiet = now - lastReceived
        guard quiet >= interval else { return .wait(check: lastReceived + interval) }
        if !policy.isServer, !policy.keepaliveWithoutCalls, !hasOpenStreams {
            // No call open: no PING (keepaliveWithoutCalls); look again an interval on.
            lastReceived = now
            return .wait(check: now + interval)
        }
        keepalivePingSent = now
        return .sendPing(check: now + policy.keepaliveTimeout)
    }

    // MARK: Our PINGs' ACKs

    /// What a PING ACK means.
    enum PingAckAction: Equatable {
        /// Our keepalive PING was answered: the next check is an interval of silence from now.
        case keepaliveAnswered(nextCheck: ContinuousClock.Instant)
        /// The shutdown PING was answered: every stream the peer started before it saw the
        /// shutdown notice has arrived; send the final GOAWAY.
        case sendFinalGoaway
        /// Not the answer to a PING we are waiting for (a late or unknown one): nothing.
        case ignore
    }

    mutating func pingAckReceived(opaque: UInt64, now: ContinuousClock.Instant) -> PingAckAction {
        switch PingPurpose(rawValue: opaque) {
        case .keepalive?:
            guard keepalivePingSent != nil, let interval = policy.keepaliveInterval else { return .ignore }
            keepalivePingSent = nil
            return .keepaliveAnswered(nextCheck: now + interval)
        case .shutdown?:
            guard awaitingShutdownPingAck else { return .ignore }
            awaitingShutdownPingAck = false
            return .sendFinalGoaway
        case nil:
            return .ignore
        }
    }

    /// The shutdown PING is being sent; returns its purpose (its opaque data).
    mutating func shutdownPingSent() -> PingPurpose {
        awaitingShutdownPingAck = true
        return .shutdown
    }

    /// The final GOAWAY went out some other way (a forced close): no ACK is awaited.
    mutating func finalGoawaySent() {
        awaitingShutdownPingAck = false
    }

    // MARK: The peer's PINGs

    /// What to do about a PING from the peer (nghttp2 answers it by itself).
    enum PeerPingAction: Equatable {
        /// Within the policy, or a strike still forgiven.
        case allow
        /// One strike too many: GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and close.
        case tooManyPings
    }

    /// Server: polices a peer's PING. PINGs closer together than ``Policy/minPeerPingInterval``
    /// (or, with no call open and pings without calls not permitted, than two hours, as
    /// gRFC A8 says) are strikes; past ``Policy/maxPingStrikes`` the connection ends.
    mutating func peerPingReceived(now: ContinuousClock.Instant, hasOpenStreams: Bool) -> PeerPingAction {
        guard policy.isServer else { return .allow }
        defer { lastPeerPing = now }
        guard let last = lastPeerPing else { return .allow }
        let minimum = !hasOpenStreams && !policy.permitPeerPingsWithoutCalls
            ? max(Self.minPeerPingIntervalWithoutCalls, policy.minPeerPingInterval)
            : policy.minPeerPingInterval
        guard now - last < minimum else { return .allow }
        pingStrikes += 1
        return pingStrikes > policy.maxPingStrikes ? .tooManyPings : .allow
    }

    /// A call started: the peer's strikes are forgiven (as in gRPC).
    mutating func callStarted() {
        pingStrikes = 0
    }

    // MARK: Idle

    /// What to do when the idle timer fires.
    enum IdleAction: Equatable {
        /// No stream for the whole idle limit: shut down gracefully.
        case shutDown
        /// Look again at `check`.
        case wait(check: ContinuousClock.Instant)
        /// No idle limit.
        case none
    }

    mutating func idleTimerFired(now: ContinuousClock.Instant, hasOpenStreams: Bool) -> IdleAction {
        guard let idle = policy.maxConnectionIdle else { return .none }
        if hasOpenStreams { lastStreamActivity = now }
        let quiet = now - lastStreamActivity
        return quiet >= idle ? .shutDown : .wait(check: lastStreamActivity + idle)
    }
}

extension ConnectionManagement.PingPurpose {
    /// The 8 bytes of opaque data, in wire order.
    var opaqueData: [UInt8] {
        withUnsafeBytes(of: rawValue.bigEndian) { Array($0) }
    }

    /// Reads a PING's opaque data (nghttp2 gives it as a tuple of 8 bytes).
    static func opaque(_ bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) -> UInt64 {
        withUnsafeBytes(of: bytes) { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
    }
}
