import ExampleProtos
@testable import OOMesh
import SwiftProtobuf
import Testing

/// How the server treats calls it cannot route, and request streams that break the shape of
/// the method they call.
@Suite("GRPCServer routing and request shapes")
struct GRPCServerTests {
    @Test("an unknown method of a known service is UNIMPLEMENTED, naming the method",
          arguments: [RPCKind.unary, .bidirectionalStreaming])
    func unknownMethod(_ kind: RPCKind) async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe) { _, client in
                try await client.unary(
                    request: try helloRequestBytes("x"),
                    descriptor: MethodDescriptor(service: "oo.example.v1.Greeter", method: "SayGoodbye", kind: kind),
                    serializer: RawBytes(), deserializer: RawBytes()
                ) { $0.message }
            }
        }
        #expect(error?.code == .unimplemented)
        #expect(error?.message.contains("SayGoodbye") == true, "message: \(error?.message ?? "")")
        #expect(probe.calls.isEmpty)
    }

    @Test("an unknown service is UNIMPLEMENTED, naming the service")
    func unknownService() async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe) { _, client in
                try await client.unary(
                    request: try helloRequestBytes("x"),
                    descriptor: MethodDescriptor(service: "oo.example.v1.Farewell", method: "SayHello", kind: .unary),
                    serializer: RawBytes(), deserializer: RawBytes()
                ) { $0.message }
            }
        }
        #expect(error?.code == .unimplemented)
        #expect(error?.message.contains("oo.example.v1.Farewell") == true, "message: \(error?.message ?? "")")
        #expect(probe.calls.isEmpty)
    }

    @Test("a unary method given zero or two request messages fails with INTERNAL", arguments: [0, 2, 3])
    func unaryWithWrongNumberOfRequests(_ count: Int) async throws {
        let probe = GreeterProbe()
        let requests = try (0..<count).map { try helloRequestBytes("m\($0)") }
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe) { _, client in
                try await client.bidirectionalStreaming(
                    descriptor: Oo_Example_V1_Greeter.Method.SayHello.descriptor,
                    serializer: RawBytes(), deserializer: RawBytes(),
                    requestProducer: { writer in
                        for request in requests { try await writer.write(request) }
                    },
                    onResponse: { response in
                        var received = 0
                        for try await _ in response.messages { received += 1 }
                        return received
                    })
            }
        }
        #expect(error?.code == .internal)
        #expect(probe.calls.isEmpty, "the handler ran despite the malformed request stream")
    }

    @Test("a unary method given exactly one request message through the raw API succeeds")
    func unaryWithOneRequestRaw() async throws {
        let replies = try await withGreeter { _, client in
            try await client.bidirectionalStreaming(
                descriptor: Oo_Example_V1_Greeter.Method.SayHello.descriptor,
                serializer: RawBytes(), deserializer: RawBytes(),
                requestProducer: { writer in try await writer.write(try helloRequestBytes("raw")) },
                onResponse: { response in
                    var replies: [Oo_Example_V1_HelloReply] = []
                    for try await bytes in response.messages {
                        replies.append(try Oo_Example_V1_HelloReply(serializedBytes: bytes))
                    }
                    return replies
                })
        }
        #expect(replies.map(\.message) == ["Hello, raw!"])
    }

    @Test("a request that does not parse fails with INTERNAL")
    func unparsableRequest() async throws {
        let probe = GreeterProbe()
        let error = await #expect(throws: RPCError.self) {
            try await withGreeter(probe: probe) { _, client in
                // 0x0A is field 1, length-delimited, with the length missing.
                try await client.unary(
                    request: [0x0A], descriptor: Oo_Example_V1_Greeter.Method.SayHello.descriptor,
                    serializer: RawBytes(), deserializer: RawBytes()
                ) { $0.message }
            }
        }
        #expect(error?.code == .internal)
        #expect(probe.calls.isEmpty)
    }
}
