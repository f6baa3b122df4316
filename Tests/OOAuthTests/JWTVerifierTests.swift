import Foundation
import Testing

@testable import OOAuth

@Suite("JWTVerifier")
struct JWTVerifierTests {
    // MARK: Round trips

    @Test("HS256: a minted token verifies and its claims come back typed")
    func hs256RoundTrip() throws {
        let signer = try JWTSigner(hs256Secret: secret, keyID: "hs-1")
        let token = try signer.sign(
            subject: "user-42", issuer: issuer, audience: audience, expiresAt: now + 300, notBefore: now - 5,
            issuedAt: now - 5, extraClaims: ["scope": "read write", "admin": false, "tier": 2])
        let verifier = try makeVerifier([.hs256(secret: secret, id: "hs-1")])
        let claims = try verifier.verify(token, now: now)
        #expect(claims.subject == "user-42")
        #expect(claims.issuer == issuer)
        #expect(claims.audience == [audience])
        #expect(claims.expiresAt == now + 300)
        #expect(claims.notBefore == now - 5)
        #expect(claims.issuedAt == now - 5)
        #expect(claims.id == nil)
        #expect(claims.header == JWTHeader(algorithm: .hs256, keyID: "hs-1", type: "JWT"))
        #expect(claims["scope"] == "read write")
        #expect(claims["admin"]?.boolValue == false)
        #expect(claims["tier"]?.numberValue == 2)
    }

    @Test("ES256: a key pair made by the library signs and verifies; signatures are raw 64-byte r||s")
    func es256RoundTrip() throws {
        let keys = try JWTSigner.generateES256KeyPEM()
        #expect(keys.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(keys.publicKeyPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let signer = try JWTSigner(es256PrivateKeyPEM: keys.privateKeyPEM, keyID: "es-1")
        let verifier = try makeVerifier([.hs256(secret: secret, id: "hs-1"), .es256(publicKeyPEM: keys.publicKeyPEM, id: "es-1")])
        // Enough signatures that some r or s has leading zero bytes and needs the left padding.
        for index in 0..<200 {
            let token = try signer.sign(claims: claims(["sub": .string("user-\(index)")]))
            let signature = Base64URL.decode(Array(token.split(separator: ".")[2].utf8))
            #expect(signature?.count == 64)
            let verified = try verifier.verify(token, now: now)
            #expect(verified.subject == "user-\(index)")
            #expect(verified.header.algorithm == .es256)
        }
    }

    @Test("ES256 without kid: every ES256 key is tried")
    func es256WithoutKeyID() throws {
        let first = try JWTSigner.generateES256KeyPEM()
        let second = try JWTSigner.generateES256KeyPEM()
        let verifier = try makeVerifier([.es256(publicKeyPEM: first.publicKeyPEM), .es256(publicKeyPEM: second.publicKeyPEM)])
        let token = try JWTSigner(es256PrivateKeyPEM: second.privateKeyPEM).sign(claims: claims())
        #expect(try verifier.verify(token, now: now).subject == "user-42")

        let stranger = try JWTSigner.generateES256KeyPEM()
        let forged = try JWTSigner(es256PrivateKeyPEM: stranger.privateKeyPEM).sign(claims: claims())
        expectRejection(.badSignature) { () throws(JWTError) in try verifier.verify(forged, now: now) }
    }

    @Test("RFC 7515 appendix A.1: the HS256 example verifies with its key")
    func rfc7515AppendixA1() throws {
        let token =
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
            + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let key = try #require(
            Base64URL.decode(Array("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow".utf8)))
        let verifier = try JWTVerifier(configuration: .init(issuer: "joe", audience: "anyone", keys: [.hs256(secret: key)]))

        let verified = try verifier.verifySignature(token)
        #expect(verified.header == JWTHeader(algorithm: .hs256, keyID: nil, type: "JWT"))
        #expect(verified.claims == ["iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true])

