/// Why a token was refused, and which gRPC status to answer with.
///
/// Thrown by ``JWTVerifier/verify(_:now:)`` and ``JWTVerifier/verifySignature(_:)``. The
/// ``message`` says what to fix ("token expired at 2026-11-30T10:00:00Z (now
/// 2026-11-30T10:05:12Z, skew 60 s)") but never contains the token, a signature or a key.
///
/// ```swift
/// do throws(JWTError) {
///     let claims = try verifier.verify(token)
/// } catch {
///     throw RPCError(code: StatusCode(rawValue: error.status.rawValue)!, message: error.message)
/// }
/// ```
///
/// The kinds, and the status each maps to:
/// - ``Kind/malformed``: not three base64url parts, not JSON objects, a registered claim of
///   the wrong type, a `crit` header, or longer than the configured maximum → unauthenticated.
/// - ``Kind/unsupportedAlgorithm``: `alg` is `none`, unknown, or does not match the key
///   (algorithm confusion) → unauthenticated.
/// - ``Kind/unknownKey``: the `kid` names no configured key → unauthenticated.
/// - ``Kind/badSignature``: no configured key verifies the signature → unauthenticated.
/// - ``Kind/expired``: `exp` has passed, allowing for clock skew → unauthenticated.
/// - ``Kind/notYetValid``: `nbf` is still ahead, allowing for clock skew → unauthenticated.
/// - ``Kind/wrongType``: `typ` is present but not `JWT` or `at+jwt` → unauthenticated.
/// - ``Kind/tooLongLived``: `exp − iat`, or `exp − now`, exceeds the maximum lifetime →
///   unauthenticated.
/// - ``Kind/missingClaim``: `exp` is absent, or `sub` is absent or empty → unauthenticated.
/// - ``Kind/wrongIssuer``: `iss` is absent or not the configured issuer → permission denied.
/// - ``Kind/wrongAudience``: `aud` is absent or does not contain the configured audience →
///   permission denied.
public struct JWTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The gRPC status a server answers with; the raw values are gRPC's status codes.
    public enum Status: Int, Sendable, Hashable, CustomStringConvertible {
        /// `PERMISSION_DENIED` (7): a valid token, but for another issuer or audience.
        case permissionDenied = 7
        /// `UNAUTHENTICATED` (16): no usable credential; the caller should get a new token.
        case unauthenticated = 16

        public var description: String {
            switch self {
            case .permissionDenied: "PERMISSION_DENIED"
            case .unauthenticated: "UNAUTHENTICATED"
            }
        }
    }

    /// What went wrong. Extensible: new kinds may be added, so `switch` on ``status`` rather
    /// than on the kind when all you need is the answer to send.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case malformed, unsupportedAlgorithm, unknownKey, badSignature, expired, notYetValid
            case missingClaim, wrongIssuer, wrongAudience, wrongType, tooLongLived
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The token is not a well-formed JWS compact serialization with JSON header and claims.
        public static let malformed = Kind(.malformed)
        /// `alg` is `none`, not HS256/ES256, or not the algorithm of the selected key.
        public static let unsupportedAlgorithm = Kind(.unsupportedAlgorithm)
        /// The header's `kid` names no configured key.
        public static let unknownKey = Kind(.unknownKey)
        /// The signature does not verify with any candidate key.
        public static let badSignature = Kind(.badSignature)
        /// The token's `exp` has passed.
        public static let expired = Kind(.expired)
        /// The token's `nbf` has not been reached.
        public static let notYetValid = Kind(.notYetValid)
        /// A required claim (`exp`, `sub`) is missing or empty.
        public static let missingClaim = Kind(.missingClaim)
        /// The header's `typ` says this is not a JWT (nor an OAuth access token).
        public static let wrongType = Kind(.wrongType)
        /// The token is valid for longer than the configured maximum lifetime.
        public static let tooLongLived = Kind(.tooLongLived)
        /// `iss` is not the configured issuer.
        public static let wrongIssuer = Kind(.wrongIssuer)
        /// `aud` does not contain the configured audience.
        public static let wrongAudience = Kind(.wrongAudience)

        /// The gRPC status for this kind.
        public var status: Status {
            switch value {
            case .wrongIssuer, .wrongAudience: .permissionDenied
            default: .unauthenticated
            }
        }

        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var kind: Kind
    /// A human-readable explanation, safe to log and to return to the caller.
    public var message: String

    /// The gRPC status to answer with (``Kind/status``).
    public var status: Status { kind.status }

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind) (\(status)): \(message)" }
}

/// A key or configuration that cannot be used, or a failure inside OpenSSL while signing.
///
/// Thrown when a ``JWTVerifier`` or ``JWTSigner`` is created (bad PEM, short secret, clock
/// skew out of range, duplicate `kid`) and, very rarely, by ``JWTSigner/sign(claims:)`` and
/// ``JWTSigner/generateES256KeyPEM()`` when libcrypto fails. These are operator errors, not
/// caller errors: a server should fail to start rather than answer RPCs with them.
public struct JWTKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case invalidKey, invalidConfiguration, cryptoFailure
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The PEM does not hold a P-256 key of the expected kind, or a secret is too short.
        public static let invalidKey = Code(.invalidKey)
        /// A configuration value is out of range: no keys, duplicate `kid`, empty issuer or
        /// audience, clock skew, maximum token length or lifetime out of bounds; or a key set
        /// that is not one.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// libcrypto failed; the message carries OpenSSL's error string.
        public static let cryptoFailure = Code(.cryptoFailure)

        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A human-readable explanation; never contains key material.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
