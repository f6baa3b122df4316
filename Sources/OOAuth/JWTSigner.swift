public import Foundation

/// Mints JSON Web Tokens: HS256 with a shared secret, ES256 with a P-256 private key.
///
/// Used by the simulator and the tests; the gateway only verifies. Output is JWS compact
/// serialization with a key-sorted JSON header (`alg`, `kid` if set, `typ: JWT`) and payload;
/// ES256 signatures are raw `r || s`, each left-padded to 32 bytes (RFC 7518 §3.4).
///
/// ```swift
/// let keys = try JWTSigner.generateES256KeyPEM()
/// let signer = try JWTSigner(es256PrivateKeyPEM: keys.privateKeyPEM, keyID: "test")
/// let token = try signer.sign(subject: "user-1", issuer: "oo", audience: "oo-gateway",
///                             expiresAt: Date() + 300)
/// ```
public struct JWTSigner: Sendable, CustomStringConvertible, CustomReflectable {
    private enum Signer: Sendable {
        case hmac([UInt8])
        case ecdsa(P256Key)
    }

    private let signer: Signer
    /// The `alg` this signer writes.
    public let algorithm: JWTAlgorithm
    /// The `kid` this signer writes, if any.
    public let keyID: String?

    /// An HS256 signer.
    ///
    /// - Throws: ``JWTKeyError`` (invalidKey) when `secret` is shorter than 32 bytes.
    public init(hs256Secret secret: [UInt8], keyID: String? = nil) throws(JWTKeyError) {
        guard secret.count >= 32 else {
            throw JWTKeyError(.invalidKey, "HS256 secrets must be at least 32 bytes (RFC 7518 §3.2), not \(secret.count)")
        }
        self.signer = .hmac(secret)
        self.algorithm = .hs256
        self.keyID = keyID
    }

    /// An ES256 signer from an unencrypted PEM private key on P-256 (`-----BEGIN PRIVATE
    /// KEY-----` or `-----BEGIN EC PRIVATE KEY-----`).
    ///
    /// - Throws: ``JWTKeyError`` (invalidKey) when the PEM is not such a key.
    public init(es256PrivateKeyPEM pem: String, keyID: String? = nil) throws(JWTKeyError) {
        self.signer = .ecdsa(try P256Key.privateKey(pem: pem))
        self.algorithm = .es256
        self.keyID = keyID
    }

    /// Signs a claims set as given; nothing is added or checked.
    ///
    /// - Throws: ``JWTKeyError`` (cryptoFailure) when a number is not finite or libcrypto fails.
    public func sign(claims: [String: JWTClaimValue]) throws(JWTKeyError) -> String {
        var header: [String: JWTClaimValue] = ["alg": .string(algorithm.rawValue), "typ": "JWT"]
        if let keyID { header["kid"] = .string(keyID) }
        guard let headerJSON = JSON.encodeObject(header), let payloadJSON = JSON.encodeObject(claims) else {
            throw JWTKeyError(.cryptoFailure, "the claims cannot be written as JSON (a number is not finite)")
        }
        let signingInput = Base64URL.encode(headerJSON) + "." + Base64URL.encode(payloadJSON)
        let message = Array(signingInput.utf8)
        let signature: [UInt8]
        switch signer {
        case .hmac(let secret):
            guard let mac = Crypto.hmacSHA256(key: secret, message: message[...]) else {
                throw JWTKeyError(.cryptoFailure, "HMAC-SHA-256 failed")
            }
            signature = mac
        case .ecdsa(let privateKey):
            signature = try privateKey.sign(message)
        }
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Signs the registered claims a ``JWTVerifier`` checks, plus `extraClaims`.
    ///
    /// Dates are written as whole seconds since 1970, rounded down. `extraClaims` may not
    /// override the registered claims set here.
    public func sign(
        subject: String, issuer: String, audience: String, expiresAt: Date, notBefore: Date? = nil,
        issuedAt: Date? = nil, extraClaims: [String: JWTClaimValue] = [:]
    ) throws(JWTKeyError) -> String {
        var claims = extraClaims
        claims["sub"] = .string(subject)
        claims["iss"] = .string(issuer)
        claims["aud"] = .string(audience)
        claims["exp"] = Self.numericDate(expiresAt)
        if let notBefore { claims["nbf"] = Self.numericDate(notBefore) }
        if let issuedAt { claims["iat"] = Self.numericDate(issuedAt) }
        return try sign(claims: claims)
    }

    /// A fresh P-256 key pair as PEM: the private key as unencrypted PKCS #8, the public key as
    /// SubjectPublicKeyInfo, ready for ``init(es256PrivateKeyPEM:keyID:)`` and
    /// ``JWTVerifier/Key/es256(publicKeyPEM:id:)``.
    public static func generateES256KeyPEM() throws(JWTKeyError) -> (privateKeyPEM: String, publicKeyPEM: String) {
        let key = try P256Key.generate()
        return (try key.privateKeyPEM(), try key.publicKeyPEM())
    }

    private static func numericDate(_ date: Date) -> JWTClaimValue {
        .number(date.timeIntervalSince1970.rounded(.down))
    }

    public var description: String {
        "JWTSigner(\(algorithm)\(keyID.map { ", kid '\($0)'" } ?? ""))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["algorithm": algorithm, "keyID": keyID as Any], displayStyle: .struct)
    }
}
