import Synchronization

/// Makes calls over a client transport. Generated client stubs wrap one.
///
/// The transport must be running for calls to complete: use
/// ``withGRPCClient(transport:interceptors:_:)``, or call ``runConnections()`` in a task of
/// your own and ``beginGracefulShutdown()`` when done.
public final class GRPCClient: Sendable {
    /// The transport calls go through.
    public let transport: any ClientTransport
    private let interceptors: [any ClientInterceptor]
    /// Default timeouts and retry policies per method.
    public let serviceConfiguration: ServiceConfiguration
    private let throttle: RetryThrottle?

    /// Creates a client; `interceptors` run around every call, first one outermost (once
    /// per call, retries included); `serviceConfiguration` gives per-method default
    /// timeouts and retry policies.
    public init(
        transport: any ClientTransport, interceptors: [any ClientInterceptor] = [],
        serviceConfiguration: ServiceConfiguration = ServiceConfiguration()
    ) {
        self.transport = transport
        self.interceptors = interceptors
        self.serviceConfiguration = serviceConfiguration
        self.throttle = serviceConfiguration.retryThrottling.map(RetryThrottle.init)
    }

    /// Runs the transport's connections until ``beginGracefulShutdown()`` and the end of
    /// the calls in flight.
    public func runConnections() async throws {
        try await transport.connect()
    }

    /// Lets calls in flight finish, refuses new ones, then closes connections.
    public func beginGracefulShutdown() {
        transport.beginGracefulShutdown()
    }

    /// Makes a unary call.
    public func unary<Request: Sendable, Response: Sendable, Result: Sendable>(
        request: Request,
        descriptor: MethodDescriptor,
        serializer: some MessageSerializer<Request>,
        deserializer: some MessageDeserializer<Response>,
        metadata: Metadata = [:],
        options: CallOptions = .defaults,
        onResponse: (ClientResponse<Response>) async throws -> Result
    ) async throws -> Result {
        let bytes = try serializeRequest(request, serializer)
        let response = try await call(descriptor, metadata, options, retryable: true) { stream, commit in
            try await stream.outbound.write(contentsOf: [.message(bytes, [])])
            await stream.outbound.finish()
            return try await ClientResponse.read(from: stream.inbound, deserializer: deserializer, commit: commit)
        }
        return try await onResponse(response)
    }

    /// Makes a client-streaming call: `requestProducer` writes the requests; the request
    /// stream ends when it returns.
    public func clientStreaming<Request: Sendable, Response: Sendable, Result: Sendable>(
        descriptor: MethodDescriptor,
        serializer: some MessageSerializer<Request>,
        deserializer: some MessageDeserializer<Response>,
        metadata: Metadata = [:],
        options: CallOptions = .defaults,
        requestProducer: (RPCWriter<Request>) async throws -> Void,
        onResponse: (ClientResponse<Response>) async throws -> Result
    ) async throws -> Result {
        let response = try await call(descriptor, metadata, options) { stream, _ in
            let writer = RPCWriter(wrapping: SerializingWriter(base: stream.outbound, serializer: serializer, wrap: { .message($0, $1) }))
            do {
                try await requestProducer(writer)
                await stream.outbound.finish()
            } catch {
                await stream.outbound.finish(throwing: error)
                throw error
            }
            return try await ClientResponse.read(from: stream.inbound, deserializer: deserializer)
        }
        return try await onResponse(response)
    }

    /// Makes a server-streaming call; the response is valid only inside `onResponse`.
    public func serverStreaming<Request: Sendable, Response: Sendable, Result: Sendable>(
        request: Request,
        descriptor: MethodDescriptor,
        serializer: some MessageSerializer<Request>,
        deserializer: some MessageDeserializer<Response>,
        metadata: Metadata = [:],
        options: CallOptions = .defaults,
        onResponse: (StreamingClientResponse<Response>) async throws -> Result
    ) async throws -> Result {
        let bytes = try serializeRequest(request, serializer)
        return try await call(descriptor, metadata, options, retryable: true) { stream, commit in
            try await stream.outbound.write(contentsOf: [.message(bytes, [])])
            await stream.outbound.finish()
            let response = try await StreamingClientResponse.read(from: stream.inbound, deserializer: deserializer)
            // Headers are in: the call is committed, and `onResponse` sees it exactly once.
            commit.commit()
            return try await onResponse(response)
        }
    }

