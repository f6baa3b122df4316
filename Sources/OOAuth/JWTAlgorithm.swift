/// A JWS signature algorithm this module signs and verifies (RFC 7518 §3).
///
/// Only two are supported, on purpose: `HS256` for shared secrets and `ES256` for P-256 key
/// pairs. Tokens naming any other algorithm, `none` included, are rejected before any key is
/// touched.
public enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// HMAC with SHA-256 over a shared secret of at least 32 bytes.
    case hs256 = "HS256"
    /// ECDSA on P-256 with SHA-256; the JWS signature is the raw 64-byte `r || s`.
    case es256 = "ES256"

    /// The `alg` header value, e.g. `HS256`.
    public var description: String { rawValue }
}
