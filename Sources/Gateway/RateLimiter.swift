import Synchronization

/// A token bucket per user: `ratePerSecond` calls on average, `burst` at once. Remembers at
/// most `maxUsers` buckets; when full it forgets the least recently used half (those users
/// start again with a full bucket, which only ever errs towards letting calls through).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let ratePerSecond: Double
    private let burst: Double
    private let maxUsers: Int

    init(ratePerSecond: Double, burst: Double, maxUsers: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
        self.maxUsers = max(1, maxUsers)
    }

    /// Takes one token for `user`; false when their bucket is empty.
    func allow(_ user: String, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { buckets in
            var bucket = buckets[user] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + max(0, seconds) * ratePerSecond)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            if buckets[user] == nil && buckets.count >= maxUsers {
                let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count / 2)
                for (key, _) in oldest { buckets.removeValue(forKey: key) }
            }
            buckets[user] = bucket
            return allowed
        }
    }
}
