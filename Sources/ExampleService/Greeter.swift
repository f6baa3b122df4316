import ExampleProtos
import OOMesh

/// The README's example service: `oo.example.v1.Greeter`, one method of each call shape.
public struct Greeter: Oo_Example_V1_Greeter_ServiceProtocol {
    public init() {}

    public func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        guard !request.name.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "HelloRequest.name must not be empty.")
        }
        var reply = Oo_Example_V1_HelloReply()
        reply.message = "Hello, \(request.name)!"
        return reply
    }

    public func sayHelloStream(
        request: Oo_Example_V1_HelloRequest,
        response: ResponseWriter<Oo_Example_V1_HelloReply>,
        context: ServerContext
    ) async throws {
        for index in 0..<max(0, Int(request.count)) {
            var reply = Oo_Example_V1_HelloReply()
            reply.message = "Hello #\(index + 1), \(request.name)!"
            try await response.write(reply)
        }
    }

    public func collectHellos(
        requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext
    ) async throws -> Oo_Example_V1_HelloReply {
        var names: [String] = []
        for try await request in requests { names.append(request.name) }
        var reply = Oo_Example_V1_HelloReply()
        reply.message = "Hello, \(names.joined(separator: " and "))!"
        return reply
    }

    public func chat(
        requests: RequestStream<Oo_Example_V1_HelloRequest>,
        response: ResponseWriter<Oo_Example_V1_HelloReply>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            var reply = Oo_Example_V1_HelloReply()
            reply.message = "Hello, \(request.name)!"
            try await response.write(reply)
        }
    }
}
