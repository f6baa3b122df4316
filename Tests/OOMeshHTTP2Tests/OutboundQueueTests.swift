import Foundation
import OOMesh
@testable import OOMeshHTTP2
import Synchronization
import Testing

/// The connection's write queue over a real socket pair: copied and referenced pieces come
/// out in order, byte for byte, across partial writes, full socket buffers and more pieces
/// than one `sendmsg` takes.
@Suite("Outbound queue")
struct OutboundQueueTests {
    @Test("copied and referenced pieces arrive in order across partial writes")
    func mixedPiecesRoundTrip() async throws {
        let (writer, reader) = try socketPair(sendBuffer: 8 * 1024)
        defer { close(writer); close(reader) }
        var queue = OutboundQueue()
        var expected: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        // 300 pieces: more than one sendmsg's vectors, sizes on both sides of the reference threshold.
        for index in 0..<300 {
            let size = [0, 9, 5, 100, OutboundQueue.referenceThreshold - 1, OutboundQueue.referenceThreshold, 16_384, 70_000][index % 8]
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if index % 3 == 0 {
                bytes.withUnsafeBytes { queue.append(copying: $0) }
                expected += bytes
            } else {
                let start = min(3, size)
                queue.append(bytes, range: start..<size)
                expected += bytes[start...]
            }
            if index % 50 == 0 {
                queue.appendStaging { $0 += [1, 2, 3] }
                expected += [1, 2, 3]
            }
        }
        #expect(queue.count == expected.count)

        let received = drainInBackground(reader, expecting: expected.count)
        var blockedWrites = 0
        while !queue.isEmpty {
            switch queue.write(to: writer) {
            case .done: break
            case .wouldBlock:
                blockedWrites += 1
                // The reader thread drains the socket; wait without blocking this thread.
                try await Task.sleep(for: .milliseconds(1))
            case .failed(let error):
                Issue.record("write failed with errno \(error)")
                return
            }
        }
        #expect(blockedWrites > 0, "the small socket buffer should have filled at least once")
        #expect(await received.wait() == expected)
    }

    /// A peer that reads slowly must not make the queue keep what it has already written.
    @Test("partial writes followed by more copies keep the retained bytes bounded")
    func partialWritesStayBounded() throws {
        let (writer, reader) = try socketPair(sendBuffer: 4 * 1024)
        defer { close(writer); close(reader) }
        var queue = OutboundQueue()
        // The reader takes less than the writer queues each round, so a backlog builds
        // up and the oldest buffer is always partly written.
        var sink = [UInt8](repeating: 0, count: 2_000)
        let piece = [UInt8](repeating: 0x5A, count: 3_000)
        var largestRetained = 0
        var written = 0
        for _ in 0..<500 {
            piece.withUnsafeBytes { queue.append(copying: $0) }
            _ = queue.write(to: writer)
            // The reader takes a little at a time, so most writes are partial.
            let read = sink.withUnsafeMutableBytes { recv(reader, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if read > 0 { written += read }
            largestRetained = max(largestRetained, queue.retainedBytes)
        }
        #expect(written > 100_000, "the reader should have received a good part of the 1.5 MB")
        // Unwritten bytes plus at most one partly written buffer of up to a batch.
        #expect(largestRetained <= queue.count + 2 * OutboundQueue.maxStagingBytes,
                "retained \(largestRetained) bytes with \(queue.count) unwritten")
    }

    @Test("an empty staging append leaves nothing queued")
    func emptyStagingAppend() throws {
        var queue = OutboundQueue()
        queue.appendStaging { _ in }
        #expect(queue.isEmpty)
        let (writer, reader) = try socketPair(sendBuffer: 64 * 1024)
        defer { close(writer); close(reader) }
        #expect(queue.write(to: writer) == .done)
    }

    @Test("writing to a peer that has gone fails with EPIPE instead of raising SIGPIPE")
    func peerGone() throws {
        let (writer, reader) = try socketPair(sendBuffer: 64 * 1024)
        defer { close(writer) }
        close(reader)
        var queue = OutboundQueue()
        let payload = [UInt8](repeating: 7, count: 100_000)
        queue.append(payload, range: 0..<payload.count)
        #expect(queue.write(to: writer) == .failed(EPIPE))
    }
}

/// The outbox's zero-copy reads: a DATA frame reserves bytes, then takes them as slices of
/// the application's buffers.
@Suite("Stream outbox reservations")
struct StreamOutboxReservationTests {
    @Test("reserve and take hand out the written bytes in order, and the end once the queue is empty")
    func reserveAndTake() async throws {
        let outbox = StreamOutbox(highWaterBytes: 1 << 20) {}
        let message = [UInt8](repeating: 42, count: 10_000)
        try await outbox.write(
            headers: nil, messages: [.init(bytes: message), .init(bytes: [])],
            end: .trailers(Status(code: .ok, message: ""), [:]))
        var sent: [UInt8] = []
        let first = outbox.reserve(upTo: 4096)
        #expect(first.count == 4096)
        #expect(first.end == nil)
        #expect(outbox.take(first.count, prefix: {}, slice: { sent += $0[$1] }))
        // Prefix 5 + 10,000 + prefix 5 + 0 bytes in all.
        let rest = outbox.reserve(upTo: 1 << 20)
        #expect(rest.count == 10_010 - 4096)
        #expect(rest.end != nil, "the last bytes carry the end")
        #expect(outbox.take(rest.count, prefix: {}, slice: { sent += $0[$1] }))
        #expect(sent == MessageFraming.prefix(length: 10_000) + message + MessageFraming.prefix(length: 0))
        #expect(outbox.reserve(upTo: 1 << 20).end == nil, "the end is handed out once")
    }

