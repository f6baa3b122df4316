import Foundation
import ExampleProtos
@testable import OOMesh
import SwiftProtobuf
import Synchronization
import Testing

/// A greeter that fails the first `failures` calls with `code`, counting attempts and
/// recording each attempt's `grpc-previous-rpc-attempts`.
private final class FlakyGreeter: Oo_Example_V1_Greeter_ServiceProtocol {
    let failures: Int
    let code: StatusCode
    let sendHeadersFirst: Bool
    let attempts = Mutex<[String]>([])

    init(failures: Int, code: StatusCode = .unavailable, sendHeadersFirst: Bool = false) {
        self.failures = failures
        self.code = code
        self.sendHeadersFirst = sendHeadersFirst
    }

    var count: Int { attempts.withLock { $0.count } }

    func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        let attempt = attempts.withLock { attempts in
            attempts.append(context.requestMetadata.firstString(forKey: "grpc-previous-rpc-attempts") ?? "-")
            return attempts.count
        }
        if attempt <= failures { throw RPCError(code: code, message: "attempt \(attempt) fails") }
        return .with { $0.message = "hello after \(attempt)" }
    }

    func sayHelloStream(
        request: Oo_Example_V1_HelloRequest, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext
    ) async throws {
        let attempt = attempts.withLock { attempts in
            attempts.append(context.requestMetadata.firstString(forKey: "grpc-previous-rpc-attempts") ?? "-")
            return attempts.count
        }
        if sendHeadersFirst { try await response.write(.with { $0.message = "first" }) }
        if attempt <= failures { throw RPCError(code: code, message: "attempt \(attempt) fails") }
        try await response.write(.with { $0.message = "done after \(attempt)" })
    }

    func collectHellos(requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        throw RPCError(code: .unimplemented, message: "")
    }

    func chat(
        requests: RequestStream<Oo_Example_V1_HelloRequest>, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext
    ) async throws {}
}

private func withFlaky<Result: Sendable>(
    _ greeter: FlakyGreeter, configuration: ServiceConfiguration, _ body: (Oo_Example_V1_Greeter_Client) async throws -> Result
) async throws -> Result {
    let transport = InProcessTransport()
    let server = GRPCServer(transport: transport.server, services: [greeter])
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        let client = GRPCClient(transport: transport.client, serviceConfiguration: configuration)
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        return try await body(Oo_Example_V1_Greeter_Client(wrapping: client))
    }
}

private let retryingJSON = """
    {"methodConfig": [{"name": [{"service": "oo.example.v1.Greeter"}],
                       "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                                       "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE", "ABORTED"]}}]}
    """

