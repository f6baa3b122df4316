import Foundation
import InteropTesting
import OOMesh
import OOMeshHTTP2
import Testing

/// Our server against a raw HTTP/2 peer (tools/interop/raw_h2_peer.py, on the `h2`
/// library) that sends what no real gRPC client would. Each test starts the server
/// in-process, runs one scenario, and checks the exact answer, that the server still
/// serves new connections afterwards, and that every connection the peer opened is gone
/// once the peer is.
@Suite("Bad input from a raw HTTP/2 peer", .serialized, .timeLimit(.minutes(2)))
struct BadInputTests {
    /// One call's expected answer: grpc-status and a fragment its grpc-message must contain.
    struct ExpectedCall: Sendable {
        var grpcStatus: Int
        var messageContains: String
    }

    /// A scenario answered with a status, per call (several for multi-case scenarios).
    struct StatusScenario: Sendable, CustomTestStringConvertible {
        var name: String
        var httpStatus = 200
        var calls: [ExpectedCall]
        var testDescription: String { name }
    }

    static let statusScenarios: [StatusScenario] = [
        // 10 bytes declared, 3 sent, END_STREAM.
        StatusScenario(name: "malformed_length_prefix", calls: [.init(grpcStatus: 13, messageContains: "middle of a message")]),
        // 2 bytes declared, 5 sent: the last 3 begin a prefix that never completes.
        StatusScenario(name: "message_longer_than_declared", calls: [.init(grpcStatus: 13, messageContains: "middle of a message")]),
        StatusScenario(name: "wrong_content_type", httpStatus: 415, calls: [.init(grpcStatus: 13, messageContains: "text/plain")]),
        StatusScenario(name: "unknown_method", calls: [
            .init(grpcStatus: 12, messageContains: "'Nope'"),
            .init(grpcStatus: 12, messageContains: "'no.Such'"),
        ]),
        StatusScenario(name: "invalid_timeout", calls: [
            .init(grpcStatus: 13, messageContains: "grpc-timeout 'bogus'"),
            .init(grpcStatus: 13, messageContains: "grpc-timeout '123456789S'"),
        ]),
        StatusScenario(name: "compressed_flag_without_encoding", calls: [.init(grpcStatus: 13, messageContains: "compressed flag")]),
        StatusScenario(name: "bad_base64_metadata", calls: [.init(grpcStatus: 13, messageContains: "x-foo-bin")]),
        // 64 KiB of gzip that inflates to 64 MiB: stopped at the 4 MiB receive limit.
        StatusScenario(name: "decompression_bomb", calls: [
            .init(grpcStatus: 8, messageContains: "decompresses to more than the limit of 4194304 bytes"),
        ]),
    ]

