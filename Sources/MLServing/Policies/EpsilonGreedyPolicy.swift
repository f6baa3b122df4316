/// ε-greedy over per-arm ridge regressions: a candidate scores its arm's mean estimate θᵀx
/// (θ = A⁻¹b, A = I + Σxxᵀ); the policy picks the best score, except that with probability
/// ε it picks a uniformly random candidate instead. Deterministic for a given seed.
public struct EpsilonGreedyPolicy: BanditPolicy {
    /// The exploration probability, 0 to 1.
    public var epsilon: Double
    var state: LinearArms
    var random: SeededRandom
    public private(set) var updateCount: Int64 = 0

    /// A policy that has learned nothing, drawing from `seed`.
    ///
    /// - Throws: ``PolicyError/invalidParameter(_:)`` for ε outside [0, 1], a dimension
    ///   outside 1...4096 or maxArms < 1.
    public init(dimension: Int, epsilon: Double = 0.1, maxArms: Int = 256, seed: UInt64 = 0) throws(PolicyError) {
        try PolicySnapshot.checkDimension(dimension)
        try PolicySnapshot.checkMaxArms(maxArms)
        guard epsilon >= 0, epsilon <= 1 else { throw .invalidParameter("epsilon must be from 0 to 1, got \(epsilon).") }
        self.epsilon = epsilon
        state = LinearArms(dimension: dimension, maxArms: maxArms)
        random = SeededRandom(seed: seed)
    }

    init(restoring header: SnapshotHeader, arms: LinearArms, random: SeededRandom) {
        epsilon = header.parameter
        state = arms
        self.random = random
        updateCount = header.updateCount
    }

    public var kind: PolicyKind { .epsilonGreedy(epsilon: epsilon) }
    public var dimension: Int { state.dimension }
    public var maxArms: Int { state.maxArms }
    public var arms: [String] { state.names }
    public func canLearn(arm: String) -> Bool { state.canLearn(arm: arm) }

    public mutating func score(_ candidates: [PolicyCandidate]) throws(PolicyError) -> PolicyDecision {
        try state.check(candidates)
        let scores = candidates.map { state.arms[$0.arm]?.mean($0.features) ?? 0 }
        guard !scores.isEmpty else { return PolicyDecision(scores: [], chosen: -1) }
        if random.unit() < epsilon {
            return PolicyDecision(scores: scores, chosen: random.index(below: scores.count))
        }
        return PolicyDecision(argmaxOf: scores)
    }

    public mutating func update(arm: String, features: [Double], reward: Double) throws(PolicyError) {
        try state.learn(arm: arm, features: features, reward: reward)
        updateCount += 1
    }

    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(
            header: SnapshotHeader(
                kind: SnapshotHeader.epsilonGreedy, parameter: epsilon, dimension: dimension, maxArms: maxArms, updateCount: updateCount),
            random: random)
        state.write(to: &writer)
        return writer.bytes
    }
}
