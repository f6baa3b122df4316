public import OOMesh
import SwiftProtobuf

/// A method of a service in a ``DescriptorPool``, with its message types and call shape.
public struct ResolvedMethod: Sendable, Hashable {
    /// The fully qualified service name.
    public let service: String
    /// The method name.
    public let name: String
    /// The fully qualified request message type.
    public let inputType: String
    /// The fully qualified response message type.
    public let outputType: String
    /// Whether the client sends a stream of requests.
    public let clientStreaming: Bool
    /// Whether the server sends a stream of responses.
    public let serverStreaming: Bool

    /// The call's shape.
    public var kind: RPCKind {
        switch (clientStreaming, serverStreaming) {
        case (false, false): .unary
        case (true, false): .clientStreaming
        case (false, true): .serverStreaming
        case (true, true): .bidirectionalStreaming
        }
    }

    /// The descriptor calls go out with.
    public var descriptor: MethodDescriptor { MethodDescriptor(service: service, method: name, kind: kind) }

    /// Splits `package.Service/Method` or `package.Service.Method` (a leading `/` is allowed).
    /// - Throws: ``ReflectionError`` (`.invalidArgument`) when either part is missing.
    public static func split(_ text: String) throws(ReflectionError) -> (service: String, method: String) {
        let trimmed = text.hasPrefix("/") ? String(text.dropFirst()) : text
        let separator: String.Index?
        if let slash = trimmed.lastIndex(of: "/") { separator = slash } else { separator = trimmed.lastIndex(of: ".") }
        guard let separator else {
            throw ReflectionError(code: .invalidArgument, message: "'\(text)' is not a method: write SERVICE/METHOD or SERVICE.METHOD, e.g. oo.example.v1.Greeter/SayHello.")
        }
        let service = String(trimmed[..<separator]), method = String(trimmed[trimmed.index(after: separator)...])
        guard !service.isEmpty, !method.isEmpty, !service.contains("/") else {
            throw ReflectionError(code: .invalidArgument, message: "'\(text)' is not a method: write SERVICE/METHOD or SERVICE.METHOD, e.g. oo.example.v1.Greeter/SayHello.")
        }
        return (service, method)
    }
}

extension DescriptorPool {
    /// The method `method` of service `service`.
    /// - Throws: ``ReflectionError`` (`.notFound`) naming what is missing and what exists.
    public func method(service: String, method: String) throws(ReflectionError) -> ResolvedMethod {
        guard let serviceType = self.service(named: service) else {
            throw ReflectionError(code: .notFound, message: "Service '\(service)' is not in the descriptors loaded.")
        }
        guard let proto = serviceType.method(named: method) else {
            let names = serviceType.proto.method.map(\.name).joined(separator: ", ")
            throw ReflectionError(code: .notFound, message: "Service '\(service)' has no method '\(method)' (it has: \(names)).")
        }
        return ResolvedMethod(
            service: serviceType.fullName, name: proto.name,
            inputType: resolve(proto.inputType, scope: serviceType.fullName),
            outputType: resolve(proto.outputType, scope: serviceType.fullName),
            clientStreaming: proto.clientStreaming, serverStreaming: proto.serverStreaming)
    }
}

/// Calls any method of a ``DescriptorPool`` with JSON requests, handing back JSON
/// responses: the engine of `oo call SERVICE/METHOD`.
public struct DynamicCaller: Sendable {
    /// The client calls go through.
    public let client: GRPCClient
    /// The codec requests and responses go through.
    public let codec: DynamicCodec

    /// A caller over `client` with the types of `pool`.
    public init(client: GRPCClient, pool: DescriptorPool) {
        self.client = client
        self.codec = DynamicCodec(pool: pool)
    }

    /// Calls `method` and hands each response to `onResponse` as it arrives.
    ///
    /// Unary and server-streaming methods take exactly one request (none means `{}`);
    /// client- and bidirectional-streaming methods take any number, sent in order. Every
    /// request is encoded before the call starts, so malformed JSON never reaches the server.
    /// - Throws: ``TranscodingError`` for a request that does not fit the method's input
    ///   type (or a response that does not parse), ``RPCError`` when the call fails.
    public func call(
        _ method: ResolvedMethod, requests: [JSONValue], metadata: Metadata = [:], options: CallOptions = .defaults,
        onResponse: (JSONValue) async throws -> Void
    ) async throws {
        var encoded: [[UInt8]] = []
        for (index, request) in requests.enumerated() {
            do {
                encoded.append(try codec.encode(request, messageType: method.inputType))
            } catch {
                throw requests.count > 1 ? TranscodingError(path: "request \(index + 1): " + error.path, message: error.message) : error
            }
        }
        if !method.clientStreaming {
            guard encoded.count <= 1 else {
                throw TranscodingError(path: "", message: "\(method.service)/\(method.name) takes one request, got \(encoded.count)")
            }
            if encoded.isEmpty { encoded = [[]] }
        }
        let codec = self.codec
        let outputType = method.outputType
        let serializer = RawBytesSerializer(), deserializer = RawBytesDeserializer()
        switch method.kind {
        case .unary:
            let bytes = try await client.unary(
                request: encoded[0], descriptor: method.descriptor, serializer: serializer, deserializer: deserializer,
                metadata: metadata, options: options) { $0.message }
            try await onResponse(try codec.decode(bytes, messageType: outputType))
        case .serverStreaming:
            try await client.serverStreaming(
                request: encoded[0], descriptor: method.descriptor, serializer: serializer, deserializer: deserializer,
                metadata: metadata, options: options
            ) { response in
                for try await bytes in response.messages { try await onResponse(try codec.decode(bytes, messageType: outputType)) }
            }
        case .clientStreaming:
            let requests = encoded
            let bytes = try await client.clientStreaming(
                descriptor: method.descriptor, serializer: serializer, deserializer: deserializer,
                metadata: metadata, options: options,
                requestProducer: { writer in for request in requests { try await writer.write(request) } },
                onResponse: { $0.message })
            try await onResponse(try codec.decode(bytes, messageType: outputType))
        case .bidirectionalStreaming:
            let requests = encoded
            try await client.bidirectionalStreaming(
                descriptor: method.descriptor, serializer: serializer, deserializer: deserializer,
                metadata: metadata, options: options,
                requestProducer: { writer in for request in requests { try await writer.write(request) } },
                onResponse: { response in
                    for try await bytes in response.messages { try await onResponse(try codec.decode(bytes, messageType: outputType)) }
                })
        }
    }
}
