/// Serves RPC services over a transport.
///
/// ```swift
/// let server = GRPCServer(transport: HTTP2ServerTransport(...), services: [Greeter()])
/// try await server.serve()   // returns after beginGracefulShutdown() and draining
/// ```
public final class GRPCServer: Sendable {
    /// The transport the server listens on.
    public let transport: any ServerTransport
    private let router: RPCRouter
    private let interceptors: [any ServerInterceptor]

    /// Creates a server for `services`; `interceptors` run around every call, first one outermost.
    public init(transport: any ServerTransport, services: [any RPCService], interceptors: [any ServerInterceptor] = []) {
        var router = RPCRouter()
        for service in services { router.add(service) }
        self.transport = transport
        self.router = router
        self.interceptors = interceptors
    }

    /// Accepts and serves calls until the server shuts down: after
    /// ``beginGracefulShutdown()``, or when the task running it is cancelled (which begins
    /// the same graceful shutdown), once the calls in flight have drained.
    public func serve() async throws {
        try await withTaskCancellationHandler {
            try await transport.listen(streamHandler: { stream, context in
                await self.handle(stream, context)
            }, methods: router.servedMethods)
        } onCancel: {
            self.beginGracefulShutdown()
        }
    }

    /// Returns once the server accepts calls (``serve()`` has started its transport's
    /// listener); throws when the server shut down first.
    ///
    /// ```swift
    /// group.addTask { try await server.serve() }
    /// try await server.waitUntilListening()   // now clients will be answered
    /// ```
    public func waitUntilListening() async throws {
        try await transport.waitUntilListening()
    }

    /// Stops accepting new calls; calls in flight may finish, then ``serve()`` returns.
    public func beginGracefulShutdown() {
        transport.beginGracefulShutdown()
    }

    private func handle(_ stream: RPCStream<RPCRequestPart, RPCResponsePart>, _ streamContext: ServerStreamContext) async {
        var iterator = stream.inbound.makeAsyncIterator()
        let requestMetadata: Metadata
        do {
            guard case .metadata(let metadata)? = try await iterator.next() else {
                try? await stream.outbound.write(.status(Status(code: .internal, message: "The stream did not start with request metadata."), [:]))
                return
            }
            requestMetadata = metadata
        } catch {
            return  // The stream failed before it began; the transport has torn it down.
        }

        var descriptor = streamContext.descriptor
        guard let route = router.route(for: descriptor) else {
            let message = router.hasService(descriptor.service)
                ? "Method '\(descriptor.method)' is not implemented by service '\(descriptor.service)'."
                : "Service '\(descriptor.service)' is not implemented by this server."
            try? await stream.outbound.write(.status(Status(code: .unimplemented, message: message), [:]))
            return
        }

        descriptor.kind = route.kind
        let handler = route.handler
        let context = ServerContext(
            descriptor: descriptor, requestMetadata: requestMetadata,
            peer: streamContext.peer, deadline: streamContext.deadline, peerIdentity: streamContext.peerIdentity,
            requestEncoding: streamContext.requestEncoding)
        let head = ResponseHead(context: context)
        if route.execution == .concurrentPool {
            // Off the transport's thread for the rest of the call (see HandlerExecution).
            await withTaskExecutorPreference(globalConcurrentExecutor) {
                await run(handler, stream, context, head)
            }
        } else {
            await run(handler, stream, context, head)
        }
    }

    private func run(
        _ handler: RPCRouter.MethodHandler, _ stream: RPCStream<RPCRequestPart, RPCResponsePart>, _ context: ServerContext,
        _ head: ResponseHead
    ) async {
        do {
            try await intercept(context, index: interceptors.startIndex) { context in
                try await handler(stream.inbound, stream.outbound, context, head)
            }
        } catch {
            let rpcError = RPCError(converting: error)
            var trailers = context.trailingMetadata
            trailers.add(contentsOf: rpcError.metadata)
            var parts: [RPCResponsePart] = []
            if let metadata = head.takeIfUnsent(forMessages: false), !metadata.isEmpty { parts.append(.metadata(metadata)) }
            parts.append(.status(rpcError.status, trailers))
            try? await stream.outbound.write(contentsOf: parts)
        }
    }

    private func intercept(
        _ context: ServerContext, index: Int, handler: (ServerContext) async throws -> Void
    ) async throws {
        guard index < interceptors.endIndex else {
            // The handler's calls inherit its deadline (CallDeadline.current).
            return try await CallDeadline.$current.withValue(context.deadline) { try await handler(context) }
        }
        try await interceptors[index].intercept(context: context) { context in
            try await intercept(context, index: index + 1, handler: handler)
        }
    }
}
