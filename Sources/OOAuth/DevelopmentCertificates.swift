internal import COpenSSL
import Foundation

/// A development certificate authority on disk, and one certificate per workload signed by
/// it: what `oo up` gives every service for mutual TLS, and `oo certs` (and
/// `tools/make-certs`, which runs it) makes for anyone else. Not for production: the keys are
/// unencrypted files (0600, in a 0700 directory).
///
/// In `directory`: `ca.pem` and `ca.key`, and for each name `NAME.pem` (the leaf certificate
/// followed by the CA's, so a server sends its chain) and `NAME.key`. Keys are P-256. Each
/// leaf is valid for TLS servers and clients (extended key usage serverAuth and clientAuth,
/// so one certificate serves mutual TLS both ways), for the host names `NAME` and `localhost`
/// and the addresses 127.0.0.1 and ::1, and carries its workload identity as a URI SAN,
/// `spiffe://TRUST-DOMAIN/NAME`. What exists is kept: ``ensure(_:)`` only adds what is
/// missing, so certificates already handed out stay valid.
public struct DevelopmentCertificates: Sendable {
    /// Where the files are.
    public let directory: String
    /// The SPIFFE trust domain of the workload identities. Default: `oo.local`.
    public var trustDomain: String
    /// How long new certificates are valid. Default: 825 days (the longest browsers accept).
    public var validityDays: Int

    public init(directory: String, trustDomain: String = "oo.local", validityDays: Int = 825) {
        self.directory = directory
        self.trustDomain = trustDomain
        self.validityDays = validityDays
    }

    /// The CA certificate, which every peer trusts.
    public var caCertificatePath: String { "\(directory)/ca.pem" }
    /// `name`'s certificate chain (leaf first).
    public func certificatePath(_ name: String) -> String { "\(directory)/\(name).pem" }
    /// `name`'s private key.
    public func keyPath(_ name: String) -> String { "\(directory)/\(name).key" }
    /// `name`'s workload identity, as it appears in its certificate.
    public func identity(_ name: String) -> String { "spiffe://\(trustDomain)/\(name)" }

    /// A certificate could not be made or an existing file not read.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes the CA if it is missing, then a certificate for every name that has none.
    /// Returns the files created, in order.
    @discardableResult
    public func ensure(_ names: [String]) throws(Failure) -> [String] {
        for name in names where name.isEmpty || name.contains(where: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) || name.hasPrefix(".") {
            throw Failure(description: "'\(name)' cannot name a certificate: use letters, digits, '-', '_' and '.'.")
        }
        guard validityDays > 0 else { throw Failure(description: "validityDays must be positive, got \(validityDays).") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(description: "Cannot create \(directory): \(error.localizedDescription)")
        }
        var created: [String] = []
        let fileManager = FileManager.default
        let ca: (certificate: OpaquePointer, key: P256Key)
        if fileManager.fileExists(atPath: caCertificatePath), fileManager.fileExists(atPath: keyPath("ca")) {
            ca = try loadCA()
        } else {
            ca = try makeCA()
            created.append(caCertificatePath)
        }
        defer { X509_free(ca.certificate) }
        let caPEM = try pem(of: ca.certificate)
        for name in names where !(fileManager.fileExists(atPath: certificatePath(name)) && fileManager.fileExists(atPath: keyPath(name))) {
            let key = try generateKey()
            let leaf = try makeCertificate(
                commonName: name, key: key, issuer: ca.certificate, issuerKey: ca.key,
                extensions: [
                    (NID_basic_constraints, "critical,CA:FALSE"),
                    (NID_key_usage, "critical,digitalSignature,keyEncipherment"),
                    (NID_ext_key_usage, "serverAuth,clientAuth"),
                    (NID_subject_alt_name, "DNS:\(name),DNS:localhost,IP:127.0.0.1,IP:::1,URI:\(identity(name))"),
                    (NID_subject_key_identifier, "hash"),
                    (NID_authority_key_identifier, "keyid:always"),
                ])
            defer { X509_free(leaf) }
            try write(try privateKeyPEM(key), to: keyPath(name), secret: true)
            try write(try pem(of: leaf) + caPEM, to: certificatePath(name), secret: false)
            created.append(certificatePath(name))
        }
        return created
    }

    // MARK: The CA

