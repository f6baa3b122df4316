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

    @Option(name: .customLong("test_case"), help: "The case to run, several separated by commas, or 'all' (every standard case). Cases: \(InteropTestCase.allCases.map(\.rawValue).joined(separator: ", ")).")
    var testCase: String = "large_unary"

    @Option(name: .customLong("use_tls"), help: "Connect with TLS.")
    var useTLS: Bool = false

    @Option(name: .customLong("use_test_ca"), help: "With --use_tls: verify the server with gRPC's interop test CA (the one that signed server1), unless --ca_file is given.")
    var useTestCA: Bool = false

    @Option(name: .customLong("ca_file"), help: "With --use_tls: PEM CA certificates to verify the server with (default: the system's, or with --use_test_ca gRPC's test CA).")
    var caFile: String?

    @Option(name: .customLong("cert_file"), help: "With --use_tls: a PEM client certificate chain, for mutual TLS.")
    var certFile: String?

    @Option(name: .customLong("key_file"), help: "With --use_tls: the client certificate's PEM private key.")
    var keyFile: String?

    @Option(name: .customLong("server_host_override"), help: "The name the server's certificate must match (TLS) and the authority sent.")
    var serverHostOverride: String?

    /// Reads gRPC's spellings of boolean flags too (`--use_tls`, `--use_tls true`, `--use_test_ca=1`).
    static func main() async {
        await main(InteropFlags.normalizingBooleans(
            Array(CommandLine.arguments.dropFirst()), booleanFlags: ["use_tls", "use_test_ca"]))
    }

    func validate() throws {
        if !useTLS, caFile != nil || certFile != nil || keyFile != nil {
            throw ValidationError("--ca_file, --cert_file and --key_file need --use_tls=true.")
        }
        if (certFile == nil) != (keyFile == nil) {
            throw ValidationError("--cert_file and --key_file go together.")
        }
    }

    func run() async throws {
        let cases: [InteropTestCase]
        if testCase == "all" {
            cases = InteropTestCase.standard
        } else {
            cases = try testCase.split(separator: ",").map { name in
                guard let known = InteropTestCase(rawValue: String(name)) else {
                    throw ValidationError("Unknown test case '\(name)'.")
                }
                return known
            }
        }
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.authority = serverHostOverride
        // --use_test_ca: gRPC's test CA, written out for the TLS configuration (which takes
        // paths) for as long as the client runs. (Without --use_tls it changes nothing, as in
        // gRPC's clients.)
        var testCredentials: InteropTestCredentialFiles?
        defer { testCredentials?.remove() }
        if useTLS {
            var trustRoots = caFile
            if trustRoots == nil, useTestCA {
                let files = try InteropTestCredentialFiles.write()
                testCredentials = files
                trustRoots = files.caCertificatePath
            }
            configuration.tls = ClientTLSConfiguration(
                trustRootsPath: trustRoots, certificateChainPath: certFile, privateKeyPath: keyFile,
                serverHostnameOverride: serverHostOverride)
        }
        let transport = try HTTP2ClientTransport(host: serverHost, port: serverPort, configuration: configuration)
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
