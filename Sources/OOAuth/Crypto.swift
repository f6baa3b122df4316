internal import COpenSSL

// With DevelopmentCertificates.swift (X.509), the only file that touches libcrypto. Every object is freed before its function returns
// (or, for keys, when the owning `P256Key` goes), and every failure clears OpenSSL's
// thread-local error queue so that it cannot leak into the TLS code running on the same thread.

/// A P-256 key (public, or a private key with its public half) in an `EVP_PKEY`.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is created in `init` and never modified afterwards;
/// signing and verifying only read it, each with its own `EVP_MD_CTX`, which OpenSSL allows
/// from several threads at once (openssl-threads(7)). It is freed exactly once, in `deinit`.
final class P256Key: @unchecked Sendable {
    private let pkey: OpaquePointer

    /// The `EVP_PKEY`, for code in this module that signs certificates with it.
    var evpKey: OpaquePointer { pkey }

    private init(taking pkey: OpaquePointer) {
        self.pkey = pkey
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// Reads a `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM.
    static func publicKey(pem: String) throws(JWTKeyError) -> P256Key {
        let pkey = withMemoryBIO(Array(pem.utf8)) { bio in PEM_read_bio_PUBKEY(bio, nil, nil, nil) }
        guard let pkey else {
            throw JWTKeyError(.invalidKey, "not a PEM public key (-----BEGIN PUBLIC KEY-----): \(Crypto.takeError())")
        }
        return try checked(P256Key(taking: pkey), what: "public key")
    }

    /// Reads an unencrypted `-----BEGIN PRIVATE KEY-----` (PKCS #8) or
    /// `-----BEGIN EC PRIVATE KEY-----` PEM. Encrypted keys are refused, never prompted for.
    static func privateKey(pem: String) throws(JWTKeyError) -> P256Key {
        let pkey = withMemoryBIO(Array(pem.utf8)) { bio in
            PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil)
        }
        guard let pkey else {
            throw JWTKeyError(
                .invalidKey, "not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----): \(Crypto.takeError())")
        }
        return try checked(P256Key(taking: pkey), what: "private key")
    }

    /// A fresh key pair.
    static func generate() throws(JWTKeyError) -> P256Key {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw JWTKeyError(.cryptoFailure, "EVP_PKEY_CTX_new_from_name: \(Crypto.takeError())")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
            EVP_PKEY_generate(context, &pkey) == 1, let pkey
        else {
            throw JWTKeyError(.cryptoFailure, "P-256 key generation failed: \(Crypto.takeError())")
        }
        return P256Key(taking: pkey)
    }

    private static func checked(_ key: P256Key, what: String) throws(JWTKeyError) -> P256Key {
        guard EVP_PKEY_is_a(key.pkey, "EC") == 1 else {
            throw JWTKeyError(.invalidKey, "the \(what) is not an EC key; ES256 needs P-256")
        }
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key.pkey, &name, name.count, &length) == 1 else {
            Crypto.clearErrors()
            throw JWTKeyError(.invalidKey, "the \(what) has no named curve; ES256 needs P-256")
        }
        let curve = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard curve == "prime256v1" || curve == "P-256" else {
            throw JWTKeyError(.invalidKey, "the \(what) is on curve \(curve); ES256 needs P-256 (prime256v1)")
        }
        return key
    }

    /// The private key as unencrypted PKCS #8 PEM.
    func privateKeyPEM() throws(JWTKeyError) -> String {
        let pem = Crypto.writeToMemoryBIO { bio in PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) }
        guard let pem else { throw JWTKeyError(.cryptoFailure, "PEM_write_bio_PrivateKey: \(Crypto.takeError())") }
        return pem
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    func publicKeyPEM() throws(JWTKeyError) -> String {
        let pem = Crypto.writeToMemoryBIO { bio in PEM_write_bio_PUBKEY(bio, pkey) }
        guard let pem else { throw JWTKeyError(.cryptoFailure, "PEM_write_bio_PUBKEY: \(Crypto.takeError())") }
        return pem
    }

    /// Whether `signature` (raw `r || s`, 32 bytes each) is an ES256 signature of `message`.
    func verify(signature: [UInt8], of message: ArraySlice<UInt8>) -> Bool {
        guard signature.count == 64, let der = Crypto.derSignature(fromRaw: signature) else { return false }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let verified = der.withUnsafeBufferPointer { der in
            message.withUnsafeBufferPointer { message in
                EVP_DigestVerifyInit_ex(context, nil, "SHA256", nil, nil, pkey, nil) == 1
                    && EVP_DigestVerify(context, der.baseAddress, der.count, message.baseAddress, message.count) == 1
            }
        }
        if !verified { Crypto.clearErrors() }
        return verified
    }

    /// The ES256 signature of `message`: raw `r || s`, each left-padded to 32 bytes.
    func sign(_ message: [UInt8]) throws(JWTKeyError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else {
            throw JWTKeyError(.cryptoFailure, "EVP_MD_CTX_new: \(Crypto.takeError())")
        }
        defer { EVP_MD_CTX_free(context) }
        var der = [UInt8](repeating: 0, count: 80)  // an ECDSA-Sig-Value on P-256 is at most 72 bytes
        var length = der.count
        let signed = message.withUnsafeBufferPointer { message in
            EVP_DigestSignInit_ex(context, nil, "SHA256", nil, nil, pkey, nil) == 1
                && EVP_DigestSign(context, &der, &length, message.baseAddress, message.count) == 1
        }
        guard signed, let raw = Crypto.rawSignature(fromDER: der.prefix(length)) else {
            throw JWTKeyError(.cryptoFailure, "ES256 signing failed: \(Crypto.takeError())")
        }
        return raw
    }

    private static func withMemoryBIO(_ bytes: [UInt8], _ body: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
        guard !bytes.isEmpty, bytes.count <= Int(Int32.max) else { return nil }
        return bytes.withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }
}

