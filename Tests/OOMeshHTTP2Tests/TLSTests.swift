import Foundation
import GRPCTestingProtos
import InteropTesting
import Logging
import OOMesh
import OOMeshHTTP2
import Synchronization
import Testing

/// TLS and mutual TLS on OpenSSL, with certificates made by `tools/make-certs` (`oo certs`:
/// OpenSSL's X.509 API), against our own peers and grpcio's.
@Suite("TLS", .serialized, .timeLimit(.minutes(3)))
struct TLSTests {
    @Test("our client and server pass every interop case over TLS")
    func ourClientOurServer() async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration()) { transport in
            try await withHTTP2Client(port: transport.port, configuration: certs.clientConfiguration()) { client in
                for testCase in InteropTestCase.allCases {
                    await #expect(throws: Never.self, "\(testCase.rawValue)") { try await testCase.run(using: client) }
                }
            }
        }
    }

    @Test("mutual TLS: the handler sees the client's verified subject and SANs")
    func mutualTLSIdentity() async throws {
        let certs = try await TestCertificates.shared()
        let seen = IdentityRecorder()
        try await withHTTP2Server(
            services: [TestService()], configuration: certs.serverConfiguration(requireClientCertificate: true),
            interceptors: [seen]
        ) { transport in
            try await withHTTP2Client(port: transport.port, configuration: certs.clientConfiguration(withCertificate: true)) { client in
                _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
            }
        }
        let identity = try #require(seen.identities.first ?? nil)
        #expect(identity.subject.contains("CN=client"), "\(identity)")
        #expect(identity.subjectAlternativeNames.contains("DNS:client"), "\(identity)")
        #expect(identity.subjectAlternativeNames.contains("IP:127.0.0.1"), "\(identity)")
        #expect(identity.subjectAlternativeNames.contains("URI:spiffe://oo.local/client"), "\(identity)")
    }

    @Test("without mutual TLS the handler sees no peer identity")
    func noIdentityWithoutClientCertificate() async throws {
        let certs = try await TestCertificates.shared()
        let seen = IdentityRecorder()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration(), interceptors: [seen]) { transport in
            try await withHTTP2Client(port: transport.port, configuration: certs.clientConfiguration()) { client in
                _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
            }
        }
        #expect(seen.identities.count == 1)
        #expect(seen.identities.first == .some(nil))
    }

    @Test("a server requiring client certificates refuses a client without one: UNAVAILABLE with OpenSSL's reason")
    func mutualTLSRequiresCertificate() async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration(requireClientCertificate: true)) { transport in
            try await withHTTP2Client(port: transport.port, configuration: certs.clientConfiguration()) { client in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
                }
                #expect(error?.code == .unavailable)
                // TLS 1.3: the client learns of the refusal from the server's alert.
                #expect(error?.message.contains("certificate") == true, "\(String(describing: error))")
            }
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    /// The order a loaded machine produces now and then: the connection is made when the
    /// call starts, but the caller's task writes its metadata only after the server has
    /// refused the handshake and the connection has closed. The call must fail then, not
    /// wait forever for a connection that is gone.
    @Test("a call whose first write comes after its connection was refused fails UNAVAILABLE")
    func firstWriteAfterRefusal() async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration(requireClientCertificate: true)) { server in
            let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: server.port, configuration: certs.clientConfiguration())
            let descriptor = MethodDescriptor(service: "grpc.testing.TestService", method: "EmptyCall", kind: .unary)
            let outcome = try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask {
                    try await transport.withStream(descriptor: descriptor, options: CallOptions()) { stream in
                        let refused = ContinuousClock.now + .seconds(20)
                        while transport.connectionState != .transientFailure, ContinuousClock.now < refused {
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        guard transport.connectionState == .transientFailure else { return "the handshake was not refused" }
                        do {
                            try await stream.outbound.write(.metadata([:]))
                            try await stream.outbound.write(.message([], []))  // grpc.testing.Empty
                            await stream.outbound.finish()
                            for try await _ in stream.inbound {}
                            return "the call succeeded"
                        } catch let error as RPCError {
                            return "\(error.code): \(error.message)"
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    return "the call still waited 20 s after its first write"
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            #expect(outcome.hasPrefix("UNAVAILABLE"), "\(outcome)")
            transport.beginGracefulShutdown()
        }
    }

    @Test("a server certificate from an untrusted CA fails the call with UNAVAILABLE and the verification error")
    func untrustedServer() async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration()) { transport in
            var configuration = HTTP2ClientTransport.Configuration()
            configuration.tls = ClientTLSConfiguration(trustRootsPath: certs.otherCA)
            try await withHTTP2Client(port: transport.port, configuration: configuration) { client in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
                }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("certificate verify failed") == true, "\(String(describing: error))")
            }
        }
    }

    @Test("the server's certificate must match the host name, or its override")
    func hostnameVerification() async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration()) { transport in
            var wrong = HTTP2ClientTransport.Configuration()
            wrong.tls = ClientTLSConfiguration(trustRootsPath: certs.ca, serverHostnameOverride: "recommender")
            try await withHTTP2Client(port: transport.port, configuration: wrong) { client in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
                }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("hostname mismatch") == true, "\(String(describing: error))")
            }
            var right = HTTP2ClientTransport.Configuration()
            right.tls = ClientTLSConfiguration(trustRootsPath: certs.ca, serverHostnameOverride: "server")
            try await withHTTP2Client(port: transport.port, configuration: right) { client in
                _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
            }
        }
    }

    @Test("a client that does not offer h2 by ALPN is refused, with a log line saying why")
    func alpnRequired() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            let certs = try await TestCertificates.shared()
            let logs = RecordedLogs()
            let transport = try HTTP2ServerTransport(
                host: "127.0.0.1", port: 0, configuration: certs.serverConfiguration(),
                logger: Logger(label: "test") { _ in RecordingLogHandler(logs: logs) })
            let server = GRPCServer(transport: transport, services: [TestService()])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                defer { server.beginGracefulShutdown() }
                for protocols in ["['http/1.1']", "None"] {
                    let script = """
                        import socket, ssl, sys
                        context = ssl.create_default_context(cafile=sys.argv[2])
                        protocols = \(protocols)
                        if protocols: context.set_alpn_protocols(protocols)
                        try:
                            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
                                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                                    tls.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n")
                                    print("read:", tls.recv(100))
                        except (ssl.SSLError, ConnectionError) as error:
                            print("refused:", error)
                        """
                    let result = try await runProcess("python3", ["-c", script, String(transport.port), certs.ca])
                    #expect(result.output.contains("refused:") || result.output.contains("read: b''"), "\(protocols): \(result.output)")
                }
                // The server is still serving, over h2.
                try await withHTTP2Client(port: transport.port, configuration: certs.clientConfiguration()) { client in
                    _ = try await Grpc_Testing_TestService_Client(wrapping: client).emptyCall(Grpc_Testing_Empty())
                }
            }
            let lines = logs.lines
            #expect(lines.count >= 2, "\(lines)")
            #expect(lines.contains { $0.contains("refused") && $0.contains("no application protocol") }, "\(lines)")
            #expect(lines.contains { $0.contains("refused") && $0.contains("did not negotiate HTTP/2 by ALPN") }, "\(lines)")
        }
    }

    @Test("grpcio's client passes against our TLS server", arguments: [
        InteropTestCase.emptyUnary, .largeUnary, .clientStreaming, .serverStreaming, .pingPong, .customMetadata, .statusCodeAndMessage,
    ])
    func grpcioClientAgainstOurTLSServer(_ testCase: InteropTestCase) async throws {
        let certs = try await TestCertificates.shared()
        try await withHTTP2Server(services: [TestService()], configuration: certs.serverConfiguration()) { transport in
            let result = try await runProcess("python3", [
                "tools/interop/py_client.py", "--server_host", "127.0.0.1", "--server_port", String(transport.port),
                "--test_case", testCase.rawValue, "--timeout_seconds", "30",
                "--use_tls", "true", "--ca_file", certs.ca, "--server_host_override", "server",
            ])
            #expect(result.status == 0, "grpcio client over TLS, \(testCase.rawValue): \(result.output)")
        }
    }

    @Test("our client passes against grpcio's mutual-TLS server")
    func ourClientAgainstGrpcioTLSServer() async throws {
        let certs = try await TestCertificates.shared()
        let port = freePort()
        let server = try await BackgroundProcess("python3", [
            "tools/interop/py_server.py", "--port", String(port), "--use_tls", "true",
            "--cert_file", certs.certificate("server"), "--key_file", certs.key("server"), "--client_ca_file", certs.ca,
        ], readyMarker: "ready")
        defer { server.stop() }
        try await withHTTP2Client(port: port, configuration: certs.clientConfiguration(withCertificate: true)) { client in
            // grpcio's Python server cannot see a request message's compressed flag.
            for testCase in InteropTestCase.withoutCompressionProbes {
                await #expect(throws: Never.self, "our client over mTLS, \(testCase.rawValue)") {
                    try await testCase.run(using: client)
                }
            }
        }
    }

    @Test("unusable TLS files are reported when the transport is made, naming the file")
    func configurationErrors() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            let certs = try await TestCertificates.shared()
            var missing = HTTP2ServerTransport.Configuration()
            missing.tls = ServerTLSConfiguration(certificateChainPath: "/nonexistent/cert.pem", privateKeyPath: certs.key("server"))
            #expect(Self.transportError(missing).contains("/nonexistent/cert.pem"))
            var mismatched = HTTP2ServerTransport.Configuration()
            mismatched.tls = ServerTLSConfiguration(certificateChainPath: certs.certificate("server"), privateKeyPath: certs.key("client"))
            let mismatch = Self.transportError(mismatched)
            #expect(mismatch.contains("client.key") && mismatch.contains("mismatch"), "\(mismatch)")
            var noRoots = HTTP2ServerTransport.Configuration()
            noRoots.tls = ServerTLSConfiguration(
                certificateChainPath: certs.certificate("server"), privateKeyPath: certs.key("server"), clientCertificateVerification: .required)
            #expect(Self.transportError(noRoots).contains("trustRootsPath"))
        }
    }

    /// The error making a server transport with `configuration` throws, as text.
    private static func transportError(_ configuration: HTTP2ServerTransport.Configuration) -> String {
        do {
            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0, configuration: configuration)
            transport.beginGracefulShutdown()
            return "no error"
        } catch {
            return "\(error)"
        }
    }
}

