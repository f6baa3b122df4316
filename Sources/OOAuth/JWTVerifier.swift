public import Foundation

/// Checks JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515): the signature, with an
/// HS256 secret or an ES256 public key, then the registered claims the gateway relies on.
///
/// A verifier is created once, from its ``Configuration``, and shared: it is `Sendable`, keeps
/// its keys parsed, and ``verify(_:now:)`` does no I/O. It never fetches keys named by the
/// token (`jku`, `jwk`, `x5u` are ignored) and never lets the token choose the algorithm: `alg`
/// must be HS256 or ES256 *and* match the type of the key that verifies it, so an HS256 token
/// "signed" with an ES256 public key as HMAC secret is refused.
///
/// ```swift
/// let verifier = try JWTVerifier(configuration: .init(
///     issuer: "https://auth.oo.example", audience: "oo-gateway",
///     keys: [.es256(publicKeyPEM: pem, id: "2026-11")]))
/// let claims = try verifier.verify(token)          // throws JWTError
/// print(claims.subject)
/// ```
public struct JWTVerifier: Sendable {
    /// What a ``JWTVerifier`` accepts.
    public struct Configuration: Sendable, Hashable {
        /// The keys tokens may be signed with. A token with a `kid` header is checked only
        /// against the key with that ``Key/id``; a token without one against every key of its
        /// algorithm. At least one key is required.
        public var keys: [Key]
        /// The exact `iss` every token must carry. Required, non-empty.
        public var issuer: String
        /// The value `aud` must be, or (as an array) contain. Required, non-empty.
        public var audience: String
        /// How far `exp` and `nbf` may be off to allow for clocks that disagree. Defaults to
        /// 60 seconds (``defaultClockSkew``); at most 5 minutes (``maximumClockSkew``).
        public var clockSkew: Duration
        /// The longest token accepted, in bytes, checked before anything is decoded. Defaults
        /// to 8 KiB (``defaultMaxTokenLength``); between 64 bytes and 1 MiB.
        public var maxTokenLength: Int
        /// The longest a token may be valid: `exp − iat` when it says when it was issued, and
        /// always `exp − now` (less clock skew), so a token valid until the year 9999 is
        /// refused however it was issued. Defaults to 24 hours (``defaultMaxLifetime``);
        /// between 1 minute and 366 days.
        public var maxLifetime: Duration

        /// 60 seconds.
        public static let defaultClockSkew: Duration = .seconds(60)
        /// 5 minutes.
        public static let maximumClockSkew: Duration = .seconds(300)
        /// 8192 bytes.
        public static let defaultMaxTokenLength = 8192
        /// 24 hours.
        public static let defaultMaxLifetime: Duration = .seconds(24 * 3600)

        /// Creates a configuration; `clockSkew` defaults to 60 s, `maxTokenLength` to 8 KiB,
        /// `maxLifetime` to 24 hours.
        public init(
            issuer: String, audience: String, keys: [Key], clockSkew: Duration = defaultClockSkew,
            maxTokenLength: Int = defaultMaxTokenLength, maxLifetime: Duration = defaultMaxLifetime
        ) {
            self.issuer = issuer
            self.audience = audience
            self.keys = keys
            self.clockSkew = clockSkew
            self.maxTokenLength = maxTokenLength
            self.maxLifetime = maxLifetime
        }
    }

    /// A key tokens may be signed with: an HS256 secret or an ES256 public key.
    ///
    /// Its `description` and mirror never show the secret.
    public struct Key: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        enum Material: Sendable, Hashable {
            case secret([UInt8])
            case publicKeyPEM(String)
        }

        /// The `kid` tokens name this key by, if any. Unique within a configuration.
        public var id: String?
        let material: Material

        /// The algorithm this key verifies; tokens with another `alg` never reach it.
        public var algorithm: JWTAlgorithm {
            switch material {
            case .secret: .hs256
            case .publicKeyPEM: .es256
            }
        }

        /// An HS256 shared secret of at least 32 bytes (RFC 7518 §3.2).
        public static func hs256(secret: [UInt8], id: String? = nil) -> Key {
            Key(id: id, material: .secret(secret))
        }

        /// An ES256 public key: a P-256 SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
        public static func es256(publicKeyPEM: String, id: String? = nil) -> Key {
            Key(id: id, material: .publicKeyPEM(publicKeyPEM))
        }

