import Foundation
import Testing

@testable import OOAuth

@Suite("JWTSigner")
struct JWTSignerTests {
    @Test("HS256 output: sorted compact JSON header and payload, 32-byte MAC, no padding")
    func hs256Shape() throws {
        let token = try JWTSigner(hs256Secret: secret, keyID: "k1").sign(claims: ["sub": "a", "exp": 1_300_819_380])
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        #expect(parts.count == 3)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(Base64URL.decode(Array(parts[0].utf8)).map { String(decoding: $0, as: UTF8.self) } == "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}")
        #expect(Base64URL.decode(Array(parts[1].utf8)).map { String(decoding: $0, as: UTF8.self) } == "{\"exp\":1300819380,\"sub\":\"a\"}")
        #expect(Base64URL.decode(Array(parts[2].utf8))?.count == 32)
    }

    @Test("HS256 matches an independent HMAC: RFC 4231 test case 2 via the same primitive")
    func hmacPrimitive() throws {
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)[...])
        #expect(mac.map { $0.map { String(format: "%02x", $0) }.joined() } == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("Signing keys are checked: short secrets, public or foreign PEMs, encrypted keys")
    func badKeys() throws {
        let keys = try JWTSigner.generateES256KeyPEM()
        func code(_ make: () throws(JWTKeyError) -> JWTSigner) -> JWTKeyError.Code? {
            do {
                _ = try make()
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code { () throws(JWTKeyError) in try JWTSigner(hs256Secret: Array(repeating: 1, count: 31)) } == .invalidKey)
        #expect(code { () throws(JWTKeyError) in try JWTSigner(hs256Secret: []) } == .invalidKey)
        #expect(code { () throws(JWTKeyError) in try JWTSigner(es256PrivateKeyPEM: keys.publicKeyPEM) } == .invalidKey)
        #expect(code { () throws(JWTKeyError) in try JWTSigner(es256PrivateKeyPEM: "") } == .invalidKey)
        #expect(code { () throws(JWTKeyError) in try JWTSigner(es256PrivateKeyPEM: encryptedPrivateKeyPEM) } == .invalidKey)
        #expect(code { () throws(JWTKeyError) in try JWTSigner(es256PrivateKeyPEM: keys.privateKeyPEM) } == nil)
        #expect(code { () throws(JWTKeyError) in try JWTSigner(es256PrivateKeyPEM: sec1PrivateKeyPEM) } == nil)
    }

    @Test("A SEC 1 (BEGIN EC PRIVATE KEY) key signs tokens its public key verifies")
    func sec1Key() throws {
        let token = try JWTSigner(es256PrivateKeyPEM: sec1PrivateKeyPEM).sign(claims: claims())
        let verifier = try makeVerifier([.es256(publicKeyPEM: sec1PublicKeyPEM)])
        #expect(try verifier.verify(token, now: now).subject == "user-42")
    }

    @Test("Each generated key pair is new, and signatures from one do not verify with another")
    func freshKeys() throws {
        let a = try JWTSigner.generateES256KeyPEM()
        let b = try JWTSigner.generateES256KeyPEM()
        #expect(a.privateKeyPEM != b.privateKeyPEM && a.publicKeyPEM != b.publicKeyPEM)
        let token = try JWTSigner(es256PrivateKeyPEM: a.privateKeyPEM).sign(claims: claims())
        let configured = try makeVerifier([.es256(publicKeyPEM: b.publicKeyPEM)])
        expectRejection(.badSignature) { () throws(JWTError) in try configured.verify(token, now: now) }
    }

    @Test("Non-finite numbers cannot be signed")
    func nonFinite() throws {
        #expect(throws: JWTKeyError.self) { try JWTSigner(hs256Secret: secret).sign(claims: ["n": .number(.infinity)]) }
    }
}

/// A fixed P-256 key pair in SEC 1 form (made once with `openssl ecparam -genkey`).
let sec1PrivateKeyPEM = """
    -----BEGIN EC PRIVATE KEY-----
    MHcCAQEEIK5jSuCv5Z/kvQJ/3qbi5qxAPdOHEOlvHyzSSYQ4sjmOoAoGCCqGSM49
    AwEHoUQDQgAEidRe6V4w/yJB8JJYEWlsg0s+Gxsl7OjUA6OiAu2cECjo7fx2jNhu
    L83UTlCuJTzh+JAZz1sY+lfoQlx2kFfe1A==
    -----END EC PRIVATE KEY-----
    """
let sec1PublicKeyPEM = """
    -----BEGIN PUBLIC KEY-----
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEidRe6V4w/yJB8JJYEWlsg0s+Gxsl
    7OjUA6OiAu2cECjo7fx2jNhuL83UTlCuJTzh+JAZz1sY+lfoQlx2kFfe1A==
    -----END PUBLIC KEY-----
    """
/// A P-256 PKCS #8 key encrypted with the passphrase "test": never prompted for, refused.
let encryptedPrivateKeyPEM = """
    -----BEGIN ENCRYPTED PRIVATE KEY-----
    MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhcDglrVf5xtAICCAAw
    DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEHcbKINfo1kRdbGqH0TNZooEgZAV
    8W+tJTcejUGAdmi8BoLHOLR/j7hSfgJyRKMIFMKWFQQYOKNzFmVlUGUSlV6/V1JU
    YgLxMGGHqGJlgKlyNagnYGzbWINw5QMuWXOPFNUFvVKqvWyvtvmtpNoDGNAvSAeV
    VidCWFe0nUqJuDZCv0JwV4logu4oWlCfhNUBVGSKCdrZMC1wVB1lrVwT6QXC7IQ=
    -----END ENCRYPTED PRIVATE KEY-----
    """
