import ArgumentParser
import InteropTesting
import OOMesh
import OOMeshHTTP2

#if canImport(Glibc)
import Glibc
#endif

/// Runs one of gRPC's interop test cases against a server, with the standard flags.
@main
struct InteropClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-client", abstract: "Runs a gRPC interop test case against a server.")

    @Option(name: .customLong("server_host"), help: "The server's host.")
    var serverHost: String = "127.0.0.1"

    @Option(name: .customLong("server_port"), help: "The server's port.")
    var serverPort: Int = 50051

    @Option(name: .customLong("test_case"), help: "The case to run, or 'all'. One of: \(InteropTestCase.allCases.map(\.rawValue).joined(separator: ", ")).")
    var testCase: String = "large_unary"

    @Option(name: .customLong("use_tls"), help: "TLS is not supported yet; only false is accepted.")
    var useTLS: Bool = false

    @Option(name: .customLong("server_host_override"), help: "The authority to send (for TLS, later).")
    var serverHostOverride: String?

    func run() async throws {
        guard !useTLS else { throw ValidationError("--use_tls=true is not supported yet.") }
        let cases: [InteropTestCase]
        if testCase == "all" {
            cases = InteropTestCase.allCases
        } else if let single = InteropTestCase(rawValue: testCase) {
            cases = [single]
        } else {
            throw ValidationError("Unknown test case '\(testCase)'.")
        }
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.authority = serverHostOverride
        let transport = HTTP2ClientTransport(host: serverHost, port: serverPort, configuration: configuration)
        var failed = 0
        try await withGRPCClient(transport: transport) { client in
            for testCase in cases {
                do {
                    try await testCase.run(using: client)
                    print("PASS: \(testCase.rawValue)")
                } catch {
                    failed += 1
                    print("FAIL: \(testCase.rawValue): \(error)")
                }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
