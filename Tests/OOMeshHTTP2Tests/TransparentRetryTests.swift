import Foundation
import GRPCTestingProtos
import InteropTesting
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Calls that never reached the server's application are retried by the client on its own.
@Suite("Transparent retry", .timeLimit(.minutes(2)))
struct TransparentRetryTests {
    /// A server that allows one stream at a time refuses the others of a burst the client
    /// sends before it has seen the server's SETTINGS (RST_STREAM REFUSED_STREAM, which
    /// promises the request was not processed). Every call of the burst must still succeed.
    @Test("streams refused with REFUSED_STREAM are retried transparently", arguments: [5, 20])
    func refusedStreamsAreRetried(_ calls: Int) async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.http2.maxConcurrentStreams = 1
        try await withHTTP2Server(services: [TestService()], configuration: configuration) { transport in
            try await withHTTP2Client(port: transport.port) { client in
                let service = Grpc_Testing_TestService_Client(wrapping: client)
                let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<calls {
                        group.addTask {
                            let response = try await service.unaryCall(.with {
                                $0.responseSize = Int32(100 + index)
                                $0.payload = .with { $0.body = Data(count: 10_000) }
                            })
                            return response.payload.body.count
                        }
                    }
                    var sizes: [Int] = []
                    for try await size in group { sizes.append(size) }
                    return sizes
                }
                #expect(sizes.sorted() == (0..<calls).map { 100 + $0 })
            }
        }
    }

    /// A server's GOAWAY names the last stream it will process; the client's streams above
    /// it were never processed (RFC 9113 §6.8) and must go to a new connection. The raw peer
    /// waits for three calls, sends GOAWAY(last_stream_id = the first), answers only that
    /// one and closes; the other two must succeed on a second connection.
    @Test("calls above a GOAWAY's last stream id are retried on a new connection")
    func streamsAboveGoawayAreRetried() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(
            "python3", ["tools/interop/goaway_server.py", "--port", String(port), "--streams", "3", "--lifetime", "60"],
            readyMarker: "ready")
        defer { server.stop() }
        try await withHTTP2Client(port: port) { client in
            let service = Grpc_Testing_TestService_Client(wrapping: client)
            await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask { _ = try await service.emptyCall(Grpc_Testing_Empty()) }
                }
                do { try await group.waitForAll() } catch {
                    Issue.record("\(error); the server reported: \(server.output)")
                }
            }
        }
        // The peer prints its counts after every answer (before sending it); its output is
        // collected asynchronously, so wait briefly for the line counting all three.
        var reported: GoawayServerStats?
        for _ in 0..<40 {
            let line = server.output.split(separator: "\n").last { $0.hasPrefix("{") }
            reported = line.flatMap { try? JSONDecoder().decode(GoawayServerStats.self, from: Data($0.utf8)) }
            if let reported, reported.answered.reduce(0, +) >= 3 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let stats = try #require(reported, "\(server.output)")
        #expect(stats.refused_by_goaway == 2, "\(server.output)")
        #expect(stats.connections >= 2, "\(server.output)")
        #expect(stats.answered.reduce(0, +) == 3, "\(server.output)")
    }
}

/// What tools/interop/goaway_server.py reports when it stops.
private struct GoawayServerStats: Decodable {
    var connections: Int
    var answered: [Int]
    var refused_by_goaway: Int
}
