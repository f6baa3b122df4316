/// A contextual-bandit policy: scores candidates (each belonging to an arm, with a feature
/// vector) and learns from the reward of the candidate that was shown.
///
/// Policies are value types with no I/O: ``ModelServingService`` keeps each one behind a
/// mutex and persists it through ``snapshot()`` and ``PolicySnapshot/restore(_:)``. Scoring
/// is `mutating` because exploring policies advance their random stream.
public protocol BanditPolicy: Sendable {
    /// The kind and its parameters.
    var kind: PolicyKind { get }
    /// The length of every feature vector.
    var dimension: Int { get }
    /// At most this many arms are learned; an update for one more throws
    /// ``PolicyError/tooManyArms(arm:limit:)``.
    var maxArms: Int { get }
    /// Updates learned so far (0 for ``UniformRandomPolicy``, which learns nothing).
    var updateCount: Int64 { get }
    /// The arms seen in updates, sorted.
    var arms: [String] { get }

    /// Whether an update for `arm` would be accepted: the arm is known or there is room.
    func canLearn(arm: String) -> Bool

    /// Scores `candidates` in order and picks one. An arm never updated scores with the
    /// prior (A = I, b = 0). An empty list gives no scores and `chosen` -1.
    ///
    /// - Throws: ``PolicyError/dimensionMismatch(expected:actual:)`` when a feature vector
    ///   is not ``dimension`` long.
    mutating func score(_ candidates: [PolicyCandidate]) throws(PolicyError) -> PolicyDecision

    /// Learns that showing a candidate of `arm` with `features` earned `reward`.
    ///
    /// - Throws: ``PolicyError/dimensionMismatch(expected:actual:)``,
    ///   ``PolicyError/invalidReward(_:)`` (not finite), ``PolicyError/tooManyArms(arm:limit:)``.
    mutating func update(arm: String, features: [Double], reward: Double) throws(PolicyError)

    /// The whole state (parameters, learned statistics, random stream) as bytes;
    /// ``PolicySnapshot/restore(_:)`` gives back a policy that behaves identically.
    func snapshot() -> [UInt8]
}

/// The policies ml-serving runs, with their parameters.
public enum PolicyKind: Sendable, Hashable, CustomStringConvertible {
    /// Disjoint LinUCB: θᵀx + α·√(xᵀA⁻¹x) per arm (``LinUCBPolicy``).
    case linUCB(alpha: Double)
    /// Linear Thompson sampling: θ ~ N(μ, v²A⁻¹) per arm (``LinearThompsonPolicy``).
    case thompson(v: Double)
    /// Ridge-regression mean per arm, a uniformly random candidate with probability ε
    /// (``EpsilonGreedyPolicy``).
    case epsilonGreedy(epsilon: Double)
    /// A uniformly random candidate (``UniformRandomPolicy``); learns nothing.
    case random

    /// The kind's name on the wire (`PolicyInfo.kind`): "linucb", "thompson",
    /// "epsilon_greedy" or "random".
    public var name: String {
        switch self {
        case .linUCB: "linucb"
        case .thompson: "thompson"
        case .epsilonGreedy: "epsilon_greedy"
        case .random: "random"
        }
    }

    public var description: String {
        switch self {
        case .linUCB(let alpha): "linucb(alpha=\(alpha))"
        case .thompson(let v): "thompson(v=\(v))"
        case .epsilonGreedy(let epsilon): "epsilon_greedy(epsilon=\(epsilon))"
        case .random: "random"
        }
    }

    /// Whether two kinds are the same policy with possibly different parameters.
    func sameKind(as other: PolicyKind) -> Bool { name == other.name }
}

/// One candidate as a policy sees it.
public struct PolicyCandidate: Sendable, Hashable {
    /// The arm it belongs to (ml-serving: the tip category).
    public var arm: String
    /// Its feature vector (``TipFeaturizer`` for tips).
    public var features: [Double]

    /// A candidate of `arm` with `features`.
    public init(arm: String, features: [Double]) {
        self.arm = arm
        self.features = features
    }
}

/// A policy's scores for a list of candidates and the one it picks.
public struct PolicyDecision: Sendable, Hashable {
    /// One score per candidate, in order.
    public var scores: [Double]
    /// The index of the picked candidate; -1 for an empty list.
    public var chosen: Int

    /// A decision.
    public init(scores: [Double], chosen: Int) {
        self.scores = scores
        self.chosen = chosen
    }

    /// Picks the highest score (the first of equal ones).
    init(argmaxOf scores: [Double]) {
        var best = -1
        var bestScore = -Double.infinity
        for (index, score) in scores.enumerated() where best < 0 || score > bestScore {
            best = index
            bestScore = score
        }
        self.init(scores: scores, chosen: best)
    }
}

