import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Message size limits on both sides of the HTTP/2 transport: RESOURCE_EXHAUSTED, with a
/// message naming the sizes, and the connection stays usable.
@Suite("Message size limits", .timeLimit(.minutes(2)))
struct MessageLimitTests {
    static func unaryRequest(payload: Int, responseSize: Int) -> Grpc_Testing_SimpleRequest {
        .with {
            $0.responseSize = Int32(responseSize)
            $0.payload = .with { $0.body = Data(count: payload) }
        }
    }

    @Test("a request over the client's send limit fails before it is sent; the next call works")
    func clientSendLimit() async throws {
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.http2.maxSendMessageBytes = 10_000
        try await withHTTP2Server(services: [TestService()]) { transport in
            try await withHTTP2Client(port: transport.port, configuration: configuration) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await service.unaryCall(Self.unaryRequest(payload: 20_000, responseSize: 1))
                }
                #expect(error?.code == .resourceExhausted)
                #expect(error?.message.contains("exceeds the send limit of 10000 bytes") == true, "\(String(describing: error))")
                let response = try await service.unaryCall(Self.unaryRequest(payload: 5_000, responseSize: 7))
                #expect(response.payload.body.count == 7)
            }
        }
    }

    @Test("a response over the server's send limit fails the call with RESOURCE_EXHAUSTED")
    func serverSendLimit() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.maxSendMessageBytes = 10_000
        try await withHTTP2Server(services: [TestService()], configuration: configuration) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await service.unaryCall(Self.unaryRequest(payload: 1, responseSize: 20_000))
                }
                #expect(error?.code == .resourceExhausted)
                #expect(error?.message.contains("exceeds the send limit of 10000 bytes") == true, "\(String(describing: error))")
                let response = try await service.unaryCall(Self.unaryRequest(payload: 1, responseSize: 9_000))
                #expect(response.payload.body.count == 9_000)
            }
        }
    }

    @Test("a request over the server's receive limit is refused from its length prefix")
    func serverReceiveLimit() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.maxReceiveMessageBytes = 10_000
        try await withHTTP2Server(services: [TestService()], configuration: configuration) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await service.unaryCall(Self.unaryRequest(payload: 20_000, responseSize: 1))
                }
                #expect(error?.code == .resourceExhausted)
                #expect(error?.message.contains("exceeds the limit of 10000 bytes") == true, "\(String(describing: error))")
                _ = try await service.emptyCall(Grpc_Testing_Empty())
            }
        }
    }

    @Test("a response over the call's receive limit fails with RESOURCE_EXHAUSTED on the client")
    func clientReceiveLimit() async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await service.unaryCall(
                        Self.unaryRequest(payload: 1, responseSize: 20_000), options: CallOptions(maxResponseMessageBytes: 10_000))
                }
                #expect(error?.code == .resourceExhausted)
                #expect(error?.message.contains("exceeds the limit of 10000 bytes") == true, "\(String(describing: error))")
                _ = try await service.emptyCall(Grpc_Testing_Empty())
            }
        }
    }
}
