import Foundation
import OOMeshHTTP2

/// What `tools/interop/raw_h2_peer.py` reports about one scenario: its single JSON line,
/// decoded. Every field is optional because each scenario fills in only what it observed.
struct RawPeerReport: Decodable, Sendable {
    var scenario: String?
    /// Set when the peer itself failed (a bug in the script, not in the server).
    var error: String?
    var `case`: String?

    // The (first) call of the scenario.
    var status: Int?
    var grpcStatus: Int?
    var grpcMessage: String?
    var grpcAcceptEncoding: String?
    var trailersOnly: Bool?
    var reset: Bool?
    var resetCode: Int?
    var goaway: Int?
    var seconds: Double?
    var cases: [RawPeerReport]?

    // The server answers a well-formed EmptyCall on a new connection afterwards.
    var serverStillServes: Bool?
    var elapsedSeconds: Double?

    // never_reads
    var concurrentCalls: Int?
    var concurrentCallOk: Bool?
    var sameConnectionCallOk: Bool?
    var flowControlStreamBytesReceived: Int?
    var requestedBytes: Int?

    // many_streams
    var maxConcurrentStreams: Int?
    var heldStreams: Int?
    var heldFailedEarly: Int?
    var heldCompletedOk: Int?
    var pingpongOnHeldStreamOk: Bool?
    var excessStreams: Int?
    var excessRefused: Int?
    var excessResetCodes: [Int?]?
    var connectionUsable: Bool?
    var connectionClosed: Bool?

    // ping_flood
    var pingsSent: Int?

    // connection_window_leak
    var rounds: Int?
    var bytesSent: Int?
    var stalledRound: Int?
    var connectionWindowLeft: Int?
}

/// Runs one scenario of the raw HTTP/2 peer against `port` and decodes its report.
///
/// Throws when the script produced no JSON line (it crashed or was killed); the report's
/// own `error` field is left for the caller to assert on, with the raw output at hand.
func runRawPeer(_ scenario: String, port: Int, timeout: Duration = .seconds(60)) async throws -> (report: RawPeerReport, output: String) {
    let result = try await runProcess(
        "python3", ["tools/interop/raw_h2_peer.py", "--port", String(port), "--scenario", scenario], timeout: timeout)
    guard let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
        throw ProcessFailure(description: "raw_h2_peer.py \(scenario) printed no JSON (status \(result.status)): \(result.output)")
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return (try decoder.decode(RawPeerReport.self, from: Data(line.utf8)), result.output)
}

/// Waits (up to `timeout`) until the server holds no connection: every connection a peer
/// opened, however it misbehaved, must be torn down once the peer is gone.
func waitUntilNoConnections(_ transport: HTTP2ServerTransport, timeout: Duration = .seconds(5)) async throws -> Int {
    let deadline = ContinuousClock.now + timeout
    while transport.connectionCount > 0, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
    }
    return transport.connectionCount
}
