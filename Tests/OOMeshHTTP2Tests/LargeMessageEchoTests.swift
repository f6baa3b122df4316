import OOMesh
import OOMeshHTTP2
import Testing

/// Messages of every size class through the whole transport, byte for byte: below and
/// above the size where DATA payloads stop being copied and are written from the
/// application's buffers, across DATA frame boundaries, and larger than one write batch,
/// several calls at once on one connection, over h2c and TLS.
@Suite("Large message echo", .serialized, .timeLimit(.minutes(2)))
struct LargeMessageEchoTests {
    static let sizes = [0, 1, 100, 2_042, 2_043, 2_048, 16_379, 16_384, 16_385, 70_000, 300_000, 1 << 20]

    @Test("bidirectional echo returns every message intact", arguments: [false, true])
    func echo(tls: Bool) async throws {
        let certs = tls ? try await TestCertificates.shared() : nil
        try await withHTTP2Server(
            services: [ByteEcho()], configuration: certs?.serverConfiguration() ?? .defaults
        ) { transport in
            try await withHTTP2Client(port: transport.port, configuration: certs?.clientConfiguration() ?? .defaults) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for call in 0..<4 {
                        group.addTask { try await Self.runCall(client, seed: UInt8(call)) }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// One call: sends every size (in an order that differs per call), checks each reply.
    private static func runCall(_ client: GRPCClient, seed: UInt8) async throws {
        let messages = (sizes + sizes.reversed()).enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ Int(seed)) }
        }
        let received = try await client.bidirectionalStreaming(
            descriptor: ByteEcho.method, serializer: RawBytes(), deserializer: RawBytes()
        ) { writer in
            for message in messages { try await writer.write(message) }
        } onResponse: { response in
            var replies: [[UInt8]] = []
            for try await message in response.messages { replies.append(message) }
            return replies
        }
        #expect(received.count == messages.count)
        for (index, (sent, echoed)) in zip(messages, received).enumerated() where sent != echoed {
            Issue.record("call \(seed): message \(index) of \(sent.count) bytes came back as \(echoed.count) different bytes")
        }
    }
}

/// Echoes each request message as a response message, unchanged.
private struct ByteEcho: RPCService {
    static let method = MethodDescriptor(service: "oo.test.ByteEcho", method: "Echo", kind: .bidirectionalStreaming)

    func registerMethods(with router: inout RPCRouter) {
        router.registerBidirectionalStreaming(Self.method, deserializer: RawBytes(), serializer: RawBytes()) { requests, responses, _ in
            for try await message in requests { try await responses.write(message) }
        }
    }
}

/// Messages that are their own bytes.
private struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize(_ message: [UInt8]) throws -> [UInt8] { message }
    func deserialize(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}
