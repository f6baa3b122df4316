import Foundation
import GRPCTestingProtos
import OOMesh
import SwiftProtobuf

/// A failed interop check, saying what was expected and what came.
public struct InteropCheckFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// The interop test cases of gRPC's interop-test-descriptions that need no credentials,
/// run by our client against any server (plaintext or TLS, as the client is set up).
///
/// The `_noprobe` variants of the client-compressed cases skip the first step, the probe
/// that the server rejects an uncompressed message flagged `expect_compressed` (as
/// grpc-java's `client_compressed_unary_noprobe`): for servers whose API cannot see a
/// request message's compressed flag, such as grpcio's Python server.
public enum InteropTestCase: String, CaseIterable, Sendable {
    case emptyUnary = "empty_unary"
    case largeUnary = "large_unary"
    case clientStreaming = "client_streaming"
    case serverStreaming = "server_streaming"
    case pingPong = "ping_pong"
    case emptyStream = "empty_stream"
    case timeoutOnSleepingServer = "timeout_on_sleeping_server"
    case cancelAfterBegin = "cancel_after_begin"
    case cancelAfterFirstResponse = "cancel_after_first_response"
    case customMetadata = "custom_metadata"
    case statusCodeAndMessage = "status_code_and_message"
    case specialStatusMessage = "special_status_message"
    case unimplementedMethod = "unimplemented_method"
    case unimplementedService = "unimplemented_service"
    case clientCompressedUnary = "client_compressed_unary"
    case clientCompressedStreaming = "client_compressed_streaming"
    case serverCompressedUnary = "server_compressed_unary"
    case serverCompressedStreaming = "server_compressed_streaming"
    case clientCompressedUnaryNoProbe = "client_compressed_unary_noprobe"
    case clientCompressedStreamingNoProbe = "client_compressed_streaming_noprobe"

    /// True for the cases whose server must see each request message's compressed flag.
    public var probesCompressionChecks: Bool {
        self == .clientCompressedUnary || self == .clientCompressedStreaming
    }

    /// True for the compression cases, which choose per call and per message what is
    /// compressed (so a client or server that compresses everything would fail them).
    public var controlsCompression: Bool {
        switch self {
        case .clientCompressedUnary, .clientCompressedStreaming, .serverCompressedUnary, .serverCompressedStreaming,
             .clientCompressedUnaryNoProbe, .clientCompressedStreamingNoProbe:
            return true
        default:
            return false
        }
    }

    /// The cases a server runs when it cannot see request messages' compressed flags: the
    /// probing cases are replaced by their `_noprobe` variants.
    public static var withoutCompressionProbes: [InteropTestCase] {
        allCases.filter { !$0.probesCompressionChecks }
    }

    /// The cases of gRPC's interop descriptions (no `_noprobe` variants).
    public static var standard: [InteropTestCase] {
        allCases.filter { $0 != .clientCompressedUnaryNoProbe && $0 != .clientCompressedStreamingNoProbe }
    }

    /// Runs the case; throws ``InteropCheckFailure`` or the call's error when it fails.
    public func run(using client: GRPCClient) async throws {
        let service = Grpc_Testing_TestService_Client(wrapping: client)
        switch self {
        case .emptyUnary: try await Self.emptyUnary(service)
        case .largeUnary: try await Self.largeUnary(service)
        case .clientStreaming: try await Self.clientStreaming(service)
        case .serverStreaming: try await Self.serverStreaming(service)
        case .pingPong: try await Self.pingPong(service)
        case .emptyStream: try await Self.emptyStream(service)
        case .timeoutOnSleepingServer: try await Self.timeoutOnSleepingServer(service)
        case .cancelAfterBegin: try await Self.cancelAfterBegin(service)
        case .cancelAfterFirstResponse: try await Self.cancelAfterFirstResponse(service)
        case .customMetadata: try await Self.customMetadata(service)
        case .statusCodeAndMessage: try await Self.statusCodeAndMessage(service)
        case .specialStatusMessage: try await Self.specialStatusMessage(service)
        case .unimplementedMethod: try await Self.unimplementedMethod(service)
        case .unimplementedService:
            try await Self.unimplementedService(Grpc_Testing_UnimplementedService_Client(wrapping: client))
        case .clientCompressedUnary: try await Self.clientCompressedUnary(service, probe: true)
        case .clientCompressedStreaming: try await Self.clientCompressedStreaming(service, probe: true)
        case .serverCompressedUnary: try await Self.serverCompressedUnary(service)
        case .serverCompressedStreaming: try await Self.serverCompressedStreaming(service)
        case .clientCompressedUnaryNoProbe: try await Self.clientCompressedUnary(service, probe: false)
        case .clientCompressedStreamingNoProbe: try await Self.clientCompressedStreaming(service, probe: false)
        }
    }

