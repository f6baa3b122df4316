import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import InteropTesting
import OOMesh
import OOMeshHTTP2

/// Serves gRPC's interop TestService, with the flags interop runners pass.
@main
struct InteropServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-server", abstract: "Serves grpc.testing.TestService for gRPC interop tests.")

    @Option(name: .customLong("port"), help: "The port to listen on (0 picks a free one).")
    var port: Int = 50051

    @Option(name: .customLong("host"), help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(
        name: .customLong("use_tls"),
        help: "Serve TLS: with --cert_file and --key_file, or else with gRPC's interop test certificate server1 (*.test.google.fr, signed by gRPC's test CA).")
    var useTLS: Bool = false

    @Option(name: .customLong("cert_file"), help: "With --use_tls: the server's PEM certificate chain (instead of server1).")
    var certFile: String?

    @Option(name: .customLong("key_file"), help: "With --use_tls: the server's PEM private key (instead of server1's).")
    var keyFile: String?

    @Option(name: .customLong("client_ca_file"), help: "With --use_tls: require client certificates signed by these PEM CAs (mutual TLS).")
    var clientCAFile: String?

    @Option(name: .customLong("shutdown_grace_ms"), help: "On SIGTERM, how long calls in flight may run on (milliseconds).")
    var shutdownGraceMilliseconds: Int = 30_000

    /// Reads gRPC's spellings of boolean flags too (`--use_tls`, `--use_tls true`, `--use_tls=1`).
    static func main() async {
        await main(InteropFlags.normalizingBooleans(Array(CommandLine.arguments.dropFirst()), booleanFlags: ["use_tls"]))
    }

    func validate() throws {
        if (certFile == nil) != (keyFile == nil) {
            throw ValidationError("--cert_file and --key_file go together (with neither, --use_tls=true serves gRPC's test certificate server1).")
        }
        if !useTLS, certFile != nil || keyFile != nil || clientCAFile != nil {
            throw ValidationError("--cert_file, --key_file and --client_ca_file need --use_tls=true.")
        }
    }

    func run() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.shutdownGracePeriod = .milliseconds(Int64(shutdownGraceMilliseconds))
        // Without certificate flags: gRPC's test credentials, written out for the TLS
        // configuration (which takes paths) for as long as the server runs.
        var testCredentials: InteropTestCredentialFiles?
        defer { testCredentials?.remove() }
        if useTLS {
            let chain: String, key: String
            if let certFile, let keyFile {
                (chain, key) = (certFile, keyFile)
            } else {
                let files = try InteropTestCredentialFiles.write()
                testCredentials = files
                (chain, key) = (files.serverCertificatePath, files.serverPrivateKeyPath)
            }
            configuration.tls = ServerTLSConfiguration(
                certificateChainPath: chain, privateKeyPath: key, trustRootsPath: clientCAFile,
                clientCertificateVerification: clientCAFile == nil ? .none : .required)
        }
        let transport = try HTTP2ServerTransport(host: host, port: port, configuration: configuration)
        let server = GRPCServer(transport: transport, services: [TestService()])
        // SIGTERM / SIGINT: graceful shutdown (calls in flight finish within the grace period).
        let signals = TerminationSignals { _ in server.beginGracefulShutdown() }
        defer { signals.cancel() }
        let tls = !useTLS ? "" : testCredentials != nil ? " (TLS, gRPC's test certificate server1)" : " (TLS)"
        print("interop-server listening on \(host):\(transport.port)\(tls)")
        fflush(nil)  // stdout may be a pipe (tests wait for this line)
        try await server.serve()
    }
}
