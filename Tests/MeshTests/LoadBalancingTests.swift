import Foundation
import ExampleProtos
import ExampleService
import MLProtos
import OOHealth
import OOMesh
import OOMeshHTTP2
import OOProcess
import SwiftProtobuf
import Synchronization
import Testing

/// Three ml-serving replicas (`oo serve ml-serving` processes) behind one round-robin
/// client with a retry policy for UNAVAILABLE.
@Suite("Load balancing across replicas", .serialized, .timeLimit(.minutes(3)))
struct LoadBalancingTests {
    static let executable = FileManager.default.currentDirectoryPath + "/.build/debug/oo"

    /// Starts a replica on `port` and waits (bounded) until it answers.
    static func replica(port: Int, directory: URL) async throws -> ChildProcess {
        let data = directory.appendingPathComponent("replica-\(port)").path
        let child = try ChildProcess(
            executable, ["serve", "ml-serving", "--port", "\(port)", "--data-dir", data, "--exit-when-stdin-closes", "--insecure-plaintext"],
            output: .file(directory.appendingPathComponent("replica-\(port).log").path), lifeline: true)
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: port)
        try await withGRPCClient(transport: transport) { client in
            let serving = Oo_Ml_V1_ModelServing_Client(wrapping: client)
            for _ in 0..<100 {
                if (try? await serving.listPolicies(.init(), options: CallOptions(timeout: .seconds(1)))) != nil { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw RPCError(code: .unavailable, message: "replica on \(port) did not come up")
        }
        return child
    }

    /// Updates each replica has applied.
    static func updates(port: Int) async throws -> Int64 {
        try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: port)) { client in
            let policies = try await Oo_Ml_V1_ModelServing_Client(wrapping: client).listPolicies(.init(), options: CallOptions(timeout: .seconds(5)))
            return policies.policies.first { $0.name == "linucb" }?.updates ?? 0
        }
    }

    @Test("round robin spreads calls evenly; a replica killed mid-run costs no failed call (the retried ones succeed)")
    func killOneReplica() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-lb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Int.random(in: 12_000...30_000) / 10 * 10
        let ports = [base, base + 1, base + 2]
        var replicas: [ChildProcess] = []
        for port in ports { replicas.append(try await Self.replica(port: port, directory: directory)) }
        defer { for replica in replicas { replica.signal(SIGKILL); replica.closeLifeline() } }

        let target = "ipv4:" + ports.map { "127.0.0.1:\($0)" }.joined(separator: ",")
        let transport = try LoadBalancedClientTransport(target: target)
        #expect(transport.endpoints.map(\.port) == ports)
        let configuration = try ServiceConfiguration(json: """
            {"methodConfig": [{"name": [{"service": "oo.ml.v1.ModelServing"}],
                               "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.02s", "maxBackoff": "0.2s",
                                               "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        let client = GRPCClient(transport: transport, serviceConfiguration: configuration)
        let failures = Box<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.runConnections() }
            defer { client.beginGracefulShutdown() }
            let serving = Oo_Ml_V1_ModelServing_Client(wrapping: client)
            func update(_ index: Int) async {
                do {
                    _ = try await serving.update(.with {
                        $0.requestID = "lb-\(index)"
                        $0.userID = "lb-user"
                        $0.features = .with {
                            $0.tipCategory = ["errand", "call"][index % 2]
                            $0.hourOfDay = Int32(index % 24)
                        }
                        $0.reward = Double(index % 2)
                    }, options: CallOptions(timeout: .seconds(10)))
                } catch {
                    failures.value.withLock { $0.append("\(index): \(error)") }
                }
            }
            // Phase 1, one at a time: round robin gives each replica the same share.
            for index in 0..<90 { await update(index) }
            var counts: [Int64] = []
            for port in ports { counts.append(try await Self.updates(port: port)) }
            #expect(counts == [30, 30, 30], "round robin: \(counts)")

            // Phase 2, eight at a time: the second replica is killed after 60 more calls.
            let next = Box(90)
            let victim = replicas[1]
            try await withThrowingTaskGroup(of: Void.self) { workers in
                for _ in 0..<8 {
                    workers.addTask {
                        while true {
                            let index = next.value.withLock { value -> Int in
                                defer { value += 1 }
                                return value
                            }
                            guard index < 390 else { return }
                            if index == 150 { victim.signal(SIGKILL) }
                            await update(index)
                        }
                    }
                }
                try await workers.waitForAll()
            }
        }
        let failed = failures.value.withLock { $0 }
        #expect(failed.isEmpty, "failed calls: \(failed.prefix(5))")
        // The survivors took the rest: their first 60, and every call after the kill.
        let first = try await Self.updates(port: ports[0])
        let third = try await Self.updates(port: ports[2])
        #expect(first + third >= 300, "survivors applied \(first) + \(third)")
        #expect(first > 100 && third > 100)
    }

    @Test("targets: host:port, dns:///, ipv4: and ipv6: lists parse; bad ones say why")
    func targets() async throws {
        #expect(try ResolverTarget("ipv4:10.0.0.1:1,10.0.0.2:2").description == "ipv4:10.0.0.1:1,10.0.0.2:2")
        // A name is resolved in the background (the initializer never blocks on DNS).
        let local = try LoadBalancedClientTransport(target: "dns:///localhost:50051")
        let deadline = ContinuousClock.now + .seconds(10)
        while local.endpoints.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(local.endpoints.contains { $0.port == 50051 && ($0.host == "127.0.0.1" || $0.host == "::1") })
        let six = try LoadBalancedClientTransport(target: "ipv6:[::1]:7000,[::1]:7001")
        #expect(six.endpoints.map(\.description) == ["[::1]:7000", "[::1]:7001"])
        #expect(try ResolverTarget("dns:localhost:1").description == "dns:localhost:1")
        for bad in ["dns://8.8.8.8/foo:1", "unix:/tmp/sock", "ipv4:", "ipv4:1.2.3.4", "host-without-port", "h:99999", "ipv6:::1", "ipv6:::1:80"] {
            #expect(throws: ResolverTargetError.self, "\(bad)") { try ResolverTarget(bad) }
        }
    }
}

/// Shared mutable state for the workers of a test.
final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}

/// Counts SayHello calls; otherwise the README's Greeter.
private final class CountingGreeter: Oo_Example_V1_Greeter_ServiceProtocol {
    let calls = Mutex(0)
    let greeter = Greeter()

    func sayHello(request: Oo_Example_V1_HelloRequest, context: ServerContext) async throws -> Oo_Example_V1_HelloReply {
        calls.withLock { $0 += 1 }
        return try await greeter.sayHello(request: request, context: context)
    }
    func sayHelloStream(request: Oo_Example_V1_HelloRequest, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
    func collectHellos(requests: RequestStream<Oo_Example_V1_HelloRequest>, context: ServerContext) async throws -> Oo_Example_V1_HelloReply { .init() }
    func chat(requests: RequestStream<Oo_Example_V1_HelloRequest>, response: ResponseWriter<Oo_Example_V1_HelloReply>, context: ServerContext) async throws {}
}

@Suite("Client-side health checking", .timeLimit(.minutes(1)))
struct HealthCheckingTests {
    @Test("round robin skips an endpoint whose health says NOT_SERVING, and comes back to it once it serves")
    func skipsUnhealthy() async throws {
        let greeters = [CountingGreeter(), CountingGreeter()]
        let monitors = [HealthMonitor(initial: .serving), HealthMonitor(initial: .serving)]
        monitors[0].setStatus(.serving, for: "oo.example.v1.Greeter")
        monitors[1].setStatus(.notServing, for: "oo.example.v1.Greeter", reason: "warming up")
        var transports: [HTTP2ServerTransport] = []
        var servers: [GRPCServer] = []
        for index in 0..<2 {
            let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
            transports.append(transport)
            servers.append(GRPCServer(transport: transport, services: [greeters[index], HealthService(monitor: monitors[index])]))
        }
        var configuration = LoadBalancedClientTransport.Configuration()
        configuration.healthCheck = .init(serviceName: "oo.example.v1.Greeter", interval: .milliseconds(50))
        let client = try LoadBalancedClientTransport(
            target: "ipv4:" + transports.map { "127.0.0.1:\($0.port)" }.joined(separator: ","), configuration: configuration)
        let allServers = servers
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in allServers { group.addTask { try await server.serve() } }
            for server in allServers { try await server.waitUntilListening() }
            defer { for server in allServers { server.beginGracefulShutdown() } }
            try await withGRPCClient(transport: client) { grpc in
                let greeter = Oo_Example_V1_Greeter_Client(wrapping: grpc)
                // Let the first health round finish (bounded).
                let deadline = ContinuousClock.now + .seconds(10)
                while greeters[1].calls.withLock({ $0 }) == 0, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    if client.connectionStates.allSatisfy({ $0.state == .ready }) { break }
                }
                try await Task.sleep(for: .milliseconds(200))
                let before = greeters.map { $0.calls.withLock { $0 } }
                for _ in 0..<20 { _ = try await greeter.sayHello(.with { $0.name = "x" }) }
                let during = greeters.map { $0.calls.withLock { $0 } }
                #expect(during[1] == before[1], "the unhealthy endpoint got calls: \(before) → \(during)")
                #expect(during[0] - before[0] == 20)

                monitors[1].setStatus(.serving, for: "oo.example.v1.Greeter")
                try await Task.sleep(for: .milliseconds(400))
                for _ in 0..<20 { _ = try await greeter.sayHello(.with { $0.name = "x" }) }
                let after = greeters.map { $0.calls.withLock { $0 } }
                #expect(after[1] - during[1] == 10 && after[0] - during[0] == 10, "\(during) → \(after)")
            }
        }
    }
}
