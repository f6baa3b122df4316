/// Linear Thompson sampling (Agrawal & Goyal, 2013), disjoint per arm: for each decision,
/// every arm among the candidates draws weights
///
///     θ̃ ~ N(μ, v²A⁻¹),  μ = A⁻¹b,
///
/// and a candidate scores θ̃ᵀx. The draw uses the Cholesky factor of A (A = LLᵀ, so
/// y = L⁻ᵀz with z ~ N(0, I) has covariance A⁻¹); factors are cached per arm until the
/// arm's next update. `v` scales exploration. All candidates of one arm share the arm's
/// draw. Deterministic for a given seed.
public struct LinearThompsonPolicy: BanditPolicy {
    /// The posterior scale v > 0.
    public var v: Double
    var state: LinearArms
    var random: SeededRandom
    public private(set) var updateCount: Int64 = 0
    /// Cholesky factors of A per arm; derived from the state, never snapshotted.
    private var factors: [String: [Double]] = [:]

    /// A policy that has learned nothing, drawing from `seed`.
    ///
    /// - Throws: ``PolicyError/invalidParameter(_:)`` for v ≤ 0 or not finite, a dimension
    ///   outside 1...4096 or maxArms < 1.
    public init(dimension: Int, v: Double = 0.25, maxArms: Int = 256, seed: UInt64 = 0) throws(PolicyError) {
        try PolicySnapshot.checkDimension(dimension)
        try PolicySnapshot.checkMaxArms(maxArms)
        guard v.isFinite, v > 0 else { throw .invalidParameter("Thompson sampling's v must be a finite number > 0, got \(v).") }
        self.v = v
        state = LinearArms(dimension: dimension, maxArms: maxArms)
        random = SeededRandom(seed: seed)
    }

    init(restoring header: SnapshotHeader, arms: LinearArms, random: SeededRandom) {
        v = header.parameter
        state = arms
        self.random = random
        updateCount = header.updateCount
    }

    public var kind: PolicyKind { .thompson(v: v) }
    public var dimension: Int { state.dimension }
    public var maxArms: Int { state.maxArms }
    public var arms: [String] { state.names }
    public func canLearn(arm: String) -> Bool { state.canLearn(arm: arm) }

    public mutating func score(_ candidates: [PolicyCandidate]) throws(PolicyError) -> PolicyDecision {
        try state.check(candidates)
        var sampled: [String: [Double]] = [:]
        var scores = [Double]()
        scores.reserveCapacity(candidates.count)
        for candidate in candidates {
            let weights: [Double]
            if let known = sampled[candidate.arm] {
                weights = known
            } else {
                weights = sample(arm: candidate.arm)
                sampled[candidate.arm] = weights
            }
            var sum = 0.0
            for i in 0..<weights.count { sum += weights[i] * candidate.features[i] }
            scores.append(sum)
        }
        return PolicyDecision(argmaxOf: scores)
    }

    /// θ̃ for `arm`: μ + v·L⁻ᵀz, or v·z under the prior (A = I).
    private mutating func sample(arm name: String) -> [Double] {
        var z = [Double](repeating: 0, count: dimension)
        for i in 0..<dimension { z[i] = random.gaussian() }
        guard let arm = state.arms[name] else { return z.map { v * $0 } }
        let factor: [Double]
        if let cached = factors[name] {
            factor = cached
        } else {
            factor = arm.choleskyOfA()
            factors[name] = factor
        }
        let y = RidgeArm.solveTransposed(factor, z)
        var theta = arm.theta
        for i in 0..<dimension { theta[i] += v * y[i] }
        return theta
    }

    public mutating func update(arm: String, features: [Double], reward: Double) throws(PolicyError) {
        try state.learn(arm: arm, features: features, reward: reward)
        factors[arm] = nil
        updateCount += 1
    }

    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(
            header: SnapshotHeader(kind: SnapshotHeader.thompson, parameter: v, dimension: dimension, maxArms: maxArms, updateCount: updateCount),
            random: random)
        state.write(to: &writer)
        return writer.bytes
    }
}
