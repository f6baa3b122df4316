public import Foundation

/// A JSON value from a token's header or claims set.
///
/// Numbers are `Double`, as in JavaScript: integers beyond 2^53 lose precision. Literals make
/// claim sets easy to write: `["scope": "read write", "admin": false, "tier": 2]`.
public enum JWTClaimValue: Sendable, Hashable {
    /// A JSON string.
    case string(String)
    /// A JSON number.
    case number(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// A JSON array.
    case array([JWTClaimValue])
    /// A JSON object.
    case object([String: JWTClaimValue])

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The number, if this is a number.
    public var numberValue: Double? {
        if case .number(let value) = self { value } else { nil }
    }

    /// The Boolean, if this is a Boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JWTClaimValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The members, if this is an object.
    public var objectValue: [String: JWTClaimValue]? {
        if case .object(let value) = self { value } else { nil }
    }
}

extension JWTClaimValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JWTClaimValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JWTClaimValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// The JOSE header of a verified token.
public struct JWTHeader: Sendable, Hashable {
    /// `alg`: how the token was signed.
    public var algorithm: JWTAlgorithm
    /// `kid`: which key signed it, if the issuer said.
    public var keyID: String?
    /// `typ`, if present (usually `JWT`).
    public var type: String?

    /// Creates a header.
    public init(algorithm: JWTAlgorithm, keyID: String? = nil, type: String? = nil) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.type = type
    }
}

/// A token whose signature verified, before any claim was checked
/// (``JWTVerifier/verifySignature(_:)``).
public struct JWTVerifiedToken: Sendable, Hashable {
    /// The JOSE header.
    public var header: JWTHeader
    /// Every claim of the payload, as sent.
    public var claims: [String: JWTClaimValue]
}

/// The claims of a token that passed every check of ``JWTVerifier/verify(_:now:)``.
///
/// The registered claims the gateway relies on are typed; everything else the issuer put in
/// the token (`scope`, `roles`, …) is in ``all``.
public struct JWTClaims: Sendable, Hashable {
    /// `sub`: who the token is about; never empty.
    public var subject: String
    /// `iss`: who issued it; equal to the configured issuer.
    public var issuer: String
    /// `aud`: who it is for, always as a list; contains the configured audience.
    public var audience: [String]
    /// `exp`: when it stops being valid.
    public var expiresAt: Date
    /// `nbf`: when it starts being valid, if set.
    public var notBefore: Date?
    /// `iat`: when it was issued, if set.
    public var issuedAt: Date?
    /// `jti`: a unique id for the token, if set.
    public var id: String?
    /// The header the token was signed under.
    public var header: JWTHeader
    /// Every claim of the payload, the registered ones included.
    public var all: [String: JWTClaimValue]

    /// The claim called `name`, e.g. `claims["scope"]?.stringValue`.
    public subscript(name: String) -> JWTClaimValue? { all[name] }
}
