import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Message compression (gzip, deflate on system zlib) against our own peers and grpcio's,
/// in both directions.
@Suite("Compression", .serialized, .timeLimit(.minutes(3)))
struct CompressionTests {
    @Test("our client and server pass every interop case with compressed messages both ways",
          arguments: [CompressionAlgorithm.gzip, .deflate])
    func ourClientOurServer(_ algorithm: CompressionAlgorithm) async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            let transportClient = try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port)
            try await withGRPCClient(transport: transportClient, interceptors: [Compress(algorithm)]) { client in
                for testCase in InteropTestCase.allCases {
                    await #expect(throws: Never.self, "\(algorithm) \(testCase.rawValue)") { try await testCase.run(using: client) }
                }
            }
        }
    }

    @Test("grpcio's client, compressing its requests, passes against our server (which answers compressed)",
          arguments: [
            ("gzip", InteropTestCase.largeUnary), ("gzip", .clientStreaming), ("gzip", .serverStreaming), ("gzip", .pingPong),
            ("deflate", .largeUnary), ("deflate", .pingPong),
          ])
    func grpcioClientCompressing(_ compression: String, _ testCase: InteropTestCase) async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            let result = try await runProcess("python3", [
                "tools/interop/py_client.py", "--server_host", "127.0.0.1", "--server_port", String(transport.port),
                "--test_case", testCase.rawValue, "--timeout_seconds", "30", "--compression", compression,
            ])
            #expect(result.status == 0, "grpcio client, \(compression), \(testCase.rawValue): \(result.output)")
        }
    }

    @Test("our client, compressing, passes every interop case against grpcio's server answering compressed",
          arguments: [("gzip", CompressionAlgorithm.gzip), ("deflate", .deflate)])
    func ourClientAgainstCompressingGrpcio(_ serverCompression: String, _ algorithm: CompressionAlgorithm) async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            "python3", ["tools/interop/py_server.py", "--port", String(port), "--compression", serverCompression], readyMarker: "ready")
        defer { server.stop() }
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: port)
        try await withGRPCClient(transport: transport, interceptors: [Compress(algorithm)]) { client in
            for testCase in InteropTestCase.allCases {
                await #expect(throws: Never.self, "\(serverCompression) \(testCase.rawValue)") { try await testCase.run(using: client) }
            }
        }
    }

    @Test("a server with compression disabled refuses a compressed request with UNIMPLEMENTED and what it accepts")
    func disabledCompressionIsRefused() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.enabledCompression = []
        try await withHTTP2Server(services: [TestService()], configuration: configuration) { transport in
            let clientTransport = try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port)
            try await withGRPCClient(transport: clientTransport, interceptors: [Compress(.gzip)]) { client in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
                }
                #expect(error?.code == .unimplemented)
                #expect(error?.message.contains("'gzip'") == true, "\(String(describing: error))")
                #expect(error?.message.contains("accepts: identity") == true, "\(String(describing: error))")
            }
        }
    }
}

/// Sets the compression of every call.
struct Compress: ClientInterceptor {
    let algorithm: CompressionAlgorithm
    init(_ algorithm: CompressionAlgorithm) { self.algorithm = algorithm }

    func intercept<Result: Sendable>(_ head: ClientCallHead, next: (ClientCallHead) async throws -> Result) async throws -> Result {
        var head = head
        head.options.compression = algorithm
        return try await next(head)
    }
}
