import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import BenchService
import OOMesh
import OOMeshHTTP2

/// Serves `bench.v1.Echo` over our HTTP/2 transport, for `tools/bench/run` (issue 7).
@main
struct BenchServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-server", abstract: "Serves bench.v1.Echo over oO mesh's HTTP/2 transport, for benchmarks.")

    @Option(name: .customLong("port"), help: "The port to listen on (0 picks a free one).")
    var port: Int = 50051

    @Option(name: .customLong("host"), help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .customLong("threads"), help: "Event-loop threads (default: the number of CPU cores).")
    var threads: Int?

    @Option(name: .customLong("max-connections"), help: "Connections held at once (default: the transport's, 10,000).")
    var maxConnections: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
    }

    func run() async throws {
        var configuration = HTTP2ServerTransport.Configuration.defaults
        if let threads { configuration.eventLoopThreads = threads }
        if let maxConnections { configuration.maxConnections = maxConnections }
        let transport = try HTTP2ServerTransport(host: host, port: port, configuration: configuration)
        let server = GRPCServer(transport: transport, services: [EchoService()])
        let signals = TerminationSignals { _ in server.beginGracefulShutdown() }
        defer { signals.cancel() }
        print("bench-server listening on \(host):\(transport.port)")
        fflush(nil)  // all C streams; the run script waits for this line on a pipe or file
        try await server.serve()
    }
}
