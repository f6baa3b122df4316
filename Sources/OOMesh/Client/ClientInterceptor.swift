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

/// A client interceptor applied only to the calls of some services or methods. Make one
/// with ``ClientInterceptor/scoped(services:methods:)``.
public struct ScopedClientInterceptor: ClientInterceptor {
    let base: any ClientInterceptor
    let services: Set<String>
    let methods: Set<String>

    public func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        if services.contains(head.descriptor.service) || methods.contains(head.descriptor.path) {
            return try await base.intercept(head, next: next)
        }
        return try await next(head)
    }
}

extension ClientInterceptor {
    /// This interceptor, run only for the calls of `services` and of `methods`.
    public func scoped(services: Set<String> = [], methods: [MethodDescriptor] = []) -> ScopedClientInterceptor {
        ScopedClientInterceptor(base: self, services: services, methods: Set(methods.map(\.path)))
    }
}
