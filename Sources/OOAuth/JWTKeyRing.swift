import Synchronization

/// The ``JWTVerifier`` a server checks tokens with now, replaced whole when its keys rotate.
///
/// Keys rotate with overlap: publish the new key beside the old one (tokens of both verify),
/// start signing with the new one, and once the old tokens have expired remove the old key
/// (tokens signed with it are refused from then on). Whoever watches the key files calls
/// ``replace(with:)``; calls in flight keep the verifier they read.
///
/// ```swift
/// let ring = JWTKeyRing(try JWTVerifier(configuration: configuration))
/// let claims = try ring.verifier.verify(token)
/// ring.replace(with: try JWTVerifier(configuration: rotated))
/// ```
public final class JWTKeyRing: Sendable {
    private let current: Mutex<JWTVerifier>

    /// Starts with `verifier`.
    public init(_ verifier: JWTVerifier) {
        current = Mutex(verifier)
    }

    /// The verifier to check the next token with.
    public var verifier: JWTVerifier {
        current.withLock { $0 }
    }

    /// Makes `verifier` the one every later call checks tokens with.
    public func replace(with verifier: JWTVerifier) {
        current.withLock { $0 = verifier }
    }
}
