#if canImport(Glibc)
import Glibc
#endif
import OOMesh
@testable import OOMeshHTTP2
import Synchronization

/// A real server ``HTTP2Connection`` on its own event loop, with a scripted HTTP/2 client in
/// this process on the other end of a socket pair: the test writes frames byte for byte
/// and reads the server's frames back, and can look at the connection's state on its loop.
/// No TCP, no subprocess, no timing guesses: ``barrier()`` is a PING round trip.
final class ScriptedPeer: Sendable {
    let loop: EventLoop
    let connection: HTTP2Connection
    private let fd: Int32
    private let inbox = Mutex<[UInt8]>([])

    /// One HTTP/2 frame (RFC 9113 §4.1).
    struct Frame: Sendable {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        static let data: UInt8 = 0x0, headers: UInt8 = 0x1, rstStream: UInt8 = 0x3, settings: UInt8 = 0x4,
                   ping: UInt8 = 0x6, goaway: UInt8 = 0x7, windowUpdate: UInt8 = 0x8
        static let endStream: UInt8 = 0x1, endHeaders: UInt8 = 0x4, ack: UInt8 = 0x1

        var bytes: [UInt8] {
            let length = payload.count
            return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
                    UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
                + payload
        }

        /// A WINDOW_UPDATE's increment.
        var windowIncrement: Int {
            Int(UInt32(payload[0] & 0x7F) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3]))
        }
    }

    /// Starts the server side with `handler` and `configuration`; sends the client preface
    /// and an empty SETTINGS.
    init(configuration: HTTP2Configuration,
         handler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        fd = fds[1]
        loop = EventLoop(name: "scripted-peer")
        loop.start()
        connection = HTTP2Connection(loop: loop, fd: fds[0], role: .server(handler: handler), configuration: configuration)
        loop.execute { [connection] in connection.start() }
        send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8))
        send(Frame(type: Frame.settings, flags: 0, stream: 0, payload: []))
    }

    /// Closes both ends and stops the loop.
    func close() async {
        loop.execute { [connection] in connection.close(reason: "the test ended") }
        Glibc.close(fd)
        loop.stop()
        await loop.stopped()
    }

    func send(_ frame: Frame) { send(frame.bytes) }

    /// Writes all of `bytes`; while the socket is full, waits for it (poll, 10 s at most:
    /// a server that stops reading fails the test instead of spinning it).
    func send(_ bytes: [UInt8]) {
        var offset = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written > 0 { offset += written; continue }
            guard errno == EINTR || errno == EAGAIN else { preconditionFailure("send: errno \(errno)") }
            precondition(ContinuousClock.now < deadline, "the server took no bytes for 10 s")
            var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&ready, 1, 100)
        }
    }

    /// A request's HEADERS (END_HEADERS, not END_STREAM), HPACK literals without indexing.
    func sendRequestHeaders(stream: UInt32, path: String = "/test.Scripted/Call") {
        let fields = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "scripted"),
                      ("content-type", "application/grpc"), ("te", "trailers")]
        var block: [UInt8] = []
        for (name, value) in fields {
            precondition(name.utf8.count < 127 && value.utf8.count < 127)
            block.append(0x00)
            block.append(UInt8(name.utf8.count)); block += Array(name.utf8)
            block.append(UInt8(value.utf8.count)); block += Array(value.utf8)
        }
        send(Frame(type: Frame.headers, flags: Frame.endHeaders, stream: stream, payload: block))
    }

    /// gRPC messages (prefix + `payloadBytes` bytes each), in DATA frames cut where `cuts`
    /// says (offsets into the concatenated messages).
    func sendMessages(stream: UInt32, count: Int, payloadBytes: Int, cuts: [Int]) {
        var wire: [UInt8] = []
        for index in 0..<count {
            wire += [0, UInt8(payloadBytes >> 24 & 0xFF), UInt8(payloadBytes >> 16 & 0xFF), UInt8(payloadBytes >> 8 & 0xFF), UInt8(payloadBytes & 0xFF)]
            wire += [UInt8](repeating: UInt8(index & 0xFF), count: payloadBytes)
        }
        var start = 0
        for end in cuts + [wire.count] where end > start {
            send(Frame(type: Frame.data, flags: 0, stream: stream, payload: Array(wire[start..<end])))
            start = end
        }
    }

    /// Every frame the server sent so far, parsed (SETTINGS are ACKed as they come).
    var received: [Frame] { receivedFrames.withLock { $0 } }
    private let receivedFrames = Mutex<[Frame]>([])

    /// Reads what the socket has into frames, without blocking.
    private func pollFrames() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            inbox.withLock { $0 += buffer[0..<count] }
        }
        while let frame = inbox.withLock({ bytes -> Frame? in
            guard bytes.count >= 9 else { return nil }
            let length = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
            guard bytes.count >= 9 + length else { return nil }
            let stream = UInt32(bytes[5] & 0x7F) << 24 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 8 | UInt32(bytes[8])
            let frame = Frame(type: bytes[3], flags: bytes[4], stream: stream, payload: Array(bytes[9..<9 + length]))
            bytes.removeFirst(9 + length)
            return frame
        }) {
            if frame.type == Frame.settings, frame.flags & Frame.ack == 0 {
                send(Frame(type: Frame.settings, flags: Frame.ack, stream: 0, payload: []))
            }
            receivedFrames.withLock { $0.append(frame) }
        }
    }

    /// Waits until `condition` holds for the frames received, polling the socket (bounded).
    func waitForFrames(timeout: Duration = .seconds(10), _ condition: ([Frame]) -> Bool) async throws -> [Frame] {
        let deadline = ContinuousClock.now + timeout
        while true {
            pollFrames()
            let frames = received
            if condition(frames) { return frames }
            guard ContinuousClock.now < deadline else { throw ScriptError(message: "no such frames within \(timeout); got \(frames.map(\.type))") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Everything the server sent in answer to what was sent before: a PING and its ACK.
    /// Frames the server queued earlier were written before the ACK (one socket, in order).
    func barrier() async throws {
        let opaque = (0..<8).map { _ in UInt8.random(in: 0...255) }
        send(Frame(type: Frame.ping, flags: 0, stream: 0, payload: opaque))
        _ = try await waitForFrames { $0.contains { $0.type == Frame.ping && $0.flags & Frame.ack != 0 && $0.payload == opaque } }
    }

    /// Reads connection state on its loop.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (HTTP2Connection) -> T) async -> T {
        await withCheckedContinuation { continuation in
            loop.execute { [connection] in continuation.resume(returning: body(connection)) }
        }
    }

    /// Waits (bounded) until the connection has taken in `bytes` DATA bytes.
    func waitUntilReceived(_ bytes: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await onLoop({ $0.creditTotals.receivedBytes }) < bytes {
            guard ContinuousClock.now < deadline else { throw ScriptError(message: "the server did not take in \(bytes) DATA bytes") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    struct ScriptError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// Lets a test hand a server handler permission to take messages, and see how many it took.
final class MessageTaker: Sendable {
    private let permits: AsyncStream<Int>
    private let permit: AsyncStream<Int>.Continuation
    private let takenCount = Atomic<Int>(0)
    private let takenBytes = Atomic<Int>(0)

    init() {
        (permits, permit) = AsyncStream<Int>.makeStream()
    }

    var taken: Int { takenCount.load(ordering: .relaxed) }
    var bytes: Int { takenBytes.load(ordering: .relaxed) }

    /// Lets the handler take `count` more messages.
    func allow(_ count: Int) { permit.yield(count) }

    /// A handler that takes messages only as allowed (the metadata part comes first).
    var handler: @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void {
        { [self] stream, _ in
            var parts = stream.inbound.makeAsyncIterator()
            _ = try? await parts.next()
            for await count in permits {
                for _ in 0..<count {
                    guard case .message(let bytes, _)? = try? await parts.next() else { return }
                    takenBytes.add(bytes.count, ordering: .relaxed)
                    takenCount.add(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Waits (bounded) until the handler has taken `count` messages.
    func waitForTaken(_ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while taken < count {
            guard ContinuousClock.now < deadline else { throw ScriptedPeer.ScriptError(message: "the handler took \(taken) of \(count) messages") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
