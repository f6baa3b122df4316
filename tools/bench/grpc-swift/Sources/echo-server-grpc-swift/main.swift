// bench.v1.Echo on grpc-swift 2 with the NIO HTTP/2 transport (Posix, plaintext, default
// settings): the grpc-swift peer of tools/bench/run.
// Usage: echo-server-grpc-swift --port N  (N = 0 picks a free port).
// Prints "listening on PORT" once the server accepts connections.
import GRPCCore
import GRPCNIOTransportHTTP2

#if canImport(Glibc)
import Glibc
#endif

struct EchoService: Bench_V1_Echo.SimpleServiceProtocol {
    func unary(request: Bench_V1_EchoRequest, context: ServerContext) async throws -> Bench_V1_EchoResponse {
        var response = Bench_V1_EchoResponse()
        response.payload = request.payload
        return response
    }

    func serverStream(
        request: Bench_V1_EchoRequest,
        response: RPCWriter<Bench_V1_EchoResponse>,
        context: ServerContext
    ) async throws {
        var message = Bench_V1_EchoResponse()
        message.payload = request.payload
        var remaining = request.count
        while remaining > 0 {
            try await response.write(message)
            remaining -= 1
        }
    }

    func clientStream(
        request: RPCAsyncSequence<Bench_V1_EchoRequest, any Error>,
        context: ServerContext
    ) async throws -> Bench_V1_EchoResponse {
        var response = Bench_V1_EchoResponse()
        for try await message in request {
            response.payload = message.payload
        }
        return response
    }

    func bidi(
        request: RPCAsyncSequence<Bench_V1_EchoRequest, any Error>,
        response: RPCWriter<Bench_V1_EchoResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request {
            var reply = Bench_V1_EchoResponse()
            reply.payload = message.payload
            try await response.write(reply)
        }
    }
}

func printError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.append(UInt8(ascii: "\n"))
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func usage() -> Never {
    printError("usage: echo-server-grpc-swift --port N")
    exit(2)
}

var port: Int?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--port", let value = arguments.popFirst() {
        port = Int(value)
    } else if argument.hasPrefix("--port=") {
        port = Int(argument.dropFirst("--port=".count))
    } else {
        usage()
    }
}
guard let port, (0...65535).contains(port) else { usage() }

let transport = HTTP2ServerTransport.Posix(
    address: .ipv4(host: "127.0.0.1", port: port),
    transportSecurity: .plaintext
)
let server = GRPCServer(transport: transport, services: [EchoService()])

try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await server.serve() }
    guard let address = try await transport.listeningAddress.ipv4 else {
        printError("echo-server-grpc-swift: not listening on IPv4")
        exit(1)
    }
    print("listening on \(address.port)")
    fflush(nil)
}