    private func makeCA() throws(Failure) -> (certificate: OpaquePointer, key: P256Key) {
        let key = try generateKey()
        let certificate = try makeCertificate(
            commonName: "oO mesh development CA", key: key, issuer: nil, issuerKey: key,
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ])
        try write(try privateKeyPEM(key), to: keyPath("ca"), secret: true)
        try write(try pem(of: certificate), to: caCertificatePath, secret: false)
        return (certificate, key)
    }

    private func loadCA() throws(Failure) -> (certificate: OpaquePointer, key: P256Key) {
        let certificateText: String
        let keyText: String
        do {
            certificateText = try String(contentsOfFile: caCertificatePath, encoding: .utf8)
            keyText = try String(contentsOfFile: keyPath("ca"), encoding: .utf8)
        } catch {
            throw Failure(description: "Cannot read the CA in \(directory): \(error.localizedDescription)")
        }
        let key: P256Key
        do { key = try P256Key.privateKey(pem: keyText) } catch {
            throw Failure(description: "\(keyPath("ca")) is not a P-256 private key: \(error)")
        }
        let bytes = Array(certificateText.utf8)
        let certificate = bytes.withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let certificate else { throw Failure(description: "\(caCertificatePath) is not a PEM certificate: \(Crypto.takeError())") }
        guard X509_check_private_key(certificate, key.evpKey) == 1 else {
            X509_free(certificate)
            throw Failure(description: "\(keyPath("ca")) is not the key of \(caCertificatePath): \(Crypto.takeError())")
        }
        return (certificate, key)
    }

    // MARK: OpenSSL

    private func generateKey() throws(Failure) -> P256Key {
        do { return try P256Key.generate() } catch { throw Failure(description: "Cannot make a P-256 key: \(error)") }
    }

    private func privateKeyPEM(_ key: P256Key) throws(Failure) -> String {
        do { return try key.privateKeyPEM() } catch { throw Failure(description: "\(error)") }
    }

    private func pem(of certificate: OpaquePointer) throws(Failure) -> String {
        guard let text = Crypto.writeToMemoryBIO({ PEM_write_bio_X509($0, certificate) }) else {
            throw Failure(description: "PEM_write_bio_X509: \(Crypto.takeError())")
        }
        return text
    }

    /// A certificate for `key`, signed by `issuerKey` (self-signed when `issuer` is nil).
    private func makeCertificate(
        commonName: String, key: P256Key, issuer: OpaquePointer?, issuerKey: P256Key, extensions: [(Int32, String)]
    ) throws(Failure) -> OpaquePointer {
        guard let certificate = X509_new() else { throw Failure(description: "X509_new: \(Crypto.takeError())") }
        var ok = X509_set_version(certificate, 2) == 1  // v3
            && ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate), UInt64.random(in: 1...UInt64(Int64.max))) == 1
            && X509_gmtime_adj(X509_getm_notBefore(certificate), -300) != nil  // a little clock skew
            && X509_gmtime_adj(X509_getm_notAfter(certificate), validityDays * 86_400) != nil
        let subject = X509_get_subject_name(certificate)
        let utf8 = Int32(0x1000 | 1)  // MBSTRING_ASC
        ok = ok && X509_NAME_add_entry_by_txt(subject, "O", utf8, "oO mesh", -1, -1, 0) == 1
            && X509_NAME_add_entry_by_txt(subject, "CN", utf8, commonName, -1, -1, 0) == 1
            && X509_set_issuer_name(certificate, issuer.map { X509_get_subject_name($0) } ?? subject) == 1
            && X509_set_pubkey(certificate, key.evpKey) == 1
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions where ok {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else { ok = false; break }
            ok = X509_add_ext(certificate, ext, -1) == 1
            X509_EXTENSION_free(ext)
        }
        ok = ok && X509_sign(certificate, issuerKey.evpKey, EVP_sha256()) > 0
        guard ok else {
            X509_free(certificate)
            throw Failure(description: "Cannot make the certificate for \(commonName): \(Crypto.takeError())")
        }
        return certificate
    }

    /// Writes `text` to `path` through a temporary file renamed over it (a reader never sees
    /// half a file); 0600 for secrets, 0644 otherwise.
    private func write(_ text: String, to path: String, secret: Bool) throws(Failure) {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(
            atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: secret ? 0o600 : 0o644]),
            rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw Failure(description: "Cannot write \(path): errno \(errno)")
        }
    }
}