        public var description: String {
            let name = id.map { "key '\($0)'" } ?? "key without kid"
            switch material {
            case .secret(let secret): return "HS256 \(name) (\(secret.count)-byte secret)"
            case .publicKeyPEM: return "ES256 \(name) (P-256 public key)"
            }
        }

        public var debugDescription: String { description }

        public var customMirror: Mirror {
            Mirror(self, children: ["id": id as Any, "algorithm": algorithm], displayStyle: .struct)
        }
    }

    private enum Verifier: Sendable {
        case hmac([UInt8])
        case ecdsa(P256Key)
    }

    private struct ResolvedKey: Sendable {
        var id: String?
        var algorithm: JWTAlgorithm
        var verifier: Verifier
    }

    /// The configuration this verifier was created with.
    public let configuration: Configuration
    private let keys: [ResolvedKey]
    private let skew: Double
    private let maxLifetime: Double

    /// Parses the keys and checks the configuration.
    ///
    /// - Throws: ``JWTKeyError`` with ``JWTKeyError/Code/invalidKey`` for a PEM that is not a
    ///   P-256 public key or a secret shorter than 32 bytes, and
    ///   ``JWTKeyError/Code/invalidConfiguration`` for no keys, a duplicate `kid`, an empty
    ///   issuer or audience, a negative clock skew or one above 5 minutes, a maximum token
    ///   length outside 64 bytes...1 MiB, or a maximum lifetime outside 1 minute...366 days.
    public init(configuration: Configuration) throws(JWTKeyError) {
        guard !configuration.keys.isEmpty else {
            throw JWTKeyError(.invalidConfiguration, "no keys configured; add an HS256 secret or an ES256 public key")
        }
        guard !configuration.issuer.isEmpty else { throw JWTKeyError(.invalidConfiguration, "the issuer is empty") }
        guard !configuration.audience.isEmpty else { throw JWTKeyError(.invalidConfiguration, "the audience is empty") }
        guard configuration.clockSkew >= .zero, configuration.clockSkew <= Configuration.maximumClockSkew else {
            throw JWTKeyError(
                .invalidConfiguration, "clock skew \(configuration.clockSkew) is outside 0 seconds...5 minutes")
        }
        guard (64...(1 << 20)).contains(configuration.maxTokenLength) else {
            throw JWTKeyError(
                .invalidConfiguration, "max token length \(configuration.maxTokenLength) is outside 64...1048576 bytes")
        }
        guard configuration.maxLifetime >= .seconds(60), configuration.maxLifetime <= .seconds(366 * 24 * 3600) else {
            throw JWTKeyError(
                .invalidConfiguration, "maximum token lifetime \(configuration.maxLifetime) is outside 1 minute...366 days")
        }
        var seen: Set<String> = []
        var resolved: [ResolvedKey] = []
        for key in configuration.keys {
            if let id = key.id, !seen.insert(id).inserted {
                throw JWTKeyError(.invalidConfiguration, "two keys have kid '\(Text.sanitized(id))'")
            }
            switch key.material {
            case .secret(let secret):
                guard secret.count >= 32 else {
                    throw JWTKeyError(
                        .invalidKey, "\(key): HS256 secrets must be at least 32 bytes (RFC 7518 §3.2)")
                }
                resolved.append(ResolvedKey(id: key.id, algorithm: .hs256, verifier: .hmac(secret)))
            case .publicKeyPEM(let pem):
                let publicKey: P256Key
                do {
                    publicKey = try P256Key.publicKey(pem: pem)
                } catch {
                    throw JWTKeyError(error.code, "\(key): \(error.message)")
                }
                resolved.append(ResolvedKey(id: key.id, algorithm: .es256, verifier: .ecdsa(publicKey)))
            }
        }
        self.configuration = configuration
        self.keys = resolved
        self.skew = Self.seconds(configuration.clockSkew)
        self.maxLifetime = Self.seconds(configuration.maxLifetime)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Verifies `token` and returns its claims.
    ///
    /// In order: the length; three base64url parts; the header (`alg` HS256 or ES256, no
    /// `crit`, `typ` if present `JWT` or `at+jwt`); the key (by `kid`, and of `alg`'s type);
    /// the signature; then the claims, which are only parsed once the signature holds: `exp`
    /// required and after `now - clockSkew`, `nbf` and `iat` (if present) at or before
    /// `now + clockSkew`, the lifetime (`exp − iat`, and `exp − now`) within
    /// ``Configuration/maxLifetime``, `sub` a non-empty string, `iss` equal to the configured
    /// issuer, `aud` equal to or containing the configured audience.
    ///
    /// - Parameters:
    ///   - token: The compact JWS, without `Bearer `.
    ///   - now: The time to check `exp` and `nbf` against; defaults to the current time.
    /// - Throws: ``JWTError``; its ``JWTError/status`` is the gRPC status to answer with.
    public func verify(_ token: String, now: Date = Date()) throws(JWTError) -> JWTClaims {
        let verified = try verifySignature(token)
        return try checkClaims(verified, now: now)
    }

    /// Checks `token`'s structure, header and signature, but none of its claims.
    ///
    /// For tools and tests that look inside tokens; a server authorizing requests calls
    /// ``verify(_:now:)``.
    ///
    /// - Throws: ``JWTError`` of kind malformed, unsupportedAlgorithm, unknownKey or badSignature.
    public func verifySignature(_ token: String) throws(JWTError) -> JWTVerifiedToken {
        let bytes = Array(token.utf8)
        guard bytes.count <= configuration.maxTokenLength else {
            throw JWTError(
                .malformed, "token is \(bytes.count) bytes; the limit is \(configuration.maxTokenLength)")
        }
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else {
            throw JWTError(
                .malformed, "token has \(dots.count + 1) parts; a JWS has three (header.payload.signature)")
        }
        let headerPart = bytes[..<dots[0]]
        let payloadPart = bytes[(dots[0] + 1)..<dots[1]]
        let signaturePart = bytes[(dots[1] + 1)...]
        guard let headerBytes = Base64URL.decode(headerPart) else {
            throw JWTError(.malformed, "token header is not valid base64url")
        }
        guard let payloadBytes = Base64URL.decode(payloadPart) else {
            throw JWTError(.malformed, "token payload is not valid base64url")
        }
        guard let signature = Base64URL.decode(signaturePart) else {
            throw JWTError(.malformed, "token signature is not valid base64url")
        }
        guard let header = JSON.decodeObject(headerBytes) else {
            throw JWTError(.malformed, "token header is not a JSON object")
        }
        let parsedHeader = try Self.parseHeader(header)
        let candidates = try candidateKeys(for: parsedHeader)

        let signingInput = bytes[..<dots[1]]
        var verified = false
        for key in candidates where !verified {
            switch key.verifier {
            case .hmac(let secret):
                if let mac = Crypto.hmacSHA256(key: secret, message: signingInput) {
                    verified = Crypto.constantTimeEquals(mac, signature)
                }
            case .ecdsa(let publicKey):
                verified = publicKey.verify(signature: signature, of: signingInput)
            }
        }
        guard verified else {
            let tried = candidates.count == 1 ? "the \(parsedHeader.algorithm) key" : "any of \(candidates.count) \(parsedHeader.algorithm) keys"
            throw JWTError(.badSignature, "token signature does not verify with \(tried)")
        }
        guard let claims = JSON.decodeObject(payloadBytes) else {
            throw JWTError(.malformed, "token payload is not a JSON object")
        }
        return JWTVerifiedToken(header: parsedHeader, claims: claims)
    }

    /// Finds the `Bearer` token in an `authorization` header value (RFC 6750 §2.1; the scheme
    /// is case-insensitive), or nil when the value is not a bearer credential.
    /// Spaces and tabs around the value and after the scheme are skipped (HTTP's optional
    /// whitespace, RFC 9110 §5.6.3).
    public static func bearerToken(fromAuthorization value: String) -> String? {
        // On the UTF-8 bytes: called for every request (Foundation's trimming cost more than
        // the rest of the check).
        let bytes = Array(value.utf8)
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = 0
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        let scheme = Array("bearer".utf8)
        guard end - start > scheme.count + 1 else { return nil }
        for (offset, letter) in scheme.enumerated() where bytes[start + offset] | 0x20 != letter { return nil }
        guard isSpace(bytes[start + scheme.count]) else { return nil }
        var tokenStart = start + scheme.count + 1
        while tokenStart < end, isSpace(bytes[tokenStart]) { tokenStart += 1 }
        return tokenStart < end ? String(decoding: bytes[tokenStart..<end], as: UTF8.self) : nil
    }

    // MARK: - Header and keys

    private static func parseHeader(_ header: [String: JWTClaimValue]) throws(JWTError) -> JWTHeader {
        guard let algValue = header["alg"] else { throw JWTError(.malformed, "token header has no alg") }
        guard let alg = algValue.stringValue else { throw JWTError(.malformed, "token header alg is not a string") }
        guard let algorithm = JWTAlgorithm(rawValue: alg) else {
            throw JWTError(
                .unsupportedAlgorithm, "token alg '\(Text.sanitized(alg))' is not accepted; use HS256 or ES256")
        }
        if header["crit"] != nil {
            throw JWTError(.malformed, "token header has crit extensions, which are not supported")
        }
        var keyID: String?
        if let kid = header["kid"] {
            guard let kid = kid.stringValue else { throw JWTError(.malformed, "token header kid is not a string") }
            keyID = kid
        }
        var type: String?
        if let typ = header["typ"] {
            guard let typ = typ.stringValue else { throw JWTError(.malformed, "token header typ is not a string") }
            // RFC 7515 §4.1.9: a media type, `application/` optional, compared without case.
            // A JWT (RFC 7519 §5.1) or an OAuth access token (RFC 9068 §2.1); anything else
            // (an ID token's cousin, a logout token, a JWS that is not a JWT) is refused.
            var media = typ.lowercased()
            if media.hasPrefix("application/") { media.removeFirst("application/".count) }
            guard media == "jwt" || media == "at+jwt" else {
                throw JWTError(.wrongType, "token typ '\(Text.sanitized(typ))' is not JWT or at+jwt")
            }
            type = typ
        }
        return JWTHeader(algorithm: algorithm, keyID: keyID, type: type)
    }

    private func candidateKeys(for header: JWTHeader) throws(JWTError) -> [ResolvedKey] {
        if let kid = header.keyID {
            guard let key = keys.first(where: { $0.id == kid }) else {
                throw JWTError(.unknownKey, "token kid '\(Text.sanitized(kid))' names no configured key")
            }
            guard key.algorithm == header.algorithm else {
                throw JWTError(
                    .unsupportedAlgorithm,
                    "token alg \(header.algorithm) does not match key '\(Text.sanitized(kid))', which is \(key.algorithm)")
            }
            return [key]
        }
        let candidates = keys.filter { $0.algorithm == header.algorithm }
        guard !candidates.isEmpty else {
            throw JWTError(.unsupportedAlgorithm, "token alg \(header.algorithm) is not accepted: no \(header.algorithm) key is configured")
        }
        return candidates
    }

    // MARK: - Claims

    /// The claim checks of ``verify(_:now:)`` on a token whose signature verified.
    func checkClaims(_ token: JWTVerifiedToken, now: Date) throws(JWTError) -> JWTClaims {
        let claims = token.claims
        guard let exp = try Self.numericDate(claims, "exp") else {
            throw JWTError(.missingClaim, "token has no exp; every token must expire")
        }
        let nbf = try Self.numericDate(claims, "nbf")
        let iat = try Self.numericDate(claims, "iat")
        let sub = try Self.string(claims, "sub")
        let iss = try Self.string(claims, "iss")
        let jti = try Self.string(claims, "jti")
        let audience: [String]?
        switch claims["aud"] {
        case nil: audience = nil
        case .string(let value)?: audience = [value]
        case .array(let values)?:
            let strings = values.compactMap(\.stringValue)
            guard strings.count == values.count else { throw JWTError(.malformed, "token aud has a non-string element") }
            audience = strings
        case _?: throw JWTError(.malformed, "token aud is neither a string nor an array of strings")
        }

        let nowSeconds = now.timeIntervalSince1970
        // RFC 7519 §4.1.4: the current time must be before exp.
        if nowSeconds >= exp + skew {
            throw JWTError(.expired, "token expired at \(Text.date(exp)) (now \(Text.date(nowSeconds)), skew \(Text.seconds(skew)))")
        }
        // RFC 7519 §4.1.5: the current time must be at or after nbf.
        if let nbf, nowSeconds + skew < nbf {
            throw JWTError(
                .notYetValid, "token is not valid before \(Text.date(nbf)) (now \(Text.date(nowSeconds)), skew \(Text.seconds(skew)))")
        }
        // A token issued in the future is as suspect as one not yet valid.
        if let iat, nowSeconds + skew < iat {
            throw JWTError(
                .notYetValid, "token was issued at \(Text.date(iat)), in the future (now \(Text.date(nowSeconds)), skew \(Text.seconds(skew)))")
        }
        // A token may live at most maxLifetime: as issued, and from now on whatever it says.
        if let iat, exp - iat > maxLifetime {
            throw JWTError(
                .tooLongLived,
                "token lives \(Text.seconds(exp - iat)) from iat to exp; the limit is \(Text.seconds(maxLifetime))")
        }
        if exp - nowSeconds > maxLifetime + skew {
            throw JWTError(
                .tooLongLived,
                "token is valid until \(Text.date(exp)), \(Text.seconds((exp - nowSeconds).rounded())) from now; the limit is \(Text.seconds(maxLifetime))")
        }
        guard let sub, !sub.isEmpty else {
            throw JWTError(.missingClaim, "token has no sub; it must say whom it is for")
        }
        guard let iss else {
            throw JWTError(.wrongIssuer, "token has no iss; expected '\(Text.sanitized(configuration.issuer))'")
        }
        guard iss == configuration.issuer else {
            throw JWTError(
                .wrongIssuer, "token issuer '\(Text.sanitized(iss))' is not '\(Text.sanitized(configuration.issuer))'")
        }
        guard let audience else {
            throw JWTError(.wrongAudience, "token has no aud; expected '\(Text.sanitized(configuration.audience))'")
        }
        guard audience.contains(configuration.audience) else {
            let shown = audience.prefix(5).map { "'\(Text.sanitized($0))'" }.joined(separator: ", ")
            throw JWTError(
                .wrongAudience,
                "token audience [\(shown)\(audience.count > 5 ? ", …" : "")] does not include '\(Text.sanitized(configuration.audience))'")
        }
        return JWTClaims(
            subject: sub, issuer: iss, audience: audience, expiresAt: Date(timeIntervalSince1970: exp),
            notBefore: nbf.map(Date.init(timeIntervalSince1970:)), issuedAt: iat.map(Date.init(timeIntervalSince1970:)),
            id: jti, header: token.header, all: claims)
    }

    /// Seconds since the epoch, for NumericDate claims; years 0...9999 only.
    private static func numericDate(_ claims: [String: JWTClaimValue], _ name: String) throws(JWTError) -> Double? {
        guard let value = claims[name] else { return nil }
        guard let seconds = value.numberValue, seconds.isFinite, (-62_167_219_200...253_402_300_799).contains(seconds) else {
            throw JWTError(.malformed, "token \(name) is not a NumericDate (seconds since 1970)")
        }
        return seconds
    }

    private static func string(_ claims: [String: JWTClaimValue], _ name: String) throws(JWTError) -> String? {
        guard let value = claims[name] else { return nil }
        guard let string = value.stringValue else { throw JWTError(.malformed, "token \(name) is not a string") }
        return string
    }
}

extension JWTVerifier: CustomStringConvertible, CustomReflectable {
    public var description: String {
        "JWTVerifier(issuer: '\(configuration.issuer)', audience: '\(configuration.audience)', keys: \(configuration.keys))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["configuration": configuration], displayStyle: .struct)
    }
}

/// Formatting for error messages.
enum Text {
    /// `value` with anything but printable ASCII replaced by `?`, cut to 64 characters: claim
    /// and header values are chosen by whoever made the token and end up in logs.
    static func sanitized(_ value: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in value.unicodeScalars.prefix(64) {
            scalars.append((0x20...0x7E).contains(scalar.value) ? scalar : "?")
        }
        return String(scalars) + (value.unicodeScalars.count > 64 ? "…" : "")
    }

    /// `2026-11-30T10:00:00Z`.
    static func date(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }

    /// `60 s`, `1.5 s`.
    static func seconds(_ seconds: Double) -> String {
        seconds.rounded() == seconds ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