    /// Makes a bidirectional-streaming call. `requestProducer` runs concurrently with
    /// `onResponse`; the request stream ends when it returns. When `onResponse` returns the
    /// call is over and a producer still running is cancelled.
    public func bidirectionalStreaming<Request: Sendable, Response: Sendable, Result: Sendable>(
        descriptor: MethodDescriptor,
        serializer: some MessageSerializer<Request>,
        deserializer: some MessageDeserializer<Response>,
        metadata: Metadata = [:],
        options: CallOptions = .defaults,
        requestProducer: @escaping @Sendable (RPCWriter<Request>) async throws -> Void,
        onResponse: (StreamingClientResponse<Response>) async throws -> Result
    ) async throws -> Result {
        try await call(descriptor, metadata, options) { stream, _ in
            let writer = RPCWriter(wrapping: SerializingWriter(base: stream.outbound, serializer: serializer, wrap: { .message($0, $1) }))
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await requestProducer(writer)
                        await stream.outbound.finish()
                    } catch {
                        await stream.outbound.finish(throwing: error)
                    }
                }
                let response = try await StreamingClientResponse.read(from: stream.inbound, deserializer: deserializer)
                let result = try await onResponse(response)
                group.cancelAll()
                return result
            }
        }
    }

    /// Runs the interceptors, then the attempts: each opens a stream, sends the request
    /// metadata and runs `body`. A `retryable` call (its requests all known up front) is
    /// tried again under the method's retry policy while `body` has not committed it (no
    /// response headers yet), within the call's one deadline and the client's throttle.
    private func call<Result: Sendable>(
        _ descriptor: MethodDescriptor, _ metadata: Metadata, _ options: CallOptions, retryable: Bool = false,
        _ body: (RPCStream<RPCResponsePart, RPCRequestPart>, AttemptCommit) async throws -> Result
    ) async throws -> Result {
        let methodConfiguration = serviceConfiguration.configuration(for: descriptor)
        var options = options
        // The caller's timeout, else the method's default; never past the deadline the
        // handler making this call inherited (as grpc-go and grpc-java do).
        let own = options.timeout ?? methodConfiguration?.timeout
        switch (own, CallDeadline.inheritedTimeout()) {
        case let (own?, inherited?): options.timeout = min(own, inherited)
        case let (own, inherited): options.timeout = own ?? inherited
        }
        let head = ClientCallHead(descriptor: descriptor, metadata: metadata, options: options)
        let policy = retryable ? methodConfiguration?.retryPolicy : nil
        return try await intercept(head, index: interceptors.startIndex) { head in
            let deadline = head.options.timeout.map { ContinuousClock.now + $0 }
            var attempt = 1
            var backoffBound = policy?.initialBackoff ?? .zero
            while true {
                let commit = AttemptCommit()
                var attemptOptions = head.options
                var attemptMetadata = head.metadata
                if let deadline { attemptOptions.timeout = deadline - .now }
                if attempt > 1 { attemptMetadata.addString("\(attempt - 1)", forKey: "grpc-previous-rpc-attempts") }
                let error: RPCError
                do {
                    let result = try await transport.withStream(descriptor: head.descriptor, options: attemptOptions) { stream in
                        try await stream.outbound.write(.metadata(attemptMetadata))
                        let counted = RPCStream(
                            descriptor: stream.descriptor,
                            inbound: RPCAsyncSequence(wrapping: CountingSequence(base: stream.inbound, counts: head.messages)),
                            outbound: ClosableRPCWriter(wrapping: CountingWriter(base: stream.outbound, counts: head.messages)))
                        return try await body(counted, commit)
                    }
                    if policy != nil { throttle?.recordSuccess() }
                    return result
                } catch let rpcError as RPCError {
                    error = rpcError
                } catch {
                    throw RPCError(converting: error)
                }
                guard let policy, !commit.isCommitted, policy.retryableStatusCodes.contains(error.code) else {
                    if let policy, policy.retryableStatusCodes.contains(error.code) { _ = throttle?.recordFailure() }
                    throw error
                }
                let throttleAllows = throttle?.recordFailure() ?? true
                guard throttleAllows, attempt < policy.maxAttempts, !Task.isCancelled else { throw error }
                // The server may say when (or that not) to retry.
                let delay: Duration
                if let pushback = error.metadata.firstString(forKey: "grpc-retry-pushback-ms") {
                    guard let milliseconds = Int64(pushback), milliseconds >= 0 else { throw error }
                    delay = .milliseconds(milliseconds)
                    backoffBound = policy.initialBackoff
                } else {
                    let bound = backoffBound / .milliseconds(1)
                    delay = .milliseconds(Int64(Double.random(in: 0...max(bound, 0))))
                    // Clamped before multiplying: Duration * Double traps on overflow.
                    backoffBound = backoffBound >= policy.maxBackoff / policy.backoffMultiplier
                        ? policy.maxBackoff : min(backoffBound * policy.backoffMultiplier, policy.maxBackoff)
                }
                if let deadline, ContinuousClock.now + delay >= deadline { throw error }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw RPCError(code: .cancelled, message: "The call was cancelled while waiting to retry.")
                }
                attempt += 1
            }
        }
    }

    private func intercept<Result: Sendable>(
        _ head: ClientCallHead, index: Int, _ call: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        guard index < interceptors.endIndex else { return try await call(head) }
        return try await interceptors[index].intercept(head) { head in
            try await intercept(head, index: index + 1, call)
        }
    }

    private func serializeRequest<Request>(_ request: Request, _ serializer: some MessageSerializer<Request>) throws -> [UInt8] {
        do {
            return try serializer.serialize(request)
        } catch {
            throw RPCError(code: .internal, message: "Failed to serialize the request \(Request.self): \(error)", cause: error)
        }
    }
}

/// Runs `body` with a client whose transport is running, then shuts the client down
/// gracefully and waits for its connections to close.
///
/// ```swift
/// try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: 50051)) { client in
///     let greeter = Oo_Example_V1_Greeter_Client(wrapping: client)
///     print(try await greeter.sayHello(.with { $0.name = "oO" }).message)
/// }
/// ```
public func withGRPCClient<Result: Sendable>(
    transport: some ClientTransport,
    interceptors: [any ClientInterceptor] = [],
    _ body: (GRPCClient) async throws -> Result
) async throws -> Result {
    let client = GRPCClient(transport: transport, interceptors: interceptors)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        let result: Result
        do {
            result = try await body(client)
        } catch {
            client.beginGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
        client.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// Whether an attempt got far enough (response headers arrived) that it must not be retried.
final class AttemptCommit: Sendable {
    private let committed = Mutex(false)

    func commit() { committed.withLock { $0 = true } }

    var isCommitted: Bool { committed.withLock { $0 } }
}