    // MARK: Cases

    static func emptyUnary(_ service: Grpc_Testing_TestService_Client) async throws {
        let response = try await service.emptyCall(Grpc_Testing_Empty())
        try check(response == Grpc_Testing_Empty(), "EmptyCall returned a non-empty message")
    }

    static func largeUnary(_ service: Grpc_Testing_TestService_Client) async throws {
        let response = try await service.unaryCall(.with {
            $0.responseType = .compressable
            $0.responseSize = 314_159
            $0.payload = zeros(271_828)
        })
        try checkPayload(response.payload, size: 314_159)
    }

    static func clientStreaming(_ service: Grpc_Testing_TestService_Client) async throws {
        let response = try await service.streamingInputCall { writer in
            for size in [27_182, 8, 1828, 45_904] {
                try await writer.write(.with { $0.payload = zeros(size) })
            }
        }
        try check(response.aggregatedPayloadSize == 74_922, "aggregated_payload_size is \(response.aggregatedPayloadSize), expected 74922")
    }

    static func serverStreaming(_ service: Grpc_Testing_TestService_Client) async throws {
        let sizes: [Int32] = [31_415, 9, 2653, 58_979]
        let request = Grpc_Testing_StreamingOutputCallRequest.with {
            $0.responseType = .compressable
            $0.responseParameters = sizes.map { size in .with { $0.size = size } }
        }
        let received = try await service.streamingOutputCall(request) { response in
            var received: [Int] = []
            for try await message in response.messages {
                try checkPayload(message.payload, size: Int(sizes[min(received.count, sizes.count - 1)]))
                received.append(message.payload.body.count)
            }
            return received
        }
        try check(received == sizes.map(Int.init), "received sizes \(received), expected \(sizes)")
    }

    static func pingPong(_ service: Grpc_Testing_TestService_Client) async throws {
        let responseSizes: [Int32] = [31_415, 9, 2653, 58_979]
        let requestSizes = [27_182, 8, 1828, 45_904]
        let (turns, turn) = AsyncStream.makeStream(of: Void.self)
        try await service.fullDuplexCall { writer in
            var iterator = turns.makeAsyncIterator()
            for (index, size) in responseSizes.enumerated() {
                try await writer.write(.with {
                    $0.responseType = .compressable
                    $0.responseParameters = [.with { $0.size = size }]
                    $0.payload = zeros(requestSizes[index])
                })
                guard await iterator.next() != nil else { return }
            }
        } onResponse: { response in
            defer { turn.finish() }
            var count = 0
            for try await message in response.messages {
                try check(count < responseSizes.count, "more responses than requests")
                try checkPayload(message.payload, size: Int(responseSizes[count]))
                count += 1
                turn.yield()
            }
            try check(count == responseSizes.count, "received \(count) responses, expected \(responseSizes.count)")
        }
    }

    static func emptyStream(_ service: Grpc_Testing_TestService_Client) async throws {
        let count = try await service.fullDuplexCall { _ in
        } onResponse: { response in
            var count = 0
            for try await _ in response.messages { count += 1 }
            return count
        }
        try check(count == 0, "received \(count) responses on an empty stream")
    }

    static func timeoutOnSleepingServer(_ service: Grpc_Testing_TestService_Client) async throws {
        do {
            try await service.fullDuplexCall(options: CallOptions(timeout: .milliseconds(1))) { writer in
                try await writer.write(.with { $0.payload = zeros(27_182) })
                try await Task.sleep(for: .seconds(5))
            } onResponse: { response in
                for try await _ in response.messages {}
            }
            throw InteropCheckFailure(description: "the call succeeded; expected DEADLINE_EXCEEDED")
        } catch let error as RPCError {
            try check(error.code == .deadlineExceeded, "got \(error), expected DEADLINE_EXCEEDED")
        }
    }

