import ArgumentParser
import OOMeshHTTP2

/// grpcurl's TLS flags for a client command (`oo call`, `oo health`, `oo simulate
/// --gateway`): TLS when any is given, verifying the server with --cacert (else the system's
/// trust store), presenting --cert/--key for mutual TLS; plaintext h2c when none is.
/// For `oo up`'s mesh: `--cacert oo-data/certs/ca.pem --cert oo-data/certs/operator.pem
/// --key oo-data/certs/operator.key`.
struct ClientTLSOptions: ParsableArguments {
    @Option(name: .customLong("cacert"), help: "CA certificates (PEM) that verify the server; gives TLS.") var caCertificate: String?
    @Option(name: .customLong("cert"), help: "A client certificate (PEM) for mutual TLS; gives TLS.") var certificate: String?
    @Option(name: .customLong("key"), help: "The private key of --cert (PEM).") var key: String?
    @Option(name: .customLong("servername"), help: "The name the server's certificate must match, instead of the host.")
    var serverName: String?

    /// The TLS to use; nil for plaintext.
    func configuration() throws -> ClientTLSConfiguration? {
        guard caCertificate != nil || certificate != nil || key != nil || serverName != nil else { return nil }
        guard (certificate == nil) == (key == nil) else {
            throw ValidationError("--cert and --key go together (a client certificate and its private key).")
        }
        return ClientTLSConfiguration(
            trustRootsPath: caCertificate, certificateChainPath: certificate, privateKeyPath: key, serverHostnameOverride: serverName)
    }
}
