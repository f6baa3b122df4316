import Foundation
import InteropTesting
import OOMesh
import OOMeshHTTP2
import Testing

/// gRPC's interop cases against a real grpcio peer, both ways.
@Suite("Interop with grpcio")
struct InteropTests {
    @Test("grpcio's client passes against our server", arguments: InteropTestCase.standard)
    func grpcioClientAgainstOurServer(_ testCase: InteropTestCase) async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            let result = try await runProcess("python3", [
                "tools/interop/py_client.py", "--server_host", "127.0.0.1", "--server_port", String(transport.port),
                "--test_case", testCase.rawValue, "--timeout_seconds", "30",
            ])
            #expect(result.status == 0, "grpcio client, \(testCase.rawValue): \(result.output)")
        }
    }

    @Test("our client passes against grpcio's server")
    func ourClientAgainstGrpcioServer() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            "python3", ["tools/interop/py_server.py", "--port", String(port)], readyMarker: "ready")
        defer { server.stop() }
        try await withHTTP2Client(port: port) { client in
            // grpcio's Python server cannot see a request message's compressed flag, so the
            // client-compressed cases run without their probe (the `_noprobe` variants).
            for testCase in InteropTestCase.withoutCompressionProbes {
                await #expect(throws: Never.self, "our client, \(testCase.rawValue)") {
                    try await testCase.run(using: client)
                }
            }
            // grpcio's server echoes the custom metadata on every method too.
            await #expect(throws: Never.self, "our client, the echo on every method") {
                try await InteropTestCase.checkMetadataEchoOnEveryMethod(using: client)
            }
        }
    }

    /// `x-grpc-test-echo-initial` and `x-grpc-test-echo-trailing-bin` come back from
    /// EmptyCall, UnaryCall, CacheableUnaryCall, StreamingOutputCall, StreamingInputCall,
    /// FullDuplexCall and HalfDuplexCall, not only from the two methods `custom_metadata` uses.
    @Test("our server echoes the custom metadata on every method")
    func echoOnEveryMethod() async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                await #expect(throws: Never.self) {
                    try await InteropTestCase.checkMetadataEchoOnEveryMethod(using: client)
                }
            }
        }
    }

    @Test("our client passes against our server")
    func ourClientAgainstOurServer() async throws {
        try await withHTTP2Server(services: [TestService()]) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                for testCase in InteropTestCase.allCases {
                    await #expect(throws: Never.self, "\(testCase.rawValue)") {
                        try await testCase.run(using: client)
                    }
                }
            }
        }
    }

    /// The PEM text the executables embed is the PEM files' text, byte for byte (the files
    /// are the source: `Sources/InteropTesting/TestCredentials/embed` regenerates the Swift).
    @Test("the embedded test credentials are the files in TestCredentials/")
    func embeddedCredentialsMatchTheFiles() throws {
        let directory = repositoryRoot.appendingPathComponent("Sources/InteropTesting/TestCredentials")
        for (file, embedded) in [
            ("ca.pem", InteropTestCredentials.caCertificate),
            ("server1.pem", InteropTestCredentials.serverCertificate),
            ("server1.key", InteropTestCredentials.serverPrivateKey),
            ("client.pem", InteropTestCredentials.clientCertificate),
            ("client.key", InteropTestCredentials.clientPrivateKey),
        ] {
            let contents = try Data(contentsOf: directory.appendingPathComponent(file))
            #expect(Data(embedded.utf8) == contents, "\(file) differs from InteropTestCredentials.swift; run TestCredentials/embed")
        }
    }

    @Test("the test credentials are written to private files and removed")
    func credentialFiles() throws {
        let files = try InteropTestCredentialFiles.write()
        defer { files.remove() }
        let manager = FileManager.default
        let directoryMode = try manager.attributesOfItem(atPath: files.directory)[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        for (path, text) in files.contents {
            #expect(try manager.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600, "\(path)")
            #expect(manager.contents(atPath: path) == Data(text.utf8), "\(path)")
        }
        files.remove()
        #expect(!manager.fileExists(atPath: files.directory))
    }

    @Test("gRPC's spellings of boolean flags", arguments: [
        (["--use_tls=true"], ["--use_tls=true"]),
        (["--use_tls", "true", "--port", "1"], ["--use_tls=true", "--port", "1"]),
        (["--use_tls", "--port", "1"], ["--use_tls=true", "--port", "1"]),
        (["--port", "1", "--use_tls"], ["--port", "1", "--use_tls=true"]),
        (["--use_tls=FALSE", "--use_test_ca", "1"], ["--use_tls=false", "--use_test_ca=true"]),
        (["--nouse_tls"], ["--use_tls=false"]),
        (["--use_tls", "maybe"], ["--use_tls=true", "maybe"]),
        (["--use_tls=maybe"], ["--use_tls=maybe"]),
        (["--server_host_override", "true"], ["--server_host_override", "true"]),
        (["--", "--use_tls"], ["--", "--use_tls"]),
    ])
    func booleanFlagSpellings(_ arguments: [String], _ expected: [String]) {
        #expect(InteropFlags.normalizingBooleans(arguments, booleanFlags: ["use_tls", "use_test_ca"]) == expected)
    }
}
