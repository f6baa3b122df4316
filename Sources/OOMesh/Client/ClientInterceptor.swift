/// What a client interceptor sees of a call before it starts, and may change.
public struct ClientCallHead: Sendable {
    /// The method being called.
    public var descriptor: MethodDescriptor
    /// The request metadata to send.
    public var metadata: Metadata
    /// The call's options (timeout and limits).
    public var options: CallOptions

    /// Creates a call head.
    public init(descriptor: MethodDescriptor, metadata: Metadata, options: CallOptions) {
        self.descriptor = descriptor
        self.metadata = metadata
        self.options = options
    }
}

/// Runs around every call a client makes: to add credentials, log, measure or retry.
///
/// Call `next` to continue to the next interceptor and finally the transport; it returns
/// what the call returns and throws the call's ``RPCError``.
public protocol ClientInterceptor: Sendable {
    /// Intercepts one call.
    func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result
}
