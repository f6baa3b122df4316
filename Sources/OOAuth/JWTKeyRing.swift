import Foundation
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
/// let claims = try ring.verify(token)
/// ring.replace(with: try JWTVerifier(configuration: rotated))
/// ```
public final class JWTKeyRing: Sendable {
    /// The most tokens (and bytes of them) whose signature is remembered: past either, the
    /// oldest are forgotten first.
    public struct CacheLimits: Sendable, Hashable {
        /// Default: 4,096 tokens.
        public var maxTokens = 4_096
        /// Default: 4 MiB of token text.
        public var maxBytes = 4 << 20
        /// Creates the defaults.
        public init() {}
    }

    private struct State {
        var verifier: JWTVerifier
        /// Counts replacements of the verifier.
        var generation = 0
        /// Tokens whose signature verified with `verifier`'s keys, with what they say.
        var verified: [String: JWTVerifiedToken] = [:]
        /// `verified`'s keys, oldest first, for eviction; `head` is the oldest's index.
        var order: [String] = []
        var head = 0
        var bytes = 0
    }

    private let state: Mutex<State>
    private let limits: CacheLimits

    /// Starts with `verifier`.
    public init(_ verifier: JWTVerifier, cacheLimits: CacheLimits = CacheLimits()) {
        state = Mutex(State(verifier: verifier))
        limits = cacheLimits
    }

    /// The verifier to check the next token with.
    public var verifier: JWTVerifier {
        state.withLock { $0.verifier }
    }

    /// Makes `verifier` the one every later call checks tokens with, and forgets every
    /// signature checked with the keys before it.
    public func replace(with verifier: JWTVerifier) {
        state.withLock { $0 = State(verifier: verifier, generation: $0.generation + 1) }
    }

    /// ``JWTVerifier/verify(_:now:)`` with the current verifier, checking a token's signature
    /// once: a client sends the same token with every call, so a token seen before (the same
    /// text, with the same keys) skips the base64, JSON and signature work. Its claims (expiry,
    /// lifetime, issuer, audience, subject) are checked against `now` every time.
    public func verify(_ token: String, now: Date = Date()) throws(JWTError) -> JWTClaims {
        let (verifier, generation, known) = state.withLock { ($0.verifier, $0.generation, $0.verified[token]) }
        if let known { return try verifier.checkClaims(known, now: now) }
        let verified = try verifier.verifySignature(token)
        let claims = try verifier.checkClaims(verified, now: now)
        remember(token, verified, generation: generation)
        return claims
    }

    /// Number of tokens whose signature is remembered.
    public var rememberedTokens: Int { state.withLock { $0.verified.count } }

    private func remember(_ token: String, _ verified: JWTVerifiedToken, generation: Int) {
        let size = token.utf8.count
        guard limits.maxTokens > 0, size <= limits.maxBytes else { return }
        state.withLock { state in
            // Keys replaced meanwhile: what the old ones verified is not remembered.
            guard state.generation == generation, state.verified[token] == nil else { return }
            while state.verified.count >= limits.maxTokens || state.bytes + size > limits.maxBytes {
                let oldest = state.order[state.head]
                state.head += 1
                state.bytes -= oldest.utf8.count
                state.verified[oldest] = nil
            }
            // Compacted once half of it is forgotten entries: O(1) amortized per token.
            if state.head > state.order.count / 2 {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            state.verified[token] = verified
            state.order.append(token)
            state.bytes += size
        }
    }
}
