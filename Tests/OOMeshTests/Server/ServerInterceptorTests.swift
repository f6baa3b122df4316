import ExampleProtos
@testable import OOMesh
import Synchronization
import Testing

/// Rejects calls without an `authorization` header, as the ServerInterceptor docs show.
private struct RequireToken: ServerInterceptor {
    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        guard context.requestMetadata.firstString(forKey: "authorization") == "Bearer good" else {
            throw RPCError(code: .unauthenticated, message: "Missing or wrong 'authorization' metadata.")
        }
        try await next(context)
    }
}

/// Appends to a shared log on the way in and out, and passes the call through.
private struct Recording: ServerInterceptor {
    let name: String
    let log: Log

    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        log.append("\(name) in \(context.descriptor.path)")
        do {
            try await next(context)
            log.append("\(name) out")
        } catch let error as RPCError {
            log.append("\(name) out \(error.code)")
            throw error
        }
    }
}

final class Log: Sendable {
    private let entries = Mutex<[String]>([])
    var all: [String] { entries.withLock { $0 } }
    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
}

@Suite("Server interceptors")
struct ServerInterceptorTests {
    @Test("a rejecting interceptor fails the call with UNAUTHENTICATED before the handler runs")
    func rejects() async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe, serverInterceptors: [RequireToken()]) { greeter, _ in
                try await greeter.sayHello(helloRequest("x"), metadata: ["authorization": "Bearer bad"])
            }
        }
        #expect(error?.code == .unauthenticated)
        #expect(error?.message == "Missing or wrong 'authorization' metadata.")
        #expect(probe.calls.isEmpty)
    }

    @Test("a rejecting interceptor rejects streaming calls too")
    func rejectsStreaming() async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe, serverInterceptors: [RequireToken()]) { greeter, _ in
                try await greeter.sayHelloStream(helloRequest("x", count: 3)) { response in
                    for try await _ in response.messages {}
                }
            }
        }
        #expect(error?.code == .unauthenticated)
        #expect(probe.calls.isEmpty)
    }

    @Test("the same interceptor lets an authorized call through")
    func admits() async throws {
        let probe = GreeterProbe()
        let reply = try await withGreeter(probe: probe, serverInterceptors: [RequireToken()]) { greeter, _ in
            try await greeter.sayHello(helloRequest("Ada"), metadata: ["authorization": "Bearer good"])
        }
        #expect(reply.message == "Hello, Ada!")
        #expect(probe.calls == ["SayHello"])
    }

    @Test("pass-through interceptors run in order, first outermost, and see the outcome")
    func passThroughOrder() async throws {
        let log = Log()
        let interceptors: [any ServerInterceptor] = [Recording(name: "a", log: log), Recording(name: "b", log: log)]
        let response = try await withGreeter(serverInterceptors: interceptors) { greeter, _ in
            try await greeter.sayHello(helloRequest("Bo")) { $0 }
        }
        #expect(response.message.message == "Hello, Bo!")
        #expect(response.trailingMetadata.firstString(forKey: "x-trailer") == "trailer")
        #expect(log.all == ["a in /oo.example.v1.Greeter/SayHello", "b in /oo.example.v1.Greeter/SayHello", "b out", "a out"])
    }

    @Test("a pass-through interceptor sees the handler's error")
    func passThroughSeesError() async throws {
        let log = Log()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(serverInterceptors: [Recording(name: "a", log: log)]) { greeter, _ in
                try await greeter.sayHello(helloRequest("rpc-error", count: Int32(StatusCode.aborted.rawValue)))
            }
        }
        #expect(error?.code == .aborted)
        #expect(log.all == ["a in /oo.example.v1.Greeter/SayHello", "a out ABORTED"])
    }
}
