/// Runs around every call a server handles: for authentication, logging, metrics, tracing.
///
/// Call `next` to continue to the next interceptor and finally the handler; throw an
/// ``RPCError`` instead to reject the call with that status.
///
/// ```swift
/// struct RequireToken: ServerInterceptor {
///     func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
///         guard context.requestMetadata.firstString(forKey: "authorization") != nil else {
///             throw RPCError(code: .unauthenticated, message: "Missing 'authorization' metadata.")
///         }
///         try await next(context)
///     }
/// }
/// ```
public protocol ServerInterceptor: Sendable {
    /// Intercepts one call.
    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws
}

/// A server interceptor applied only to the calls of some services or methods; other calls
/// pass straight through. Make one with ``ServerInterceptor/scoped(services:methods:)``.
public struct ScopedServerInterceptor: ServerInterceptor {
    let base: any ServerInterceptor
    let services: Set<String>
    let methods: Set<String>

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        if services.contains(context.descriptor.service) || methods.contains(context.descriptor.path) {
            try await base.intercept(context: context, next: next)
        } else {
            try await next(context)
        }
    }
}

extension ServerInterceptor {
    /// This interceptor, run only for the calls of `services` (fully qualified names) and of
    /// `methods`.
    public func scoped(services: Set<String> = [], methods: [MethodDescriptor] = []) -> ScopedServerInterceptor {
        ScopedServerInterceptor(base: self, services: services, methods: Set(methods.map(\.path)))
    }
}
