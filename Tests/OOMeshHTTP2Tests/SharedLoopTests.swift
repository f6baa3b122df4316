import OOMesh
@testable import OOMeshHTTP2
import Synchronization
import Testing

/// One process's event loops shared by its server and its client transports
/// (`MeshEventLoops`): a handler's downstream call goes out on its own loop's connection.
@Suite("Shared event loops", .serialized, .timeLimit(.minutes(2)))
struct SharedLoopTests {
    @Test("a call made on a loop takes that loop's lane; one made elsewhere takes the next")
    func laneOfTheCurrentLoop() async throws {
        let loops = MeshEventLoops(threads: 2, stallThreshold: nil)
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: 9, loops: loops)
        for (index, loop) in loops.group.loops.enumerated() {
            for _ in 0..<3 {
                let chosen = await Task(executorPreference: loop) { transport.lane().loop === loop }.value
                #expect(chosen, "a task on loop \(index) was given another loop's lane")
            }
        }
        // Off the loops: round robin over both.
        let picked = Set((0..<4).map { _ in ObjectIdentifier(transport.lane().loop) })
        #expect(picked.count == 2)
        transport.beginGracefulShutdown()
        await loops.shutdown()
    }

    @Test("a relay on shared loops reaches its backend over one connection per loop: handlers on both loops, two connections, no loop of the client's own")
    func relayOverSharedLoops() async throws {
        let loops = MeshEventLoops(threads: 2, stallThreshold: nil)
        let backend = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
        let backendServer = GRPCServer(transport: backend, services: [EchoService()])
        let downstream = GRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: backend.port, loops: loops))
        let front = try HTTP2ServerTransport(host: "127.0.0.1", port: 0, loops: loops)
        let frontServer = GRPCServer(transport: front, services: [RelayService(downstream: downstream)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await backendServer.serve() }
            group.addTask { try await frontServer.serve() }
            group.addTask { try await downstream.runConnections() }
            try await backendServer.waitUntilListening()
            try await frontServer.waitUntilListening()
            // Two callers: two connections to the front, one on each of its (shared) loops.
            for caller in 1...2 {
                try await withHTTP2Client(port: front.port) { client in
                    for _ in 0..<3 {
                        let reply = try await client.unary(
                            request: Array("hi".utf8), descriptor: RelayService.method, serializer: Bytes(), deserializer: Bytes()
                        ) { try $0.message }
                        #expect(String(decoding: reply, as: UTF8.self) == "hi")
                    }
                }
                // The first caller's handlers all ran on one loop, so they used one
                // connection to the backend; the second's, on the other loop, another.
                #expect(backend.connectionCount == caller, "after caller \(caller): \(backend.connectionCount) connections")
            }
            // Each loop's handlers called out on that loop's own connection.
            #expect(backend.connectionCount == 2, "\(backend.connectionCount) connections from the relay's client")
            frontServer.beginGracefulShutdown()
            downstream.beginGracefulShutdown()
            backendServer.beginGracefulShutdown()
            try await group.waitForAll()
        }
        await loops.shutdown()
    }
}

private struct Bytes: MessageSerializer, MessageDeserializer {
    func serialize(_ message: [UInt8]) throws -> [UInt8] { message }
    func deserialize(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}

/// Answers with the request.
private struct EchoService: RPCService {
    static let method = MethodDescriptor(service: "loops.v1.Echo", method: "Echo", kind: .unary)

    func registerMethods(with router: inout RPCRouter) {
        router.registerUnary(Self.method, deserializer: Bytes(), serializer: Bytes()) { request, _ in request }
    }
}

/// Relays each request to the echo service through `downstream`.
private struct RelayService: RPCService {
    static let method = MethodDescriptor(service: "loops.v1.Relay", method: "Relay", kind: .unary)
    let downstream: GRPCClient

    func registerMethods(with router: inout RPCRouter) {
        router.registerUnary(Self.method, deserializer: Bytes(), serializer: Bytes()) { [downstream] request, _ in
            try await downstream.unary(request: request, descriptor: EchoService.method, serializer: Bytes(), deserializer: Bytes()) {
                try $0.message
            }
        }
    }
}
