import Foundation

/// A small, fast, seedable random number generator — xoshiro256** seeded through
/// SplitMix64 — whose whole state is four words.
///
/// Policies draw their exploration from one of these so that tests are deterministic (the
/// same seed gives the same draws) and so that a policy's random stream is part of its
/// snapshot and resumes where it stopped. Not for cryptography.
public struct SeededRandom: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        s0 = Self.splitMix(&x)
        s1 = Self.splitMix(&x)
        s2 = Self.splitMix(&x)
        s3 = Self.splitMix(&x)
    }

    /// Resumes a generator from ``state``; nil for the all-zero state, which xoshiro cannot
    /// leave.
    init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// The four state words, for snapshots.
    var state: [UInt64] { [s0, s1, s2, s3] }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = Self.rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotate(s3, 45)
        return result
    }

    /// A uniform double in [0, 1), with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal sample (Box–Muller; one of the pair is used, so the stream is a
    /// pure function of the state).
    public mutating func gaussian() -> Double {
        let u1 = 1.0 - unit()  // (0, 1]: log is finite
        let u2 = unit()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A uniform index in `0..<count` (`count` > 0).
    public mutating func index(below count: Int) -> Int {
        Int(next(upperBound: UInt64(count)))
    }

    private static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    private static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed for the policy called `name` derived from the configuration's `seed`, so every
    /// policy of a process draws its own stream (FNV-1a of the name, mixed into the seed).
    public static func seed(_ seed: UInt64, for name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        var mixed = seed ^ hash
        return splitMix(&mixed)
    }
}
