/// TLS settings for a server: its certificate and, for mutual TLS, how clients are verified.
///
/// Files are PEM. TLS 1.2 is the minimum; ALPN must select `h2` (a client that does not
/// offer it is refused during the handshake).
public struct ServerTLSConfiguration: Sendable, Hashable {
    /// How the server treats client certificates.
    public enum ClientCertificateVerification: Sendable, Hashable {
        /// Clients are not asked for a certificate. The default.
        case none
        /// A certificate is asked for and verified when sent, but not required.
        case optional
        /// Clients must present a certificate that chains to `trustRootsPath` (mutual TLS).
        case required
    }

    /// The server's certificate chain, leaf first.
    public var certificateChainPath: String
    /// The server's private key.
    public var privateKeyPath: String
    /// CA certificates that client certificates must chain to. Default: nil (none trusted).
    public var trustRootsPath: String?
    /// Default: `.none`.
    public var clientCertificateVerification: ClientCertificateVerification

    /// Creates a configuration.
    public init(
        certificateChainPath: String, privateKeyPath: String, trustRootsPath: String? = nil,
        clientCertificateVerification: ClientCertificateVerification = .none
    ) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
        self.clientCertificateVerification = clientCertificateVerification
    }
}

/// TLS settings for a client: whom to trust, what name to check, and an optional client
/// certificate for mutual TLS.
public struct ClientTLSConfiguration: Sendable, Hashable {
    /// CA certificates the server's certificate must chain to. Default: nil, meaning the
    /// system's default trust store.
    public var trustRootsPath: String?
    /// The client's certificate chain for mutual TLS. Default: nil.
    public var certificateChainPath: String?
    /// The client's private key for mutual TLS. Default: nil.
    public var privateKeyPath: String?
    /// The name the server's certificate must match and the SNI sent, instead of the
    /// target host (like gRPC's `server_host_override`). Default: nil, meaning the host.
    public var serverHostnameOverride: String?

    /// Creates a configuration.
    public init(
        trustRootsPath: String? = nil, certificateChainPath: String? = nil, privateKeyPath: String? = nil,
        serverHostnameOverride: String? = nil
    ) {
        self.trustRootsPath = trustRootsPath
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.serverHostnameOverride = serverHostnameOverride
    }
}

/// A TLS setting that could not be applied: a file that does not load, a key that does
/// not match its certificate. The message names the file and OpenSSL's reason.
public struct TLSConfigurationError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    public var description: String { message }
}
