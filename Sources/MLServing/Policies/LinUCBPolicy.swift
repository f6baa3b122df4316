/// Disjoint LinUCB (Li et al., 2010): each arm keeps its own ridge regression (A = I + Σxxᵀ,
/// b = Σr·x) and a candidate scores its optimistic estimate
///
///     score = θᵀx + α·√(xᵀA⁻¹x),  θ = A⁻¹b,
///
/// the mean reward plus α standard errors. Larger α explores more. Deterministic: the same
/// updates give bit-identical scores, which makes it the policy restarts are checked with.
///
/// ```swift
/// var policy = try LinUCBPolicy(dimension: TipFeaturizer.dimension, alpha: 1.0)
/// let decision = try policy.score(candidates)
/// try policy.update(arm: candidates[decision.chosen].arm, features: candidates[decision.chosen].features, reward: 1)
/// ```
public struct LinUCBPolicy: BanditPolicy {
    /// The width of the confidence bonus, ≥ 0.
    public var alpha: Double
    var state: LinearArms
    public private(set) var updateCount: Int64 = 0

    /// A policy that has learned nothing.
    ///
    /// - Throws: ``PolicyError/invalidParameter(_:)`` for α negative or not finite, a
    ///   dimension outside 1...4096 or maxArms < 1.
    public init(dimension: Int, alpha: Double = 1.0, maxArms: Int = 256) throws(PolicyError) {
        try PolicySnapshot.checkDimension(dimension)
        try PolicySnapshot.checkMaxArms(maxArms)
        guard alpha.isFinite, alpha >= 0 else { throw .invalidParameter("LinUCB's alpha must be a finite number ≥ 0, got \(alpha).") }
        self.alpha = alpha
        state = LinearArms(dimension: dimension, maxArms: maxArms)
    }

    init(restoring header: SnapshotHeader, arms: LinearArms) {
        alpha = header.parameter
        state = arms
        updateCount = header.updateCount
    }

    public var kind: PolicyKind { .linUCB(alpha: alpha) }
    public var dimension: Int { state.dimension }
    public var maxArms: Int { state.maxArms }
    public var arms: [String] { state.names }
    public func canLearn(arm: String) -> Bool { state.canLearn(arm: arm) }

    public mutating func score(_ candidates: [PolicyCandidate]) throws(PolicyError) -> PolicyDecision {
        try state.check(candidates)
        var scores = [Double]()
        scores.reserveCapacity(candidates.count)
        for candidate in candidates {
            if let arm = state.arms[candidate.arm] {
                scores.append(arm.mean(candidate.features) + alpha * arm.variance(candidate.features).squareRoot())
            } else {
                // The prior: θ = 0, A⁻¹ = I.
                var norm = 0.0
                for value in candidate.features { norm += value * value }
                scores.append(alpha * norm.squareRoot())
            }
        }
        return PolicyDecision(argmaxOf: scores)
    }

    public mutating func update(arm: String, features: [Double], reward: Double) throws(PolicyError) {
        try state.learn(arm: arm, features: features, reward: reward)
        updateCount += 1
    }

    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(header: SnapshotHeader(
            kind: SnapshotHeader.linUCB, parameter: alpha, dimension: dimension, maxArms: maxArms, updateCount: updateCount))
        state.write(to: &writer)
        return writer.bytes
    }
}
