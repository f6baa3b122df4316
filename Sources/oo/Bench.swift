import ArgumentParser
import BenchProtos
import Foundation
import SwiftProtobuf
import OOMesh
import OOMeshHTTP2

/// `oo bench`: client-side load with our own client against any `bench.v1.Echo` server
/// (ours, or the peers under tools/bench): calls/s and latency percentiles as the caller
/// sees them. Bounded by duration and call count; loopback targets only by default.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unary echo load with oO mesh's client against a bench.v1.Echo server; prints calls/s and p50/p99.")

    @Option(help: "The server's host.")
    var host: String = "127.0.0.1"

    @Option(help: "The server's port.")
    var port: Int

    @Option(help: "Payload bytes per request (echoed back).")
    var payload: Int = 0

    @Option(help: "Client connections (one transport each).")
    var connections: Int = 1

    @Option(help: "Calls in flight per connection.")
    var concurrency: Int = 1

    @Option(help: "Seconds to run after a 1 s warm-up.")
    var duration: Double = 5

    @Option(help: "Stop after this many calls in all, whatever the duration.")
    var maxCalls: Int = 5_000_000

    func validate() throws {
        guard connections >= 1, concurrency >= 1, payload >= 0, duration > 0, duration <= 600, maxCalls >= 1 else {
            throw ValidationError("--connections and --concurrency must be >= 1, --payload >= 0, 0 < --duration <= 600.")
        }
    }

    func run() async throws {
        let request = Bench_V1_EchoRequest.with { $0.payload = Data(count: payload) }
        let clients = try (0..<connections).map { _ in try HTTP2ClientTransport(host: host, port: port) }
        let budget = CallBudget(maxCalls)
        _ = try await runLoad(clients: clients, request: request, seconds: 1, budget: CallBudget(.max))  // warm-up
        let start = ContinuousClock.now
        let latencies = try await runLoad(clients: clients, request: request, seconds: duration, budget: budget)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print(String(
            format: "oo bench: %d connections x %d in flight, %d B payload: %d calls in %.2f s = %.0f calls/s, p50 %.3f ms, p99 %.3f ms",
            connections, concurrency, payload, sorted.count, seconds, Double(sorted.count) / seconds,
            percentile(0.5) * 1000, percentile(0.99) * 1000))
    }

    /// Runs `concurrency` loops per client for `seconds`; returns every call's latency (s).
    private func runLoad(
        clients: [HTTP2ClientTransport], request: Bench_V1_EchoRequest, seconds: Double, budget: CallBudget
    ) async throws -> [Double] {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for transport in clients {
                let client = GRPCClient(transport: transport)
                for _ in 0..<concurrency {
                    group.addTask {
                        let echo = Bench_V1_Echo_Client(wrapping: client)
                        var samples: [Double] = []
                        while ContinuousClock.now < deadline, budget.take() {
                            let begin = ContinuousClock.now
                            _ = try await echo.unary(request)
                            let taken = ContinuousClock.now - begin
                            samples.append(Double(taken.components.attoseconds) / 1e18 + Double(taken.components.seconds))
                        }
                        return samples
                    }
                }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return all
        }
    }
}

/// A shared, bounded count of calls.
final class CallBudget: @unchecked Sendable {
    // @unchecked Sendable: `remaining` is only touched under `lock`.
    private let lock = NSLock()
    private var remaining: Int
    init(_ calls: Int) { remaining = calls }
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard remaining > 0 else { return false }
        remaining -= 1
        return true
    }
}
