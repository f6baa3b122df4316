import ArgumentParser
import Foundation
import MLServing

/// `oo bench-scoring`: how long ml-serving's policies take to score one request — by
/// default 50 candidates with 32 features over 8 arms, after 2,000 updates — timed in this
/// process, no RPC. Prints the median and 99th percentile per policy. Build with
/// `-c release` for figures worth quoting (docs/benchmarks.md).
struct BenchScoring: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-scoring",
        abstract: "Time ml-serving's bandit policies scoring one request (default 50 candidates × 32 features).")

    @Option(help: "Candidates per request.") var candidates = 50
    @Option(help: "Features per candidate.") var features = 32
    @Option(help: "Arms (tip categories) the candidates spread over.") var arms = 8
    @Option(help: "Updates applied before timing.") var updates = 2_000
    @Option(help: "Requests timed per policy.") var requests = 5_000

    func validate() throws {
        guard (1...1_000).contains(candidates), (1...256).contains(features), (1...256).contains(arms),
              (0...1_000_000).contains(updates), (1...1_000_000).contains(requests)
        else { throw ValidationError("Out of range: 1-1000 candidates, 1-256 features, 1-256 arms, ≤1M updates and requests.") }
    }

    func run() throws {
        var random = SystemRandomNumberGenerator()
        func vector() -> [Double] { (0..<features).map { $0 == 0 ? 1 : Double.random(in: 0...1, using: &random) } }
        let request = (0..<candidates).map { PolicyCandidate(arm: "arm-\($0 % arms)", features: vector()) }
        let policies: [(String, any BanditPolicy)] = [
            ("linucb", try LinUCBPolicy(dimension: features, alpha: 0.3)),
            ("thompson", try LinearThompsonPolicy(dimension: features, v: 0.25, seed: 1)),
            ("epsilon_greedy", try EpsilonGreedyPolicy(dimension: features, epsilon: 0.1, seed: 1)),
            ("random", try UniformRandomPolicy(dimension: features, seed: 1)),
        ]
        print("Scoring \(candidates) candidates × \(features) features over \(arms) arms, after \(updates) updates; \(requests) requests per policy")
        print("policy            median µs     p99 µs")
        var total: [Double] = Array(repeating: 0, count: requests)
        for (name, policy) in policies {
            var policy = policy
            for index in 0..<updates {
                try policy.update(arm: "arm-\(index % arms)", features: vector(), reward: Double(index % 3 == 0 ? 1 : 0))
            }
            var samples: [Double] = []
            samples.reserveCapacity(requests)
            var checksum = 0
            for index in 0..<requests {
                let start = ContinuousClock.now
                checksum &+= try policy.score(request).chosen
                let elapsed = ContinuousClock.now - start
                let micros = Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
                samples.append(micros)
                total[index] += micros
            }
            samples.sort()
            print(name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: "%10.1f %10.1f", samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
                + (checksum < 0 ? " " : ""))
        }
        total.sort()
        print("all four together" + String(format: "%9.1f %10.1f", total[total.count / 2], total[min(total.count - 1, total.count * 99 / 100)]))
    }
}
