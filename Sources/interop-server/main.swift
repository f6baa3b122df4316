import ArgumentParser
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

    @Option(name: .customLong("use_tls"), help: "TLS is not supported yet; only false is accepted.")
    var useTLS: Bool = false

    func run() async throws {
        guard !useTLS else { throw ValidationError("--use_tls=true is not supported yet.") }
        let transport = try HTTP2ServerTransport(host: host, port: port)
        let server = GRPCServer(transport: transport, services: [TestService()])
        print("interop-server listening on \(host):\(transport.port)")
        try await server.serve()
    }
}
