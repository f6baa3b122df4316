import COpenSSL

/// An OpenSSL `SSL_CTX` built from a TLS configuration; shared by every connection of a
/// transport.
final class TLSContext: @unchecked Sendable {
    // @unchecked Sendable: the SSL_CTX is configured in `init` and only read afterwards
    // (SSL_new), which OpenSSL documents as thread-safe.

    let context: OpaquePointer
    let isServer: Bool

    /// A server context: certificate, key, ALPN h2 required, client verification.
    init(server configuration: ServerTLSConfiguration) throws(TLSConfigurationError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSConfigurationError(message: "SSL_CTX_new failed: \(Self.takeErrors())")
        }
        self.context = context
        isServer = true
        try configureCommon()
        try loadCertificate(chain: configuration.certificateChainPath, key: configuration.privateKeyPath)
        if let roots = configuration.trustRootsPath {
            guard SSL_CTX_load_verify_locations(context, roots, nil) == 1 else {
                throw TLSConfigurationError(message: "Cannot load trust roots from '\(roots)': \(Self.takeErrors())")
            }
            if let names = SSL_load_client_CA_file(roots) { SSL_CTX_set_client_CA_list(context, names) }
        }
        switch configuration.clientCertificateVerification {
        case .none:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        case .optional:
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        case .required:
            guard configuration.trustRootsPath != nil else {
                throw TLSConfigurationError(message: "Mutual TLS (client certificates required) needs trustRootsPath to verify them against.")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        oo_ssl_ctx_require_alpn_h2(context)
    }

    /// A client context: trust roots (or the system's), an optional client certificate.
    init(client configuration: ClientTLSConfiguration) throws(TLSConfigurationError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSConfigurationError(message: "SSL_CTX_new failed: \(Self.takeErrors())")
        }
        self.context = context
        isServer = false
        try configureCommon()
        if let roots = configuration.trustRootsPath {
            guard SSL_CTX_load_verify_locations(context, roots, nil) == 1 else {
                throw TLSConfigurationError(message: "Cannot load trust roots from '\(roots)': \(Self.takeErrors())")
            }
        } else {
            SSL_CTX_set_default_verify_paths(context)
        }
        if let chain = configuration.certificateChainPath {
            guard let key = configuration.privateKeyPath else {
                throw TLSConfigurationError(message: "A client certificate ('\(chain)') needs privateKeyPath too.")
            }
            try loadCertificate(chain: chain, key: key)
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    }

    deinit {
        SSL_CTX_free(context)
    }

    private func configureCommon() throws(TLSConfigurationError) {
        guard oo_ssl_ctx_set_min_tls12(context) == 1 else {
            throw TLSConfigurationError(message: "Cannot require TLS 1.2: \(Self.takeErrors())")
        }
        oo_ssl_ctx_set_modes(context)
    }

    private func loadCertificate(chain: String, key: String) throws(TLSConfigurationError) {
        guard SSL_CTX_use_certificate_chain_file(context, chain) == 1 else {
            throw TLSConfigurationError(message: "Cannot load the certificate chain '\(chain)': \(Self.takeErrors())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            throw TLSConfigurationError(message: "Cannot load the private key '\(key)': \(Self.takeErrors())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSConfigurationError(message: "The private key '\(key)' does not match the certificate '\(chain)': \(Self.takeErrors())")
        }
    }

    /// Drains OpenSSL's error queue of this thread into one readable line.
    static func takeErrors() -> String {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
    }
}