    static func cancelAfterBegin(_ service: Grpc_Testing_TestService_Client) async throws {
        let call = Task {
            try await service.streamingInputCall { _ in
                try await Task.sleep(for: .seconds(10))
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        call.cancel()
        do {
            _ = try await call.value
            throw InteropCheckFailure(description: "the call succeeded; expected CANCELLED")
        } catch let error as RPCError {
            try check(error.code == .cancelled, "got \(error), expected CANCELLED")
        }
    }

    static func cancelAfterFirstResponse(_ service: Grpc_Testing_TestService_Client) async throws {
        let (firstResponse, signal) = AsyncStream.makeStream(of: Void.self)
        let call = Task {
            try await service.fullDuplexCall { writer in
                try await writer.write(.with {
                    $0.responseType = .compressable
                    $0.responseParameters = [.with { $0.size = 31_415 }]
                    $0.payload = zeros(27_182)
                })
                try await Task.sleep(for: .seconds(10))
            } onResponse: { response in
                for try await message in response.messages {
                    try checkPayload(message.payload, size: 31_415)
                    signal.yield()
                }
            }
        }
        for await _ in firstResponse { break }
        call.cancel()
        do {
            try await call.value
            throw InteropCheckFailure(description: "the call succeeded; expected CANCELLED")
        } catch let error as RPCError {
            try check(error.code == .cancelled, "got \(error), expected CANCELLED")
        }
    }

    static func customMetadata(_ service: Grpc_Testing_TestService_Client) async throws {
        let metadata = echoRequestMetadata
        try await service.unaryCall(.with {
            $0.responseType = .compressable
            $0.responseSize = 314_159
            $0.payload = zeros(271_828)
        }, metadata: metadata) { response in
            try checkPayload(response.message.payload, size: 314_159)
            try checkEchoes("UnaryCall", response.metadata, response.trailingMetadata)
        }

        try await service.fullDuplexCall(metadata: metadata) { writer in
            try await writer.write(.with {
                $0.responseType = .compressable
                $0.responseParameters = [.with { $0.size = 314_159 }]
                $0.payload = zeros(271_828)
            })
        } onResponse: { response in
            try await checkStreamedEchoes("FullDuplexCall", response, size: 314_159)
        }
    }

    /// `custom_metadata`'s echo check on every method of the TestService, UnimplementedCall
    /// aside: EmptyCall, UnaryCall, CacheableUnaryCall, StreamingOutputCall,
    /// StreamingInputCall, FullDuplexCall and HalfDuplexCall each send the two echo keys and
    /// must get `x-grpc-test-echo-initial` back in the response's initial metadata and
    /// `x-grpc-test-echo-trailing-bin` in its trailers.
    ///
    /// Not one of gRPC's standard cases (its `custom_metadata`, in the C++ and Go clients
    /// too, checks UnaryCall and FullDuplexCall only, and gRPC's C++ server echoes on
    /// EmptyCall, UnaryCall and FullDuplexCall only): a check of servers that echo
    /// everywhere, as ours and grpc-java's do.
    public static func checkMetadataEchoOnEveryMethod(using client: GRPCClient) async throws {
        let service = Grpc_Testing_TestService_Client(wrapping: client)
        let metadata = echoRequestMetadata
        let simpleRequest = Grpc_Testing_SimpleRequest.with {
            $0.responseType = .compressable
            $0.responseSize = 8
            $0.payload = zeros(8)
        }
        // One response each, so no stream ends Trailers-Only (which has no initial metadata).
        let streamingRequest = Grpc_Testing_StreamingOutputCallRequest.with {
            $0.responseType = .compressable
            $0.responseParameters = [.with { $0.size = 8 }]
            $0.payload = zeros(8)
        }

        try await service.emptyCall(Grpc_Testing_Empty(), metadata: metadata) { response in
            try checkEchoes("EmptyCall", response.metadata, response.trailingMetadata)
        }
        try await service.unaryCall(simpleRequest, metadata: metadata) { response in
            try checkEchoes("UnaryCall", response.metadata, response.trailingMetadata)
        }
        try await service.cacheableUnaryCall(simpleRequest, metadata: metadata) { response in
            try checkEchoes("CacheableUnaryCall", response.metadata, response.trailingMetadata)
        }
        try await service.streamingOutputCall(streamingRequest, metadata: metadata) { response in
            try await checkStreamedEchoes("StreamingOutputCall", response, size: 8)
        }
        try await service.streamingInputCall(metadata: metadata) { writer in
            try await writer.write(.with { $0.payload = zeros(8) })
        } onResponse: { response in
            try check(response.message.aggregatedPayloadSize == 8,
                      "StreamingInputCall: aggregated_payload_size is \(response.message.aggregatedPayloadSize), expected 8")
            try checkEchoes("StreamingInputCall", response.metadata, response.trailingMetadata)
        }
        try await service.fullDuplexCall(metadata: metadata) { writer in
            try await writer.write(streamingRequest)
        } onResponse: { response in
            try await checkStreamedEchoes("FullDuplexCall", response, size: 8)
        }
        try await service.halfDuplexCall(metadata: metadata) { writer in
            try await writer.write(streamingRequest)
        } onResponse: { response in
            try await checkStreamedEchoes("HalfDuplexCall", response, size: 8)
        }
    }

    static func statusCodeAndMessage(_ service: Grpc_Testing_TestService_Client) async throws {
        try await expectEchoedStatus(service, message: "test status message")
    }

    static func specialStatusMessage(_ service: Grpc_Testing_TestService_Client) async throws {
        try await expectEchoedStatus(service, message: "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n", bidi: false)
    }

    static func unimplementedMethod(_ service: Grpc_Testing_TestService_Client) async throws {
        do {
            _ = try await service.unimplementedCall(Grpc_Testing_Empty())
            throw InteropCheckFailure(description: "UnimplementedCall succeeded")
        } catch let error as RPCError {
            try check(error.code == .unimplemented, "got \(error), expected UNIMPLEMENTED")
        }
    }

    static func unimplementedService(_ service: Grpc_Testing_UnimplementedService_Client) async throws {
        do {
            _ = try await service.unimplementedCall(Grpc_Testing_Empty())
            throw InteropCheckFailure(description: "UnimplementedService.UnimplementedCall succeeded")
        } catch let error as RPCError {
            try check(error.code == .unimplemented, "got \(error), expected UNIMPLEMENTED")
        }
    }

    static func clientCompressedUnary(_ service: Grpc_Testing_TestService_Client, probe: Bool) async throws {
        func request(expectCompressed: Bool) -> Grpc_Testing_SimpleRequest {
            .with {
                $0.responseType = .compressable
                $0.responseSize = 314_159
                $0.payload = zeros(271_828)
                $0.expectCompressed = .with { $0.value = expectCompressed }
            }
        }
        if probe {
            // An uncompressed message claiming to be compressed: a server that checks says no.
            try await expectInvalidArgument("UnaryCall probe (uncompressed, expect_compressed=true)") {
                _ = try await service.unaryCall(request(expectCompressed: true))
            }
        }
        let compressed = try await service.unaryCall(request(expectCompressed: true), options: CallOptions(compression: .gzip))
        try checkPayload(compressed.payload, size: 314_159)
        let uncompressed = try await service.unaryCall(request(expectCompressed: false))
        try checkPayload(uncompressed.payload, size: 314_159)
    }

    static func clientCompressedStreaming(_ service: Grpc_Testing_TestService_Client, probe: Bool) async throws {
        func request(expectCompressed: Bool, size: Int) -> Grpc_Testing_StreamingInputCallRequest {
            .with {
                $0.payload = zeros(size)
                $0.expectCompressed = .with { $0.value = expectCompressed }
            }
        }
        if probe {
            try await expectInvalidArgument("StreamingInputCall probe (uncompressed, expect_compressed=true)") {
                _ = try await service.streamingInputCall { writer in
                    try await writer.write(request(expectCompressed: true, size: 27_182))
                }
            }
        }
        let response = try await service.streamingInputCall(options: CallOptions(compression: .gzip)) { writer in
            try await writer.write(request(expectCompressed: true, size: 27_182), compress: true)
            try await writer.write(request(expectCompressed: false, size: 45_904), compress: false)
        }
        try check(response.aggregatedPayloadSize == 73_086, "aggregated_payload_size is \(response.aggregatedPayloadSize), expected 73086")
    }

    static func serverCompressedUnary(_ service: Grpc_Testing_TestService_Client) async throws {
        for compressed in [true, false] {
            try await service.unaryCall(.with {
                $0.responseType = .compressable
                $0.responseSize = 314_159
                $0.payload = zeros(271_828)
                $0.responseCompressed = .with { $0.value = compressed }
            }) { response in
                try check(response.messageWasCompressed == compressed,
                          "response_compressed=\(compressed), but the response \(response.messageWasCompressed ? "was" : "was not") compressed")
                try checkPayload(response.message.payload, size: 314_159)
            }
        }
    }

    static func serverCompressedStreaming(_ service: Grpc_Testing_TestService_Client) async throws {
        let expected: [(size: Int32, compressed: Bool)] = [(31_415, true), (92_653, false)]
        let request = Grpc_Testing_StreamingOutputCallRequest.with {
            $0.responseType = .compressable
            $0.responseParameters = expected.map { item in
                .with {
                    $0.size = item.size
                    $0.compressed = .with { $0.value = item.compressed }
                }
            }
        }
        let received = try await service.streamingOutputCall(request) { response in
            var received: [(size: Int, compressed: Bool)] = []
            for try await item in response.receivedMessages {
                try check(received.count < expected.count, "more responses than requested")
                try checkPayload(item.message.payload, size: Int(expected[received.count].size))
                received.append((item.message.payload.body.count, item.wasCompressed))
            }
            return received
        }
        try check(received.map(\.compressed) == expected.map(\.compressed) && received.count == expected.count,
                  "responses (size, compressed) were \(received), expected \(expected)")
    }

    // MARK: Helpers

    static let echoInitialValue = "test_initial_metadata_value"
    static let echoTrailingValue: [UInt8] = [0xAB, 0xAB, 0xAB]

    /// The request metadata of `custom_metadata`: the two keys the server must echo.
    static var echoRequestMetadata: Metadata {
        var metadata = Metadata()
        metadata.addString(echoInitialValue, forKey: TestService.echoInitialKey)
        metadata.addBinary(echoTrailingValue, forKey: TestService.echoTrailingKey)
        return metadata
    }

    /// Both echoes came back: the initial value in the response headers, the binary one in
    /// the trailers.
    private static func checkEchoes(_ method: String, _ initial: Metadata, _ trailing: Metadata) throws {
        try check(initial.firstString(forKey: TestService.echoInitialKey) == echoInitialValue,
                  "\(method): initial metadata \(initial) lacks \(TestService.echoInitialKey): \(echoInitialValue)")
        try check(trailing.firstBinary(forKey: TestService.echoTrailingKey) == echoTrailingValue,
                  "\(method): trailing metadata \(trailing) lacks \(TestService.echoTrailingKey): 0xababab")
    }

    /// Reads a streamed response of exactly one payload of `size` zeros and checks the echoes.
    private static func checkStreamedEchoes(
        _ method: String, _ response: StreamingClientResponse<Grpc_Testing_StreamingOutputCallResponse>, size: Int
    ) async throws {
        var trailing = Metadata()
        var count = 0
        for try await part in response.bodyParts {
            switch part {
            case .message(let message):
                try checkPayload(message.payload, size: size)
                count += 1
            case .trailingMetadata(let metadata): trailing = metadata
            }
        }
        try check(count == 1, "\(method): received \(count) responses, expected 1")
        try checkEchoes(method, response.metadata, trailing)
    }

    private static func expectInvalidArgument(_ what: String, _ call: () async throws -> Void) async throws {
        do {
            try await call()
            throw InteropCheckFailure(description: "\(what) succeeded; expected INVALID_ARGUMENT")
        } catch let error as RPCError {
            try check(error.code == .invalidArgument, "\(what): got \(error), expected INVALID_ARGUMENT")
        }
    }

    private static func expectEchoedStatus(_ service: Grpc_Testing_TestService_Client, message: String, bidi: Bool = true) async throws {
        let status = Grpc_Testing_EchoStatus.with {
            $0.code = 2
            $0.message = message
        }
        do {
            _ = try await service.unaryCall(.with { $0.responseStatus = status })
            throw InteropCheckFailure(description: "UnaryCall succeeded; expected UNKNOWN")
        } catch let error as RPCError {
            try check(error.code == .unknown && error.message == message, "UnaryCall: got \(error.code) '\(error.message)', expected UNKNOWN '\(message)'")
        }
        guard bidi else { return }
        do {
            try await service.fullDuplexCall { writer in
                try await writer.write(.with { $0.responseStatus = status })
            } onResponse: { response in
                for try await _ in response.messages {}
            }
            throw InteropCheckFailure(description: "FullDuplexCall succeeded; expected UNKNOWN")
        } catch let error as RPCError {
            try check(error.code == .unknown && error.message == message, "FullDuplexCall: got \(error.code) '\(error.message)', expected UNKNOWN '\(message)'")
        }
    }

    private static func zeros(_ size: Int) -> Grpc_Testing_Payload {
        .with {
            $0.type = .compressable
            $0.body = Data(count: size)
        }
    }

    private static func checkPayload(_ payload: Grpc_Testing_Payload, size: Int) throws {
        try check(payload.body.count == size, "payload has \(payload.body.count) bytes, expected \(size)")
        try check(payload.body.allSatisfy { $0 == 0 }, "payload is not all zeros")
    }

    private static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw InteropCheckFailure(description: message()) }
    }
}
