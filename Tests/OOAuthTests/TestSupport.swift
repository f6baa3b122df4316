import Foundation
import Testing

@testable import OOAuth

/// A fixed "now" (2027-01-15T08:00:00Z) so that time checks are exact.
let now = Date(timeIntervalSince1970: 1_800_000_000)
let secret = Array("a 32-byte-or-longer shared secret for HS256 tests".utf8)
let issuer = "https://auth.oo.example"
let audience = "oo-gateway"

func makeVerifier(
    _ keys: [JWTVerifier.Key] = [.hs256(secret: secret)], clockSkew: Duration = .seconds(60),
    maxTokenLength: Int = 8192
) throws -> JWTVerifier {
    try JWTVerifier(
        configuration: .init(
            issuer: issuer, audience: audience, keys: keys, clockSkew: clockSkew, maxTokenLength: maxTokenLength))
}

/// The usual claims, valid at `now`, with `changes` applied and the claims in `removing` removed.
func claims(_ changes: [String: JWTClaimValue] = [:], removing: [String] = []) -> [String: JWTClaimValue] {
    var claims: [String: JWTClaimValue] = [
        "sub": "user-42", "iss": .string(issuer), "aud": .string(audience),
        "exp": .number(now.timeIntervalSince1970 + 600), "iat": .number(now.timeIntervalSince1970 - 10),
    ]
    claims.merge(changes) { _, new in new }
    for name in removing { claims[name] = nil }
    return claims
}

/// An HS256 token over arbitrary header and payload text, for tokens `JWTSigner` won't make.
func handMade(header: String, payload: String, secret: [UInt8] = secret) -> String {
    let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
    let mac = Crypto.hmacSHA256(key: secret, message: Array(input.utf8)[...])!
    return input + "." + Base64URL.encode(mac)
}

/// Runs `body`, which must throw a `JWTError` of `kind`; returns the error.
@discardableResult
func expectRejection<T>(
    _ kind: JWTError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(JWTError) -> T
) -> JWTError? {
    do {
        _ = try body()
        Issue.record("expected \(kind), but the token was accepted", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        return error
    }
}
