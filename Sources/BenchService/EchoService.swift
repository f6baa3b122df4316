import BenchProtos
import OOMesh

/// `bench.v1.Echo`, the benchmark service of issue 7: it echoes payloads back and does no
/// other work, so a benchmark measures the stack, not the handler.
///
/// The peers under `tools/bench/` (grpc-swift 2, gRPC C++) implement the same semantics.
public struct EchoService: Bench_V1_Echo_ServiceProtocol {
    /// Creates the service.
    public init() {}

    /// Answers with the request's payload.
    public func unary(request: Bench_V1_EchoRequest, context: ServerContext) async throws -> Bench_V1_EchoResponse {
        var response = Bench_V1_EchoResponse()
        response.payload = request.payload
        return response
    }

    /// Answers with `count` responses, each carrying the request's payload.
    public func serverStream(
        request: Bench_V1_EchoRequest, response: ResponseWriter<Bench_V1_EchoResponse>, context: ServerContext
    ) async throws {
        var message = Bench_V1_EchoResponse()
        message.payload = request.payload
        for _ in 0..<max(0, Int(request.count)) {
            try await response.write(message)
        }
    }

    /// Reads every request, then answers once with the last payload received (empty when
    /// none was sent).
    public func clientStream(
        requests: RequestStream<Bench_V1_EchoRequest>, context: ServerContext
    ) async throws -> Bench_V1_EchoResponse {
        var response = Bench_V1_EchoResponse()
        for try await request in requests {
            response.payload = request.payload
        }
        return response
    }

    /// Answers each request with its payload, as it arrives.
    public func bidi(
        requests: RequestStream<Bench_V1_EchoRequest>, response: ResponseWriter<Bench_V1_EchoResponse>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            var message = Bench_V1_EchoResponse()
            message.payload = request.payload
            try await response.write(message)
        }
    }
}