/// Certificates for the tests, made once per test process by `tools/make-certs`.
struct TestCertificates: Sendable {
    let directory: String
    let otherDirectory: String

    var ca: String { "\(directory)/ca.pem" }
    /// A CA that signed nothing the tests' servers present.
    var otherCA: String { "\(otherDirectory)/ca.pem" }
    func certificate(_ name: String) -> String { "\(directory)/\(name).pem" }
    func key(_ name: String) -> String { "\(directory)/\(name).key" }

    func serverConfiguration(requireClientCertificate: Bool = false) -> HTTP2ServerTransport.Configuration {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.tls = ServerTLSConfiguration(
            certificateChainPath: certificate("server"), privateKeyPath: key("server"),
            trustRootsPath: requireClientCertificate ? ca : nil,
            clientCertificateVerification: requireClientCertificate ? .required : .none)
        return configuration
    }

    /// Trusts the test CA; connects to 127.0.0.1, which the server certificate names.
    func clientConfiguration(withCertificate: Bool = false) -> HTTP2ClientTransport.Configuration {
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.tls = ClientTLSConfiguration(
            trustRootsPath: ca,
            certificateChainPath: withCertificate ? certificate("client") : nil,
            privateKeyPath: withCertificate ? key("client") : nil)
        return configuration
    }

