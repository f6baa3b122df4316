import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Graceful shutdown of the HTTP/2 server: calls in flight finish, new calls are refused,
/// and the grace period bounds how long shutdown takes.
@Suite("Graceful shutdown", .serialized, .timeLimit(.minutes(2)))
struct GracefulShutdownTests {
    /// Five responses 100 ms apart: a call that is still running when shutdown begins.
    static let slowStream = Grpc_Testing_StreamingOutputCallRequest.with {
        $0.responseParameters = (0..<5).map { _ in .with { $0.size = 10; $0.intervalUs = 100_000 } }
    }

    @Test("a call in flight finishes; a new call is refused with UNAVAILABLE; serve() then returns")
    func inFlightCallFinishes() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
            let server = GRPCServer(transport: transport, services: [TestService()])
            let clock = ContinuousClock()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                try await withHTTP2Client(port: transport.port) { client in
                    let service = Grpc_Testing_TestService_Client(wrapping: client)
                    let received = try await service.streamingOutputCall(Self.slowStream) { response in
                        var count = 0
                        for try await _ in response.messages {
                            count += 1
                            if count == 1 {
                                server.beginGracefulShutdown()
                                // Give the GOAWAY time to reach the client.
                                try await Task.sleep(for: .milliseconds(100))
                                let error = await #expect(throws: RPCError.self) {
                                    _ = try await service.emptyCall(Grpc_Testing_Empty())
                                }
                                #expect(error?.code == .unavailable, "\(String(describing: error))")
                            }
                        }
                        return count
                    }
                    #expect(received == 5)
                }
                let start = clock.now
                try await group.waitForAll()
                #expect(clock.now - start < .seconds(5))
            }
            #expect(transport.connectionCount == 0)
        }
    }

    @Test("calls still running when the grace period ends are cut off, and shutdown completes")
    func gracePeriodBoundsShutdown() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            var configuration = HTTP2ServerTransport.Configuration()
            configuration.shutdownGracePeriod = .milliseconds(300)
            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0, configuration: configuration)
            let server = GRPCServer(transport: transport, services: [TestService()])
            let clock = ContinuousClock()
            // 50 responses 100 ms apart: 5 s, far longer than the grace period.
            let request = Grpc_Testing_StreamingOutputCallRequest.with {
                $0.responseParameters = (0..<50).map { _ in .with { $0.size = 10; $0.intervalUs = 100_000 } }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                try await withHTTP2Client(port: transport.port) { client in
                    let service = Grpc_Testing_TestService_Client(wrapping: client)
                    var shutdownStarted: ContinuousClock.Instant?
                    let error = await #expect(throws: RPCError.self) {
                        try await service.streamingOutputCall(request) { response in
                            for try await _ in response.messages where shutdownStarted == nil {
                                shutdownStarted = clock.now
                                server.beginGracefulShutdown()
                            }
                        }
                    }
                    #expect(error?.code == .unavailable, "\(String(describing: error))")
                    let cutAfter = shutdownStarted.map { clock.now - $0 }
                    #expect(cutAfter.map { $0 >= .milliseconds(250) && $0 < .seconds(3) } == true, "cut after \(String(describing: cutAfter))")
                }
                try await group.waitForAll()
            }
            #expect(transport.connectionCount == 0)
        }
    }

    @Test("an idle connection is closed at once when the server shuts down")
    func idleConnectionCloses() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
            let server = GRPCServer(transport: transport, services: [TestService()])
            let clock = ContinuousClock()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                try await withHTTP2Client(port: transport.port) { client in
                    _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
                    #expect(transport.connectionCount == 1)
                    let start = clock.now
                    server.beginGracefulShutdown()
                    try await group.waitForAll()
                    #expect(clock.now - start < .seconds(2))
                }
            }
            #expect(transport.connectionCount == 0)
        }
    }
}
