import ExampleProtos
@testable import OOMesh
import SwiftProtobuf
import Synchronization
import Testing

/// End-to-end calls through GRPCClient, the in-process transport and GRPCServer, with the
/// generated Greeter stubs.
@Suite("In-process transport, end to end")
struct InProcessTransportTests {
    // MARK: call shapes

    @Test("unary: the reply, response headers and trailers reach the client")
    func unary() async throws {
        let probe = GreeterProbe()
        let response = try await withGreeter(probe: probe) { greeter, _ in
            try await greeter.sayHello(helloRequest("Ada")) { $0 }
        }
        #expect(response.message.message == "Hello, Ada!")
        #expect(response.metadata.firstString(forKey: "x-greeter") == "header")
        #expect(response.trailingMetadata.firstString(forKey: "x-trailer") == "trailer")
        #expect(probe.calls == ["SayHello"])
    }

    @Test("unary: the convenience overload returns the message")
    func unaryConvenience() async throws {
        let reply = try await withGreeter { greeter, _ in
            try await greeter.sayHello(helloRequest("Grace"))
        }
        #expect(reply.message == "Hello, Grace!")
    }

    @Test("server streaming: every message in order, then trailers", arguments: [0, 1, 3, 40])
    func serverStreaming(_ count: Int) async throws {
        let (headers, messages, trailers) = try await withGreeter { greeter, _ in
            try await greeter.sayHelloStream(helloRequest("Bo", count: Int32(count))) { response in
                var messages: [String] = []
                var trailers: Metadata?
                for try await part in response.bodyParts {
                    switch part {
                    case .message(let reply):
                        #expect(trailers == nil, "a message arrived after the trailers")
                        messages.append(reply.message)
                    case .trailingMetadata(let metadata):
                        trailers = metadata
                    }
                }
                return (response.metadata, messages, trailers)
            }
        }
        #expect(messages == (0..<count).map { "Hello #\($0), Bo!" })
        #expect(headers.firstString(forKey: "x-greeter") == "stream-header")
        #expect(trailers?.firstString(forKey: "x-trailer") == "stream-trailer")
    }

    @Test("client streaming: the server sees every request, in order", arguments: [0, 1, 5, 50])
    func clientStreaming(_ count: Int) async throws {
        let names = (0..<count).map { "n\($0)" }
        let response = try await withGreeter { greeter, _ in
            try await greeter.collectHellos(requestProducer: { writer in
                for name in names { try await writer.write(helloRequest(name)) }
            }, onResponse: { $0 })
        }
        #expect(response.message.message == "Hello, " + names.joined(separator: ", ") + "!")
        #expect(response.trailingMetadata.firstString(forKey: "x-count") == String(count))
    }

    @Test("bidirectional streaming: one answer per request, in order", arguments: [0, 1, 7, 100])
    func bidirectionalStreaming(_ count: Int) async throws {
        let names = (0..<count).map { "p\($0)" }
        let (messages, trailers) = try await withGreeter { greeter, _ in
            try await greeter.chat(requestProducer: { writer in
                for name in names { try await writer.write(helloRequest(name)) }
            }, onResponse: { response in
                var messages: [String] = []
                var trailers: Metadata?
                for try await part in response.bodyParts {
                    switch part {
                    case .message(let reply): messages.append(reply.message)
                    case .trailingMetadata(let metadata): trailers = metadata
                    }
                }
                return (messages, trailers)
            })
        }
        #expect(messages == names.map { "Hi \($0)" })
        #expect(trailers?.firstString(forKey: "x-trailer") == "chat-trailer")
    }

    @Test("bidirectional streaming: answers arrive while the client is still sending")
    func bidirectionalInterleaves() async throws {
        // The producer waits for each answer before sending the next request, so the call only
        // completes if the server answers request by request rather than after the end.
        let gate = AsyncGate()
        let answers = try await withGreeter { greeter, _ in
            try await greeter.chat(requestProducer: { writer in
                for index in 0..<5 {
                    try await writer.write(helloRequest("r\(index)"))
                    guard await gate.waitForAnswer(index) else { return }
                }
            }, onResponse: { response in
                var answers: [String] = []
                for try await reply in response.messages {
                    answers.append(reply.message)
                    gate.answered(answers.count - 1)
                }
                return answers
            })
        }
        #expect(answers == (0..<5).map { "Hi r\($0)" })
    }

