import ExampleProtos
@testable import OOMesh
import SwiftProtobuf
import Synchronization
import Testing

/// A front greeter that calls a back greeter without setting any timeout.
private struct Front: Oo_Example_V1_Greeter_ServiceProtocol {
    let back: Oo_Example_V1_Greeter_Client

    func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        try await back.sayHello(request)
    }
    func sayHelloStream(request: Oo_Example_V1_HelloRequest, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
    func collectHellos(requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext) async throws -> Oo_Example_V1_HelloReply { .init() }
    func chat(requests: RequestStream<Oo_Example_V1_HelloRequest>, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
}

/// Records the time its caller left it, then answers.
private final class Back: Oo_Example_V1_Greeter_ServiceProtocol {
    let seen = Mutex<Duration?>(nil)
    let sawDeadline = Mutex(false)

    func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        sawDeadline.withLock { $0 = context.deadline != nil }
        seen.withLock { $0 = context.remainingTime }
        return .with { $0.message = "back" }
    }
    func sayHelloStream(request: Oo_Example_V1_HelloRequest, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
    func collectHellos(requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext) async throws -> Oo_Example_V1_HelloReply { .init() }
    func chat(requests: RequestStream<Oo_Example_V1_HelloRequest>, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
}

/// Counts the calls it sees.
private final class Counting: ServerInterceptor {
    let count = Mutex(0)
    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        count.withLock { $0 += 1 }
        try await next(context)
    }
}

@Suite("Deadline propagation and scoped interceptors", .timeLimit(.minutes(1)))
struct DeadlinePropagationTests {
    @Test("a handler's calls inherit its deadline, less the margin, with no code in the handler")
    func inherited() async throws {
        let back = Back()
        let backTransport = InProcessTransport()
        let frontTransport = InProcessTransport()
        let backServer = GRPCServer(transport: backTransport.server, services: [back])
        let backClient = GRPCClient(transport: backTransport.client)
        let frontServer = GRPCServer(
            transport: frontTransport.server, services: [Front(back: Oo_Example_V1_Greeter_Client(wrapping: backClient))])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in [backServer, frontServer] { group.addTask { try await server.serve() } }
            group.addTask { try await backClient.runConnections() }
            defer {
                backServer.beginGracefulShutdown()
                frontServer.beginGracefulShutdown()
                backClient.beginGracefulShutdown()
            }
            try await withGRPCClient(transport: frontTransport.client) { client in
                let front = Oo_Example_V1_Greeter_Client(wrapping: client)
                // Generous, as the whole suite runs at once on two cores: what matters is that
                // the back end sees a deadline, and one earlier than the front's by the margin.
                _ = try await front.sayHello(.init(), options: CallOptions(timeout: .seconds(20)))
                #expect(back.sawDeadline.withLock { $0 })
                let left = try #require(back.seen.withLock { $0 })
                #expect(left <= .seconds(20) - CallDeadline.margin)
                #expect(left > .zero)
                // Without a deadline upstream, none downstream.
                _ = try await front.sayHello(.init())
                #expect(!back.sawDeadline.withLock { $0 })
            }
        }
    }

    @Test("a scoped interceptor runs only for its services and methods")
    func scoped() async throws {
        let counting = Counting()
        let transport = InProcessTransport()
        let server = GRPCServer(
            transport: transport.server, services: [Back()],
            interceptors: [counting.scoped(methods: [Oo_Example_V1_Greeter.Method.SayHello.descriptor])])
        let other = Counting()
        let otherServer = InProcessTransport()
        let server2 = GRPCServer(transport: otherServer.server, services: [Back()], interceptors: [other.scoped(services: ["some.Other"])])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { try await server2.serve() }
            defer {
                server.beginGracefulShutdown()
                server2.beginGracefulShutdown()
            }
            try await withGRPCClient(transport: transport.client) { client in
                let greeter = Oo_Example_V1_Greeter_Client(wrapping: client)
                _ = try await greeter.sayHello(.init())
                _ = try await greeter.collectHellos { _ in }
            }
            try await withGRPCClient(transport: otherServer.client) { client in
                _ = try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(.init())
            }
        }
        #expect(counting.count.withLock { $0 } == 1)
        #expect(other.count.withLock { $0 } == 0)
    }
}
