import Foundation
import Testing

@testable import OOAuth

/// Key sets by `kid`, the longest lifetime, `typ`, and rotation through a key ring.
@Suite("JWT hardening")
struct JWTHardeningTests {
    /// The (x, y) of a P-256 SubjectPublicKeyInfo PEM: its last 64 bytes.
    static func coordinates(_ pem: String) -> (x: String, y: String) {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let der = [UInt8](Data(base64Encoded: body)!)
        return (Base64URL.encode(der.suffix(64).prefix(32)), Base64URL.encode(der.suffix(32)))
    }

    static func verifier(_ jwks: String, maxLifetime: Duration = JWTVerifier.Configuration.defaultMaxLifetime) throws -> JWTVerifier {
        try JWTVerifier(configuration: .init(
            issuer: issuer, audience: audience, keys: try JWKS(json: Array(jwks.utf8)).keys, maxLifetime: maxLifetime))
    }

    @Test("a JWKS of an oct and an EC key verifies tokens of each by kid; RSA and encryption keys are skipped and said so")
    func keySet() throws {
        let ec = try JWTSigner.generateES256KeyPEM()
        let (x, y) = Self.coordinates(ec.publicKeyPEM)
        let jwks = """
            {"keys": [
              {"kty": "oct", "kid": "hs-2026", "alg": "HS256", "use": "sig", "k": "\(Base64URL.encode(secret))"},
              {"kty": "EC", "kid": "es-7", "crv": "P-256", "x": "\(x)", "y": "\(y)"},
              {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"},
              {"kty": "oct", "kid": "enc", "use": "enc", "k": "\(Base64URL.encode(secret))"}
            ]}
            """
        let set = try JWKS(json: Array(jwks.utf8))
        #expect(set.keys.map(\.id) == ["hs-2026", "es-7"])
        #expect(set.skipped.count == 2)
        #expect(set.skipped[0].contains("kid 'r1': kty RSA is not supported"))
        #expect(set.skipped[1].contains("kid 'enc': use is not sig"))
        let verifier = try Self.verifier(jwks)
        let hs = try JWTSigner(hs256Secret: secret, keyID: "hs-2026").sign(claims: claims())
        let es = try JWTSigner(es256PrivateKeyPEM: ec.privateKeyPEM, keyID: "es-7").sign(claims: claims(["sub": "es-user"]))
        #expect(try verifier.verify(hs, now: now).subject == "user-42")
        #expect(try verifier.verify(es, now: now).subject == "es-user")
        // The right signature under another kid is not tried against every key.
        let misnamed = try JWTSigner(hs256Secret: secret, keyID: "hs-2025").sign(claims: claims())
        let error = expectRejection(.unknownKey) { () throws(JWTError) in try verifier.verify(misnamed, now: now) }
        #expect(error?.message == "token kid 'hs-2025' names no configured key")
    }