    @Test("the server answers malformed requests with the right status", arguments: statusScenarios)
    func answersWithStatus(_ scenario: StatusScenario) async throws {
        try await withBadPeerServer { transport in
            let (report, output) = try await runRawPeer(scenario.name, port: transport.port)
            #expect(report.error == nil, "\(output)")
            let calls = report.cases ?? [report]
            #expect(calls.count == scenario.calls.count, "\(output)")
            for (call, expected) in zip(calls, scenario.calls) {
                let label = call.case ?? scenario.name
                #expect(call.status == scenario.httpStatus, "\(label): \(output)")
                #expect(call.grpcStatus == expected.grpcStatus, "\(label): \(output)")
                #expect(call.grpcMessage?.contains(expected.messageContains) == true, "\(label): \(output)")
                #expect(call.reset == false, "\(label): answered with a status, not a reset: \(output)")
            }
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0, "connections left open after \(scenario.name)")
        }
    }

    @Test("a 4 GiB length prefix is refused from the prefix alone")
    func oversizedLengthPrefix() async throws {
        try await withBadPeerServer { transport in
            let (report, output) = try await runRawPeer("oversized_length_prefix", port: transport.port)
            #expect(report.error == nil, "\(output)")
            #expect(report.status == 200, "\(output)")
            #expect(report.grpcStatus == 8, "\(output)")  // RESOURCE_EXHAUSTED
            #expect(report.grpcMessage?.contains("4294967295 bytes exceeds the limit") == true, "\(output)")
            // The peer never ends its stream: after its status the server may end the
            // stream with RST_STREAM(NO_ERROR), never with an error code.
            #expect(report.resetCode == nil || report.resetCode == 0, "\(output)")
            // Answered at once, from the 5-byte prefix, while 4 GiB were still "to come".
            #expect((report.seconds ?? .infinity) < 2, "\(output)")
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    @Test("an unsupported grpc-encoding is refused with the encodings the server accepts")
    func unsupportedEncoding() async throws {
        try await withBadPeerServer { transport in
            let (report, output) = try await runRawPeer("unsupported_encoding", port: transport.port)
            #expect(report.error == nil, "\(output)")
            #expect(report.status == 200, "\(output)")
            #expect(report.grpcStatus == 12, "\(output)")  // UNIMPLEMENTED
            #expect(report.grpcMessage?.contains("'snappy'") == true, "\(output)")
            #expect(report.grpcAcceptEncoding == "gzip,deflate,identity", "\(output)")
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    @Test("a peer that drops the connection in the middle of a message leaves the server serving")
    func abruptCloseMidMessage() async throws {
        try await withBadPeerServer { transport in
            let (report, output) = try await runRawPeer("abrupt_close_mid_message", port: transport.port)
            #expect(report.error == nil, "\(output)")
            // Once closing with FIN, once with RST.
            #expect(report.cases?.map(\.case) == ["fin", "rst"], "\(output)")
            for closeCase in report.cases ?? [] {
                #expect(closeCase.serverStillServes == true, "\(closeCase.case ?? ""): \(output)")
            }
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0, "the half-message connections were not torn down")
        }
    }

    /// h2load ends a timed run by closing its connections while 64 KiB responses are
    /// still being written; a plain write() to such a socket raised SIGPIPE and killed the
    /// server (exit 141). Run against `bench-server` in a process of its own, which
    /// `ChildProcess` starts with every signal at its default action (the test runner
    /// ignores SIGPIPE; the child must not).
    @Test("clients that disconnect while the server is writing cost only their connections (no SIGPIPE)")
    func disconnectWhileServerWrites() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(".build/debug/bench-server", ["--port", String(port)], readyMarker: "listening")
        defer { server.stop() }
        // A gRPC-framed bench.v1.EchoRequest with a 64 KiB payload (field 1, bytes).
        let payload = [UInt8](repeating: 0x61, count: 65_536)
        let message: [UInt8] = [0x0A, 0x80, 0x80, 0x04] + payload  // varint 65,536
        let body = Data([0, 0x00, 0x01, 0x00, 0x04] + message)  // uncompressed, length 65,540
        let bodyFile = FileManager.default.temporaryDirectory.appendingPathComponent("oo-mesh-64k-\(getpid()).bin")
        try body.write(to: bodyFile)
        defer { try? FileManager.default.removeItem(at: bodyFile) }
        for round in 1...3 {
            let result = try await runProcess("h2load", [
                "-c", "16", "-m", "32", "-D", "1", "-H", "content-type: application/grpc", "-H", "te: trailers",
                "-d", bodyFile.path, "http://127.0.0.1:\(port)/bench.v1.Echo/Unary",
            ])
            // "requests: N total, N started, N done, S succeeded, F failed, ..."
            let counts = result.output.split(separator: "\n").first { $0.hasPrefix("requests:") }
                .map { line in line.split(separator: " ").compactMap { Int($0) } } ?? []
            #expect(counts.count >= 5 && counts[3] > 1_000 && counts[4] == 0,
                    "round \(round): the server must still answer every call (it died in an earlier round if none succeeded): \(result.output)")
            guard counts.count >= 5, counts[3] > 0 else { return }
        }
    }

    @Test("streams that are never read neither block other clients nor make the server buffer")
    func neverReads() async throws {
        try await withBadPeerServer { transport in
            let before = ProcessResources.residentBytes()
            let sampler = ResidentPeakSampler()
            let (report, output) = try await runRawPeer("never_reads", port: transport.port)
            let peak = await sampler.stop()
            #expect(report.error == nil, "\(output)")
            // Other clients, on new connections, were served while both streams were stuck.
            #expect(report.concurrentCallOk == true, "\(output)")
            #expect((report.concurrentCalls ?? 0) >= 3, "\(output)")
            // A call on the stuck connection itself was answered too: one stream's
            // exhausted window does not hold up the others.
            #expect(report.sameConnectionCallOk == true, "\(output)")
            // The server kept to the 65,535-byte stream window it was given.
            #expect((report.flowControlStreamBytesReceived ?? .max) <= 65_535, "\(output)")
            #expect(report.serverStillServes == true, "\(output)")
            // Two streams each asked for 200 x 256 KiB = 50 MiB. Bounded outboxes (256 KiB
            // per stream) and flow control keep what the server holds to well under 1 MiB
            // each; 32 MiB of slack covers allocator and runtime noise, while buffering
            // even one stream's answer (50 MiB) would exceed it.
            #expect(peak - before < 32 << 20, "RSS grew by \((peak - before) >> 20) MiB while the peer did not read")
            #expect(try await waitUntilNoConnections(transport) == 0, "stuck connections were not torn down after the peer left")
        }
    }

    /// A peer that opens more streams than the SETTINGS_MAX_CONCURRENT_STREAMS it has
    /// acknowledged breaks the protocol. libnghttp2 (1.52, as shipped) answers that with
    /// GOAWAY(PROTOCOL_ERROR) and the connection closes ("request HEADERS: max concurrent
    /// streams exceeded"), where RFC 9113 §5.1.2 and grpc-go refuse just the excess streams
    /// with RST_STREAM(REFUSED_STREAM). nghttp2 enforces exactly the value it advertises and
    /// offers no way to refuse streams above it individually, so we keep its behaviour
    /// (docs/decisions/0004-excess-streams.md). Conforming clients (grpcio, grpc-go, ours)
    /// queue calls beyond the limit and never see this. What must hold: the streams within
    /// the limit were accepted, the violation is answered with GOAWAY(PROTOCOL_ERROR) rather
    /// than a hang, and the server and its other connections are unaffected.
    @Test("streams beyond the acknowledged SETTINGS_MAX_CONCURRENT_STREAMS end that connection with GOAWAY(PROTOCOL_ERROR), nothing else")
    func manyStreams() async throws {
        try await withBadPeerServer { transport in
            let (report, output) = try await runRawPeer("many_streams", port: transport.port)
            #expect(report.error == nil, "\(output)")
            #expect(report.maxConcurrentStreams == HTTP2Configuration.defaults.maxConcurrentStreams, "\(output)")
            #expect(report.heldStreams == report.maxConcurrentStreams, "\(output)")
            #expect(report.heldFailedEarly == 0, "\(output)")
            #expect((report.excessStreams ?? 0) > 0, "\(output)")
            // GOAWAY(PROTOCOL_ERROR), then the close. The close may reset the connection
            // before the peer has read the GOAWAY; then the closed connection is what it sees.
            #expect(report.goaway == 1 || (report.goaway == nil && report.connectionClosed == true), "\(output)")
            #expect(report.connectionUsable == false, "\(output)")
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    /// Request bytes that a handler never reads (it failed, or the client reset the call)
    /// must go back to the connection's flow-control window when the stream closes.
    /// Before the fix in `StreamInbox.releaseQueuedCredit`, ~1 MiB per such call stayed
    /// owed forever: after 8 of them the 8 MiB connection window was gone and every call
    /// on the connection stalled.
    @Test("unread request bytes of closed streams are returned to the connection window")
    func connectionWindowLeak() async throws {
        try await withBadPeerServer { transport in
            let (report, output) = try await runRawPeer("connection_window_leak", port: transport.port)
            #expect(report.error == nil, "\(output)")
            #expect(report.stalledRound == nil, "the connection window ran out: \(output)")
            #expect((report.bytesSent ?? 0) > HTTP2Configuration.defaults.targetConnectionWindowBytes, "\(output)")
            // Everything sent was handed back (8 MiB); allow for a late WINDOW_UPDATE.
            #expect((report.connectionWindowLeft ?? 0) >= HTTP2Configuration.defaults.targetConnectionWindowBytes / 2, "\(output)")
            #expect(report.sameConnectionCallOk == true, "a 1 MiB call on the same connection: \(output)")
            #expect(report.serverStillServes == true, "\(output)")
            #expect(try await waitUntilNoConnections(transport) == 0)
        }
    }

    /// The server under test, holding the resource gate shared so that the measuring
    /// ResourceTests do not run at the same time.
    private func withBadPeerServer(_ body: (HTTP2ServerTransport) async throws -> Void) async throws {
        try await withProcessResourceGate(exclusive: false) {
            try await withHTTP2Server(services: [TestService()], body)
        }
    }
}
