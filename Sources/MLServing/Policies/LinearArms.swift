/// Ridge-regression statistics of one arm over d-dimensional features: A = I + Σ xxᵀ,
/// b = Σ r·x, A⁻¹ kept current by Sherman–Morrison (one O(d²) rank-one update per reward,
/// never a matrix inversion), and θ = A⁻¹b, the ridge estimate of the arm's reward weights.
///
/// Matrices are row-major `[Double]` of d² values. A⁻¹ stays exactly symmetric: each update
/// subtracts u·uᵀ/(1 + xᵀu) with u = A⁻¹x, and uᵢuⱼ = uⱼuᵢ in floating point.
struct RidgeArm: Sendable, Hashable {
    /// Rewards learned.
    var count: Int64
    /// I + Σ xxᵀ.
    var a: [Double]
    /// Σ r·x.
    var b: [Double]
    /// A⁻¹.
    var aInverse: [Double]
    /// A⁻¹b.
    var theta: [Double]

    /// The prior: A = A⁻¹ = I, b = θ = 0.
    init(dimension d: Int) {
        count = 0
        a = Self.identity(d)
        b = [Double](repeating: 0, count: d)
        aInverse = Self.identity(d)
        theta = b
    }

    init(count: Int64, a: [Double], b: [Double], aInverse: [Double], theta: [Double]) {
        self.count = count
        self.a = a
        self.b = b
        self.aInverse = aInverse
        self.theta = theta
    }

    static func identity(_ d: Int) -> [Double] {
        var matrix = [Double](repeating: 0, count: d * d)
        for i in 0..<d { matrix[i * d + i] = 1 }
        return matrix
    }

    /// Learns reward `r` for features `x` (already checked to be d long).
    mutating func learn(_ x: [Double], reward r: Double) {
        let d = b.count
        var u = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { x in
            a.withUnsafeMutableBufferPointer { a in
                for i in 0..<d {
                    let xi = x[i]
                    for j in 0..<d { a[i * d + j] += xi * x[j] }
                }
            }
            for i in 0..<d { b[i] += r * x[i] }
            aInverse.withUnsafeMutableBufferPointer { inverse in
                var denominator = 1.0
                for i in 0..<d {
                    var sum = 0.0
                    for j in 0..<d { sum += inverse[i * d + j] * x[j] }
                    u[i] = sum
                    denominator += x[i] * sum
                }
                for i in 0..<d {
                    let scaled = u[i] / denominator
                    for j in 0..<d { inverse[i * d + j] -= scaled * u[j] }
                }
            }
        }
        count += 1
        // Sherman–Morrison accumulates rounding error over many updates (A⁻¹ drifting from
        // the inverse of A, eventually losing positive definiteness); every
        // `refreshInterval` updates, or whenever the result is not finite, A⁻¹ is
        // recomputed from A itself. Deterministic, so replays and restores still match.
        if count % Self.refreshInterval == 0 || !Self.allFinite(aInverse) {
            refreshInverse()
        }
        theta = Self.multiply(aInverse, b)
    }

    /// How many updates pass between recomputations of A⁻¹ from A.
    static let refreshInterval: Int64 = 1024

    private static func allFinite(_ inverse: [Double]) -> Bool {
        inverse.allSatisfy(\.isFinite)
    }

    /// A⁻¹ recomputed from A through its Cholesky factor (A = LLᵀ, A⁻¹ = L⁻ᵀL⁻¹), exactly
    /// symmetric. Keeps the current A⁻¹ if A cannot be factored even with jitter.
    mutating func refreshInverse() {
        let d = b.count
        var jitter = 0.0
        var factor: [Double]?
        for _ in 0..<8 {
            factor = Self.cholesky(a, d, jitter: jitter)
            if factor != nil { break }
            jitter = jitter == 0 ? 1e-10 : jitter * 100
        }
        guard let l = factor else { return }
        var inverse = [Double](repeating: 0, count: d * d)
        for column in 0..<d {
            // L y = e_column (forward), then Lᵀ x = y (backward).
            var y = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var sum = i == column ? 1.0 : 0.0
                for k in 0..<i { sum -= l[i * d + k] * y[k] }
                y[i] = sum / l[i * d + i]
            }
            let x = Self.solveTransposed(l, y)
            for i in 0..<d { inverse[i * d + column] = x[i] }
        }
        for i in 0..<d {
            for j in (i + 1)..<max(i + 1, d) {
                let mean = (inverse[i * d + j] + inverse[j * d + i]) / 2
                inverse[i * d + j] = mean
                inverse[j * d + i] = mean
            }
        }
        guard inverse.allSatisfy(\.isFinite) else { return }
        aInverse = inverse
    }

    /// M·v for a d×d row-major M.
    static func multiply(_ m: [Double], _ v: [Double]) -> [Double] {
        let d = v.count
        var out = [Double](repeating: 0, count: d)
        m.withUnsafeBufferPointer { m in
            for i in 0..<d {
                var sum = 0.0
                for j in 0..<d { sum += m[i * d + j] * v[j] }
                out[i] = sum
            }
        }
        return out
    }

    /// θᵀx.
    func mean(_ x: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<x.count { sum += theta[i] * x[i] }
        return sum
    }

    /// xᵀA⁻¹x (≥ 0; rounding that would make it negative gives 0).
    func variance(_ x: [Double]) -> Double {
        let d = x.count
        var total = 0.0
        aInverse.withUnsafeBufferPointer { inverse in
            x.withUnsafeBufferPointer { x in
                for i in 0..<d {
                    var row = 0.0
                    for j in 0..<d { row += inverse[i * d + j] * x[j] }
                    total += x[i] * row
                }
            }
        }
        return max(0, total)
    }

    /// The lower-triangular L with A = LLᵀ (row-major). A is positive definite (I plus a
    /// sum of outer products); should rounding ever make a pivot non-positive, the diagonal
    /// is nudged by a growing jitter, and the identity is the last resort.
    func choleskyOfA() -> [Double] {
        let d = b.count
        var jitter = 0.0
        for _ in 0..<8 {
            if let factor = Self.cholesky(a, d, jitter: jitter) { return factor }
            jitter = jitter == 0 ? 1e-10 : jitter * 100
        }
        return Self.identity(d)
    }

    static func cholesky(_ m: [Double], _ d: Int, jitter: Double) -> [Double]? {
        var l = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            var pivot = m[j * d + j] + jitter
            for k in 0..<j { pivot -= l[j * d + k] * l[j * d + k] }
            guard pivot > 0, pivot.isFinite else { return nil }
            let diagonal = pivot.squareRoot()
            l[j * d + j] = diagonal
            for i in (j + 1)..<max(j + 1, d) {
                var sum = m[i * d + j]
                for k in 0..<j { sum -= l[i * d + k] * l[j * d + k] }
                l[i * d + j] = sum / diagonal
            }
        }
        return l
    }

    /// y with Lᵀy = z, for the lower-triangular L: if z ~ N(0, I) then y ~ N(0, (LLᵀ)⁻¹).
    static func solveTransposed(_ l: [Double], _ z: [Double]) -> [Double] {
        let d = z.count
        var y = z
        for i in stride(from: d - 1, through: 0, by: -1) {
            var sum = z[i]
            for k in (i + 1)..<max(i + 1, d) { sum -= l[k * d + i] * y[k] }
            y[i] = sum / l[i * d + i]
        }
        return y
    }
}