    private static let made = Mutex<Task<TestCertificates, any Error>?>(nil)

    static func shared() async throws -> TestCertificates {
        let task = made.withLock { made in
            if let made { return made }
            let task = Task { try await make() }
            made = task
            return task
        }
        return try await task.value
    }

    private static func make() async throws -> TestCertificates {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("oo-mesh-tls-\(getpid())").path
        let certs = TestCertificates(directory: "\(base)/mesh", otherDirectory: "\(base)/other")
        for (directory, names) in [(certs.directory, ["server", "client"]), (certs.otherDirectory, ["server"])] {
            let result = try await runProcess("bash", ["tools/make-certs", "--out", directory] + names)
            guard result.status == 0 else {
                throw ProcessFailure(description: "tools/make-certs failed (\(result.status)): \(result.output)")
            }
        }
        return certs
    }
}

/// A server interceptor that records the peer identity of every call.
final class IdentityRecorder: ServerInterceptor {
    private let seen = Mutex<[PeerIdentity?]>([])
    var identities: [PeerIdentity?] { seen.withLock { $0 } }

    func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        seen.withLock { $0.append(context.peerIdentity) }
        try await next(context)
    }
}

/// Log lines captured by ``RecordingLogHandler``.
final class RecordedLogs: Sendable {
    private let storage = Mutex<[String]>([])
    var lines: [String] { storage.withLock { $0 } }
    func append(_ line: String) { storage.withLock { $0.append(line) } }
}

/// A swift-log handler that keeps every message, for asserting on log lines.
struct RecordingLogHandler: LogHandler {
    let logs: RecordedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        logs.append("\(event.level): \(event.message)")
    }
}
