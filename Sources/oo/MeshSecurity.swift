import Dispatch
import Foundation
import OOMeshHTTP2

/// The TLS settings of `oo serve`, from its flags (or `OO_*` / `--config`): the server's
/// certificate, the CA that verifies peers, and the downstream clients' certificate and CA.
/// TLS unless `--insecure-plaintext` says otherwise; never neither, never both.
struct MeshSecurity {
    /// The flags as given (nil: not given).
    struct Flags {
        var certificate: String?
        var key: String?
        var ca: String?
        var clientAuthentication: String?
        var clientCertificate: String?
        var clientKey: String?
        var clientCA: String?
        var reloadInterval: Double?
        var insecurePlaintext: Bool
    }

    /// The server's TLS; nil for plaintext.
    let server: ServerTLSConfiguration?
    /// The downstream clients' TLS; nil for plaintext.
    let client: ClientTLSConfiguration?
    /// Watches every TLS file for a rotation; nil for plaintext or with a 0 interval.
    let watcher: TLSFileWatcher?

    init(settings: Settings, flags: Flags) throws {
        let certificate = settings.string(flags.certificate, "tls-cert")
        let key = settings.string(flags.key, "tls-key")
        let ca = settings.string(flags.ca, "tls-ca")
        let plaintext = try settings.bool(flags.insecurePlaintext, "insecure-plaintext")
        if plaintext {
            guard certificate == nil, key == nil, ca == nil else {
                throw SettingsError(message: "--insecure-plaintext and --tls-cert/--tls-key/--tls-ca contradict each other: choose TLS or plaintext.")
            }
            server = nil
            client = nil
            watcher = nil
            return
        }
        guard let certificate, let key else {
            throw SettingsError(message: """
                oo serve needs TLS: --tls-cert FILE --tls-key FILE (and --tls-ca CA to verify peers with mutual TLS; \
                tools/make-certs makes a development set), or --insecure-plaintext to serve plaintext h2c.
                """ + (certificate == nil && key == nil ? "" : " Both --tls-cert and --tls-key are needed."))
        }
        let verification: ServerTLSConfiguration.ClientCertificateVerification
        switch settings.string(flags.clientAuthentication, "tls-client-auth") ?? (ca == nil ? "none" : "require") {
        case "require":
            guard ca != nil else { throw SettingsError(message: "--tls-client-auth require needs --tls-ca, the CA client certificates must chain to.") }
            verification = .required
        case "optional": verification = .optional
        case "none": verification = .none
        case let other: throw SettingsError(message: "--tls-client-auth must be require, optional or none, got '\(other)'.")
        }
        server = ServerTLSConfiguration(
            certificateChainPath: certificate, privateKeyPath: key, trustRootsPath: ca, clientCertificateVerification: verification)
        let clientCertificate = settings.string(flags.clientCertificate, "client-cert") ?? certificate
        let clientKey = settings.string(flags.clientKey, "client-key") ?? key
        let clientCA = settings.string(flags.clientCA, "client-ca") ?? ca
        client = ClientTLSConfiguration(trustRootsPath: clientCA, certificateChainPath: clientCertificate, privateKeyPath: clientKey)
        let interval = try settings.double(flags.reloadInterval, "tls-reload-interval", default: 5)
        guard interval >= 0, interval.isFinite else {
            throw SettingsError(message: "--tls-reload-interval must be 0 (only on SIGHUP) or a number of seconds, got \(interval).")
        }
        watcher = interval == 0 ? nil : TLSFileWatcher(
            paths: [certificate, key, ca, clientCertificate, clientKey, clientCA],
            interval: .milliseconds(Int64(interval * 1000)))
    }
}

/// Runs an action on SIGHUP (the conventional "reload your files" signal) for as long as it
/// is kept. One per process (`oo serve` makes one).
final class ReloadSignal: @unchecked Sendable {
    // @unchecked Sendable: `source` is set once in init; a dispatch source may be cancelled
    // from any thread.
    private let source: any DispatchSourceSignal

    init(_ action: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)  // the dispatch source sees it; the default action would end the process
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
    }

    func cancel() {
        source.cancel()
    }
}
