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

    @Option(name: .customLong("use_tls"), help: "Serve TLS (needs --cert_file and --key_file).")
    var useTLS: Bool = false

    @Option(name: .customLong("cert_file"), help: "With --use_tls: the server's PEM certificate chain.")
    var certFile: String?

    @Option(name: .customLong("key_file"), help: "With --use_tls: the server's PEM private key.")
    var keyFile: String?

    @Option(name: .customLong("client_ca_file"), help: "With --use_tls: require client certificates signed by these PEM CAs (mutual TLS).")
    var clientCAFile: String?

    @Option(name: .customLong("shutdown_grace_ms"), help: "On SIGTERM, how long calls in flight may run on (milliseconds).")
    var shutdownGraceMilliseconds: Int = 30_000

    func validate() throws {
        if useTLS, certFile == nil || keyFile == nil {
            throw ValidationError("--use_tls=true needs --cert_file and --key_file (tools/make-certs makes them).")
        }
        if !useTLS, certFile != nil || keyFile != nil || clientCAFile != nil {
            throw ValidationError("--cert_file, --key_file and --client_ca_file need --use_tls=true.")
        }
    }

    func run() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.shutdownGracePeriod = .milliseconds(Int64(shutdownGraceMilliseconds))
        if useTLS, let certFile, let keyFile {
            configuration.tls = ServerTLSConfiguration(
                certificateChainPath: certFile, privateKeyPath: keyFile, trustRootsPath: clientCAFile,
                clientCertificateVerification: clientCAFile == nil ? .none : .required)
        }
        let transport = try HTTP2ServerTransport(host: host, port: port, configuration: configuration)
        let server = GRPCServer(transport: transport, services: [TestService()])
        // SIGTERM / SIGINT: graceful shutdown (calls in flight finish within the grace period).
        let signals = TerminationSignals { _ in server.beginGracefulShutdown() }
        defer { signals.cancel() }
        print("interop-server listening on \(host):\(transport.port)")
        fflush(nil)  // stdout may be a pipe (tests wait for this line)
        try await server.serve()
    }
}
