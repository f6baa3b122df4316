import ExampleProtos
import Foundation
import OODynamic
import OOMesh
import Synchronization
import Testing

/// The reflection client and the dynamic caller against an in-process server over real HTTP/2.
@Suite("Reflection client and dynamic calls", .timeLimit(.minutes(2)))
struct ReflectionClientTests {
    @Test("lists services and loads a service's files, over v1 and (fallback) v1alpha", arguments: [false, true])
    func listAndLoad(v1alphaOnly: Bool) async throws {
        try await withReflectionServer(v1alphaOnly: v1alphaOnly) { port in
            try await withClient(port: port) { client in
                let reflection = ReflectionClient(client: client, options: CallOptions(timeout: .seconds(10)))
                let services = try await reflection.listServices()
                #expect(services.contains("oo.example.v1.Greeter"))
                #expect(services.contains("grpc.health.v1.Health"))
                #expect(services.contains("grpc.reflection.v1alpha.ServerReflection"))

                var pool = DescriptorPool()
                try await reflection.load(symbol: "oo.example.v1.Greeter", into: &pool)
                #expect(pool.missingDependencies.isEmpty)
                let method = try pool.method(service: "oo.example.v1.Greeter", method: "SayHelloStream")
                #expect(method.inputType == "oo.example.v1.HelloRequest")
                #expect(method.outputType == "oo.example.v1.HelloReply")
                #expect(method.kind == .serverStreaming)
                #expect(
                    pool.describe("oo.example.v1.Greeter") == """
                        service oo.example.v1.Greeter {
                          rpc SayHello(oo.example.v1.HelloRequest) returns (oo.example.v1.HelloReply);
                          rpc SayHelloStream(oo.example.v1.HelloRequest) returns (stream oo.example.v1.HelloReply);
                          rpc CollectHellos(stream oo.example.v1.HelloRequest) returns (oo.example.v1.HelloReply);
                          rpc Chat(stream oo.example.v1.HelloRequest) returns (stream oo.example.v1.HelloReply);
                        }
                        """)
                #expect(pool.describe("oo.example.v1.HelloRequest") == "message oo.example.v1.HelloRequest {\n  string name = 1;\n  int32 count = 2;\n}")

                // A symbol in a method and an enum nested in a message.
                try await reflection.load(symbol: "grpc.health.v1.Health.Watch", into: &pool)
                #expect(pool.describe("grpc.health.v1.HealthCheckResponse.ServingStatus")?.contains("SERVING = 1;") == true)

                let missing = await #expect(throws: ReflectionError.self) {
                    try await reflection.load(symbol: "no.such.Service", into: &pool)
                }
                #expect(missing?.code == .notFound)
                #expect(missing?.message.contains("no.such.Service") == true)
            }
        }
    }

    @Test("calls each shape of method with JSON")
    func dynamicCalls() async throws {
        try await withReflectionServer { port in
            try await withClient(port: port) { client in
                let reflection = ReflectionClient(client: client, options: CallOptions(timeout: .seconds(10)))
                var pool = DescriptorPool()
                try await reflection.load(symbol: "oo.example.v1.Greeter", into: &pool)
                let caller = DynamicCaller(client: client, pool: pool)
                let options = CallOptions(timeout: .seconds(10))
                func call(_ method: String, _ requests: String) async throws -> [String] {
                    let collected = Mutex<[String]>([])
                    let resolved = try pool.method(service: "oo.example.v1.Greeter", method: method)
                    try await caller.call(resolved, requests: try JSONValue.parseSequence(requests), options: options) { response in
                        collected.withLock { $0.append(response.rendered()) }
                    }
                    return collected.withLock { $0 }
                }
                #expect(try await call("SayHello", #"{"name":"oO"}"#) == [#"{"message":"Hello, oO!"}"#])
                #expect(
                    try await call("SayHelloStream", #"{"name":"oO","count":3}"#) == [
                        #"{"message":"Hello #1, oO!"}"#, #"{"message":"Hello #2, oO!"}"#, #"{"message":"Hello #3, oO!"}"#,
                    ])
                #expect(try await call("CollectHellos", "{\"name\":\"Ada\"}\n{\"name\":\"Grace\"}") == [#"{"message":"Hello, Ada and Grace!"}"#])
                #expect(try await call("Chat", "{\"name\":\"a\"} {\"name\":\"b\"}") == [#"{"message":"Hello, a!"}"#, #"{"message":"Hello, b!"}"#])

                let failure = await #expect(throws: RPCError.self) { try await call("SayHello", "{}") }
                #expect(failure?.code == .invalidArgument)
                let badRequest = await #expect(throws: TranscodingError.self) { try await call("SayHello", #"{"count":"x"}"#) }
                #expect(badRequest?.description == #"count: expected an integer, got "x""#)
                await #expect(throws: TranscodingError.self) { try await call("SayHello", "{} {}") }
            }
        }
    }

    @Test("method names: SERVICE/METHOD and SERVICE.METHOD")
    func methodNames() throws {
        #expect(try ResolvedMethod.split("oo.example.v1.Greeter/SayHello") == ("oo.example.v1.Greeter", "SayHello"))
        #expect(try ResolvedMethod.split("/oo.example.v1.Greeter/SayHello") == ("oo.example.v1.Greeter", "SayHello"))
        #expect(try ResolvedMethod.split("oo.example.v1.Greeter.SayHello") == ("oo.example.v1.Greeter", "SayHello"))
        for bad in ["Greeter", "a/", "/b", "a.b/c/d"] {
            #expect(throws: ReflectionError.self, "\(bad)") { try ResolvedMethod.split(bad) }
        }
    }
}
