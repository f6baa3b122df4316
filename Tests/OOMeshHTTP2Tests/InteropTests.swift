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
}
