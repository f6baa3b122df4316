import MLServing
import SwiftProtobuf
import Testing

/// A planted linear bandit: five arms, contexts x = [1, u₁…u₅] with uᵢ uniform in [0, 1),
/// arm a's expected reward 0.2 + 0.05·a + 0.5·u₍ₐ₊₁₎ (so which arm is best depends on the
/// context), observed with uniform noise of ±0.1.
struct PlantedBandit {
    static let dimension = 6
    static let arms = 5
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func context() -> [Double] { [1] + (1..<Self.dimension).map { _ in random.unit() } }

    static func expected(arm: Int, _ x: [Double]) -> Double { 0.2 + 0.05 * Double(arm) + 0.5 * x[arm + 1] }

    static func best(_ x: [Double]) -> Int { (0..<arms).max { expected(arm: $0, x) < expected(arm: $1, x) }! }

    static func candidates(_ x: [Double]) -> [PolicyCandidate] { (0..<arms).map { PolicyCandidate(arm: "arm\($0)", features: x) } }

    /// Plays `rounds` decisions, teaching the policy the noisy reward of each pick; returns
    /// the expected reward earned.
    mutating func play(_ policy: inout some BanditPolicy, rounds: Int) throws -> Double {
        var earned = 0.0
        for _ in 0..<rounds {
            let x = context()
            let chosen = try policy.score(Self.candidates(x)).chosen
            let expected = Self.expected(arm: chosen, x)
            earned += expected
            try policy.update(arm: "arm\(chosen)", features: x, reward: expected + (random.unit() - 0.5) * 0.2)
        }
        return earned
    }

    /// The share of `rounds` fresh contexts where the policy picks the best arm.
    mutating func accuracy(_ policy: inout some BanditPolicy, rounds: Int) throws -> Double {
        var right = 0
        for _ in 0..<rounds {
            let x = context()
            if try policy.score(Self.candidates(x)).chosen == Self.best(x) { right += 1 }
        }
        return Double(right) / Double(rounds)
    }
}

@Suite("Bandit policies")
struct PolicyTests {
    @Test("LinUCB (α = 1, the default) learns a planted linear reward: after 10,000 updates it picks the best arm at least 90% of the time")
    func linUCBLearns() throws {
        var policy = try LinUCBPolicy(dimension: PlantedBandit.dimension, alpha: 1.0)
        var bandit = PlantedBandit(seed: 1)
        _ = try bandit.play(&policy, rounds: 10_000)
        // Measured with the exploration bonus still on (it shrinks as arms are learned).
        let accuracy = try bandit.accuracy(&policy, rounds: 1_000)
        #expect(accuracy >= 0.9, "LinUCB picked the best arm in only \(accuracy * 100)% of fresh contexts")
        #expect(policy.updateCount == 10_000)
        #expect(policy.arms == (0..<5).map { "arm\($0)" })
    }

    @Test("Thompson sampling and ε-greedy earn clearly more than uniform random on the planted bandit", arguments: [
        PolicyKind.thompson(v: 0.25), .epsilonGreedy(epsilon: 0.1), .linUCB(alpha: 1.0),
    ])
    func beatsRandom(kind: PolicyKind) throws {
        func earned(_ kind: PolicyKind) throws -> Double {
            var policy = try PolicySnapshot.make(kind, dimension: PlantedBandit.dimension, seed: 5)
            var bandit = PlantedBandit(seed: 2)
            return try bandit.play(&policy, rounds: 2_000)
        }
        let random = try earned(.random)
        let learned = try earned(kind)
        // Random earns ≈ 0.55 a round, the best arm ≈ 0.75: ask for most of the gap.
        #expect(learned > random * 1.2, "\(kind) earned \(learned), random \(random)")
    }

