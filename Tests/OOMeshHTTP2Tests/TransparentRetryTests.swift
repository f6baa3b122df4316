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
}
