import ExampleProtos
@testable import OOMesh
import SwiftProtobuf
import Synchronization
import Testing

/// What the test greeter saw: calls, request metadata, whether a slow handler started and
/// whether it saw its task cancelled.
final class GreeterProbe: Sendable {
    private struct State {
        var calls: [String] = []
        var requestMetadata: [Metadata] = []
        var slowStarted = false
        var slowCancelled = false
        var contextSawCancellation = false
    }
    private let state = Mutex(State())

    init() {}

    var calls: [String] { state.withLock { $0.calls } }
    var requestMetadata: [Metadata] { state.withLock { $0.requestMetadata } }
    var slowStarted: Bool { state.withLock { $0.slowStarted } }
    var slowCancelled: Bool { state.withLock { $0.slowCancelled } }
    var contextSawCancellation: Bool { state.withLock { $0.contextSawCancellation } }

    func record(_ method: String, _ context: ServerContext) {
        state.withLock {
            $0.calls.append(method)
            $0.requestMetadata.append(context.requestMetadata)
        }
    }

    /// Runs a handler that never finishes on its own: it returns only by being cancelled.
    func slow(_ context: ServerContext) async throws -> Never {
        state.withLock { $0.slowStarted = true }
        do {
            try await Task.sleep(for: .seconds(60))
        } catch {
            let sawIt = context.isCancelled
            state.withLock {
                $0.slowCancelled = true
                $0.contextSawCancellation = sawIt
            }
            throw error
        }
        Issue.record("The slow handler was never cancelled.")
        throw RPCError(code: .internal, message: "not cancelled")
    }
}

/// An error with no status of its own.
struct PlainError: Error, CustomStringConvertible {
    var description: String { "secret internal detail" }
}

/// A Greeter whose behaviour the request's name selects:
/// - `"rpc-error"`: throws `RPCError` with code `count`, message `"refused"`, trailer `x-reason: policy`;
/// - `"plain-error"`: throws ``PlainError``;
/// - `"slow"`: waits until cancelled;
/// - anything else: answers `"Hello, <name>!"` with response header `x-greeter: header` and
///   trailer `x-trailer: trailer`.
struct TestGreeter: Oo_Example_V1_Greeter_ServiceProtocol {
    let probe: GreeterProbe

    func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        probe.record("SayHello", context)
        switch request.name {
        case "rpc-error":
            context.trailingMetadata.addString("set-before-throwing", forKey: "x-context-trailer")
            throw RPCError(
                code: StatusCode(wireValue: Int(request.count)), message: "refused", metadata: ["x-reason": "policy"])
        case "plain-error":
            throw PlainError()
        case "slow":
            try await probe.slow(context)
        default:
            context.responseMetadata.addString("header", forKey: "x-greeter")
            context.trailingMetadata.addString("trailer", forKey: "x-trailer")
            return .with { $0.message = "Hello, \(request.name)!" }
        }
    }

    func sayHelloStream(
        request: Oo_Example_V1_HelloRequest, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext
    ) async throws {
        probe.record("SayHelloStream", context)
        if request.name == "slow" { try await probe.slow(context) }
        context.responseMetadata.addString("stream-header", forKey: "x-greeter")
        context.trailingMetadata.addString("stream-trailer", forKey: "x-trailer")
        for index in 0..<Int(request.count) {
            try await response.write(.with { $0.message = "Hello #\(index), \(request.name)!" })
        }
    }

    func collectHellos(
        requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext
    ) async throws -> Oo_Example_V1_HelloReply {
        probe.record("CollectHellos", context)
        var names: [String] = []
        for try await request in requests { names.append(request.name) }
        context.trailingMetadata.addString(String(names.count), forKey: "x-count")
        return .with { $0.message = "Hello, " + names.joined(separator: ", ") + "!" }
    }

    func chat(
        requests: RequestStream<Oo_Example_V1_HelloRequest>, response: ResponseWriter<Oo_Example_V1_HelloReply>,
        context: ServerContext
    ) async throws {
        probe.record("Chat", context)
        for try await request in requests {
            try await response.write(.with { $0.message = "Hi \(request.name)" })
        }
        context.trailingMetadata.addString("chat-trailer", forKey: "x-trailer")
    }
}

/// Bytes in, bytes out: for calls made below the generated stubs.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize(_ message: [UInt8]) throws -> [UInt8] { message }
    func deserialize(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}

func helloRequest(_ name: String, count: Int32 = 0) -> Oo_Example_V1_HelloRequest {
    .with {
        $0.name = name
        $0.count = count
    }
}

func helloRequestBytes(_ name: String) throws -> [UInt8] {
    try helloRequest(name).serializedBytes()
}

/// Serves a ``TestGreeter`` over a fresh in-process transport and runs `body` with a client
/// for it; shuts both down gracefully afterwards.
func withGreeter<Result: Sendable>(
    probe: GreeterProbe = GreeterProbe(),
    serverInterceptors: [any ServerInterceptor] = [],
    clientInterceptors: [any ClientInterceptor] = [],
    _ body: (Oo_Example_V1_Greeter_Client, GRPCClient) async throws -> Result
) async throws -> Result {
    let transport = InProcessTransport()
    let server = GRPCServer(
        transport: transport.server, services: [TestGreeter(probe: probe)], interceptors: serverInterceptors)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        let result: Result
        do {
            result = try await withGRPCClient(transport: transport.client, interceptors: clientInterceptors) { client in
                try await body(Oo_Example_V1_Greeter_Client(wrapping: client), client)
            }
        } catch {
            server.beginGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}
