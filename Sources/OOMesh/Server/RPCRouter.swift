/// A service a server can host; generated service protocols conform to it and register
/// every method they declare.
public protocol RPCService: Sendable {
    /// Adds this service's methods to `router`.
    func registerMethods(with router: inout RPCRouter)

    /// Where this service's handlers run. Default: ``HandlerExecution/transport``.
    var handlerExecution: HandlerExecution { get }
}

extension RPCService {
    public var handlerExecution: HandlerExecution { .transport }
}

/// Where a service's handlers run.
public enum HandlerExecution: Sendable, Hashable {
    /// Where the transport starts them. The HTTP/2 transport starts each handler on its
    /// connection's event loop: a handler that answers without suspending elsewhere costs
    /// no thread hop, but while it computes, every other call on that loop waits (and its
    /// deadline timers). Right for handlers that mostly await other calls or do little work.
    case transport
    /// On Swift's global concurrent pool, off any event loop: one thread hop each way per
    /// call, and no stall of the loop however long the handler computes. Right for
    /// services that do real work per call (scoring, compression, large messages).
    case concurrentPool
}

/// Maps `:path`s to handlers. Generated code fills it; servers look calls up in it.
public struct RPCRouter: Sendable {
    /// Runs one call: reads request parts (after the metadata), writes response parts up
    /// to and including an OK status, or throws to fail the call.
    typealias MethodHandler = @Sendable (
        RPCAsyncSequence<RPCRequestPart>, ClosableRPCWriter<RPCResponsePart>, ServerContext, ResponseHead
    ) async throws -> Void

    /// A registered method: how to run it and its call shape.
    struct Route {
        var handler: MethodHandler
        var kind: RPCKind
        var execution: HandlerExecution = .transport
        /// What the web protocols need to know of it.
        var served: ServedMethod
    }

    /// Looked up by service and method name, so a call needs no `:path` string built.
    private struct MethodKey: Hashable {
        var service: String
        var method: String
    }

    private var routes: [MethodKey: Route] = [:]
    private(set) var services: Set<String> = []

    /// Creates an empty router.
    public init() {}

    /// The methods registered so far, as `/package.Service/Method` paths, sorted.
    public var methods: [String] { routes.keys.map { "/\($0.service)/\($0.method)" }.sorted() }

    /// The fully qualified names of the services registered so far, sorted.
    public var serviceNames: [String] { services.sorted() }

    mutating func register(
        _ descriptor: MethodDescriptor, deserializer: some Sendable, serializer: some Sendable, _ handler: @escaping MethodHandler
    ) {
        let served = ServedMethod(
            descriptor: descriptor, requestJSON: deserializer as? any JSONTranscoder, responseJSON: serializer as? any JSONTranscoder)
        routes[MethodKey(service: descriptor.service, method: descriptor.method)] = Route(
            handler: handler, kind: descriptor.kind, served: served)
        services.insert(descriptor.service)
    }

    /// What the registered methods are, for transports that speak more than gRPC.
    public var servedMethods: ServedMethods {
        var table: [String: ServedMethod] = [:]
        for (key, route) in routes { table["/\(key.service)/\(key.method)"] = route.served }
        return ServedMethods(table)
    }

    /// The route for a call's service and method (the descriptor's kind is not consulted).
    func route(for descriptor: MethodDescriptor) -> Route? {
        routes[MethodKey(service: descriptor.service, method: descriptor.method)]
    }

    func hasService(_ name: String) -> Bool { services.contains(name) }

    /// Registers `service`'s methods, to run where it says (``RPCService/handlerExecution``).
    mutating func add(_ service: any RPCService) {
        let before = Set(routes.keys)
        service.registerMethods(with: &self)
        let execution = service.handlerExecution
        guard execution != .transport else { return }
        for key in routes.keys where !before.contains(key) { routes[key]!.execution = execution }
    }

    /// Registers a unary method: one request in, one response out.
    public mutating func registerUnary<Request: Sendable, Response: Sendable>(
        _ descriptor: MethodDescriptor,
        deserializer: some MessageDeserializer<Request>,
        serializer: some MessageSerializer<Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        register(descriptor, deserializer: deserializer, serializer: serializer) { inbound, outbound, context, head in
            let request = try await readSingleRequest(inbound, deserializer, context)
            let response = try await handler(request, context)
            let bytes = try serializeResponse(response, serializer)
            var parts: [RPCResponsePart] = []
            parts.reserveCapacity(3)
            if let metadata = head.takeIfUnsent(forMessages: true) { parts.append(.metadata(metadata)) }
            parts.append(.message(bytes, []))
            parts.append(.status(.ok, context.trailingMetadata))
            try await outbound.write(contentsOf: parts)
            context.noteResponseMessages(1)
        }
    }

