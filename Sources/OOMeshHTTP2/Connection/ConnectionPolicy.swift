#if canImport(Glibc)
import Glibc
#endif
import CNGHTTP2
import OOMesh

/// Keepalive, idle and age timers and PING policing: the timers and frames that carry out
/// what ``ConnectionManagement`` (the pure machine) decides.
extension HTTP2Connection {
    // MARK: Connection management

    func startConnectionManagement() {
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
    func submitPing(_ purpose: ConnectionManagement.PingPurpose) {
        guard let session else { return }
        let opaque = purpose.opaqueData
        session.ping(opaque: opaque)
        scheduleFlush()
    }

    func scheduleKeepalive(at check: ContinuousClock.Instant) {
        keepaliveTimer?.cancel()
        keepaliveTimer = loop.schedule(at: check) { [weak self] in self?.keepaliveTick() }
    }

    func keepaliveTick() {
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

    func scheduleIdleCheck(at check: ContinuousClock.Instant) {
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
    func receivedPingAck(_ frame: nghttp2_frame) {
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
    func policePing() {
        guard management.peerPingReceived(now: .now, hasOpenStreams: !streams.isEmpty) == .tooManyPings,
              let session else { return }
        session.submitGoaway(.enhanceYourCalm, debug: "too_many_pings")
        draining = true
        // In an nghttp2 callback: no flush or close here; the flush closes once it is sent.
        closeAfterFlush = "the peer sent too many PINGs (GOAWAY ENHANCE_YOUR_CALM)"
        scheduleFlush()
    }
}
