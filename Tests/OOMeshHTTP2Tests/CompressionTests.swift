import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Synchronization
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
                // The compression cases choose compression themselves; this client forces it.
                for testCase in InteropTestCase.allCases where !testCase.controlsCompression {
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
            // The compression cases choose compression themselves; these peers force it.
            for testCase in InteropTestCase.allCases where !testCase.controlsCompression {
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

    @Test("a handler's response encoding is honoured when the client accepts it, identity otherwise")
    func responseEncodingChoice() async throws {
        let request = Grpc_Testing_SimpleRequest.with {
            $0.responseType = .compressable
            $0.responseSize = 10_000
            $0.responseCompressed = .with { $0.value = true }
        }
        try await withHTTP2Server(services: [TestService()]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let compressed = try await Grpc_Testing_TestService_Client(wrapping: client).unaryCall(request) { $0.messageWasCompressed }
                #expect(compressed)
            }
            // This client accepts identity only: the server falls back, and the call works.
            var configuration = HTTP2ClientTransport.Configuration()
            configuration.http2.enabledCompression = []
            try await withHTTP2Client(port: transport.port, configuration: configuration) { client in
                let response = try await Grpc_Testing_TestService_Client(wrapping: client).unaryCall(request) { $0 }
                #expect(!response.messageWasCompressed)
                #expect(response.message.payload.body.count == 10_000)
            }
        }
    }

    @Test("the server sees per message whether a request arrived compressed; a message can opt out")
    func perMessageFlags() async throws {
        let seen = FlagRecorder()
        let service = RecordingStreamService(recorder: seen)
        try await withHTTP2Server(services: [service]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let stub = Grpc_Testing_TestService_Client(wrapping: client)
                _ = try await stub.streamingInputCall(options: CallOptions(compression: .deflate)) { writer in
                    let body = Grpc_Testing_StreamingInputCallRequest.with { $0.payload.body = Data(count: 4096) }
                    try await writer.write(body)
                    try await writer.write(body, compress: false)
                    try await writer.write(body, compress: true)
                    // Compression that does not help is skipped: one byte stays uncompressed.
                    try await writer.write(.with { $0.payload.body = Data([7]) })
                }
            }
        }
        #expect(seen.flags == [true, false, true, false])
        #expect(seen.encoding == .deflate)
    }
}

/// Records, for each request message, whether it arrived compressed.
final class FlagRecorder: Sendable {
    private let state = Mutex<(flags: [Bool], encoding: CompressionAlgorithm?)>(([], nil))
    var flags: [Bool] { state.withLock { $0.flags } }
    var encoding: CompressionAlgorithm? { state.withLock { $0.encoding } }
    func record(_ compressed: Bool, _ encoding: CompressionAlgorithm) {
        state.withLock {
            $0.flags.append(compressed)
            $0.encoding = encoding
        }
    }
}

/// TestService whose StreamingInputCall records each message's compressed flag.
struct RecordingStreamService: Grpc_Testing_TestService_ServiceProtocol {
    let recorder: FlagRecorder
    private let base = TestService()

    func streamingInputCall(
        requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        var total = 0
        for try await request in requests {
            recorder.record(context.requestMessageWasCompressed, context.requestEncoding)
            total += request.payload.body.count
        }
        return .with { $0.aggregatedPayloadSize = Int32(total) }
    }

    func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        try await base.emptyCall(request: request, context: context)
    }
    func unaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        try await base.unaryCall(request: request, context: context)
    }
    func cacheableUnaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        try await base.cacheableUnaryCall(request: request, context: context)
    }
    func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest, response: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        try await base.streamingOutputCall(request: request, response: response, context: context)
    }
    func fullDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        response: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>, context: ServerContext
    ) async throws {
        try await base.fullDuplexCall(requests: requests, response: response, context: context)
    }
    func halfDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        response: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>, context: ServerContext
    ) async throws {
        try await base.halfDuplexCall(requests: requests, response: response, context: context)
    }
    func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        try await base.unimplementedCall(request: request, context: context)
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