    @Test("request metadata reaches the handler")
    func requestMetadata() async throws {
        let probe = GreeterProbe()
        var metadata: Metadata = ["x-user": "ada", "X-Multi": "1", "x-multi": "2"]
        metadata.addBinary([0, 1, 2, 255], forKey: "x-token-bin")
        let sent = metadata
        _ = try await withGreeter(probe: probe) { greeter, _ in
            try await greeter.sayHello(helloRequest("x"), metadata: sent)
        }
        let seen = try #require(probe.requestMetadata.first)
        #expect(seen.firstString(forKey: "x-user") == "ada")
        #expect(seen["x-multi"] == [.string("1"), .string("2")])
        #expect(seen.firstBinary(forKey: "x-token-bin") == [0, 1, 2, 255])
    }

    // MARK: errors

    @Test("a handler's RPCError reaches the client with code, message and trailers",
          arguments: StatusCode.allCases.filter { $0 != .ok })
    func handlerRPCError(_ code: StatusCode) async throws {
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter { greeter, _ in
                try await greeter.sayHello(helloRequest("rpc-error", count: Int32(code.rawValue)))
            }
        }
        #expect(error?.code == code)
        #expect(error?.message == "refused")
        #expect(error?.metadata.firstString(forKey: "x-reason") == "policy")
        #expect(error?.metadata.firstString(forKey: "x-context-trailer") == "set-before-throwing")
    }

    @Test("a handler's plain error reaches the client as UNKNOWN, without its text")
    func handlerPlainError() async throws {
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter { greeter, _ in
                try await greeter.sayHello(helloRequest("plain-error"))
            }
        }
        #expect(error?.code == .unknown)
        #expect(error?.message.contains("secret") == false)
    }

    // MARK: deadlines and cancellation

    @Test("a deadline on a slow handler fails the call with DEADLINE_EXCEEDED and cancels the handler")
    func deadline() async throws {
        let probe = GreeterProbe()
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe) { greeter, _ in
                try await greeter.sayHello(helloRequest("slow"), options: CallOptions(timeout: .milliseconds(400)))
            }
        }
        let elapsed = clock.now - start
        #expect(error?.code == .deadlineExceeded)
        #expect(elapsed >= .milliseconds(400), "the call failed before its deadline")
        #expect(elapsed < .seconds(30), "the call outlived its deadline by far")
        #expect(probe.slowStarted)
        #expect(await eventually { probe.slowCancelled }, "the handler was not cancelled")
        #expect(probe.contextSawCancellation)
    }

    @Test("a deadline also ends a server-streaming call")
    func deadlineServerStreaming() async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe) { greeter, _ in
                try await greeter.sayHelloStream(helloRequest("slow"), options: CallOptions(timeout: .milliseconds(300))) {
                    response in
                    for try await _ in response.messages {}
                }
            }
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(await eventually { probe.slowCancelled })
    }

    @Test("a generous deadline does not affect a fast call")
    func deadlineNotReached() async throws {
        let reply = try await withGreeter { greeter, _ in
            try await greeter.sayHello(helloRequest("Quick"), options: CallOptions(timeout: .seconds(30)))
        }
        #expect(reply.message == "Hello, Quick!")
    }

    @Test("cancelling the calling task fails the call with CANCELLED and cancels the handler")
    func clientCancellation() async throws {
        let probe = GreeterProbe()
        let outcome = try await withGreeter(probe: probe) { greeter, _ in
            try await withThrowingTaskGroup(of: Result<Oo_Example_V1_HelloReply, any Error>.self) { group in
                group.addTask {
                    do { return .success(try await greeter.sayHello(helloRequest("slow"))) } catch { return .failure(error) }
                }
                #expect(await eventually { probe.slowStarted }, "the handler never started")
                group.cancelAll()
                return try #require(await group.next())
            }
        }
        guard case .failure(let error) = outcome else {
            Issue.record("The call succeeded despite being cancelled: \(outcome)")
            return
        }
        #expect((error as? RPCError)?.code == .cancelled, "got \(error)")
        #expect(await eventually { probe.slowCancelled }, "the handler was not cancelled")
        #expect(probe.contextSawCancellation)
    }
}

/// Lets a bidirectional test's producer wait for the answer to its previous request.
final class AsyncGate: Sendable {
    private let lock = Mutex(-1)

    func answered(_ index: Int) { lock.withLock { $0 = max($0, index) } }

    func waitForAnswer(_ index: Int) async -> Bool {
        await eventually { self.lock.withLock { $0 >= index } }
    }
}
