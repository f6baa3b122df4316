@testable import OOMeshHTTP2
import Testing

/// Keepalive, idle limit and PING policing as a pure machine, in virtual time: no socket,
/// no timer, no sleep. (ConnectionManagementTests drives the same rules over real sockets.)
@Suite("Connection management machine")
struct ConnectionManagementMachineTests {
    private let start = ContinuousClock.now

    private func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    private func machine(server: Bool, _ configure: (inout HTTP2Configuration) -> Void = { _ in }) -> ConnectionManagement {
        var configuration = HTTP2Configuration()
        configure(&configuration)
        return ConnectionManagement(policy: .init(configuration, isServer: server), now: start)
    }

    @Test("keepalive: a PING after an interval of silence, the connection closed when its ACK is late")
    func keepaliveTimesOut() {
        var m = machine(server: true) { $0.keepaliveInterval = .seconds(10); $0.keepaliveTimeout = .seconds(2) }
        #expect(m.firstChecks(now: start).keepalive == at(10))
        // Bytes came at 4 s: at 10 s only 6 s of silence, look again at 14 s.
        m.received(now: at(4))
        #expect(m.keepaliveTimerFired(now: at(10), hasOpenStreams: false) == .wait(check: at(14)))
        #expect(m.keepaliveTimerFired(now: at(14), hasOpenStreams: false) == .sendPing(check: at(16)))
        // Early wake-up: the ACK is not late yet.
        #expect(m.keepaliveTimerFired(now: at(15), hasOpenStreams: false) == .wait(check: at(16)))
        #expect(m.keepaliveTimerFired(now: at(16), hasOpenStreams: false) == .close(reason: "no keepalive PING ACK within 2.0 seconds"))
    }

    @Test("keepalive: an answered PING puts the next one an interval after the ACK")
    func keepaliveAnswered() {
        var m = machine(server: false) { $0.keepaliveInterval = .seconds(10); $0.keepaliveTimeout = .seconds(2) }
        #expect(m.keepaliveTimerFired(now: at(10), hasOpenStreams: true) == .sendPing(check: at(12)))
        let ack = m.pingAckReceived(opaque: ConnectionManagement.PingPurpose.keepalive.rawValue, now: at(11))
        #expect(ack == .keepaliveAnswered(nextCheck: at(21)))
        #expect(m.keepalivePingSent == nil)
        // A second ACK of the same PING (a broken peer) changes nothing.
        #expect(m.pingAckReceived(opaque: ConnectionManagement.PingPurpose.keepalive.rawValue, now: at(11.5)) == .ignore)
    }

    @Test("keepalive: a client without calls does not PING unless keepaliveWithoutCalls")
    func clientWithoutCalls() {
        var quiet = machine(server: false) { $0.keepaliveInterval = .seconds(10) }
        #expect(quiet.keepaliveTimerFired(now: at(10), hasOpenStreams: false) == .wait(check: at(20)))
        #expect(quiet.keepalivePingSent == nil)
        var chatty = machine(server: false) { $0.keepaliveInterval = .seconds(10); $0.keepaliveWithoutCalls = true }
        #expect(chatty.keepaliveTimerFired(now: at(10), hasOpenStreams: false) == .sendPing(check: at(30)))
        // Servers ping whether or not calls are open.
        var server = machine(server: true) { $0.keepaliveInterval = .seconds(10) }
        #expect(server.keepaliveTimerFired(now: at(10), hasOpenStreams: false) == .sendPing(check: at(30)))
    }

    /// The ACK of a keepalive PING sent just before shutdown began must not be taken for
    /// the shutdown PING's: the final GOAWAY would name a last stream id before streams the
    /// client had already sent (they would be refused although the server never saw them).
    @Test("shutdown: only the shutdown PING's own ACK lets the final GOAWAY go, not a keepalive ACK")
    func shutdownPingIsItsOwn() {
        var m = machine(server: true) { $0.keepaliveInterval = .seconds(10) }
        #expect(m.keepaliveTimerFired(now: at(10), hasOpenStreams: true) == .sendPing(check: at(30)))
        let opaque = m.shutdownPingSent().rawValue
        #expect(m.awaitingShutdownPingAck)
        #expect(m.pingAckReceived(opaque: ConnectionManagement.PingPurpose.keepalive.rawValue, now: at(10.1)) == .keepaliveAnswered(nextCheck: at(20.1)))
        #expect(m.awaitingShutdownPingAck)
        // Unknown opaque data (the peer's own invention) is no answer either.
        #expect(m.pingAckReceived(opaque: 0, now: at(10.2)) == .ignore)
        #expect(m.pingAckReceived(opaque: opaque, now: at(10.3)) == .sendFinalGoaway)
        #expect(!m.awaitingShutdownPingAck)
        #expect(m.pingAckReceived(opaque: opaque, now: at(10.4)) == .ignore)
    }

