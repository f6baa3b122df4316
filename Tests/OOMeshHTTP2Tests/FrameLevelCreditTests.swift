import OOMesh
@testable import OOMeshHTTP2
import Testing

/// Inbound flow control on a real server connection, frame by frame: a scripted client
/// (``ScriptedPeer``) writes exact DATA frames and reads the WINDOW_UPDATEs back, and the
/// connection's own totals say what it holds. What `InboundCreditTests` proves of the pure
/// ledger, here through nghttp2 and the inbox.
@Suite("Inbound credit, frame by frame")
struct FrameLevelCreditTests {
    private static let streamWindow = 16_384

    private func configuration(_ configure: (inout HTTP2Configuration) -> Void = { _ in }) -> HTTP2Configuration {
        var configuration = HTTP2Configuration()
        configuration.targetStreamWindowBytes = Self.streamWindow
        configure(&configuration)
        return configuration
    }

    /// The increments of every WINDOW_UPDATE for `stream`.
    private func windowUpdates(_ frames: [ScriptedPeer.Frame], stream: UInt32) -> Int {
        frames.filter { $0.type == ScriptedPeer.Frame.windowUpdate && $0.stream == stream }.reduce(0) { $0 + $1.windowIncrement }
    }

    /// A server connection with a handler that takes messages as allowed, and a scripted
    /// client that has exchanged SETTINGS and opened stream 1.
    private func openCall(_ configuration: HTTP2Configuration) async throws -> (ScriptedPeer, MessageTaker) {
        let taker = MessageTaker()
        let peer = ScriptedPeer(configuration: configuration, handler: taker.handler)
        _ = try await peer.waitForFrames { $0.contains { $0.type == ScriptedPeer.Frame.settings } }
        peer.sendRequestHeaders(stream: 1)
        return (peer, taker)
    }

    @Test("DATA cut one byte before each message's end earns no credit: the window comes back only as the handler takes messages")
    func cutFramesEarnNothing() async throws {
        let (peer, taker) = try await openCall(configuration())
        let wireBytes = 10 * 1005
        peer.sendMessages(stream: 1, count: 10, payloadBytes: 1000, cuts: (1...10).map { $0 * 1005 - 1 })
        try await peer.waitUntilReceived(wireBytes)
        try await peer.barrier()
        // Nothing taken: nothing credited, however the frames were cut.
        #expect(await peer.onLoop { $0.creditTotals.creditedBytes } == 0)
        #expect(windowUpdates(peer.received, stream: 1) == 0)

        taker.allow(3)
        try await taker.waitForTaken(3)
        try await peer.barrier()
        #expect(await peer.onLoop { $0.creditTotals.creditedBytes } == 3 * 1005)
        // Below half the window nghttp2 keeps the update back (it batches them).
        #expect(windowUpdates(peer.received, stream: 1) == 0)

        taker.allow(7)
        try await taker.waitForTaken(10)
        try await peer.barrier()
        #expect(await peer.onLoop { $0.creditTotals.creditedBytes } == wireBytes)
        // On the wire: one update once the credit passed half the window (at the 9th
        // message, 9 × 1,005 ≥ 8,192); the 10th message's bytes wait in nghttp2's batch.
        #expect(windowUpdates(peer.received, stream: 1) == 9 * 1005)
        #expect(taker.bytes == 10 * 1000)
        await peer.close()
    }

    @Test("a message larger than the stream window: held at the window while nobody reads, advanced while its reader waits")
    func largeMessageAdvancedOnlyForAWaitingReader() async throws {
        let (peer, taker) = try await openCall(configuration())
        let payloadBytes = 40_000
        var wire: [UInt8] = [0, 0, 0, UInt8(payloadBytes >> 8), UInt8(payloadBytes & 0xFF)]
        wire += [UInt8](repeating: 7, count: payloadBytes)

        // The whole window, and nobody reading: the peer is stuck, we hold one window.
        var sent = Self.streamWindow
        peer.send(ScriptedPeer.Frame(type: ScriptedPeer.Frame.data, flags: 0, stream: 1, payload: Array(wire[0..<sent])))
        try await peer.waitUntilReceived(sent)
        try await peer.barrier()
        #expect(await peer.onLoop { $0.creditTotals.creditedBytes } == 0)
        #expect(windowUpdates(peer.received, stream: 1) == 0)

        // A reader waits: what it waits for is advanced, window by window, to the end.
        taker.allow(1)
        while sent < wire.count {
            let frames = try await peer.waitForFrames { Self.streamWindow + self.windowUpdates($0, stream: 1) > sent }
            let window = Self.streamWindow + windowUpdates(frames, stream: 1) - sent
            let chunk = min(window, wire.count - sent, 16_384)
            peer.send(ScriptedPeer.Frame(type: ScriptedPeer.Frame.data, flags: 0, stream: 1, payload: Array(wire[sent..<sent + chunk])))
            sent += chunk
        }
        try await taker.waitForTaken(1)
        #expect(taker.bytes == payloadBytes)
        try await peer.barrier()
        // Every byte credited exactly once (the advance is released, not credited again),
        // and no advance left outstanding.
        #expect(await peer.onLoop { $0.creditTotals.creditedBytes } == wire.count)
        #expect(await peer.onLoop { $0.inboundCredit.advancedBytes } == 0)
        await peer.close()
    }

    @Test("a message refused from its length prefix: the stream holds nothing, every byte goes back at once")
    func refusedMessageHoldsNothing() async throws {
        let (peer, taker) = try await openCall(configuration { $0.maxReceiveMessageBytes = 1024 })
        // Declares 100,000 bytes (over the 1 KiB limit) and sends 5,000 of them.
        var bytes: [UInt8] = [0, 0, 0x01, 0x86, 0xA0]
        bytes += [UInt8](repeating: 1, count: 5_000)
        peer.send(ScriptedPeer.Frame(type: ScriptedPeer.Frame.data, flags: 0, stream: 1, payload: bytes))
        try await peer.waitUntilReceived(bytes.count)
        try await peer.barrier()
        let totals = await peer.onLoop { $0.creditTotals }
        #expect(totals.creditedBytes == totals.receivedBytes)
        // The call ended: the server's status went out, and RST_STREAM(NO_ERROR) since the
        // client had not finished sending.
        let frames = peer.received
        #expect(frames.contains { $0.type == ScriptedPeer.Frame.headers && $0.stream == 1 && $0.flags & ScriptedPeer.Frame.endStream != 0 })
        #expect(frames.contains { $0.type == ScriptedPeer.Frame.rstStream && $0.stream == 1 && $0.payload == [0, 0, 0, 0] })
        await peer.close()
    }
}
