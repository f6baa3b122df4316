import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Synchronization
import Testing

/// Keepalive, idle and age limits, and ping-abuse policing on the server.
@Suite("Connection management", .serialized, .timeLimit(.minutes(2)))
struct ConnectionManagementTests {
    @Test("keepalive: a peer that stops answering PINGs is disconnected")
    func keepaliveClosesSilentPeer() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.keepaliveInterval = .milliseconds(300)
        configuration.http2.keepaliveTimeout = .milliseconds(300)
        try await withHTTP2Server(services: [TestService()], configuration: configuration) { transport in
            let (report, output) = try await runRawPeer("silent_peer", port: transport.port)
            #expect(report.error == nil, "\(output)")
            #expect(report.connectionClosed == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    @Test("keepalive: a peer that answers PINGs keeps its idle connection")
    func keepaliveKeepsLivePeer() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.keepaliveInterval = .milliseconds(100)
        configuration.http2.keepaliveTimeout = .milliseconds(300)
        let peers = PeerRecorder()
        try await withHTTP2Server(services: [TestService()], configuration: configuration, interceptors: [peers]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                _ = try await service.emptyCall(Grpc_Testing_Empty())
                try await Task.sleep(for: .seconds(1))  // ~10 keepalive PINGs, each answered
                #expect(transport.connectionCount == 1)
                _ = try await service.emptyCall(Grpc_Testing_Empty())
            }
        }
        #expect(peers.distinct == 1, "the connection was replaced: \(peers.all)")
    }

    /// A server that tolerates no PING at all (no strikes forgiven, a long minimum interval)
    /// sees none from an idle client with a fast keepalive: clients ping only while calls
    /// are open unless `keepaliveWithoutCalls` says otherwise (then the server ends the
    /// connection with too_many_pings, and the next call needs a new one).
    @Test("keepalive: an idle client sends no PINGs unless keepaliveWithoutCalls", arguments: [false, true])
    func clientKeepaliveOnlyWithCalls(withoutCalls: Bool) async throws {
        var serverConfiguration = HTTP2ServerTransport.Configuration()
        serverConfiguration.http2.minPeerPingInterval = .seconds(3600)
        serverConfiguration.http2.maxPingStrikes = 0
        var clientConfiguration = HTTP2ClientTransport.Configuration()
        clientConfiguration.http2.keepaliveInterval = .milliseconds(100)
        clientConfiguration.http2.keepaliveWithoutCalls = withoutCalls
        let peers = PeerRecorder()
        try await withHTTP2Server(services: [TestService()], configuration: serverConfiguration, interceptors: [peers]) { transport in
            try await withHTTP2Client(port: transport.port, configuration: clientConfiguration) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                _ = try await service.emptyCall(Grpc_Testing_Empty())
                try await Task.sleep(for: .seconds(1))  // ~10 keepalive intervals, idle
                _ = try await service.emptyCall(Grpc_Testing_Empty())
            }
        }
        // Without calls no PING: one connection. With keepaliveWithoutCalls the second PING
        // is a strike past the limit: GOAWAY, and the second call came on a new connection.
        #expect(peers.distinct == (withoutCalls ? 2 : 1), "\(peers.all)")
    }

    @Test("ping policing: a flood of PINGs ends with GOAWAY(ENHANCE_YOUR_CALM); the server keeps serving")
    func pingFlood() async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            let (report, output) = try await runRawPeer("ping_flood", port: transport.port)
            #expect(report.error == nil, "\(output)")
            #expect(report.goaway == 11, "\(output)")  // ENHANCE_YOUR_CALM
            // The first PING and the 2 strikes allowed went through; the 4th ended it.
            #expect(report.pingsSent.map { $0 >= 4 } == true, "\(output)")
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    @Test("idle limit: a connection without calls is shut down; the next call makes a new one")
    func idleConnectionIsClosed() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.maxConnectionIdle = .milliseconds(300)
        let peers = PeerRecorder()
        try await withHTTP2Server(services: [TestService()], configuration: configuration, interceptors: [peers]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                _ = try await service.emptyCall(Grpc_Testing_Empty())
                #expect(try await waitUntilNoConnections(transport, timeout: .seconds(3)) == 0)
                _ = try await service.emptyCall(Grpc_Testing_Empty())
            }
        }
        #expect(peers.distinct == 2, "\(peers.all)")
    }

    @Test("age limit: connections are replaced as they age, and no call fails")
    func maxConnectionAge() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.maxConnectionAge = .milliseconds(200)
        configuration.http2.maxConnectionAgeGrace = .seconds(5)
        let peers = PeerRecorder()
        try await withHTTP2Server(services: [TestService()], configuration: configuration, interceptors: [peers]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                for _ in 0..<12 {
                    _ = try await service.emptyCall(Grpc_Testing_Empty())
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        // 1.2 s of calls, connections living 0.2 s: several connections, every call answered.
        #expect(peers.all.count == 12)
        #expect(peers.distinct >= 3, "\(peers.all)")
    }
}

/// Records the peer address of every call.
final class PeerRecorder: ServerInterceptor {
    private let peers = Mutex<[String]>([])
    var all: [String] { peers.withLock { $0 } }
    var distinct: Int { Set(all).count }

    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        peers.withLock { $0.append(context.peer) }
        try await next(context)
    }
}