    @Test("a snapshot restores a policy exactly: the same bytes, and the same scores from then on", arguments: [
        PolicyKind.linUCB(alpha: 0.7), .thompson(v: 0.3), .epsilonGreedy(epsilon: 0.2), .random,
    ])
    func snapshotRoundTrip(kind: PolicyKind) throws {
        var policy = try PolicySnapshot.make(kind, dimension: PlantedBandit.dimension, maxArms: 8, seed: 3)
        var bandit = PlantedBandit(seed: 3)
        _ = try bandit.play(&policy, rounds: 300)
        let bytes = policy.snapshot()
        var restored = try PolicySnapshot.restore(bytes)
        #expect(restored.snapshot() == bytes)
        #expect(restored.kind == kind)
        #expect(restored.updateCount == policy.updateCount)
        #expect(restored.arms == policy.arms)
        #expect(restored.maxArms == 8)
        // The random stream resumes too: the next decisions are identical, bit for bit.
        for _ in 0..<50 {
            let candidates = PlantedBandit.candidates(bandit.context()) + [PolicyCandidate(arm: "unseen", features: [1, 0, 0, 0, 0, 1])]
            let original = try policy.score(candidates)
            let resumed = try restored.score(candidates)
            #expect(original == resumed)
        }
    }

    @Test("a snapshot cut short at any byte, or with a wrong magic, is refused as corrupt", arguments: [
        PolicyKind.linUCB(alpha: 1), .thompson(v: 0.25), .epsilonGreedy(epsilon: 0.1), .random,
    ])
    func corruptSnapshots(kind: PolicyKind) throws {
        var policy = try PolicySnapshot.make(kind, dimension: 3, seed: 1)
        try policy.update(arm: "a", features: [1, 0.5, 0.25], reward: 1)
        try policy.update(arm: "b", features: [1, 0.1, 0.9], reward: 0)
        let bytes = policy.snapshot()
        for length in 0..<bytes.count {
            #expect(throws: PolicyError.self, "a snapshot cut at byte \(length) was accepted") {
                _ = try PolicySnapshot.restore(Array(bytes.prefix(length)))
            }
        }
        var wrongMagic = bytes
        wrongMagic[0] = UInt8(ascii: "X")
        #expect(throws: PolicyError.self) { _ = try PolicySnapshot.restore(wrongMagic) }
        #expect(throws: PolicyError.self) { _ = try PolicySnapshot.restore(bytes + [0]) }
    }

    @Test("LinUCB's Sherman–Morrison updates keep A⁻¹ the inverse of A and its scores the closed form")
    func shermanMorrison() throws {
        let d = 4
        var policy = try LinUCBPolicy(dimension: d, alpha: 0.5)
        var random = SeededRandom(seed: 9)
        var a = (0..<d).map { i in (0..<d).map { j in i == j ? 1.0 : 0.0 } }
        var b = [Double](repeating: 0, count: d)
        for _ in 0..<200 {
            let x = (0..<d).map { _ in random.unit() * 2 - 0.5 }
            let r = random.unit()
            try policy.update(arm: "only", features: x, reward: r)
            for i in 0..<d {
                for j in 0..<d { a[i][j] += x[i] * x[j] }
                b[i] += r * x[i]
            }
        }
        // Solve A·θ = b and A·y = x by Gaussian elimination, independently of the policy.
        func solve(_ matrix: [[Double]], _ rhs: [Double]) -> [Double] {
            var m = matrix, v = rhs
            for column in 0..<d {
                let pivot = (column..<d).max { abs(m[$0][column]) < abs(m[$1][column]) }!
                m.swapAt(column, pivot)
                v.swapAt(column, pivot)
                for row in (column + 1)..<d {
                    let factor = m[row][column] / m[column][column]
                    for k in column..<d { m[row][k] -= factor * m[column][k] }
                    v[row] -= factor * v[column]
                }
            }
            var out = [Double](repeating: 0, count: d)
            for row in stride(from: d - 1, through: 0, by: -1) {
                var sum = v[row]
                for k in (row + 1)..<d { sum -= m[row][k] * out[k] }
                out[row] = sum / m[row][row]
            }
            return out
        }
        let theta = solve(a, b)
        for _ in 0..<20 {
            let x = (0..<d).map { _ in random.unit() }
            let y = solve(a, x)
            let expected = zip(theta, x).map(*).reduce(0, +) + 0.5 * zip(x, y).map(*).reduce(0, +).squareRoot()
            let actual = try policy.score([PolicyCandidate(arm: "only", features: x)]).scores[0]
            #expect(abs(actual - expected) < 1e-9, "score \(actual), closed form \(expected)")
        }
    }

    @Test("at most maxArms arms are learned: one more is refused with tooManyArms, known arms still learn", arguments: [
        PolicyKind.linUCB(alpha: 1), .thompson(v: 0.25), .epsilonGreedy(epsilon: 0.1), .random,
    ])
    func armBound(kind: PolicyKind) throws {
        var policy = try PolicySnapshot.make(kind, dimension: 2, maxArms: 3, seed: 1)
        for arm in ["a", "b", "c"] { try policy.update(arm: arm, features: [1, 0], reward: 1) }
        #expect(!policy.canLearn(arm: "d"))
        #expect(throws: PolicyError.tooManyArms(arm: "d", limit: 3)) { try policy.update(arm: "d", features: [1, 0], reward: 1) }
        try policy.update(arm: "a", features: [1, 1], reward: 0)
        #expect(policy.arms == ["a", "b", "c"])
        // Scoring an arm never learned is fine: it scores with the prior.
        let unseen = try policy.score([PolicyCandidate(arm: "d", features: [1, 0])])
        #expect(unseen.chosen == 0)
    }

    @Test("bad input is refused: wrong vector length, a non-finite reward, parameters out of range")
    func badInput() throws {
        var policy = try LinUCBPolicy(dimension: 3)
        #expect(throws: PolicyError.dimensionMismatch(expected: 3, actual: 2)) { try policy.update(arm: "a", features: [1, 2], reward: 1) }
        #expect(throws: PolicyError.self) { try policy.update(arm: "a", features: [1, 2, 3], reward: .nan) }
        #expect(throws: PolicyError.dimensionMismatch(expected: 3, actual: 4)) { _ = try policy.score([PolicyCandidate(arm: "a", features: [1, 2, 3, 4])]) }
        #expect(policy.updateCount == 0 && policy.arms.isEmpty)
        let empty = try policy.score([])
        #expect(empty == PolicyDecision(scores: [], chosen: -1))
        #expect(throws: PolicyError.self) { _ = try LinUCBPolicy(dimension: 3, alpha: -1) }
        #expect(throws: PolicyError.self) { _ = try LinearThompsonPolicy(dimension: 3, v: 0) }
        #expect(throws: PolicyError.self) { _ = try EpsilonGreedyPolicy(dimension: 3, epsilon: 1.5) }
        #expect(throws: PolicyError.self) { _ = try EpsilonGreedyPolicy(dimension: 3, epsilon: .nan) }
        #expect(throws: PolicyError.self) { _ = try UniformRandomPolicy(dimension: 0) }
    }

    @Test("the same seed gives the same decisions; another seed other ones")
    func seeds() throws {
        func decisions(seed: UInt64) throws -> [Int] {
            var policy = try PolicySnapshot.make(.thompson(v: 0.5), dimension: PlantedBandit.dimension, seed: seed)
            var bandit = PlantedBandit(seed: 4)
            var chosen: [Int] = []
            for _ in 0..<100 {
                let x = bandit.context()
                let pick = try policy.score(PlantedBandit.candidates(x)).chosen
                chosen.append(pick)
                try policy.update(arm: "arm\(pick)", features: x, reward: PlantedBandit.expected(arm: pick, x))
            }
            return chosen
        }
        #expect(try decisions(seed: 1) == decisions(seed: 1))
        #expect(try decisions(seed: 1) != decisions(seed: 2))
        #expect(SeededRandom.seed(1, for: "thompson") != SeededRandom.seed(1, for: "random"))
    }

    @Test("uniform random picks every candidate about equally often and learns nothing")
    func uniformRandom() throws {
        var policy = try UniformRandomPolicy(dimension: 1, seed: 8)
        var counts = [0, 0, 0, 0]
        let candidates = (0..<4).map { PolicyCandidate(arm: "a\($0)", features: [1]) }
        for _ in 0..<4_000 { counts[try policy.score(candidates).chosen] += 1 }
        #expect(counts.allSatisfy { (850...1_150).contains($0) }, "\(counts)")
        try policy.update(arm: "a0", features: [1], reward: 1)
        #expect(policy.updateCount == 0 && policy.arms == ["a0"])
    }
}
