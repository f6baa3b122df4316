import ExampleProtos
import ExampleService
import Foundation
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// Keeps the README's example honest: the code it shows compiles and runs here.
@Suite("README example")
struct ReadmeExampleTests {
    @Test("the serve-and-call example runs and greets")
    func serveAndCall() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            let printed = Printed()
            func print(_ text: String) { printed.append(text) }

            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
            let server = GRPCServer(transport: transport, services: [Greeter()])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()   // the listener is up: calls will be answered
                try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port)) { client in
                    let greeter = Oo_Example_V1_Greeter_Client(wrapping: client)
                    var request = Oo_Example_V1_HelloRequest()
                    request.name = "oO"
                    let reply = try await greeter.sayHello(request, options: CallOptions(timeout: .seconds(5)))
                    print(reply.message)  // Hello, oO!
                }
                server.beginGracefulShutdown()
            }
            #expect(printed.lines == ["Hello, oO!"])
        }
    }

    @Test("the README's TLS example serves and calls with mutual TLS")
    func tlsExample() async throws {
        // Shared hold: no resource measurement runs meanwhile (ProcessResourceGate).
        try await withProcessResourceGate(exclusive: false) {
            let made = try await runProcess("bash", ["tools/make-certs", "--out", ".mesh/certs", "server", "client"])
            #expect(made.status == 0, "\(made.output)")
            #expect(FileManager.default.changeCurrentDirectoryPath(repositoryRoot.path))

            var serverConfiguration = HTTP2ServerTransport.Configuration()
            serverConfiguration.tls = ServerTLSConfiguration(
                certificateChainPath: ".mesh/certs/server.pem", privateKeyPath: ".mesh/certs/server.key",
                trustRootsPath: ".mesh/certs/ca.pem", clientCertificateVerification: .required)  // mTLS

            var clientConfiguration = HTTP2ClientTransport.Configuration()
            clientConfiguration.tls = ClientTLSConfiguration(
                trustRootsPath: ".mesh/certs/ca.pem",
                certificateChainPath: ".mesh/certs/client.pem", privateKeyPath: ".mesh/certs/client.key")

            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0, configuration: serverConfiguration)
            let server = GRPCServer(transport: transport, services: [Greeter()])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                defer { server.beginGracefulShutdown() }
                let client = try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port, configuration: clientConfiguration)
                try await withGRPCClient(transport: client) { client in
                    var request = Oo_Example_V1_HelloRequest()
                    request.name = "TLS"
                    let reply = try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(request)
                    #expect(reply.message == "Hello, TLS!")
                }
            }
        }
    }

    @Test("README: replicas and retries; a name that does not resolve fails calls with UNAVAILABLE saying why")
    func replicasAndRetries() async throws {
        // From the README:
        // Every address dns:///ml-serving:50053 resolves to (re-resolved every 30 s and when one
        // fails), or a fixed list: "ipv4:10.0.0.1:50053,10.0.0.2:50053". Round robin by default.
        let transport = try LoadBalancedClientTransport(target: "dns:///ml-serving:50053")
        let client = GRPCClient(transport: transport, serviceConfiguration: try ServiceConfiguration(json: """
            {"methodConfig": [{"name": [{"service": "oo.ml.v1.ModelServing"}], "timeout": "2s",
                               "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
                                               "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}],
             "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}
            """))
        #expect(client.serviceConfiguration.configuration(for: MethodDescriptor(service: "oo.ml.v1.ModelServing", method: "Score"))?
            .retryPolicy?.maxAttempts == 3)
        // No such host here: calls fail fast, naming the target.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.runConnections() }
            defer { client.beginGracefulShutdown() }
            do {
                _ = try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(.with { $0.name = "x" }, options: CallOptions(timeout: .seconds(5)))
                Issue.record("a call to a name that does not resolve succeeded")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("dns:///ml-serving:50053"))
            }
        }
    }

    @Test("every Swift block in the README appears verbatim in compiled code")
    func readmeSnippetsAreCompiled() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let sources = try ["Sources/ExampleService/Greeter.swift", "Tests/OOMeshHTTP2Tests/ReadmeExampleTests.swift"]
            .map { try String(contentsOf: repositoryRoot.appendingPathComponent($0), encoding: .utf8) }
            .map(Self.normalized)
        let blocks = readme.components(separatedBy: "```swift").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(!blocks.isEmpty)
        for block in blocks {
            let snippet = Self.normalized(block)
            #expect(sources.contains { $0.contains(snippet) }, "README block not found in compiled code:\n\(block)")
        }
    }

    /// Lines trimmed of surrounding white space, blank lines dropped.
    static func normalized(_ text: String) -> String {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}

/// Lines "printed" by the example, captured.
final class Printed: @unchecked Sendable {
    // @unchecked Sendable: `lines` is guarded by `lock`.
    private let lock = NSLock()
    private var storage: [String] = []

    func append(_ line: String) {
        lock.lock()
        storage.append(line)
        lock.unlock()
    }

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
