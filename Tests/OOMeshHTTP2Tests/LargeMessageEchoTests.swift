import Foundation
import OOMesh
import OOMeshHTTP2
import Testing

/// Messages of every size class through the whole transport, byte for byte: below and
/// above the size where DATA payloads stop being copied and are written from the
/// application's buffers, across DATA frame boundaries, and larger than one write batch,
/// several calls at once on one connection, over h2c and TLS.
@Suite("Large message echo", .serialized, .timeLimit(.minutes(2)))
struct LargeMessageEchoTests {
    static let sizes = [0, 1, 100, 2_042, 2_043, 2_048, 16_379, 16_384, 16_385, 70_000, 300_000]

    @Test("bidirectional echo returns every message intact", arguments: [false, true])
    func echo(tls: Bool) async throws {
        let certs = tls ? try await TestCertificates.shared() : nil
        try await withHTTP2Server(
            services: [ByteEcho()], configuration: certs?.serverConfiguration() ?? .defaults
        ) { transport in
            try await withHTTP2Client(port: transport.port, configuration: certs?.clientConfiguration() ?? .defaults) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for call in 0..<3 {
                        group.addTask { try await Self.runCall(client, seed: UInt8(call)) }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// Random bytes that messages are cut from, at offsets that differ per message, so a
    /// byte out of place shows. Filled a word at a time: this is a debug build, and the
    /// test must not hold the cooperative pool's threads long enough to slow other suites.
    static let source: [UInt8] = {
        var words = [UInt64](repeating: 0, count: 300_000 / 8 + 16)
        var generator = SystemRandomNumberGenerator()
        words.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = generator.next() }
        }
        return words.withUnsafeBytes { Array($0) }
    }()

    /// One call: sends every size (in an order that differs per call), checks each reply.
    private static func runCall(_ client: GRPCClient, seed: UInt8) async throws {
        let messages = (sizes + sizes.reversed()).enumerated().map { index, size in
            let offset = (index * 7 + Int(seed)) % 64
            return Array(source[offset..<(offset + size)])
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
        for (index, (sent, echoed)) in zip(messages, received).enumerated() where !sameBytes(sent, echoed) {
            Issue.record("call \(seed): message \(index) of \(sent.count) bytes came back as \(echoed.count) different bytes")
        }
    }
}

/// Byte equality with `memcmp` (an element-by-element `==` is slow in a debug build).
private func sameBytes(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    left.count == right.count && left.withUnsafeBytes { l in
        right.withUnsafeBytes { r in l.count == 0 || memcmp(l.baseAddress!, r.baseAddress!, l.count) == 0 }
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
