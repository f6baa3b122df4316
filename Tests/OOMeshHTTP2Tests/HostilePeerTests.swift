import Foundation
import GRPCTestingProtos
import OOMesh
import OOProcess
@testable import OOMeshHTTP2
import SwiftProtobuf
import Synchronization
import Testing

/// One hostile peer against our server (tools/interop/hostile_peer.py): what it can make us
/// buffer, spin on or run. The server is the `interop-server` binary, so its RSS and CPU
/// are its own; the rapid-reset case runs in this process, where the live handler count
/// can be read. Figures before and after the hardening are in docs/robustness.md.
@Suite("Hostile peers", .serialized, .timeLimit(.minutes(4)))
struct HostilePeerTests {
    /// Runs a scenario and returns its JSON report (printed with every failed expectation).
    static func run(_ scenario: String, port: Int, pid: pid_t? = nil, _ extra: [String] = [], timeout: Duration = .seconds(120))
        async throws -> (report: [String: Any], output: String) {
        var arguments = ["tools/interop/hostile_peer.py", "--scenario", scenario, "--port", String(port)]
        if let pid { arguments += ["--pid", String(pid)] }
        let result = try await runProcess("python3", arguments + extra, timeout: timeout)
        guard let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ProcessFailure(description: "hostile_peer.py \(scenario) printed no JSON (status \(result.status)): \(result.output)")
        }
        return (report, result.output)
    }

    static func number(_ report: [String: Any], _ key: String) -> Double? {
        (report[key] as? NSNumber)?.doubleValue
    }

    @Test("a client that never grants window while the handler stops reading raises the server's RSS by at most 24 MiB, in both framings",
          arguments: ["nonreading_bidi_benign", "nonreading_bidi_adversarial"])
    func nonReadingBidi(scenario: String) async throws {
        let port = freePort()
        let server = try await BackgroundProcess(".build/debug/interop-server", ["--port", String(port)], readyMarker: "listening")
        defer { server.stop() }
        let (report, output) = try await Self.run(scenario, port: port, pid: server.child.pid, ["--seconds", "8", "--max-mib", "256"])
        #expect(report["error"] == nil, "\(output)")
        let growth = try #require(Self.number(report, "rss_growth_mib"), "\(output)")
        let sent = Self.number(report, "mib_sent") ?? 0
        #expect(growth <= 24, "RSS grew \(growth) MiB after \(sent) MiB sent: \(output)")
        #expect(report["server_still_serves"] as? Bool == true, "\(output)")
    }

    @Test("300 silent sockets past a 256-descriptor limit: the server stays under 10% of a core and still answers a real call within 25 s")
    func silentSocketsAtTheDescriptorLimit() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            "prlimit", ["--nofile=256:256", ".build/debug/interop-server", "--port", String(port)], readyMarker: "listening")
        defer { server.stop() }
        let (report, output) = try await Self.run(
            "silent_sockets", port: port, pid: server.child.pid, ["--connections", "300", "--hold", "10", "--call-timeout", "25"])
        #expect(report["error"] == nil, "\(output)")
        let cpu = try #require(Self.number(report, "cpu_percent"), "\(output)")
        #expect(cpu < 10, "server CPU \(cpu)% while holding silent sockets: \(output)")
        #expect(report["call_answered"] as? Bool == true, "\(output)")
        #expect((Self.number(report, "call_seconds") ?? 99) <= 25, "\(output)")
    }

    @Test("half a TLS ClientHello, then silence: the server closes the socket by its handshake deadline")
    func halfTLSHello() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            ".build/debug/interop-server", ["--port", String(port), "--use_tls=true"], readyMarker: "listening")
        defer { server.stop() }
        let (report, output) = try await Self.run("half_tls_hello", port: port, pid: server.child.pid, ["--wait", "40"])
        #expect(report["error"] == nil, "\(output)")
        let closedAfter = try #require(Self.number(report, "server_closed_after_seconds"), "never closed: \(output)")
        // The default handshake deadline is 20 s.
        #expect(closedAfter >= 15 && closedAfter <= 30, "\(output)")
    }

    /// Reset 0 ms after the request is the classic attack (request and reset in one write:
    /// the handler never gets to run); 2 ms lets each handler start and get stuck, so the
    /// handler bound is what holds.
    @Test("opening and resetting streams in a loop against a handler that ignores cancellation: live handlers stay within the stream limit, the server keeps serving",
          arguments: [0.0, 2.0])
    func rapidReset(resetDelayMilliseconds: Double) async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.maxConcurrentStreams = 32
        configuration.shutdownGracePeriod = .seconds(5)
        let stubborn = StubbornService()
        try await withHTTP2Server(services: [stubborn], configuration: configuration) { transport in
            let peak = Mutex(0)
            let sampler = Task {
                while !Task.isCancelled {
                    let live = transport.liveHandlerCount
                    peak.withLock { $0 = max($0, live) }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            let iterations = resetDelayMilliseconds > 0 ? 300 : 2000
            let (report, output) = try await Self.run(
                "rapid_reset", port: transport.port, pid: getpid(),
                ["--path", "/hostile.v1.Stubborn/Hold", "--iterations", String(iterations), "--seconds", "10", "--settle", "1",
                 "--reset-delay", String(resetDelayMilliseconds)])
            sampler.cancel()
            #expect(report["error"] == nil, "\(output)")
            #expect((Self.number(report, "iterations") ?? 0) >= 200, "\(output)")
            let highest = peak.withLock { $0 }
            // The limit is per connection; the script's probe call on a second connection
            // may run one more handler while the 32 stuck ones still run.
            #expect(highest <= 32 + 1, "live handlers peaked at \(highest) (stream limit 32 per connection): \(output)")
            // The probe call on a new connection asks for a service this server lacks: an
            // answer (HTTP 200, a grpc-status) shows the server still serves.
            let probe = report["still_serves_detail"] as? [String: Any]
            #expect((probe?["status"] as? NSNumber)?.intValue == 200, "\(output)")
            #expect(probe?["grpc_status"] != nil, "\(output)")
            if resetDelayMilliseconds > 0 {
                let started = stubborn.started.load(ordering: .relaxed)
                #expect(started > 0 && started <= 32, "\(started) stuck handlers ran (stream limit 32): \(output)")
            }
            stubborn.release()
        }
    }

    /// The server process is frozen (SIGSTOP) while a call without a deadline waits on it:
    /// TCP stays up, nothing answers. The client's keepalive PING goes unanswered and the
    /// call fails instead of waiting forever.
    @Test("a server that stops answering mid-call: a call without a deadline fails by the client's keepalive")
    func frozenServer() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(".build/debug/interop-server", ["--port", String(port)], readyMarker: "listening")
        defer {
            kill(server.child.pid, SIGCONT)
            server.stop()
        }
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.http2.keepaliveInterval = .milliseconds(300)
        configuration.http2.keepaliveTimeout = .milliseconds(500)
        let frozen = Mutex<ContinuousClock.Instant?>(nil)
        let error = await #expect(throws: RPCError.self) {
            try await withHTTP2Client(port: port, configuration: configuration) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                try await service.fullDuplexCall { writer in
                    // One response, so the call is surely open on the server; then silence.
                    try await writer.write(.with { $0.responseParameters = [.with { $0.size = 1 }] })
                    try await Task.sleep(for: .seconds(60))
                } onResponse: { response in
                    for try await _ in response.messages where frozen.withLock({ $0 }) == nil {
                        kill(server.child.pid, SIGSTOP)
                        frozen.withLock { $0 = .now }
                    }
                }
            }
        }
        let since = try #require(frozen.withLock { $0 }, "the call never got its first response: \(String(describing: error))")
        let elapsed = ContinuousClock.now - since
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("keepalive") == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(10), "the call failed \(elapsed) after the server froze")
    }

    @Test("a server that accepts TCP and never speaks HTTP/2: the client's call fails by its connect timeout, not never")
    func silentServer() async throws {
        let listener = try await BackgroundProcess(
            "python3", ["tools/interop/hostile_peer.py", "--scenario", "silent_server_client", "--port", "0", "--wait", "30"],
            readyMarker: "listening")
        defer { listener.stop() }
        let line = try #require(listener.output.split(separator: "\n").first { $0.contains("listening") })
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let port = try #require((object?["listening"] as? NSNumber)?.intValue)
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.connectTimeout = .seconds(2)
        let started = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) {
            try await withHTTP2Client(port: port, configuration: configuration) { client in
                // No deadline on the call: only the connect timeout can end it.
                try await client.unary(
                    request: [UInt8](), descriptor: MethodDescriptor(service: "grpc.testing.TestService", method: "EmptyCall", kind: .unary),
                    serializer: RawMessage(), deserializer: RawMessage(), options: CallOptions()) { _ in () }
            }
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("SETTINGS") == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(10), "the call took \(elapsed)")
    }
}

/// A service whose one method ignores cancellation: it waits for `release()`, as a handler
/// stuck in a blocking library call would.
private final class StubbornService: RPCService, Sendable {
    let started = Atomic<Int>(0)
    private let gate = Mutex<(released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func release() {
        let waiters = gate.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func registerMethods(with router: inout RPCRouter) {
        // Bidirectional, so the body runs as soon as the stream starts, before any request
        // message is read (a unary body would wait for its request, and a reset stream's
        // request read ends in cancellation before the body runs).
        router.registerBidirectionalStreaming(
            MethodDescriptor(service: "hostile.v1.Stubborn", method: "Hold", kind: .bidirectionalStreaming),
            deserializer: RawMessage(), serializer: RawMessage()
        ) { [self] _, _, _ in
            started.add(1, ordering: .relaxed)
            // Not cancellable on purpose.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = gate.withLock { state -> Bool in
                    if state.released { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }
}

/// Message bytes as they are.
private struct RawMessage: MessageSerializer, MessageDeserializer {
    func serialize(_ message: [UInt8]) throws -> [UInt8] { message }
    func deserialize(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}
