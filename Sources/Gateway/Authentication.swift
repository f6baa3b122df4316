import Foundation
import OOAuth
import OOMesh

/// The user a gateway call was authenticated as: the `sub` of its bearer token. Set by
/// ``AuthenticationInterceptor`` for the duration of the handler.
public enum AuthenticatedUser {
    @TaskLocal public static var current: String?

    /// The caller, or UNAUTHENTICATED when the call did not pass authentication (a handler
    /// reached without the interceptor is a wiring bug, and is refused rather than trusted).
    static func require() throws -> String {
        guard let user = current else {
            throw RPCError(code: .unauthenticated, message: "The call was not authenticated.")
        }
        return user
    }
}

/// Checks the JWT bearer token in the `authorization` metadata of every call to the
/// services it guards (health checks and reflection are left open, as orchestrators and
/// tools call them without credentials), then applies the caller's rate limit.
public struct AuthenticationInterceptor: ServerInterceptor {
    private let keys: JWTKeyRing
    private let rateLimiter: RateLimiter?
    private let guardedServices: Set<String>

    /// Guards the services named in `guardedServices` (fully qualified, e.g.
    /// `oo.gateway.v1.Gateway`), with per-user rate limits from `configuration`.
    public init(verifier: JWTVerifier, guardedServices: Set<String>, configuration: GatewayConfiguration = .defaults) {
        self.init(keys: JWTKeyRing(verifier), guardedServices: guardedServices, configuration: configuration)
    }

    /// Guards the services named in `guardedServices` with whichever verifier `keys` holds
    /// when a call arrives, so rotated keys apply without a restart.
    public init(keys: JWTKeyRing, guardedServices: Set<String>, configuration: GatewayConfiguration = .defaults) {
        self.keys = keys
        self.guardedServices = guardedServices
        self.rateLimiter = RateLimiter(
            ratePerSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst,
            maxUsers: configuration.maxTrackedUsers)
    }

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        guard guardedServices.contains(context.descriptor.service) else {
            try await next(context)
            return
        }
        guard let header = context.requestMetadata.firstString(forKey: "authorization") else {
            throw RPCError(code: .unauthenticated, message: "Missing 'authorization' metadata: send 'Bearer <JWT>'.")
        }
        guard let token = JWTVerifier.bearerToken(fromAuthorization: header) else {
            throw RPCError(code: .unauthenticated, message: "The 'authorization' metadata is not a bearer token: send 'Bearer <JWT>'.")
        }
        let claims: JWTClaims
        do {
            claims = try keys.verify(token, now: Date())
        } catch {
            let code: StatusCode = error.status == .permissionDenied ? .permissionDenied : .unauthenticated
            throw RPCError(code: code, message: "Token refused: \(error.message)")
        }
        if let rateLimiter, !rateLimiter.allow(claims.subject) {
            throw RPCError(code: .resourceExhausted, message: "Rate limit exceeded for this user; slow down and retry.")
        }
        try await AuthenticatedUser.$current.withValue(claims.subject) {
            try await next(context)
        }
    }
}