    @Test("PING opaque data round-trips through the wire's 8 bytes")
    func opaqueBytes() {
        for purpose in [ConnectionManagement.PingPurpose.keepalive, .shutdown] {
            let bytes = purpose.opaqueData
            #expect(bytes.count == 8)
            let tuple = (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7])
            #expect(ConnectionManagement.PingPurpose.opaque(tuple) == purpose.rawValue)
        }
        #expect(String(decoding: ConnectionManagement.PingPurpose.keepalive.opaqueData, as: UTF8.self) == "oo-alive")
        #expect(ConnectionManagement.PingPurpose.keepalive.opaqueData != ConnectionManagement.PingPurpose.shutdown.opaqueData)
    }

    @Test("ping policing: PINGs closer than the minimum interval are strikes; one past the limit ends it")
    func strikes() {
        var m = machine(server: true) { $0.minPeerPingInterval = .seconds(60); $0.maxPingStrikes = 2 }
        #expect(m.peerPingReceived(now: at(0), hasOpenStreams: true) == .allow)
        #expect(m.peerPingReceived(now: at(61), hasOpenStreams: true) == .allow)
        #expect(m.pingStrikes == 0)
        #expect(m.peerPingReceived(now: at(62), hasOpenStreams: true) == .allow)
        #expect(m.peerPingReceived(now: at(63), hasOpenStreams: true) == .allow)
        #expect(m.pingStrikes == 2)
        // A call starting forgives them.
        m.callStarted()
        #expect(m.peerPingReceived(now: at(64), hasOpenStreams: true) == .allow)
        #expect(m.peerPingReceived(now: at(65), hasOpenStreams: true) == .allow)
        #expect(m.peerPingReceived(now: at(66), hasOpenStreams: true) == .tooManyPings)
    }

    @Test("ping policing: with no call open PINGs must be two hours apart, unless permitted (gRFC A8)")
    func pingsWithoutCalls() {
        var strict = machine(server: true) { $0.minPeerPingInterval = .seconds(60); $0.maxPingStrikes = 0 }
        #expect(strict.peerPingReceived(now: at(0), hasOpenStreams: false) == .allow)
        // Five minutes later is fine with a call open, a strike without one.
        #expect(strict.peerPingReceived(now: at(300), hasOpenStreams: false) == .tooManyPings)
        var permitted = machine(server: true) {
            $0.minPeerPingInterval = .seconds(60); $0.maxPingStrikes = 0; $0.permitPeerPingsWithoutCalls = true
        }
        #expect(permitted.peerPingReceived(now: at(0), hasOpenStreams: false) == .allow)
        #expect(permitted.peerPingReceived(now: at(300), hasOpenStreams: false) == .allow)
        var idleLong = machine(server: true) { $0.minPeerPingInterval = .seconds(60); $0.maxPingStrikes = 0 }
        #expect(idleLong.peerPingReceived(now: at(0), hasOpenStreams: false) == .allow)
        #expect(idleLong.peerPingReceived(now: at(7201), hasOpenStreams: false) == .allow)
        // Clients do not police.
        var client = machine(client: ())
        #expect(client.peerPingReceived(now: at(0), hasOpenStreams: false) == .allow)
        #expect(client.peerPingReceived(now: at(0.001), hasOpenStreams: false) == .allow)
    }

    @Test("idle limit: shut down after the limit without streams; an open stream restarts the clock")
    func idle() {
        var m = machine(server: true) { $0.maxConnectionIdle = .seconds(30) }
        #expect(m.firstChecks(now: start).idle == at(30))
        #expect(m.idleTimerFired(now: at(30), hasOpenStreams: true) == .wait(check: at(60)))
        m.streamActivity(now: at(45))
        #expect(m.idleTimerFired(now: at(60), hasOpenStreams: false) == .wait(check: at(75)))
        #expect(m.idleTimerFired(now: at(75), hasOpenStreams: false) == .shutDown)
        // Clients have no idle limit of their own.
        #expect(machine(server: false) { $0.maxConnectionIdle = .seconds(30) }.firstChecks(now: start).idle == nil)
    }

    private func machine(client: Void) -> ConnectionManagement {
        machine(server: false) { $0.minPeerPingInterval = .seconds(60); $0.maxPingStrikes = 0 }
    }
}