/// The per-arm ridge statistics shared by the learning policies, with the arm bound.
struct LinearArms: Sendable, Hashable {
    let dimension: Int
    var maxArms: Int
    var arms: [String: RidgeArm] = [:]

    init(dimension: Int, maxArms: Int) {
        self.dimension = dimension
        self.maxArms = maxArms
    }

    var names: [String] { arms.keys.sorted() }

    func canLearn(arm: String) -> Bool { arms[arm] != nil || arms.count < maxArms }

    func check(_ candidates: [PolicyCandidate]) throws(PolicyError) {
        for candidate in candidates where candidate.features.count != dimension {
            throw .dimensionMismatch(expected: dimension, actual: candidate.features.count)
        }
    }

    mutating func learn(arm: String, features: [Double], reward: Double) throws(PolicyError) {
        guard features.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: features.count) }
        guard reward.isFinite else { throw .invalidReward(reward) }
        // Non-finite features would make A, A⁻¹ and θ NaN for good; finite but huge ones
        // could overflow them. The featurizer's values are within [0, 2].
        guard features.allSatisfy({ $0.isFinite && abs($0) <= 1e6 }), abs(reward) <= 1e6 else {
            throw .invalidParameter("features and rewards must be finite and at most 1e6 in magnitude.")
        }
        guard canLearn(arm: arm) else { throw .tooManyArms(arm: arm, limit: maxArms) }
        arms[arm, default: RidgeArm(dimension: dimension)].learn(features, reward: reward)
    }

    /// Arms sorted by name: name, count, A, b, A⁻¹, θ.
    func write(to writer: inout SnapshotWriter) {
        writer.u32(UInt32(arms.count))
        for name in names {
            let arm = arms[name]!
            writer.string(name)
            writer.u64(UInt64(bitPattern: arm.count))
            writer.doubles(arm.a)
            writer.doubles(arm.b)
            writer.doubles(arm.aInverse)
            writer.doubles(arm.theta)
        }
    }

    init(reading reader: inout SnapshotReader, dimension: Int, maxArms: Int) throws(PolicyError) {
        self.init(dimension: dimension, maxArms: maxArms)
        let count = Int(try reader.u32())
        guard count <= maxArms else { throw .corruptSnapshot("\(count) arms, more than maxArms \(maxArms).") }
        var previous: String?
        for _ in 0..<count {
            let name = try reader.string()
            if let previous, name <= previous { throw .corruptSnapshot("arm names are not sorted and unique ('\(name)').") }
            previous = name
            let learned = Int64(bitPattern: try reader.u64())
            guard learned >= 0 else { throw .corruptSnapshot("arm '\(name)' has a negative count.") }
            let a = try reader.doubles(dimension * dimension)
            let b = try reader.doubles(dimension)
            let inverse = try reader.doubles(dimension * dimension)
            let theta = try reader.doubles(dimension)
            // A NaN or infinity would poison every score of the arm from now on.
            guard a.allSatisfy(\.isFinite), b.allSatisfy(\.isFinite), inverse.allSatisfy(\.isFinite), theta.allSatisfy(\.isFinite) else {
                throw .corruptSnapshot("arm '\(name)' holds a number that is not finite.")
            }
            arms[name] = RidgeArm(count: learned, a: a, b: b, aInverse: inverse, theta: theta)
        }
    }
}
