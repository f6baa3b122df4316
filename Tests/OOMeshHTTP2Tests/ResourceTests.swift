import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Resource use of our client and server together, in this process: descriptors and
/// memory do not grow with the number of calls, and a slow reader gets every byte without
/// the stack buffering the stream.
///
/// Descriptor and RSS numbers are process-wide, so these tests hold the resource gate
/// exclusively (the raw-peer suite waits meanwhile). Suites that do not take the gate can
/// still run alongside; the descriptor checks therefore pair the process-wide count with
/// an exact one, the sockets on the test server's port, and wait a little for descriptors
/// that others opened to close again before judging the count.
@Suite("Resource use", .serialized, .timeLimit(.minutes(3)))
struct ResourceTests {
    @Test("100 concurrent unary calls on one client connection all succeed, leaving no descriptor behind")
    func concurrentUnaryCalls() async throws {
        try await withProcessResourceGate(exclusive: true) {
            let before = ProcessResources.openDescriptors()
            let port = try await withHTTP2Server(services: [TestService()]) { transport in
                try await withHTTP2Client(port: transport.port) { client in
                    let service = Grpc_Testing_TestService_Client(wrapping: client)
                    let sizes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                        for index in 0..<100 {
                            group.addTask {
                                let response = try await service.unaryCall(.with {
                                    $0.responseType = .compressable
                                    $0.responseSize = Int32(1000 + index)
                                    $0.payload = .with { $0.body = Data(count: 1000 + index) }
                                })
                                return (index, response.payload.body.count)
                            }
                        }
                        var sizes: [Int: Int] = [:]
                        for try await (index, size) in group { sizes[index] = size }
                        return sizes
                    }
                    #expect(sizes.count == 100)
                    #expect(sizes.allSatisfy { $0.value == 1000 + $0.key })
                    // All of them over the one connection the client made.
                    #expect(transport.connectionCount == 1)
                }
                return transport.port
            }
            try await expectNoDescriptorGrowth(since: before, serverPort: port)
        }
    }

    @Test("10,000 sequential unary calls on one client: no descriptor growth, bounded memory")
    func sequentialUnaryCalls() async throws {
        try await withProcessResourceGate(exclusive: true) {
            let before = ProcessResources.openDescriptors()
            let clock = ContinuousClock()
            let (port, rssAfterWarmUp, rssAfterCalls, duration) = try await withHTTP2Server(services: [TestService()]) { transport in
                try await withHTTP2Client(port: transport.port) { client in
                    let service = Grpc_Testing_TestService_Client(wrapping: client)
                    for _ in 0..<1_000 {
                        _ = try await service.emptyCall(Grpc_Testing_Empty())
                    }
                    let rssAfterWarmUp = ProcessResources.residentBytes()
                    let start = clock.now
                    for _ in 0..<10_000 {
                        _ = try await service.emptyCall(Grpc_Testing_Empty())
                    }
                    let duration = clock.now - start
                    let rssAfterCalls = ProcessResources.residentBytes()
                    #expect(transport.connectionCount == 1)
                    return (transport.port, rssAfterWarmUp, rssAfterCalls, duration)
                }
            }
            print("10,000 sequential EmptyCalls: \(duration); VmRSS \(rssAfterWarmUp >> 10) KiB after the warm-up, \(rssAfterCalls >> 10) KiB after")
            // After the warm-up every per-connection buffer (the loops' 256 KiB read buffers,
            // the connection's output buffer, nghttp2's HPACK tables), malloc's arenas and
            // the runtime's caches exist; a call that releases what it allocates adds nothing
            // more. 20 MiB leaves room for allocator fragmentation and for other suites
            // running alongside, yet a leak of one small object graph per call (a stream
            // with its inbox, outbox and task: ~2 KiB) over 10,000 calls would exceed it.
            #expect(rssAfterCalls - rssAfterWarmUp < 20 << 20, "VmRSS grew by \((rssAfterCalls - rssAfterWarmUp) >> 10) KiB over 10,000 calls")
            try await expectNoDescriptorGrowth(since: before, serverPort: port)
        }
    }

    @Test("a slow reader of a 256 MiB server stream gets every byte, with bounded memory")
    func slowReader() async throws {
        try await withProcessResourceGate(exclusive: true) {
            let messageSize = 64 * 1024
            let messageCount = 4096  // 256 MiB, 8x the memory bound below
            let before = ProcessResources.openDescriptors()
            let rssBefore = ProcessResources.residentBytes()
            let sampler = ResidentPeakSampler()
            let clock = ContinuousClock()
            let start = clock.now
            let (port, received) = try await withHTTP2Server(services: [TestService()]) { transport in
                try await withHTTP2Client(port: transport.port) { client in
                    let service = Grpc_Testing_TestService_Client(wrapping: client)
                    let request = Grpc_Testing_StreamingOutputCallRequest.with {
                        $0.responseType = .compressable
                        $0.responseParameters = Array(repeating: .with { $0.size = Int32(messageSize) }, count: messageCount)
                    }
                    let received = try await service.streamingOutputCall(request) { response in
                        var count = 0, bytes = 0
                        for try await message in response.messages {
                            count += 1
                            bytes += message.payload.body.count
                            // Slow: a pause every 32 messages (2 MiB), ~1.3 s in all, so the
                            // server keeps running into full flow-control windows.
                            if count % 32 == 0 { try await Task.sleep(for: .milliseconds(10)) }
                        }
                        return (count, bytes)
                    }
                    return (transport.port, received)
                }
            }
            let duration = clock.now - start
            let peak = await sampler.stop()
            print("slow reader: \(received.0) messages, \(received.1) bytes in \(duration); VmRSS peak +\((peak - rssBefore) >> 10) KiB")
            #expect(received.0 == messageCount)
            #expect(received.1 == messageCount * messageSize)
            // What may be in memory at once: the client's 1 MiB stream window of received
            // bytes, the server's 256 KiB outbox plus one message, the socket-level copies
            // (read buffers, nghttp2's frames) and the message being decoded: a few MiB.
            // 32 MiB is generous and still an eighth of the stream: a transport that
            // buffered the response instead of applying backpressure would exceed it.
            #expect(peak - rssBefore < 32 << 20, "VmRSS peaked \((peak - rssBefore) >> 20) MiB above the start")
            try await expectNoDescriptorGrowth(since: before, serverPort: port)
        }
    }

    /// After client and server have shut down: no socket on the server's port is left
    /// (exact), and the process has no more descriptors than before (with slack).
    ///
    /// The slack: descriptors the runtime opens once per process on first use, not per
    /// call (Dispatch's epoll and eventfd for its I/O and timer manager, Foundation's
    /// /dev/urandom or /proc handles) may first appear during a test; 2 covers them.
    /// Fewer descriptors than before is fine (another suite's may have closed meanwhile).
    /// Our own descriptors are a listener, one socket per connection end and an epoll
    /// plus an eventfd per event loop (two server loops on this machine, one client
    /// loop): a leaked connection or loop shows up in the exact socket check or as more
    /// than 2 extra descriptors. Descriptors close on the loops' threads and in
    /// deinitializers, so the count is given a moment (up to 5 s) to settle, which also
    /// lets descriptors of suites running alongside close again.
    private func expectNoDescriptorGrowth(since before: [Int32: String], serverPort: Int) async throws {
        var before = before
        let deadline = ContinuousClock.now + .seconds(5)
        var after = ProcessResources.openDescriptors()
        var sockets = ProcessResources.socketsInvolving(port: serverPort)
        while (after.count > before.count + 2 || !sockets.isEmpty), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            after = ProcessResources.openDescriptors()
            sockets = ProcessResources.socketsInvolving(port: serverPort)
        }
        #expect(sockets.isEmpty, "sockets on port \(serverPort) still open: \(sockets)")
        // Only the kinds of descriptor the transport opens: other suites' subprocesses
        // (pipes) and Dispatch's timers come and go on their own schedule.
        let ours = { (target: String) in
            target.hasPrefix("socket:") || target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]"
        }
        before = before.filter { ours($0.value) }
        after = after.filter { ours($0.value) }
        let added = after.filter { before[$0.key] != $0.value }.sorted { $0.key < $1.key }.map { "\($0.key) -> \($0.value)" }
        #expect(after.count <= before.count + 2, "descriptors: \(before.count) before, \(after.count) after; new: \(added)")
    }
}
