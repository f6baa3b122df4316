import Foundation
public import OOMesh
import ReflectionProtos
public import SwiftProtobuf
import Synchronization

/// Passes message bytes through unchanged: calls whose messages the caller (de)serializes
/// itself, such as ``DynamicCodec``'s.
public struct RawBytesSerializer: MessageSerializer {
    /// Creates a serializer.
    public init() {}
    public func serialize(_ message: [UInt8]) throws -> [UInt8] { message }
}

/// Hands over message bytes unchanged.
public struct RawBytesDeserializer: MessageDeserializer {
    /// Creates a deserializer.
    public init() {}
    public func deserialize(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}

/// A client of gRPC server reflection (`grpc.reflection.v1.ServerReflection`, falling back
/// to `grpc.reflection.v1alpha` when the server answers UNIMPLEMENTED): lists a server's
/// services and fetches the `.proto` files declaring a symbol, with their imports, into a
/// ``DescriptorPool``.
///
/// Each question is its own short `ServerReflectionInfo` stream (one request, one answer),
/// so every answer carries the whole import closure a server sends on a fresh stream; any
/// import still missing is then asked for by file name.
///
/// ```swift
/// let reflection = ReflectionClient(client: client)
/// print(try await reflection.listServices())
/// var pool = DescriptorPool()
/// try await reflection.load(symbol: "oo.example.v1.Greeter", into: &pool)
/// ```
public final class ReflectionClient: Sendable {
    /// The client the reflection calls go through.
    public let client: GRPCClient
    /// Metadata sent with each reflection call.
    public let metadata: Metadata
    /// Options of each reflection call (set a timeout: the default has none).
    public let options: CallOptions
    /// nil until the first answer; then whether the server only speaks v1alpha.
    private let usesV1Alpha = Mutex<Bool?>(nil)

    /// A reflection client over `client`.
    public init(client: GRPCClient, metadata: Metadata = [:], options: CallOptions = .defaults) {
        self.client = client
        self.metadata = metadata
        self.options = options
    }

    /// The fully qualified names of the services the server lists, sorted.
    /// - Throws: ``RPCError`` when the call fails (UNIMPLEMENTED: the server has no
    ///   reflection), ``ReflectionError`` when the answer is not a service list.
    public func listServices() async throws -> [String] {
        let response = try await ask(.with { $0.listServices = "" })
        guard case .listServicesResponse(let list)? = response.messageResponse else {
            throw ReflectionError(code: .invalidResponse, message: "The server answered list_services with something else.")
        }
        return list.service.map(\.name).sorted()
    }

    /// The file declaring `symbol` (a service, method, message, enum…) and the files it
    /// imports, as the server sends them.
    /// - Throws: ``ReflectionError`` (`.notFound`) when the server does not know the symbol.
    public func filesContaining(symbol: String) async throws -> [Google_Protobuf_FileDescriptorProto] {
        try files(in: await ask(.with { $0.fileContainingSymbol = symbol }))
    }

    /// The file named `name` and the files it imports.
    public func files(named name: String) async throws -> [Google_Protobuf_FileDescriptorProto] {
        try files(in: await ask(.with { $0.fileByFilename = name }))
    }

    /// Fetches the file declaring `symbol`, with everything it imports, into `pool`.
    /// Imports the server cannot provide are left out; using a type from one fails then.
    public func load(symbol: String, into pool: inout DescriptorPool) async throws {
        for file in try await filesContaining(symbol: symbol) { pool.add(file) }
        var asked: Set<String> = []
        while let missing = pool.missingDependencies.first(where: { !asked.contains($0) }) {
            // A server whose files import without end must not keep us fetching forever.
            guard asked.count < 512 else {
                throw ReflectionError(code: .invalidResponse, message: "More than 512 files are imported from '\(symbol)'; giving up.")
            }
            asked.insert(missing)
            do {
                for file in try await files(named: missing) { pool.add(file) }
            } catch let error as ReflectionError where error.code == .notFound {
                continue
            }
        }
    }

    private func files(in response: Grpc_Reflection_V1_ServerReflectionResponse) throws -> [Google_Protobuf_FileDescriptorProto] {
        guard case .fileDescriptorResponse(let answer)? = response.messageResponse else {
            throw ReflectionError(code: .invalidResponse, message: "The server answered a file request with something else.")
        }
        var files: [Google_Protobuf_FileDescriptorProto] = []
        for data in answer.fileDescriptorProto {
            do {
                files.append(try Google_Protobuf_FileDescriptorProto(serializedBytes: data))
            } catch {
                throw ReflectionError(code: .invalidResponse, message: "The server sent a FileDescriptorProto that does not parse: \(error).")
            }
        }
        return files
    }

    /// One request, one answer, on a stream of its own; an `error_response` is thrown.
    private func ask(_ request: Grpc_Reflection_V1_ServerReflectionRequest) async throws -> Grpc_Reflection_V1_ServerReflectionResponse {
        let bytes: [UInt8] = try request.serializedBytes()
        let answer: [UInt8]
        switch usesV1Alpha.withLock({ $0 }) {
        case true?:
            answer = try await exchange(bytes, service: "grpc.reflection.v1alpha.ServerReflection")
        case false?:
            answer = try await exchange(bytes, service: "grpc.reflection.v1.ServerReflection")
        case nil:
            do {
                answer = try await exchange(bytes, service: "grpc.reflection.v1.ServerReflection")
                usesV1Alpha.withLock { $0 = false }
            } catch let error as RPCError where error.code == .unimplemented {
                // The v1alpha messages are the v1 messages under another package: same bytes.
                answer = try await exchange(bytes, service: "grpc.reflection.v1alpha.ServerReflection")
                usesV1Alpha.withLock { $0 = true }
            }
        }
        let response: Grpc_Reflection_V1_ServerReflectionResponse
        do {
            response = try Grpc_Reflection_V1_ServerReflectionResponse(serializedBytes: answer)
        } catch {
            throw ReflectionError(code: .invalidResponse, message: "The server's reflection answer does not parse: \(error).")
        }
        if case .errorResponse(let failure)? = response.messageResponse {
            let code = StatusCode(wireValue: Int(failure.errorCode))
            throw ReflectionError(
                code: code == .notFound ? .notFound : .invalidResponse,
                message: failure.errorMessage.isEmpty ? "The server's reflection answered \(code)." : failure.errorMessage)
        }
        return response
    }

    private func exchange(_ request: [UInt8], service: String) async throws -> [UInt8] {
        let descriptor = MethodDescriptor(service: service, method: "ServerReflectionInfo", kind: .bidirectionalStreaming)
        return try await client.bidirectionalStreaming(
            descriptor: descriptor, serializer: RawBytesSerializer(), deserializer: RawBytesDeserializer(),
            metadata: metadata, options: options,
            requestProducer: { writer in try await writer.write(request) },
            onResponse: { response in
                var first: [UInt8]?
                // One answer per request; the stream then ends with OK.
                for try await message in response.messages where first == nil { first = message }
                guard let first else {
                    throw ReflectionError(code: .invalidResponse, message: "The server ended the reflection stream without answering.")
                }
                return first
            })
    }
}

extension ReflectionError {
    /// The gRPC status code this error is reported with (`oo call` prints it).
    public var statusCode: StatusCode {
        switch code {
        case .notFound: .notFound
        case .invalidResponse: .internal
        case .invalidArgument: .invalidArgument
        }
    }
}
