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