    /// Registers a client-streaming method: a stream of requests in, one response out.
    public mutating func registerClientStreaming<Request: Sendable, Response: Sendable>(
        _ descriptor: MethodDescriptor,
        deserializer: some MessageDeserializer<Request>,
        serializer: some MessageSerializer<Response>,
        handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) {
        register(descriptor, deserializer: deserializer, serializer: serializer) { inbound, outbound, context, head in
            let response = try await handler(RequestStream(parts: inbound, deserializer: deserializer, context: context), context)
            let bytes = try serializeResponse(response, serializer)
            var parts: [RPCResponsePart] = []
            parts.reserveCapacity(3)
            if let metadata = head.takeIfUnsent(forMessages: true) { parts.append(.metadata(metadata)) }
            parts.append(.message(bytes, []))
            parts.append(.status(.ok, context.trailingMetadata))
            try await outbound.write(contentsOf: parts)
            context.noteResponseMessages(1)
        }
    }

    /// Registers a server-streaming method: one request in, a stream of responses out.
    public mutating func registerServerStreaming<Request: Sendable, Response: Sendable>(
        _ descriptor: MethodDescriptor,
        deserializer: some MessageDeserializer<Request>,
        serializer: some MessageSerializer<Response>,
        handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(descriptor, deserializer: deserializer, serializer: serializer) { inbound, outbound, context, head in
            let request = try await readSingleRequest(inbound, deserializer, context)
            try await handler(request, ResponseWriter(outbound: outbound, serializer: serializer, head: head), context)
            try await finishStreaming(outbound, context, head)
        }
    }

    /// Registers a bidirectional-streaming method: streams both ways.
    public mutating func registerBidirectionalStreaming<Request: Sendable, Response: Sendable>(
        _ descriptor: MethodDescriptor,
        deserializer: some MessageDeserializer<Request>,
        serializer: some MessageSerializer<Response>,
        handler: @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(descriptor, deserializer: deserializer, serializer: serializer) { inbound, outbound, context, head in
            try await handler(
                RequestStream(parts: inbound, deserializer: deserializer, context: context),
                ResponseWriter(outbound: outbound, serializer: serializer, head: head), context)
            try await finishStreaming(outbound, context, head)
        }
    }
}

/// Reads the one request message of a unary or server-streaming call.
private func readSingleRequest<Request>(
    _ inbound: RPCAsyncSequence<RPCRequestPart>, _ deserializer: some MessageDeserializer<Request>, _ context: ServerContext
) async throws -> Request {
    var iterator = inbound.makeAsyncIterator()
    guard let part = try await iterator.next() else {
        throw RPCError(code: .internal, message: "The client ended the request stream without sending the request message.")
    }
    guard case .message(let bytes, let flags) = part else {
        throw RPCError(code: .internal, message: "Expected a request message, received metadata.")
    }
    guard case .none = try await iterator.next() else {
        throw RPCError(code: .internal, message: "The client sent more than one request message to a method that takes one.")
    }
    context.noteRequestMessage(flags)
    return try deserializer.deserializeRequest(bytes)
}

private func serializeResponse<Response>(_ response: Response, _ serializer: some MessageSerializer<Response>) throws -> [UInt8] {
    do {
        return try serializer.serialize(response)
    } catch {
        throw RPCError(code: .internal, message: "Failed to serialize the response \(Response.self): \(error)", cause: error)
    }
}

/// Ends a streaming response: headers if none went out yet (only when there is metadata to
/// send; otherwise the response is Trailers-Only), then the OK status.
private func finishStreaming(_ outbound: ClosableRPCWriter<RPCResponsePart>, _ context: ServerContext, _ head: ResponseHead) async throws {
    var parts: [RPCResponsePart] = []
    if let metadata = head.takeIfUnsent(forMessages: false), !metadata.isEmpty { parts.append(.metadata(metadata)) }
    parts.append(.status(.ok, context.trailingMetadata))
    try await outbound.write(contentsOf: parts)
}
