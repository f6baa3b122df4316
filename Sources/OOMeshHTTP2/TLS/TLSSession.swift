import COpenSSL
import OOMesh

/// One TLS connection driven through memory BIOs, sans-I/O like nghttp2: ciphertext from
/// the socket is fed in, plaintext comes out for nghttp2; nghttp2's plaintext goes in and
/// ciphertext comes out for the socket. Loop-confined.
final class TLSSession {
    /// Where the handshake stands.
    enum HandshakeProgress {
        case inProgress
        case done
        case failed(String)
    }

    /// The outcome of reading plaintext.
    enum ReadResult {
        /// This many plaintext bytes were written into the buffer.
        case bytes(Int)
        /// More ciphertext is needed.
        case needMoreInput
        /// The peer sent close_notify.
        case closed
        /// A TLS error; the connection must close.
        case failed(String)
    }

    private let ssl: OpaquePointer
    private let inputBIO: OpaquePointer  // ciphertext from the socket, for OpenSSL to read
    private let outputBIO: OpaquePointer  // ciphertext OpenSSL wrote, for the socket
    private(set) var handshakeDone = false

    init(context: TLSContext, serverName: String?) throws(TLSConfigurationError) {
        guard let ssl = SSL_new(context.context) else {
            throw TLSConfigurationError(message: "SSL_new failed: \(TLSContext.takeErrors())")
        }
        self.ssl = ssl
        inputBIO = BIO_new(BIO_s_mem())
        outputBIO = BIO_new(BIO_s_mem())
        SSL_set_bio(ssl, inputBIO, outputBIO)  // the SSL owns both BIOs from here on
        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            _ = oo_ssl_offer_alpn_h2(ssl)
            if let serverName {
                if serverName.contains(where: { $0 == ":" }) || serverName.allSatisfy({ $0.isNumber || $0 == "." }) {
                    // An IP address: no SNI (RFC 6066 allows host names only); verified
                    // against the certificate's IP SANs.
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
                } else {
                    _ = oo_ssl_set_server_name(ssl, serverName)
                    SSL_set1_host(ssl, serverName)
                }
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Hands ciphertext from the socket to OpenSSL.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = BIO_write(inputBIO, bytes.baseAddress, Int32(bytes.count))
    }

    /// Advances the handshake with whatever input there is.
    func handshake() -> HandshakeProgress {
        if handshakeDone { return .done }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeDone = true
            if negotiatedProtocol != "h2" {
                return .failed("the peer did not negotiate HTTP/2 by ALPN (got \(negotiatedProtocol.map { "'\($0)'" } ?? "none")); gRPC needs h2")
            }
            return .done
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return .inProgress }
        var reason = TLSContext.takeErrors()
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
            reason += " (certificate verification: \(String(cString: text)))"
        }
        return .failed("TLS handshake failed: \(reason)")
    }

    /// Decrypts into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        if count > 0 { return .bytes(Int(count)) }
        switch SSL_get_error(ssl, count) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needMoreInput
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed("TLS error: \(TLSContext.takeErrors())")
        }
    }

    /// Encrypts plaintext; the ciphertext waits in the output BIO for `drain(into:)`.
    func write(_ bytes: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let count = SSL_write(ssl, bytes.baseAddress! + offset, Int32(bytes.count - offset))
            guard count > 0 else { return "TLS write failed: \(TLSContext.takeErrors())" }
            offset += Int(count)
        }
        return nil
    }

    /// Moves pending ciphertext to `out`.
    func drain(into out: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(outputBIO))
        guard pending > 0 else { return }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: pending))
        let read = out.withUnsafeMutableBytes { raw in
            BIO_read(outputBIO, raw.baseAddress! + start, Int32(pending))
        }
        out.removeLast(pending - Int(max(0, read)))
    }

    /// Queues close_notify.
    func shutdown() {
        SSL_shutdown(ssl)
    }

    /// The ALPN protocol agreed on, if any.
    var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The verified peer certificate's identity, if the peer sent one.
    var peerIdentity: PeerIdentity? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        guard SSL_get_verify_result(ssl) == X509_V_OK else { return nil }
        var subject = ""
        if let name = X509_get_subject_name(certificate), let bio = BIO_new(BIO_s_mem()) {
            oo_x509_name_print_rfc2253(bio, name)
            var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
            let read = BIO_read(bio, &bytes, Int32(bytes.count))
            subject = String(decoding: bytes.prefix(Int(max(0, read))), as: UTF8.self)
            BIO_free(bio)
        }
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 512)
        for index in 0..<oo_x509_san_count(certificate) {
            if oo_x509_san(certificate, index, &buffer, Int32(buffer.count)) > 0 {
                names.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
        }
        return PeerIdentity(subject: subject, subjectAlternativeNames: names)
    }
}