@Suite("Retries from the service config", .timeLimit(.minutes(1)))
struct RetryTests {
    @Test("the service config JSON is read, and its mistakes are named")
    func parsing() throws {
        let configuration = try ServiceConfiguration(json: """
            {"methodConfig": [
               {"name": [{"service": "a.S", "method": "M"}], "timeout": "1.5s",
                "retryPolicy": {"maxAttempts": 9, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,
                                "retryableStatusCodes": ["UNAVAILABLE", 4]}},
               {"name": [{"service": "a.S"}], "timeout": "3s"},
               {"name": [{}], "timeout": "10s"}],
             "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}
            """)
        let exact = configuration.configuration(for: MethodDescriptor(service: "a.S", method: "M"))
        #expect(exact?.timeout == .milliseconds(1500))
        #expect(exact?.retryPolicy?.maxAttempts == 5)  // capped
        #expect(exact?.retryPolicy?.retryableStatusCodes == [.unavailable, .deadlineExceeded])
        #expect(configuration.configuration(for: MethodDescriptor(service: "a.S", method: "Other"))?.timeout == .seconds(3))
        #expect(configuration.configuration(for: MethodDescriptor(service: "b.T", method: "X"))?.timeout == .seconds(10))
        #expect(configuration.retryThrottling == .init(maxTokens: 10, tokenRatio: 0.1))
        let fine = try ServiceConfiguration(json: #"{"methodConfig": [{"name": [{}], "timeout": "0.0001s"}]}"#)
        #expect(fine.methodConfigurations.first?.timeout == .microseconds(100))
        for (json, mentions) in [
            (#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}"#, "maxAttempts"),
            (#"{"methodConfig": [{"name": [{}], "timeout": "soon"}]}"#, "timeout"),
            (#"{"methodConfig": [{"name": [{"method": "M"}]}]}"#, "method needs its service"),
            (#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["SOMETIMES"]}}]}"#, "SOMETIMES"),
            ("[1, 2]", "not a JSON object"),
            (#"{"methodConfig": [{"name": [{}], "timeout": "1e17s"}]}"#, "timeout"),
            (#"{"methodConfig": [{"name": [{}], "timeout": "0s"}]}"#, "positive"),
            (#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1e30, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#, "at most 1000"),
        ] {
            #expect(throws: ServiceConfigurationError.self) { try ServiceConfiguration(json: json) }
            do { _ = try ServiceConfiguration(json: json) } catch { #expect(error.message.contains(mentions), "\(error.message)") }
        }
    }

    @Test("a unary call failing UNAVAILABLE twice succeeds on the third attempt, which carries grpc-previous-rpc-attempts")
    func unaryRetried() async throws {
        let greeter = FlakyGreeter(failures: 2)
        let reply = try await withFlaky(greeter, configuration: try ServiceConfiguration(json: retryingJSON)) { greeter in
            try await greeter.sayHello(.with { $0.name = "x" })
        }
        #expect(reply.message == "hello after 3")
        #expect(greeter.attempts.withLock { $0 } == ["-", "1", "2"])
    }

    @Test("no retry for a code the policy does not list, without a policy, or past maxAttempts")
    func notRetried() async throws {
        let invalid = FlakyGreeter(failures: 1, code: .invalidArgument)
        let code1 = await errorCode { try await withFlaky(invalid, configuration: try ServiceConfiguration(json: retryingJSON)) { _ = try await $0.sayHello(.init()) } }
        #expect(code1 == .invalidArgument && invalid.count == 1)

        let noPolicy = FlakyGreeter(failures: 1)
        let code2 = await errorCode { try await withFlaky(noPolicy, configuration: ServiceConfiguration()) { _ = try await $0.sayHello(.init()) } }
        #expect(code2 == .unavailable && noPolicy.count == 1)

        let always = FlakyGreeter(failures: 100)
        let code3 = await errorCode { try await withFlaky(always, configuration: try ServiceConfiguration(json: retryingJSON)) { _ = try await $0.sayHello(.init()) } }
        #expect(code3 == .unavailable && always.count == 4)
    }

    @Test("a server-streaming call is retried before its response starts, never after")
    func streamingCommit() async throws {
        let early = FlakyGreeter(failures: 1)
        let messages = try await withFlaky(early, configuration: try ServiceConfiguration(json: retryingJSON)) { greeter in
            try await greeter.sayHelloStream(.init()) { response in
                var all: [String] = []
                for try await message in response.messages { all.append(message.message) }
                return all
            }
        }
        #expect(messages == ["done after 2"] && early.count == 2)

        let late = FlakyGreeter(failures: 1, sendHeadersFirst: true)
        let code = await errorCode {
            try await withFlaky(late, configuration: try ServiceConfiguration(json: retryingJSON)) { greeter in
                try await greeter.sayHelloStream(.init()) { response in
                    for try await _ in response.messages {}
                }
            }
        }
        #expect(code == .unavailable && late.count == 1)
    }

    @Test("retry throttling: once failures spend half the tokens, calls are no longer retried")
    func throttling() async throws {
        let json = retryingJSON.replacingOccurrences(of: "}}]}", with: "}}], \"retryThrottling\": {\"maxTokens\": 4, \"tokenRatio\": 0.1}}")
        let always = FlakyGreeter(failures: 1_000)
        try await withFlaky(always, configuration: try ServiceConfiguration(json: json)) { greeter in
            // 4 tokens: the first attempt fails (3 left, > 2: retry), the retry fails (2 left: stop).
            let code = await errorCode { _ = try await greeter.sayHello(.init()) }
            #expect(code == .unavailable)
            #expect(always.count == 2)
            // Tokens stay at or below half: the next call gets one attempt only.
            _ = await errorCode { _ = try await greeter.sayHello(.init()) }
            #expect(always.count == 3)
        }
    }

    @Test("the method's default timeout applies when the caller sets none")
    func defaultTimeout() async throws {
        let configuration = try ServiceConfiguration(json: #"{"methodConfig": [{"name": [{"service": "oo.example.v1.Greeter"}], "timeout": "0.05s"}]}"#)
        let transport = InProcessTransport()
        let server = GRPCServer(transport: transport.server, services: [SlowServer()])
        let code: StatusCode? = await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let client = GRPCClient(transport: transport.client, serviceConfiguration: configuration)
            group.addTask { try await client.runConnections() }
            defer { client.beginGracefulShutdown() }
            return await errorCode { _ = try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(.init()) }
        }
        #expect(code == .deadlineExceeded)
    }
}

/// Never answers SayHello within a second.
private struct SlowServer: Oo_Example_V1_Greeter_ServiceProtocol {
    func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        try await Task.sleep(for: .seconds(1))
        return .init()
    }
    func sayHelloStream(request: Oo_Example_V1_HelloRequest, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
    func collectHellos(requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext) async throws -> Oo_Example_V1_HelloReply { .init() }
    func chat(requests: RequestStream<Oo_Example_V1_HelloRequest>, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
}

private func errorCode(_ body: () async throws -> Void) async -> StatusCode? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

/// Records the message counts a call ended with.
private final class CountRecorder: ClientInterceptor {
    let seen = Mutex<[(Int, Int)]>([])

    func intercept<Result: Sendable>(_ head: ClientCallHead, next: (ClientCallHead) async throws -> Result) async throws -> Result {
        defer { seen.withLock { $0.append((head.messages.sent, head.messages.received)) } }
        return try await next(head)
    }
}

@Suite("Client message counts")
struct ClientMessageCountTests {
    @Test("an interceptor sees how many messages each call sent and received, retries included")
    func counts() async throws {
        let recorder = CountRecorder()
        let transport = InProcessTransport()
        let greeter = FlakyGreeter(failures: 1)
        let server = GRPCServer(transport: transport.server, services: [greeter])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let client = GRPCClient(
                transport: transport.client, interceptors: [recorder], serviceConfiguration: try ServiceConfiguration(json: retryingJSON))
            group.addTask { try await client.runConnections() }
            defer { client.beginGracefulShutdown() }
            let stub = Oo_Example_V1_Greeter_Client(wrapping: client)
            _ = try await stub.sayHello(.init())  // fails once, retried: 2 sent, 1 received
            try await stub.sayHelloStream(.init()) { response in for try await _ in response.messages {} }
        }
        let seen = recorder.seen.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.first.map { $0 == (2, 1) } == true, "\(seen)")
        #expect(seen.last.map { $0 == (1, 1) } == true, "\(seen)")
    }
}