/// Free functions over libcrypto that need no key object.
enum Crypto {
    /// HMAC-SHA-256 of `message` under `key`.
    static func hmacSHA256(key: [UInt8], message: ArraySlice<UInt8>) -> [UInt8]? {
        var mac = [UInt8](repeating: 0, count: 32)
        var length = 0
        let result = key.withUnsafeBytes { key in
            message.withUnsafeBufferPointer { message in
                mac.withUnsafeMutableBufferPointer { mac in
                    EVP_Q_mac(
                        nil, "HMAC", nil, "SHA256", nil, key.baseAddress, key.count, message.baseAddress,
                        message.count, mac.baseAddress, mac.count, &length)
                }
            }
        }
        guard result != nil, length == 32 else {
            clearErrors()
            return nil
        }
        return mac
    }

    /// Compares two byte strings in time that depends only on their length (CRYPTO_memcmp).
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { a in b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }

    /// JWS `r || s` to the DER `ECDSA-Sig-Value` that EVP_DigestVerify expects.
    fileprivate static func derSignature(fromRaw raw: [UInt8]) -> [UInt8]? {
        guard let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        let (r, s) = raw.withUnsafeBufferPointer { raw in
            (BN_bin2bn(raw.baseAddress, 32, nil), BN_bin2bn(raw.baseAddress! + 32, 32, nil))
        }
        guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            clearErrors()
            return nil
        }
        // From here `signature` owns r and s.
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else {
            clearErrors()
            return nil
        }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        guard written == length else {
            clearErrors()
            return nil
        }
        return der
    }

    /// A DER `ECDSA-Sig-Value` to JWS `r || s`.
    fileprivate static func rawSignature(fromDER der: ArraySlice<UInt8>) -> [UInt8]? {
        let signature = der.withUnsafeBufferPointer { der -> OpaquePointer? in
            var cursor = der.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, der.count)
        }
        guard let signature else { return nil }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        var raw = [UInt8](repeating: 0, count: 64)
        let ok = raw.withUnsafeMutableBufferPointer { raw in
            BN_bn2binpad(r, raw.baseAddress, 32) == 32 && BN_bn2binpad(s, raw.baseAddress! + 32, 32) == 32
        }
        return ok ? raw : nil
    }

    /// Runs `write` on a memory BIO and returns what it wrote, or nil when it failed.
    static func writeToMemoryBIO(_ write: (OpaquePointer) -> Int32) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { return nil }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            var count = 0
            let ok = chunk.withUnsafeMutableBytes { chunk in BIO_read_ex(bio, chunk.baseAddress, chunk.count, &count) }
            guard ok == 1, count > 0 else { break }
            output += chunk.prefix(count)
        }
        clearErrors()  // BIO_read_ex on an empty memory BIO is not an error worth keeping
        return String(decoding: output, as: UTF8.self)
    }

    /// OpenSSL's most recent error as text, clearing the queue; never contains key material.
    static func takeError() -> String {
        let code = ERR_peek_last_error()
        defer { clearErrors() }
        guard code != 0 else { return "no OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func clearErrors() {
        ERR_clear_error()
    }
}
