import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Synchronization
import Testing

/// The shipped executables, `interop-server` and `interop-client`, against grpcio's peers,
/// in plaintext and over TLS, and the server process's graceful shutdown on SIGTERM.
///
/// Over TLS every peer is started with gRPC's standard interop flags only: servers with
/// `--use_tls=true` (gRPC's test certificate server1), clients with `--use_tls=true
/// --use_test_ca=true --server_host_override=foo.test.google.fr`.
@Suite("Interop executables", .serialized, .timeLimit(.minutes(5)))
struct ExecutableTests {
    /// What a client of gRPC's interop test certificate passes, in gRPC's spelling.
    static let standardClientTLSFlags = ["--use_tls=true", "--use_test_ca=true", "--server_host_override=foo.test.google.fr"]

    @Test("interop-server passes every case against grpcio's client", arguments: [false, true])
    func interopServer(tls: Bool) async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            ".build/debug/interop-server", ["--port", String(port)] + (tls ? ["--use_tls=true"] : []), readyMarker: "listening")
        defer { server.stop() }
        let clientTLSFlags = tls ? Self.standardClientTLSFlags : []
        // gRPC's cases, and our own check that every method echoes the custom metadata.
        for testCase in InteropTestCase.standard.map(\.rawValue) + ["custom_metadata_every_method"] {
            let result = try await runProcess("python3", [
                "tools/interop/py_client.py", "--server_host", "127.0.0.1", "--server_port", String(port),
                "--test_case", testCase, "--timeout_seconds", "30",
            ] + clientTLSFlags)
            #expect(result.status == 0, "grpcio client\(tls ? " over TLS" : ""), \(testCase): \(result.output)")
        }
    }

    @Test("interop-client passes every case against grpcio's server", arguments: [false, true])
    func interopClient(tls: Bool) async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            "python3", ["tools/interop/py_server.py", "--port", String(port)] + (tls ? ["--use_tls=true"] : []), readyMarker: "ready")
        defer { server.stop() }
        let tlsFlags = tls ? Self.standardClientTLSFlags : []
        // grpcio's Python server cannot see a request message's compressed flag, so the
        // client-compressed cases run without their probe (the `_noprobe` variants).
        let cases = InteropTestCase.withoutCompressionProbes
        let result = try await runProcess(
            ".build/debug/interop-client",
            ["--server_port", String(port), "--test_case", cases.map(\.rawValue).joined(separator: ",")] + tlsFlags,
            timeout: .seconds(120))
        #expect(result.status == 0, "\(result.output)")
        let passed = result.output.split(separator: "\n").filter { $0.hasPrefix("PASS: ") }.count
        #expect(passed == cases.count, "\(result.output)")
    }

    /// gRPC's test certificate names *.test.google.fr, not 127.0.0.1: a client that trusts the
    /// test CA but does not override the name must refuse it, and one that overrides the name
    /// but does not trust the test CA too.
    @Test("interop-client checks gRPC's test certificate")
    func testCertificateIsVerified() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            ".build/debug/interop-server", ["--port", String(port), "--use_tls=true"], readyMarker: "listening")
        defer { server.stop() }
        for flags in [["--use_tls=true", "--use_test_ca=true"], ["--use_tls=true", "--server_host_override=foo.test.google.fr"]] {
            let result = try await runProcess(
                ".build/debug/interop-client", ["--server_port", String(port), "--test_case", "empty_unary"] + flags)
            #expect(result.status != 0, "\(flags): \(result.output)")
            #expect(result.output.contains("certificate verify failed"), "\(flags): \(result.output)")
        }
    }

    /// `--cert_file`/`--key_file` replace the test certificate (and `--ca_file` the test CA),
    /// in the `--flag value` spelling.
    @Test("explicit --cert_file and --key_file override gRPC's test certificate")
    func explicitCertificateOverrides() async throws {
        let certs = try await TestCertificates.shared()
        let port = freePort()
        let server = try await BackgroundProcess(
            ".build/debug/interop-server",
            ["--port", String(port), "--use_tls", "true", "--cert_file", certs.certificate("server"), "--key_file", certs.key("server")],
            readyMarker: "listening")
        defer { server.stop() }
        let passing = try await runProcess(".build/debug/interop-client", [
            "--server_port", String(port), "--test_case", "empty_unary,custom_metadata",
            "--use_tls", "true", "--ca_file", certs.ca, "--server_host_override", "server",
        ])
        #expect(passing.status == 0, "\(passing.output)")
        // The server no longer presents server1: the test CA does not verify it.
        let refused = try await runProcess(
            ".build/debug/interop-client", ["--server_port", String(port), "--test_case", "empty_unary"] + Self.standardClientTLSFlags)
        #expect(refused.status != 0, "\(refused.output)")
        #expect(refused.output.contains("certificate verify failed"), "\(refused.output)")
    }

    /// 100 calls in flight when SIGTERM arrives all complete; a new call is refused with
    /// UNAVAILABLE; the process exits by itself, within its grace period.
    @Test("interop-server shuts down gracefully on SIGTERM")
    func gracefulShutdownOnSIGTERM() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            ".build/debug/interop-server", ["--port", String(port), "--shutdown_grace_ms", "5000"], readyMarker: "listening")
        defer { server.stop() }
        // Each call: 10 responses 100 ms apart (about 1 s).
        let request = Grpc_Testing_StreamingOutputCallRequest.with {
            $0.responseParameters = (0..<10).map { _ in .with { $0.size = 8; $0.intervalUs = 100_000 } }
        }
        let started = Counter()
        let clock = ContinuousClock()
        try await withHTTP2Client(port: port) { client in
            let service = Grpc_Testing_TestService_Client(wrapping: client)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await service.streamingOutputCall(request) { response in
                            var count = 0
                            for try await _ in response.messages {
                                if count == 0 { started.increment() }
                                count += 1
                            }
                            return count
                        }
                    }
                }
                // Every call has its first response: all 100 are in flight. Now SIGTERM.
                // (Bounded: a call that failed to start must fail the test, not hang it.)
                let startDeadline = clock.now + .seconds(30)
                while started.value < 100, clock.now < startDeadline { try await Task.sleep(for: .milliseconds(10)) }
                guard started.value == 100 else {
                    group.cancelAll()
                    var failures: [String] = []
                    while let result = await group.nextResult() {
                        if case .failure(let error) = result { failures.append("\(error)") }
                    }
                    Issue.record("only \(started.value) of 100 calls started within 30 s; failures: \(failures.prefix(3))")
                    return
                }
                server.signal(SIGTERM)
                let shutdownStart = clock.now
                try await Task.sleep(for: .milliseconds(150))
                // A new call, on a new connection (the old one is draining): refused.
                let refused = await #expect(throws: RPCError.self) {
                    try await withHTTP2Client(port: port) { late in
                        _ = try await Grpc_Testing_TestService_Client(wrapping: late).emptyCall(Grpc_Testing_Empty())
                    }
                }
                #expect(refused?.code == .unavailable, "\(String(describing: refused))")
                var completed = 0
                for try await count in group {
                    #expect(count == 10)
                    completed += 1
                }
                #expect(completed == 100)
                // The process exits by itself once the calls are done, well within 5 s.
                while server.isRunning, clock.now - shutdownStart < .seconds(10) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(!server.isRunning, "interop-server still running \(clock.now - shutdownStart) after SIGTERM")
                #expect(clock.now - shutdownStart < .seconds(5))
            }
        }
    }
}

/// A counter shared between tasks.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    var value: Int { storage.load(ordering: .relaxed) }
    func increment() { storage.add(1, ordering: .relaxed) }
}