        // Before its exp the claim checks run, and fail only on what the example lacks (sub, aud)…
        let before = Date(timeIntervalSince1970: 1_300_819_000)
        let missing = expectRejection(.missingClaim) { () throws(JWTError) in try verifier.verify(token, now: before) }
        #expect(missing?.message == "token has no sub; it must say whom it is for")
        // …and after it, it is expired.
        let after = Date(timeIntervalSince1970: 1_300_819_380 + 60)
        let error = expectRejection(.expired) { () throws(JWTError) in try verifier.verify(token, now: after) }
        #expect(error?.message == "token expired at 2011-03-22T18:43:00Z (now 2011-03-22T18:44:00Z, skew 60 s)")

        // A different key of the same length does not verify it.
        var wrongKey = key
        wrongKey[0] ^= 1
        let other = try JWTVerifier(configuration: .init(issuer: "joe", audience: "anyone", keys: [.hs256(secret: wrongKey)]))
        expectRejection(.badSignature) { () throws(JWTError) in try other.verifySignature(token) }
    }

    // MARK: Time

    @Test("exp: rejected from exp + skew on, accepted one second before; the message says when")
    func expiry() throws {
        let verifier = try makeVerifier()
        let signer = try JWTSigner(hs256Secret: secret)
        let t = now.timeIntervalSince1970
        // Valid while now < exp + skew: exp = now - 59 is the last accepted second.
        #expect(try verifier.verify(signer.sign(claims: claims(["exp": .number(t - 59)])), now: now).subject == "user-42")
        let token = try signer.sign(claims: claims(["exp": .number(t - 60)]))
        let error = expectRejection(.expired) { () throws(JWTError) in try verifier.verify(token, now: now) }
        #expect(error?.status == .unauthenticated)
        #expect(error?.message == "token expired at 2027-01-15T07:59:00Z (now 2027-01-15T08:00:00Z, skew 60 s)")
        #expect(error?.message.contains(token) == false)

        // With no skew the boundary is exp itself.
        let strict = try makeVerifier(clockSkew: .zero)
        #expect(try strict.verify(signer.sign(claims: claims(["exp": .number(t + 1)])), now: now).subject == "user-42")
        expectRejection(.expired) { () throws(JWTError) in
            try strict.verify(try! signer.sign(claims: claims(["exp": .number(t)])), now: now)
        }
    }

    @Test("nbf: accepted up to now + skew, rejected one second later")
    func notBefore() throws {
        let verifier = try makeVerifier()
        let signer = try JWTSigner(hs256Secret: secret)
        let t = now.timeIntervalSince1970
        #expect(try verifier.verify(signer.sign(claims: claims(["nbf": .number(t + 60)])), now: now).notBefore == now + 60)
        let token = try signer.sign(claims: claims(["nbf": .number(t + 61)]))
        let error = expectRejection(.notYetValid) { () throws(JWTError) in try verifier.verify(token, now: now) }
        #expect(error?.status == .unauthenticated)
        #expect(error?.message == "token is not valid before 2027-01-15T08:01:01Z (now 2027-01-15T08:00:00Z, skew 60 s)")
    }

    @Test("exp is required; NumericDates must be numbers")
    func numericDates() throws {
        let verifier = try makeVerifier()
        let signer = try JWTSigner(hs256Secret: secret)
        expectRejection(.missingClaim) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(removing: ["exp"])), now: now) }
        for bad: JWTClaimValue in ["1800000600", true, [1_800_000_600], 1e300] {
            expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(["exp": bad])), now: now) }
            expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(["nbf": bad])), now: now) }
        }
    }

    // MARK: Issuer, audience, subject

    @Test("A wrong or missing iss is permission denied")
    func wrongIssuer() throws {
        let verifier = try makeVerifier()
        let signer = try JWTSigner(hs256Secret: secret)
        let error = expectRejection(.wrongIssuer) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(["iss": "https://evil.example"])), now: now)
        }
        #expect(error?.status == .permissionDenied)
        #expect(error?.message == "token issuer 'https://evil.example' is not 'https://auth.oo.example'")
        let missing = expectRejection(.wrongIssuer) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(removing: ["iss"])), now: now)
        }
        #expect(missing?.status == .permissionDenied)
    }

    @Test("A wrong or missing aud is permission denied; aud may be an array that contains ours")
    func audienceClaim() throws {
        let verifier = try makeVerifier()
        let signer = try JWTSigner(hs256Secret: secret)
        let error = expectRejection(.wrongAudience) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(["aud": "billing"])), now: now)
        }
        #expect(error?.status == .permissionDenied)
        expectRejection(.wrongAudience) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(["aud": ["billing", "search"]])), now: now)
        }
        expectRejection(.wrongAudience) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(["aud": []])), now: now)
        }
        expectRejection(.wrongAudience) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(removing: ["aud"])), now: now)
        }
        expectRejection(.malformed) { () throws(JWTError) in
            try verifier.verify(try! signer.sign(claims: claims(["aud": ["billing", 7]])), now: now)
        }
        let many = try verifier.verify(signer.sign(claims: claims(["aud": ["billing", .string(audience)]])), now: now)
        #expect(many.audience == ["billing", audience])
    }

    @Test("sub must be a non-empty string")
    func subjectClaim() throws {
        let verifier = try makeVerifier()
        let signer = try JWTSigner(hs256Secret: secret)
        expectRejection(.missingClaim) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(removing: ["sub"])), now: now) }
        expectRejection(.missingClaim) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(["sub": ""])), now: now) }
        expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(["sub": 42])), now: now) }
        expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(try! signer.sign(claims: claims(["sub": .null])), now: now) }
    }

    // MARK: Signatures and algorithms

    @Test("Flipping any bit of an HS256 or ES256 signature is a bad signature")
    func forgedSignature() throws {
        let keys = try JWTSigner.generateES256KeyPEM()
        let verifier = try makeVerifier([.hs256(secret: secret), .es256(publicKeyPEM: keys.publicKeyPEM)])
        for signer in [try JWTSigner(hs256Secret: secret), try JWTSigner(es256PrivateKeyPEM: keys.privateKeyPEM)] {
            let token = try signer.sign(claims: claims())
            let parts = token.split(separator: ".")
            let signature = try #require(Base64URL.decode(Array(parts[2].utf8)))
            for bit in 0..<(signature.count * 8) {
                var forged = signature
                forged[bit / 8] ^= 1 << UInt8(bit % 8)
                let forgedToken = "\(parts[0]).\(parts[1]).\(Base64URL.encode(forged))"
                expectRejection(.badSignature) { () throws(JWTError) in try verifier.verify(forgedToken, now: now) }
            }
            // A different payload under the original signature.
            let payload = Base64URL.encode(JSON.encodeObject(claims(["sub": "admin"]))!)
            expectRejection(.badSignature) { () throws(JWTError) in try verifier.verify("\(parts[0]).\(payload).\(parts[2])", now: now) }
            // A truncated or empty signature.
            expectRejection(.badSignature) { () throws(JWTError) in
                try verifier.verify("\(parts[0]).\(parts[1]).\(Base64URL.encode(signature.dropLast()))", now: now)
            }
            expectRejection(.badSignature) { () throws(JWTError) in try verifier.verify("\(parts[0]).\(parts[1]).", now: now) }
        }
    }

    @Test("An HS256 token signed with the wrong secret is a bad signature")
    func wrongSecret() throws {
        // (Not `secret + [0]`: HMAC pads short keys with zeros, so that is the same key.)
        var other = secret
        other[0] ^= 1
        let token = try JWTSigner(hs256Secret: other).sign(claims: claims())
        let configured = try makeVerifier()
        expectRejection(.badSignature) { () throws(JWTError) in try configured.verify(token, now: now) }
    }

    @Test("alg none and other algorithms are refused", arguments: ["none", "None", "NONE", "HS512", "RS256", "PS256", "ES384", "EdDSA", "hs256", ""])
    func unsupportedAlgorithms(_ alg: String) throws {
        let payload = String(decoding: JSON.encodeObject(claims())!, as: UTF8.self)
        let input = Base64URL.encode(Array("{\"alg\":\"\(alg)\",\"typ\":\"JWT\"}".utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let verifier = try makeVerifier()
        for token in [input + ".", handMade(header: "{\"alg\":\"\(alg)\"}", payload: payload)] {
            let error = expectRejection(.unsupportedAlgorithm) { () throws(JWTError) in try verifier.verify(token, now: now) }
            #expect(error?.status == .unauthenticated)
        }
    }

    @Test("Algorithm confusion: an HS256 token keyed with the ES256 public key PEM is refused")
    func algorithmConfusion() throws {
        let keys = try JWTSigner.generateES256KeyPEM()
        let confused = try JWTSigner(hs256Secret: Array(keys.publicKeyPEM.utf8)).sign(claims: claims())
        let confusedWithKeyID = try JWTSigner(hs256Secret: Array(keys.publicKeyPEM.utf8), keyID: "es-1").sign(claims: claims())

        let esOnly = try makeVerifier([.es256(publicKeyPEM: keys.publicKeyPEM, id: "es-1")])
        expectRejection(.unsupportedAlgorithm) { () throws(JWTError) in try esOnly.verify(confused, now: now) }
        expectRejection(.unsupportedAlgorithm) { () throws(JWTError) in try esOnly.verify(confusedWithKeyID, now: now) }

        // With an HS256 key configured too, the PEM still never serves as an HMAC secret.
        let both = try makeVerifier([.hs256(secret: secret, id: "hs-1"), .es256(publicKeyPEM: keys.publicKeyPEM, id: "es-1")])
        expectRejection(.badSignature) { () throws(JWTError) in try both.verify(confused, now: now) }
        expectRejection(.unsupportedAlgorithm) { () throws(JWTError) in try both.verify(confusedWithKeyID, now: now) }
        // Nor does an ES256 token reach the HS256 key by naming it.
        let esToken = try JWTSigner(es256PrivateKeyPEM: keys.privateKeyPEM, keyID: "hs-1").sign(claims: claims())
        expectRejection(.unsupportedAlgorithm) { () throws(JWTError) in try both.verify(esToken, now: now) }
    }

    @Test("A kid that names no configured key is an unknown key")
    func unknownKeyID() throws {
        let token = try JWTSigner(hs256Secret: secret, keyID: "retired-2025").sign(claims: claims())
        let verifier = try makeVerifier([.hs256(secret: secret, id: "current")])
        let error = expectRejection(.unknownKey) { () throws(JWTError) in try verifier.verify(token, now: now) }
        #expect(error?.status == .unauthenticated)
        #expect(error?.message == "token kid 'retired-2025' names no configured key")
        // A key without an id does not answer for a token that names one.
        let configured = try makeVerifier()
        expectRejection(.unknownKey) { () throws(JWTError) in try configured.verify(token, now: now) }
    }

    // MARK: Malformed input

    @Test(
        "Structure and encoding errors are malformed",
        arguments: [
            "", "abc", "a.b", "a.b.c.d", "...", "eyJhbGciOiJIUzI1NiJ9.e30", "eyJhbGciOiJIUzI1NiJ9.e30.sig.extra",
            "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9.e3 0.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.AA+A",
            "eyJhbGciOiJIUzI1NiJ9.e30.AAAA\n", "ey!hbGciOiJIUzI1NiJ9.e30.AAAA", "Ym9ndXM.e30.AAAA", "W10.e30.AAAA", "e30.e30.AAAA",
        ])
    func malformedStructure(_ token: String) throws {
        let configured = try makeVerifier()
        let error = expectRejection(.malformed) { () throws(JWTError) in try configured.verify(token, now: now) }
        #expect(error?.status == .unauthenticated)
    }

    @Test("Headers and payloads that are not JSON objects are malformed, even when signed")
    func malformedJSON() throws {
        let verifier = try makeVerifier()
        let payload = String(decoding: JSON.encodeObject(claims())!, as: UTF8.self)
        for header in ["not json", "[\"alg\",\"HS256\"]", "\"HS256\"", "{\"alg\":\"HS256\"", "{\"alg\":256}", "{}", "{\"alg\":\"HS256\",\"kid\":1}",
                       "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", "{\"alg\":\"HS256\",\"typ\":[]}"] {
            expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(handMade(header: header, payload: payload), now: now) }
        }
        let header = "{\"alg\":\"HS256\"}"
        for payload in ["not json", "[]", "null", "42", "{\"sub\":", String(repeating: "[", count: 600) + String(repeating: "]", count: 600), "\u{FF}"] {
            expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(handMade(header: header, payload: payload), now: now) }
        }
        // Valid JSON with a non-UTF-8 byte in it.
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array("{\"sub\":\"".utf8) + [0xC3, 0x28] + Array("\"}".utf8))
        let token = input + "." + Base64URL.encode(Crypto.hmacSHA256(key: secret, message: Array(input.utf8)[...])!)
        expectRejection(.malformed) { () throws(JWTError) in try verifier.verify(token, now: now) }
    }

    @Test("Every prefix of a valid token is refused")
    func truncation() throws {
        let verifier = try makeVerifier()
        let token = try JWTSigner(hs256Secret: secret).sign(claims: claims())
        for length in 0..<token.utf8.count {
            let prefix = String(token.prefix(length))
            #expect(throws: JWTError.self) { try verifier.verify(prefix, now: now) }
        }
        #expect(try verifier.verify(token, now: now).subject == "user-42")
    }

    @Test("Tokens over the length limit are refused before decoding")
    func oversized() throws {
        let signer = try JWTSigner(hs256Secret: secret)
        let big = try signer.sign(claims: claims(["padding": .string(String(repeating: "x", count: 9000))]))
        let configured = try makeVerifier()
        let error = expectRejection(.malformed) { () throws(JWTError) in try configured.verify(big, now: now) }
        #expect(error?.message == "token is \(big.utf8.count) bytes; the limit is 8192")
        // Exactly at the limit is fine.
        let token = try signer.sign(claims: claims())
        let exact = try makeVerifier(maxTokenLength: token.utf8.count)
        #expect(try exact.verify(token, now: now).subject == "user-42")
        let tooShort = try makeVerifier(maxTokenLength: token.utf8.count - 1)
        expectRejection(.malformed) { () throws(JWTError) in try tooShort.verify(token, now: now) }
    }

    // MARK: Messages, configuration, sharing

    @Test("Messages quote claims safely: control characters replaced, long values cut")
    func sanitizedMessages() throws {
        let signer = try JWTSigner(hs256Secret: secret)
        let token = try signer.sign(claims: claims(["iss": .string("evil\n\u{1B}[31m" + String(repeating: "y", count: 200))]))
        let configured = try makeVerifier()
        let error = try #require(expectRejection(.wrongIssuer) { () throws(JWTError) in try configured.verify(token, now: now) })
        #expect(!error.message.contains("\n") && !error.message.contains("\u{1B}"))
        #expect(error.message.count < 160)
        #expect(!error.description.contains(token))
    }

    @Test("Bad configurations are refused when the verifier is created")
    func badConfigurations() throws {
        let keys = try JWTSigner.generateES256KeyPEM()
        func code(_ configuration: JWTVerifier.Configuration) -> JWTKeyError.Code? {
            do {
                _ = try JWTVerifier(configuration: configuration)
                return nil
            } catch {
                return error.code
            }
        }
        let hs: JWTVerifier.Key = .hs256(secret: secret)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [hs])) == nil)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [])) == .invalidConfiguration)
        #expect(code(.init(issuer: "", audience: audience, keys: [hs])) == .invalidConfiguration)
        #expect(code(.init(issuer: issuer, audience: "", keys: [hs])) == .invalidConfiguration)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [hs], clockSkew: .seconds(301))) == .invalidConfiguration)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [hs], clockSkew: .seconds(-1))) == .invalidConfiguration)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [hs], clockSkew: .seconds(300))) == nil)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [hs], maxTokenLength: 0)) == .invalidConfiguration)
        #expect(
            code(.init(issuer: issuer, audience: audience, keys: [.hs256(secret: secret, id: "a"), .es256(publicKeyPEM: keys.publicKeyPEM, id: "a")]))
                == .invalidConfiguration)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [.hs256(secret: Array(secret.prefix(31)))])) == .invalidKey)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [.es256(publicKeyPEM: "not a pem")])) == .invalidKey)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [.es256(publicKeyPEM: keys.privateKeyPEM)])) == .invalidKey)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [.es256(publicKeyPEM: "")])) == .invalidKey)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [.es256(publicKeyPEM: ed25519PublicKeyPEM)])) == .invalidKey)
        #expect(code(.init(issuer: issuer, audience: audience, keys: [.es256(publicKeyPEM: p384PublicKeyPEM)])) == .invalidKey)
        #expect(JWTVerifier.Configuration(issuer: issuer, audience: audience, keys: [hs]).clockSkew == .seconds(60))
        #expect(JWTVerifier.Configuration(issuer: issuer, audience: audience, keys: [hs]).maxTokenLength == 8192)
    }

    @Test("Keys, verifiers and signers never print their secrets")
    func redaction() throws {
        let key: JWTVerifier.Key = .hs256(secret: secret, id: "hs-1")
        let verifier = try makeVerifier([key])
        let signer = try JWTSigner(hs256Secret: secret)
        let secretText = String(decoding: secret, as: UTF8.self)
        for text in [String(describing: key), String(reflecting: key), String(describing: verifier), String(describing: signer),
                     String(describing: [key]), "\(verifier.configuration)"] {
            #expect(!text.contains(secretText))
            #expect(!text.contains("\(secret[0]), \(secret[1]), \(secret[2])"))
        }
        var dumped = ""
        dump(verifier, to: &dumped)
        dump(signer, to: &dumped)
        #expect(!dumped.contains("\(secret[0])\n"))
    }

    @Test("One verifier serves many concurrent tasks")
    func concurrentUse() async throws {
        let keys = try JWTSigner.generateES256KeyPEM()
        let verifier = try makeVerifier([.es256(publicKeyPEM: keys.publicKeyPEM), .hs256(secret: secret)])
        let esToken = try JWTSigner(es256PrivateKeyPEM: keys.privateKeyPEM).sign(claims: claims())
        let hsToken = try JWTSigner(hs256Secret: secret).sign(claims: claims())
        let accepted = await withTaskGroup(of: Int.self) { group in
            for index in 0..<64 {
                group.addTask {
                    var count = 0
                    for _ in 0..<20 where (try? verifier.verify(index.isMultiple(of: 2) ? esToken : hsToken, now: now)) != nil {
                        count += 1
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(accepted == 64 * 20)
    }

    @Test("Bearer tokens are found in authorization values")
    func bearer() {
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearer abc.def.ghi") == "abc.def.ghi")
        #expect(JWTVerifier.bearerToken(fromAuthorization: "bearer  abc.def.ghi ") == "abc.def.ghi")
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Basic dXNlcjpwYXNz") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearer ") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearerabc") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: " \tBEARER\tabc.def.ghi\t ") == "abc.def.ghi")
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearer") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: "") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearer   ") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearex abc") == nil)
        #expect(JWTVerifier.bearerToken(fromAuthorization: "Bearér abc") == nil)
    }
}

/// An Ed25519 key (RFC 8410 §10.1): a valid public key PEM, but not P-256.
let ed25519PublicKeyPEM = """
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
    -----END PUBLIC KEY-----
    """

/// A P-384 public key: EC, but the wrong curve for ES256.
let p384PublicKeyPEM = """
    -----BEGIN PUBLIC KEY-----
    MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAELIFSSgPwp4XwgaILjWirdkpM02M7Q1HL
    6tbV97vA997irCTR4q+pPapQiNBI3os+DIi3TMWrQQOOdMROhz9dOUfpLmXLSeBN
    F++pmMUEIlYHVKbFDogHo2KhyjuTU8to
    -----END PUBLIC KEY-----
    """