    @Test("a JWKS that is not one, or has a bad key, is refused naming the key and what is wrong", arguments: [
        (#"{"nokeys": []}"#, "not a JWKS"),
        (#"{"keys": [{"kty": "oct", "k": "AAAA"}]}"#, "key 0 has no kid"),
        (#"{"keys": [{"kty": "oct", "kid": "a", "alg": "ES256", "k": "AAAA"}]}"#, "kid 'a': an oct key verifies HS256 here, but its alg is ES256"),
        (#"{"keys": [{"kty": "oct", "kid": "a", "k": "!!"}]}"#, "kid 'a': k (the secret, base64url) is missing or not base64url"),
        (#"{"keys": [{"kty": "EC", "kid": "e", "crv": "P-384", "x": "AA", "y": "AA"}]}"#, "kid 'e': only the P-256 curve"),
        (#"{"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}]}"#, "kid 'e' holds a private key (d)"),
        (#"{"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"}]}"#, "kid 'e': x and y must be 32-byte"),
        (#"{"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}]}"#, "the key set has no usable key (kid 'r': kty RSA is not supported"),
    ])
    func badKeySets(_ json: String, _ message: String) {
        do {
            _ = try JWKS(json: Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("a JWKS past its limits is refused before its keys are looked at")
    func keySetLimits() {
        let many = "{\"keys\": [" + (0...JWKS.maxKeys).map { "{\"kty\":\"oct\",\"kid\":\"k\($0)\",\"k\":\"\(Base64URL.encode(secret))\"}" }.joined(separator: ",") + "]}"
        #expect(throws: JWTKeyError(.invalidConfiguration, "the key set has 65 keys; the limit is 64")) { try JWKS(json: Array(many.utf8)) }
        let huge = [UInt8](repeating: 0x20, count: JWKS.maxSize + 1)
        #expect(throws: JWTKeyError.self) { try JWKS(json: huge) }
        // A short secret in a set is refused when the verifier is made, naming the key.
        let short = #"{"keys": [{"kty": "oct", "kid": "tiny", "k": "AAAA"}]}"#
        #expect { try Self.verifier(short) } throws: { ($0 as? JWTKeyError)?.message.contains("key 'tiny'") == true }
    }

    @Test("the longest lifetime: exp − iat, and exp − now whatever iat says; iat in the future is refused")
    func lifetime() throws {
        let verifier = try makeVerifier()
        let t = now.timeIntervalSince1970
        let day = 24.0 * 3600
        let ok = try JWTSigner(hs256Secret: secret).sign(claims: claims(["iat": .number(t), "exp": .number(t + day)]))
        #expect(try verifier.verify(ok, now: now).subject == "user-42")
        let long = try JWTSigner(hs256Secret: secret).sign(claims: claims(["iat": .number(t), "exp": .number(t + day + 1)]))
        let error = expectRejection(.tooLongLived) { () throws(JWTError) in try verifier.verify(long, now: now) }
        #expect(error?.message == "token lives 86401 s from iat to exp; the limit is 86400 s")
        #expect(error?.status == .unauthenticated)
        // Year 9999, without iat: refused by exp − now.
        let forever = try JWTSigner(hs256Secret: secret).sign(claims: claims(["exp": 253_402_300_000], removing: ["iat"]))
        let foreverError = expectRejection(.tooLongLived) { () throws(JWTError) in try verifier.verify(forever, now: now) }
        #expect(foreverError?.message.hasPrefix("token is valid until 9999-12-31") == true)
        // An iat pushed forward cannot stretch a token either.
        let shifted = try JWTSigner(hs256Secret: secret).sign(claims: claims(["iat": .number(t + 2 * day), "exp": .number(t + 2.5 * day)]))
        expectRejection(.notYetValid) { () throws(JWTError) in try verifier.verify(shifted, now: now) }
        // A longer limit is the operator's to set.
        let weekly = try JWTVerifier(configuration: .init(issuer: issuer, audience: audience, keys: [.hs256(secret: secret)], maxLifetime: .seconds(7 * 86400)))
        #expect(try weekly.verify(long, now: now).subject == "user-42")
        #expect(throws: JWTKeyError.self) {
            try JWTVerifier(configuration: .init(issuer: issuer, audience: audience, keys: [.hs256(secret: secret)], maxLifetime: .seconds(10)))
        }
    }

    @Test("typ, when present, must be JWT or at+jwt (any case, application/ optional)", arguments: [
        ("JWT", true), ("jwt", true), ("at+jwt", true), ("application/at+JWT", true), ("logout+jwt", false), ("JOSE", false), ("", false),
    ])
    func type(_ typ: String, _ accepted: Bool) throws {
        let token = handMade(
            header: #"{"alg":"HS256","typ":"\#(typ)"}"#,
            payload: String(decoding: JSON.encodeObject(claims())!, as: UTF8.self))
        let verifier = try makeVerifier()
        if accepted {
            #expect(try verifier.verify(token, now: now).header.type == typ)
        } else {
            let error = expectRejection(.wrongType) { () throws(JWTError) in try verifier.verify(token, now: now) }
            #expect(error?.message == "token typ '\(typ)' is not JWT or at+jwt")
        }
    }

    @Test("rotation through a key ring: new kid beside the old keeps both valid; without the old, its tokens are refused")
    func rotation() throws {
        let old = Array("the old 32-byte-or-longer HS256 secret....".utf8)
        let new = Array("the new 32-byte-or-longer HS256 secret....".utf8)
        func set(_ keys: [(id: String, secret: [UInt8])]) throws -> JWTVerifier {
            try Self.verifier(String(decoding: try JWKS.document(hs256: keys), as: UTF8.self))
        }
        let ring = JWTKeyRing(try set([("old", old)]))
        let oldToken = try JWTSigner(hs256Secret: old, keyID: "old").sign(claims: claims())
        let newToken = try JWTSigner(hs256Secret: new, keyID: "new").sign(claims: claims())
        #expect(try ring.verify(oldToken, now: now).subject == "user-42")
        expectRejection(.unknownKey) { () throws(JWTError) in try ring.verify(newToken, now: now) }
        ring.replace(with: try set([("old", old), ("new", new)]))
        #expect(try ring.verify(oldToken, now: now).subject == "user-42")
        #expect(try ring.verify(newToken, now: now).subject == "user-42")
        ring.replace(with: try set([("new", new)]))
        expectRejection(.unknownKey) { () throws(JWTError) in try ring.verify(oldToken, now: now) }
        #expect(try ring.verify(newToken, now: now).subject == "user-42")
    }

    @Test("the key ring checks a token's signature once and its claims every time; a rotation or its limits make it forget")
    func verifiedTokenCache() throws {
        let secret = Array("a 32-byte-or-longer HS256 secret for the cache".utf8)
        let ring = JWTKeyRing(
            try Self.verifier(String(decoding: try JWKS.document(hs256: [("k", secret)]), as: UTF8.self)),
            cacheLimits: { var limits = JWTKeyRing.CacheLimits(); limits.maxTokens = 2; return limits }())
        let signer = try JWTSigner(hs256Secret: secret, keyID: "k")
        let token = try signer.sign(claims: claims())
        #expect(try ring.verify(token, now: now).subject == "user-42")
        #expect(ring.rememberedTokens == 1)
        #expect(try ring.verify(token, now: now).subject == "user-42")
        #expect(ring.rememberedTokens == 1)
        // Remembered, and still expired once its time has passed.
        expectRejection(.expired) { () throws(JWTError) in try ring.verify(token, now: now.addingTimeInterval(86_400 * 30)) }
        // A forged copy (one signature byte changed) is not the remembered text: refused.
        var forged = Array(token.utf8)
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        expectRejection(.badSignature) { () throws(JWTError) in try ring.verify(String(decoding: forged, as: UTF8.self), now: now) }
        // At most maxTokens remembered: the oldest forgotten first.
        for subject in ["b", "c", "d"] {
            var other = claims()
            other["sub"] = .string(subject)
            #expect(try ring.verify(try signer.sign(claims: other), now: now).subject == subject)
        }
        #expect(ring.rememberedTokens == 2)
        // New keys: nothing the old ones verified is remembered, and the token is refused.
        ring.replace(with: try Self.verifier(String(decoding: try JWKS.document(hs256: [("other", Array(repeating: 7, count: 32))]), as: UTF8.self)))
        #expect(ring.rememberedTokens == 0)
        expectRejection(.unknownKey) { () throws(JWTError) in try ring.verify(token, now: now) }
    }
}