/// Why a policy refused a call or a snapshot.
public enum PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `arm` would be one arm more than `limit`.
    case tooManyArms(arm: String, limit: Int)
    /// A feature vector has `actual` values, the policy `expected`.
    case dimensionMismatch(expected: Int, actual: Int)
    /// The reward is NaN or infinite.
    case invalidReward(Double)
    /// A parameter is out of range; says which and why.
    case invalidParameter(String)
    /// Snapshot bytes that are not a policy state; says what is wrong.
    case corruptSnapshot(String)

    public var description: String {
        switch self {
        case .tooManyArms(let arm, let limit):
            "Arm '\(arm)' would be one more than the limit of \(limit) arms; reuse an existing tip category or raise maxArms."
        case .dimensionMismatch(let expected, let actual):
            "A feature vector has \(actual) values; the policy expects \(expected)."
        case .invalidReward(let reward):
            "The reward must be a finite number, got \(reward)."
        case .invalidParameter(let message):
            "Invalid policy parameter: \(message)"
        case .corruptSnapshot(let message):
            "The policy snapshot is corrupt: \(message)"
        }
    }
}

/// Makes policies from their kind and restores them from snapshots.
public enum PolicySnapshot {
    /// A fresh policy of `kind` over `dimension`-long feature vectors, learning at most
    /// `maxArms` arms, drawing from `seed` when it explores.
    ///
    /// - Throws: ``PolicyError/invalidParameter(_:)`` for α < 0, v ≤ 0, ε outside [0, 1]
    ///   (or any of them not finite), a dimension outside 1...4096 or maxArms < 1.
    public static func make(_ kind: PolicyKind, dimension: Int, maxArms: Int = 256, seed: UInt64 = 0) throws(PolicyError) -> any BanditPolicy {
        switch kind {
        case .linUCB(let alpha): try LinUCBPolicy(dimension: dimension, alpha: alpha, maxArms: maxArms)
        case .thompson(let v): try LinearThompsonPolicy(dimension: dimension, v: v, maxArms: maxArms, seed: seed)
        case .epsilonGreedy(let epsilon): try EpsilonGreedyPolicy(dimension: dimension, epsilon: epsilon, maxArms: maxArms, seed: seed)
        case .random: try UniformRandomPolicy(dimension: dimension, maxArms: maxArms, seed: seed)
        }
    }

    /// The policy a ``BanditPolicy/snapshot()`` was taken of, exactly.
    ///
    /// - Throws: ``PolicyError/corruptSnapshot(_:)`` when `bytes` are not one (truncated,
    ///   wrong magic or version, inconsistent sizes).
    public static func restore(_ bytes: [UInt8]) throws(PolicyError) -> any BanditPolicy {
        var reader = SnapshotReader(bytes)
        let header = try reader.header()
        let policy: any BanditPolicy
        switch header.kind {
        case SnapshotHeader.linUCB:
            policy = LinUCBPolicy(restoring: header, arms: try LinearArms(reading: &reader, dimension: header.dimension, maxArms: header.maxArms))
        case SnapshotHeader.thompson:
            let random = try reader.random()
            policy = LinearThompsonPolicy(
                restoring: header, arms: try LinearArms(reading: &reader, dimension: header.dimension, maxArms: header.maxArms), random: random)
        case SnapshotHeader.epsilonGreedy:
            let random = try reader.random()
            policy = EpsilonGreedyPolicy(
                restoring: header, arms: try LinearArms(reading: &reader, dimension: header.dimension, maxArms: header.maxArms), random: random)
        case SnapshotHeader.random:
            let random = try reader.random()
            policy = try UniformRandomPolicy(restoring: header, reader: &reader, random: random)
        default:
            throw .corruptSnapshot("unknown policy kind \(header.kind).")
        }
        guard reader.isAtEnd else { throw .corruptSnapshot("\(reader.remaining) unexpected bytes after the state.") }
        // Parameters are validated like a fresh policy's.
        _ = try make(policy.kind, dimension: policy.dimension, maxArms: policy.maxArms)
        return policy
    }

    static func checkDimension(_ dimension: Int) throws(PolicyError) {
        guard (1...4096).contains(dimension) else { throw .invalidParameter("the dimension must be 1 to 4096, got \(dimension).") }
    }

    static func checkMaxArms(_ maxArms: Int) throws(PolicyError) {
        guard (1...1_000_000).contains(maxArms) else { throw .invalidParameter("maxArms must be 1 to 1,000,000, got \(maxArms).") }
    }
}

extension PolicySnapshot {
    /// `policy` with the parameters of `kind` (of the same kind) and `maxArms`; its learned
    /// statistics and random stream are kept. A lower maxArms keeps the arms learned so far
    /// but admits no new ones past it.
    static func adjusted(_ policy: any BanditPolicy, to kind: PolicyKind, maxArms: Int) -> any BanditPolicy {
        switch (policy, kind) {
        case (var policy as LinUCBPolicy, .linUCB(let alpha)):
            policy.alpha = alpha
            policy.state.maxArms = maxArms
            return policy
        case (var policy as LinearThompsonPolicy, .thompson(let v)):
            policy.v = v
            policy.state.maxArms = maxArms
            return policy
        case (var policy as EpsilonGreedyPolicy, .epsilonGreedy(let epsilon)):
            policy.epsilon = epsilon
            policy.state.maxArms = maxArms
            return policy
        case (var policy as UniformRandomPolicy, .random):
            policy.maxArms = maxArms
            return policy
        default:
            return policy
        }
    }
}