    @Test("a take after the outbox was closed writes nothing and says so")
    func takeAfterClose() async throws {
        let outbox = StreamOutbox(highWaterBytes: 1 << 20) {}
        try await outbox.write(headers: nil, messages: [.init(bytes: [1, 2, 3])], end: nil)
        let reserved = outbox.reserve(upTo: 100)
        #expect(reserved.count == 8)
        outbox.close(.fail(RPCError(code: .cancelled, message: "reset")))
        var prefixCalled = false
        #expect(!outbox.take(reserved.count, prefix: { prefixCalled = true }, slice: { _, _ in }))
        #expect(!prefixCalled)
    }

    @Test("a writer held at the high-water mark resumes once frames have taken the queue below half")
    func writerResumes() async throws {
        let outbox = StreamOutbox(highWaterBytes: 1000) {}
        let writer = Task { try await outbox.write(headers: nil, messages: [.init(bytes: [UInt8](repeating: 1, count: 2000))], end: nil) }
        // Wait until the bytes are queued (the writer is then suspended).
        var queued = 0
        for _ in 0..<200 where queued == 0 {
            queued = outbox.reserve(upTo: 1 << 20).count
            if queued == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(queued == 2005)
        #expect(outbox.take(1600, prefix: {}, slice: { _, _ in }))
        try await writer.value
    }
}

private func socketPair(sendBuffer: Int32) throws -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
        throw SocketError(call: "socketpair", errno: errno)
    }
    var size = sendBuffer
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
    return (fds[0], fds[1])
}

/// Reads `count` bytes from `fd` on a thread of its own (blocking reads).
private func drainInBackground(_ fd: Int32, expecting count: Int) -> ReceivedBytes {
    let result = ReceivedBytes()
    let thread = Thread {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < count {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if read <= 0 { break }
            bytes += buffer[0..<read]
        }
        result.finish(bytes)
    }
    thread.start()
    return result
}

/// Bytes a reader thread collected, waited for with a timeout.
private final class ReceivedBytes: Sendable {
    private let bytes = Mutex<[UInt8]?>(nil)

    func finish(_ value: [UInt8]) { bytes.withLock { $0 = value } }

    func wait() async -> [UInt8]? {
        for _ in 0..<1000 {
            if let value = bytes.withLock({ $0 }) { return value }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}
