import Foundation
import Testing

/// `oo call` end to end: the built `.build/debug/oo` against an in-process server.
@Suite("oo call", .serialized, .timeLimit(.minutes(3)))
struct CallCommandTests {
    @Test("list, list SERVICE, describe")
    func listAndDescribe() async throws {
        try await withReflectionServer { port in
            let address = "127.0.0.1:\(port)"
            let services = try await runOO(["call", address, "list"])
            #expect(services.status == 0, "\(services.standardError)")
            #expect(services.standardOutput.split(separator: "\n").contains("oo.example.v1.Greeter"))
            #expect(services.standardOutput.split(separator: "\n").contains("grpc.health.v1.Health"))

            let methods = try await runOO(["call", address, "list", "oo.example.v1.Greeter"])
            #expect(methods.status == 0, "\(methods.standardError)")
            #expect(
                methods.standardOutput == """
                    oo.example.v1.Greeter.SayHello
                    oo.example.v1.Greeter.SayHelloStream
                    oo.example.v1.Greeter.CollectHellos
                    oo.example.v1.Greeter.Chat

                    """)

            let service = try await runOO(["call", address, "describe", "grpc.health.v1.Health"])
            #expect(service.status == 0, "\(service.standardError)")
            #expect(service.standardOutput.contains("rpc Watch(grpc.health.v1.HealthCheckRequest) returns (stream grpc.health.v1.HealthCheckResponse);"))
            let message = try await runOO(["call", address, "describe", "grpc.health.v1.HealthCheckResponse"])
            #expect(message.standardOutput.contains("grpc.health.v1.HealthCheckResponse.ServingStatus status = 1;"), "\(message.standardOutput)")
            #expect(message.standardOutput.contains("SERVICE_UNKNOWN = 3;"))

            let unknown = try await runOO(["call", address, "describe", "no.such.Thing"])
            #expect(unknown.status == 1)
            #expect(unknown.standardError.hasPrefix("ERROR: NOT_FOUND: "), "\(unknown.standardError)")
        }
    }

    @Test("unary, server streaming, client streaming from stdin-like input, errors")
    func calls() async throws {
        try await withReflectionServer { port in
            let address = "127.0.0.1:\(port)"
            let unary = try await runOO(["call", address, "oo.example.v1.Greeter/SayHello", "-d", #"{"name":"oO"}"#, "-H", "x-test: 1", "--timeout", "10"])
            #expect(unary.status == 0, "\(unary.standardError)")
            #expect(unary.standardOutput == "{\"message\":\"Hello, oO!\"}\n")

            let stream = try await runOO(["call", address, "oo.example.v1.Greeter.SayHelloStream", "-d", #"{"name":"oO","count":3}"#])
            #expect(stream.status == 0, "\(stream.standardError)")
            #expect(stream.standardOutput.split(separator: "\n") == [#"{"message":"Hello #1, oO!"}"#, #"{"message":"Hello #2, oO!"}"#, #"{"message":"Hello #3, oO!"}"#])

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("oo-call-\(UUID().uuidString).jsonl")
            try Data("{\"name\":\"Ada\"}\n{\"name\":\"Grace\"}\n".utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let collected = try await runOO(["call", address, "oo.example.v1.Greeter/CollectHellos", "-d", "@" + file.path])
            #expect(collected.standardOutput == "{\"message\":\"Hello, Ada and Grace!\"}\n", "\(collected.standardError)")
            let chat = try await runOO(["call", address, "oo.example.v1.Greeter/Chat", "-d", "{\"name\":\"a\"} {\"name\":\"b\"}", "--pretty"])
            #expect(chat.standardOutput == "{\n  \"message\": \"Hello, a!\"\n}\n{\n  \"message\": \"Hello, b!\"\n}\n", "\(chat.standardError)")

            let invalid = try await runOO(["call", address, "oo.example.v1.Greeter/SayHello", "-d", #"{"name":""}"#])
            #expect(invalid.status == 1)
            #expect(invalid.standardError == "ERROR: INVALID_ARGUMENT: HelloRequest.name must not be empty.\n")

            let badJSON = try await runOO(["call", address, "oo.example.v1.Greeter/SayHello", "-d", #"{"count":"x"}"#])
            #expect(badJSON.status == 1)
            #expect(badJSON.standardError == "ERROR: INVALID_ARGUMENT: count: expected an integer, got \"x\"\n")

            let noMethod = try await runOO(["call", address, "oo.example.v1.Greeter/Wave"])
            #expect(noMethod.status == 1)
            #expect(noMethod.standardError.hasPrefix("ERROR: NOT_FOUND: Service 'oo.example.v1.Greeter' has no method 'Wave'"), "\(noMethod.standardError)")
        }
    }

    @Test("usage errors exit 2; an unreachable server exits 1")
    func usageAndConnectionErrors() async throws {
        for arguments in [["call", "nohostport", "list"], ["call", "127.0.0.1:1", "NotAMethod"], ["call", "127.0.0.1:1", "list", "-d", "{}"],
                          ["call", "127.0.0.1:1", "a.B/C", "--timeout", "-1"], ["call", "127.0.0.1:1", "a.B/C", "-H", "no-colon"]] {
            let result = try await runOO(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
        }
        let refused = try await runOO(["call", "127.0.0.1:1", "list", "--timeout", "5"])
        #expect(refused.status == 1)
        #expect(refused.standardError.hasPrefix("ERROR: "), "\(refused.standardError)")
    }
}
