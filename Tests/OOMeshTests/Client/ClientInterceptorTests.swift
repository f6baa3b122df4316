import ExampleProtos
@testable import OOMesh
import Synchronization
import Testing

/// Adds a header to every call, and records the calls it saw.
private struct AddHeader: ClientInterceptor {
    let key: String
    let value: String

    func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        var head = head
        head.metadata.addString(value, forKey: key)
        return try await next(head)
    }
}

/// Shortens every call's timeout.
private struct ImposeTimeout: ClientInterceptor {
    let timeout: Duration

    func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        var head = head
        head.options.timeout = timeout
        return try await next(head)
    }
}

/// Maps every failure to one code, to show the interceptor sees the call's error.
private struct RewriteErrors: ClientInterceptor {
    func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        do {
            return try await next(head)
        } catch let error as RPCError {
            throw RPCError(code: .dataLoss, message: "wrapped \(error.code)")
        }
    }
}

@Suite("Client interceptors")
struct ClientInterceptorTests {
    @Test("metadata an interceptor adds reaches the server, alongside the caller's")
    func addsMetadata() async throws {
        let probe = GreeterProbe()
        let reply = try await withGreeter(
            probe: probe, clientInterceptors: [AddHeader(key: "X-Added-By", value: "interceptor")]
        ) { greeter, _ in
            try await greeter.sayHello(helloRequest("Ada"), metadata: ["x-caller": "yes"])
        }
        #expect(reply.message == "Hello, Ada!")
        let seen = try #require(probe.requestMetadata.first)
        #expect(seen.firstString(forKey: "x-added-by") == "interceptor")
        #expect(seen.firstString(forKey: "x-caller") == "yes")
    }

    @Test("interceptors run first outermost: both headers arrive, in order", arguments: [1, 3])
    func severalInterceptors(_ calls: Int) async throws {
        let probe = GreeterProbe()
        let interceptors: [any ClientInterceptor] = [
            AddHeader(key: "x-order", value: "first"), AddHeader(key: "x-order", value: "second"),
        ]
        try await withGreeter(probe: probe, clientInterceptors: interceptors) { greeter, _ in
            for index in 0..<calls {
                _ = try await greeter.chat(requestProducer: { writer in
                    try await writer.write(helloRequest("c\(index)"))
                }, onResponse: { response in
                    for try await _ in response.messages {}
                })
            }
        }
        #expect(probe.requestMetadata.count == calls)
        for metadata in probe.requestMetadata {
            #expect(metadata["x-order"] == [.string("first"), .string("second")])
        }
    }

    @Test("an interceptor can change the call options")
    func changesOptions() async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe, clientInterceptors: [ImposeTimeout(timeout: .milliseconds(200))]) { greeter, _ in
                try await greeter.sayHello(helloRequest("slow"))
            }
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(await eventually { probe.slowCancelled })
    }

    @Test("an interceptor sees the call's error and may replace it")
    func seesErrors() async throws {
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(clientInterceptors: [RewriteErrors()]) { greeter, _ in
                try await greeter.sayHello(helloRequest("rpc-error", count: Int32(StatusCode.notFound.rawValue)))
            }
        }
        #expect(error?.code == .dataLoss)
        #expect(error?.message == "wrapped NOT_FOUND")
    }
}
