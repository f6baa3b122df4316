import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
@testable import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// The client's connection: states, fail-fast backoff after failed attempts, reconnection,
/// connect timeout.
@Suite("Client connection", .serialized, .timeLimit(.minutes(2)))
struct ClientConnectionTests {
    @Test("calls fail fast while backing off, saying when the next attempt is")
    func failFastWhileBackingOff() async throws {
        let port = freePort()
        var configuration = HTTP2ClientTransport.Configuration()
        // A delay no loaded machine outlasts between two calls: the second call certainly
        // comes within it, whenever this task gets to run.
        configuration.backoff.initial = .seconds(60)
        configuration.backoff.jitter = 0
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: port, configuration: configuration)
        #expect(transport.connectionState == .idle)
        try await withProcessResourceGate(exclusive: false) {
            try await withGRPCClient(transport: transport) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                // Nobody listens: the attempt fails (connection refused).
                let first = await #expect(throws: RPCError.self) { _ = try await service.emptyCall(Grpc_Testing_Empty()) }
                #expect(first?.code == .unavailable)
                #expect(first?.message.contains("refused") == true, "\(String(describing: first))")
                #expect(transport.connectionState == .transientFailure)
                // Within the backoff delay: no new attempt, the call fails at once, saying why.
                let second = await #expect(throws: RPCError.self) { _ = try await service.emptyCall(Grpc_Testing_Empty()) }
                #expect(second?.code == .unavailable)
                #expect(second?.message.contains("next attempt in") == true, "\(String(describing: second))")
                #expect(second?.message.contains("after 1 failed") == true, "\(String(describing: second))")
            }
        }
        #expect(transport.connectionState == .shutdown)
    }

    @Test("after the backoff delay the client connects to a server that came up, and is ready")
    func reconnectsAfterBackoff() async throws {
        let port = freePort()
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.backoff.initial = .milliseconds(200)
        configuration.backoff.maximum = .milliseconds(200)
        configuration.backoff.jitter = 0
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: port, configuration: configuration)
        try await withProcessResourceGate(exclusive: false) {
            try await withGRPCClient(transport: transport) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                let first = await #expect(throws: RPCError.self) { _ = try await service.emptyCall(Grpc_Testing_Empty()) }
                #expect(first?.code == .unavailable)
                #expect(transport.connectionState == .transientFailure)

                // The server comes up; calls succeed once the delay has passed (each one
                // before then fails fast, and is not an error of the test).
                let serverTransport = try HTTP2ServerTransport(host: "127.0.0.1", port: port)
                let server = GRPCServer(transport: serverTransport, services: [TestService()])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await server.serve() }
                    try await server.waitUntilListening()
                    let deadline = ContinuousClock.now + .seconds(20)
                    var connected = false
                    while !connected, ContinuousClock.now < deadline {
                        do {
                            _ = try await service.emptyCall(Grpc_Testing_Empty())
                            connected = true
                        } catch let error as RPCError where error.code == .unavailable {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    #expect(connected)
                    #expect(transport.connectionState == .ready)
                    server.beginGracefulShutdown()
                    try await group.waitForAll()
                }
                // The server went away cleanly: idle, to reconnect on the next call.
                let deadline = ContinuousClock.now + .seconds(10)
                while transport.connectionState != .idle, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(transport.connectionState == .idle)
            }
        }
        #expect(transport.connectionState == .shutdown)
    }

    @Test("connecting to a server that never answers fails after the connect timeout")
    func connectTimeout() async throws {
        // A listener with a backlog of 0 whose queue is already full: the kernel drops
        // further SYNs, so connecting hangs.
        let port = freePort()
        let script = """
            import socket, sys, time
            listener = socket.socket()
            listener.bind(("127.0.0.1", int(sys.argv[1])))
            listener.listen(0)
            fillers = []
            for _ in range(4):
                s = socket.socket(); s.setblocking(False)
                try: s.connect(("127.0.0.1", int(sys.argv[1])))
                except BlockingIOError: pass
                fillers.append(s)
            time.sleep(0.3)
            print("ready", flush=True)
            time.sleep(60)
            """
        let blackhole = try await BackgroundProcess("python3", ["-c", script, String(port)], readyMarker: "ready")
        defer { blackhole.stop() }
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.connectTimeout = .milliseconds(500)
        let clock = ContinuousClock()
        try await withHTTP2Client(port: port, configuration: configuration) { client in
            let start = clock.now
            let error = await #expect(throws: RPCError.self) {
                _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
            }
            let elapsed = clock.now - start
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("timed out") == true, "\(String(describing: error))")
            #expect(elapsed >= .milliseconds(400) && elapsed < .seconds(3), "\(elapsed)")
        }
    }

    /// Starting near the end of the stream-id space: the connection drains once few ids are
    /// left, and the calls after it go on a new connection; none fails.
    @Test("near the last stream id the client moves to a new connection; no call fails")
    func streamIDsRunningOut() async throws {
        var configuration = HTTP2ClientTransport.Configuration()
        // Odd (client ids), three calls before the drain threshold.
        configuration.http2.firstClientStreamID = Int32(HTTP2Connection.lastStreamIDBeforeDraining) - 4
        let peers = PeerRecorder()
        try await withHTTP2Server(services: [TestService()], interceptors: [peers]) { transport in
            try await withHTTP2Client(port: transport.port, configuration: configuration) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                for _ in 0..<8 { _ = try await service.emptyCall(Grpc_Testing_Empty()) }
            }
        }
        // Every new connection starts at the same id: three calls each.
        #expect(peers.all.count == 8)
        #expect(peers.distinct == 3, "\(peers.all)")
    }

    /// The first call takes the very last id (2^31 − 1); the calls queued behind it on the
    /// same connection find no id left (NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) and are sent,
    /// unchanged, on new connections.
    @Test("calls that find no stream id left are retried on a new connection")
    func noStreamIDLeft() async throws {
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.http2.firstClientStreamID = Int32.max
        let peers = PeerRecorder()
        try await withHTTP2Server(services: [TestService()], interceptors: [peers]) { transport in
            try await withHTTP2Client(port: transport.port, configuration: configuration) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                // Started together, before the connection is up: all queue on it.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<4 {
                        group.addTask { _ = try await service.emptyCall(Grpc_Testing_Empty()) }
                    }
                    try await group.waitForAll()
                }
            }
        }
        #expect(peers.all.count == 4)
        #expect(peers.distinct >= 2, "\(peers.all)")
    }

    @Test("backoff delays grow by the multiplier to the maximum, within the jitter")
    func backoffDelays() {
        var backoff = ConnectionBackoff()
        backoff.initial = .seconds(1)
        backoff.multiplier = 2
        backoff.maximum = .seconds(10)
        backoff.jitter = 0
        #expect([1, 2, 3, 4, 5, 9].map { backoff.delay(afterFailures: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
        backoff.jitter = 0.2
        for _ in 0..<100 {
            let delay = backoff.delay(afterFailures: 3)
            #expect(delay >= .milliseconds(3200) && delay <= .milliseconds(4800), "\(delay)")
        }
    }
}
