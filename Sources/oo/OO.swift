import ArgumentParser
import CMeshLinux
import Foundation
import ExampleProtos
import ExampleService
import OOMesh
import OOMeshHTTP2
import SchemaRegistry
import SwiftProtobuf

/// The oO mesh command-line tool.
@main
struct OO: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oo",
        abstract: "oO mesh: run and call oO's RPC services.",
        subcommands: [Serve.self, Up.self, Simulate.self, Health.self, Demo.self, Bench.self, BenchScoring.self, Schema.self, Call.self, Certs.self, Token.self, Init.self])

    /// Runs the command; usage errors exit with status 2 (not ArgumentParser's 64), as the
    /// CI checks document.
    static func main() async {
        // Line-buffered even into a pipe or file, so progress shows as it happens (and
        // what `oo up` prints reaches whoever waits for it).
        oo_line_buffer_stdout()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// `oo demo`: starts the example Greeter on a free loopback port and calls every method
/// over real HTTP/2, printing what comes back.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the example Greeter service and call each of its four methods over gRPC.")

    @Option(help: "The name to greet.")
    var name: String = "oO"

    func run() async throws {
        let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
        let server = GRPCServer(transport: transport, services: [Greeter()])
        print("oo demo: Greeter listening on 127.0.0.1:\(transport.port)")
        let name = self.name
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            try await server.waitUntilListening()
            let client = try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port)
            try await withGRPCClient(transport: client) { client in
                let greeter = Oo_Example_V1_Greeter_Client(wrapping: client)
                let start = ContinuousClock.now

                let reply = try await greeter.sayHello(.with { $0.name = name })
                print("unary            SayHello       → \(reply.message)")

                try await greeter.sayHelloStream(.with { $0.name = name; $0.count = 3 }) { response in
                    for try await reply in response.messages {
                        print("server streaming SayHelloStream → \(reply.message)")
                    }
                }

                let collected = try await greeter.collectHellos { writer in
                    for friend in ["Ada", "Grace", name] { try await writer.write(.with { $0.name = friend }) }
                }
                print("client streaming CollectHellos  → \(collected.message)")

                try await greeter.chat { writer in
                    for friend in ["Linus", "Margaret"] { try await writer.write(.with { $0.name = friend }) }
                } onResponse: { response in
                    for try await reply in response.messages {
                        print("bidi streaming   Chat           → \(reply.message)")
                    }
                }

                do {
                    _ = try await greeter.sayHello(.with { $0.name = "" })
                } catch let error as RPCError {
                    print("an error         SayHello(\"\")   → \(error.code): \(error.message)")
                }
                print("oo demo: 5 calls in \(ContinuousClock.now - start)")
            }
        }
    }
}
