import Foundation
import GRPCTestingProtos
import OOMesh
import SwiftProtobuf

/// gRPC's interop `grpc.testing.TestService`, as its interop-test descriptions specify:
/// sized payloads, echoed metadata and statuses, streaming with intervals.
///
/// Every method (UnimplementedCall aside) echoes `x-grpc-test-echo-initial` into the
/// response's initial metadata and `x-grpc-test-echo-trailing-bin` into its trailers: gRPC's
/// C++ TestService does so on EmptyCall, UnaryCall and FullDuplexCall, grpc-java's (through
/// interceptors) on every method, so a client may count on it anywhere.
public struct TestService: Grpc_Testing_TestService_ServiceProtocol {
    /// Creates the service.
    public init() {}

    static let echoInitialKey = "x-grpc-test-echo-initial"
    static let echoTrailingKey = "x-grpc-test-echo-trailing-bin"

    public func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Self.echoMetadata(context)
        return Grpc_Testing_Empty()
    }

    public func unaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        Self.echoMetadata(context)
        try Self.checkCompression(expected: request.hasExpectCompressed ? request.expectCompressed.value : nil, context)
        if request.hasResponseCompressed {
            context.responseEncoding = request.responseCompressed.value ? Self.responseEncoding(context) : .identity
        }
        try Self.echoStatus(request.hasResponseStatus ? request.responseStatus : nil)
        return try .with {
            $0.payload = try Self.payload(type: request.responseType, size: request.responseSize)
        }
    }

    public func cacheableUnaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        context.responseMetadata.addString("max-age=60", forKey: "cache-control")
        return try await unaryCall(request: request, context: context)
    }

    public func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest,
        response: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        Self.chooseResponseEncoding(for: request, context)
        try await Self.respond(to: request, with: response)
        try Self.echoStatus(request.hasResponseStatus ? request.responseStatus : nil)
    }

    public func streamingInputCall(
        requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        Self.echoMetadata(context)
        var total = 0
        for try await request in requests {
            try Self.checkCompression(expected: request.hasExpectCompressed ? request.expectCompressed.value : nil, context)
            total += request.payload.body.count
        }
        return .with { $0.aggregatedPayloadSize = Int32(total) }
    }

    public func fullDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        response: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        for try await request in requests {
            try Self.echoStatus(request.hasResponseStatus ? request.responseStatus : nil)
            Self.chooseResponseEncoding(for: request, context)  // effective until the first response
            try await Self.respond(to: request, with: response)
        }
    }

    public func halfDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        response: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        var buffered: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { buffered.append(request) }
        for request in buffered {
            Self.chooseResponseEncoding(for: request, context)  // effective until the first response
            try await Self.respond(to: request, with: response)
        }
    }

    public func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "UnimplementedCall is not implemented, on purpose.")
    }

    // MARK: Helpers

    /// Fails with INVALID_ARGUMENT when the request message's compression is not what the
    /// client said to expect (`expect_compressed`), as gRPC's C++ interop server does.
    static func checkCompression(expected: Bool?, _ context: ServerContext) throws {
        guard let expected else { return }
        let actual = context.requestMessageWasCompressed
        guard actual == expected else {
            throw RPCError(
                code: .invalidArgument,
                message: expected ? "Expected a compressed request message, but it arrived uncompressed."
                    : "Expected an uncompressed request message, but it arrived compressed.")
        }
    }

    /// The encoding for responses the client asked to be compressed: the request's own
    /// encoding when it has one, gzip otherwise.
    static func responseEncoding(_ context: ServerContext) -> CompressionAlgorithm {
        context.requestEncoding == .identity ? .gzip : context.requestEncoding
    }

    /// Compresses responses when any response parameter asks for compression; `respond`
    /// then opts each message in or out.
    static func chooseResponseEncoding(for request: Grpc_Testing_StreamingOutputCallRequest, _ context: ServerContext) {
        if request.responseParameters.contains(where: { $0.hasCompressed && $0.compressed.value }) {
            context.responseEncoding = responseEncoding(context)
        }
    }

    /// Sends back the echo metadata the interop spec asks for, if the client sent it.
    static func echoMetadata(_ context: ServerContext) {
        if let initial = context.requestMetadata.firstString(forKey: echoInitialKey) {
            context.responseMetadata.addString(initial, forKey: echoInitialKey)
        }
        if let trailing = context.requestMetadata.firstBinary(forKey: echoTrailingKey) {
            context.trailingMetadata.addBinary(trailing, forKey: echoTrailingKey)
        }
    }

    /// Fails with the requested status, if one was requested.
    static func echoStatus(_ status: Grpc_Testing_EchoStatus?) throws {
        guard let status, status.code != 0 else { return }
        throw RPCError(code: StatusCode(wireValue: Int(status.code)), message: status.message)
    }

    static func payload(type: Grpc_Testing_PayloadType, size: Int32) throws -> Grpc_Testing_Payload {
        guard type == .compressable else {
            throw RPCError(code: .invalidArgument, message: "Unsupported payload type \(type); only COMPRESSABLE is.")
        }
        guard size >= 0 else {
            throw RPCError(code: .invalidArgument, message: "Negative payload size \(size).")
        }
        return .with {
            $0.type = .compressable
            $0.body = Data(count: Int(size))
        }
    }

    static func respond(
        to request: Grpc_Testing_StreamingOutputCallRequest,
        with writer: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 {
                try await Task.sleep(for: .microseconds(Int(parameters.intervalUs)))
            }
            let payload = try payload(type: request.responseType, size: parameters.size)
            // An explicit `compressed` decides per message; otherwise the call's default.
            try await writer.write(.with { $0.payload = payload }, compress: !parameters.hasCompressed || parameters.compressed.value)
        }
    }
}
