import Foundation
import MLProtos
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
            executable, ["serve", "ml-serving", "--port", "\(port)", "--data-dir", data, "--exit-when-stdin-closes"],
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
    func targets() throws {
        #expect(try ResolverTarget("ipv4:10.0.0.1:1,10.0.0.2:2").description == "ipv4:10.0.0.1:1,10.0.0.2:2")
        let local = try LoadBalancedClientTransport(target: "dns:///localhost:50051")
        #expect(local.endpoints.contains { $0.port == 50051 && ($0.host == "127.0.0.1" || $0.host == "::1") })
        let six = try LoadBalancedClientTransport(target: "ipv6:[::1]:7000,[::1]:7001")
        #expect(six.endpoints.map(\.description) == ["[::1]:7000", "[::1]:7001"])
        for bad in ["dns://8.8.8.8/foo:1", "unix:/tmp/sock", "ipv4:", "ipv4:1.2.3.4", "host-without-port", "h:99999"] {
            #expect(throws: ResolverTargetError.self, "\(bad)") { try ResolverTarget(bad) }
        }
    }
}

/// Shared mutable state for the workers of a test.
final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}
