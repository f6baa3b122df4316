/// The baseline: every candidate scores a uniform random number in [0, 1) and the highest
/// wins, so each candidate is equally likely to be picked. Learns nothing (its update count
/// stays 0) but remembers the arms it was told about, within the same arm bound as the
/// learning policies. Deterministic for a given seed.
public struct UniformRandomPolicy: BanditPolicy {
    public let dimension: Int
    public internal(set) var maxArms: Int
    var random: SeededRandom
    private var seen: Set<String> = []

    /// A random policy drawing from `seed`.
    ///
    /// - Throws: ``PolicyError/invalidParameter(_:)`` for a dimension outside 1...4096 or
    ///   maxArms < 1.
    public init(dimension: Int, maxArms: Int = 256, seed: UInt64 = 0) throws(PolicyError) {
        try PolicySnapshot.checkDimension(dimension)
        try PolicySnapshot.checkMaxArms(maxArms)
        self.dimension = dimension
        self.maxArms = maxArms
        random = SeededRandom(seed: seed)
    }

    init(restoring header: SnapshotHeader, reader: inout SnapshotReader, random: SeededRandom) throws(PolicyError) {
        dimension = header.dimension
        maxArms = header.maxArms
        self.random = random
        let count = Int(try reader.u32())
        guard count <= maxArms else { throw .corruptSnapshot("\(count) arms, more than maxArms \(maxArms).") }
        var previous: String?
        for _ in 0..<count {
            let name = try reader.string()
            if let previous, name <= previous { throw .corruptSnapshot("arm names are not sorted and unique ('\(name)').") }
            previous = name
            seen.insert(name)
        }
    }

    public var kind: PolicyKind { .random }
    public var updateCount: Int64 { 0 }
    public var arms: [String] { seen.sorted() }
    public func canLearn(arm: String) -> Bool { seen.contains(arm) || seen.count < maxArms }

    public mutating func score(_ candidates: [PolicyCandidate]) throws(PolicyError) -> PolicyDecision {
        for candidate in candidates where candidate.features.count != dimension {
            throw .dimensionMismatch(expected: dimension, actual: candidate.features.count)
        }
        var scores = [Double]()
        scores.reserveCapacity(candidates.count)
        for _ in candidates { scores.append(random.unit()) }
        return PolicyDecision(argmaxOf: scores)
    }

    public mutating func update(arm: String, features: [Double], reward: Double) throws(PolicyError) {
        guard features.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: features.count) }
        guard reward.isFinite else { throw .invalidReward(reward) }
        guard canLearn(arm: arm) else { throw .tooManyArms(arm: arm, limit: maxArms) }
        seen.insert(arm)
    }

    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(
            header: SnapshotHeader(kind: SnapshotHeader.random, parameter: 0, dimension: dimension, maxArms: maxArms, updateCount: 0),
            random: random)
        let names = arms
        writer.u32(UInt32(names.count))
        for name in names { writer.string(name) }
        return writer.bytes
    }
}
