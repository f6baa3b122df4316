import MLProtos
import Synchronization

/// The configured policies in memory, each behind its own mutex (scoring one does not wait
/// for another), and how far the update log has been applied.
///
/// Updates are applied only on the database's serial queue, right after their log row
/// commits, so they reach every policy in sequence order — the order a restart replays
/// them in — and a snapshot taken on that queue is exactly the state after ``progress``'s
/// `lastApplied`.
final class PolicyEngine: Sendable {
    /// One configured policy.
    final class Slot: Sendable {
        let name: String
        let active: Bool
        let policy: Mutex<any BanditPolicy>

        init(name: String, active: Bool, policy: consuming sending any BanditPolicy) {
            self.name = name
            self.active = active
            self.policy = Mutex(policy)
        }
    }

    /// How far the log has been applied and snapshotted.
    struct Progress: Sendable {
        /// The last update-log sequence number applied to every policy.
        var lastApplied: Int64 = 0
        /// Updates applied since the last snapshot.
        var sinceSnapshot = 0
    }

    let slots: [Slot]
    let progress = Mutex(Progress())

    init(slots: [Slot]) {
        self.slots = slots
    }

    /// Every policy's scores for `candidates`, the active one marked, each timed.
    func score(_ candidates: [PolicyCandidate]) throws(PolicyError) -> [Oo_Ml_V1_PolicyScores] {
        let clock = ContinuousClock()
        var result: [Oo_Ml_V1_PolicyScores] = []
        result.reserveCapacity(slots.count)
        for slot in slots {
            let start = clock.now
            let decision = try slot.policy.withLock { (policy) throws(PolicyError) -> PolicyDecision in try policy.score(candidates) }
            let elapsed = clock.now - start
            var scores = Oo_Ml_V1_PolicyScores()
            scores.policy = slot.name
            scores.active = slot.active
            scores.scores = decision.scores
            scores.chosen = Int32(decision.chosen)
            scores.latencyUs = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            result.append(scores)
        }
        return result
    }

    /// The policy that would refuse to learn `arm`, if any.
    func refusal(forLearning arm: String) -> PolicyError? {
        for slot in slots {
            let refusal: PolicyError? = slot.policy.withLock { policy in
                policy.canLearn(arm: arm) ? nil : .tooManyArms(arm: arm, limit: policy.maxArms)
            }
            if let refusal { return refusal }
        }
        return nil
    }

    /// Applies logged update `seq` to the policies whose state does not include it yet
    /// (`after[name]` < seq; all of them when `after` is nil). Returns the policies that
    /// refused it, with why.
    @discardableResult
    func apply(seq: Int64, arm: String, features: [Double], reward: Double, after: [String: Int64]? = nil) -> [(String, PolicyError)] {
        var refusals: [(String, PolicyError)] = []
        for slot in slots where (after?[slot.name] ?? 0) < seq {
            let failure: PolicyError? = slot.policy.withLock { policy in
                do throws(PolicyError) {
                    try policy.update(arm: arm, features: features, reward: reward)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { refusals.append((slot.name, failure)) }
        }
        progress.withLock {
            $0.lastApplied = max($0.lastApplied, seq)
            $0.sinceSnapshot += 1
        }
        return refusals
    }

    /// Every policy's snapshot, in configuration order.
    func snapshots() -> [(name: String, kind: String, state: [UInt8])] {
        slots.map { slot in
            slot.policy.withLock { policy in (slot.name, policy.kind.name, policy.snapshot()) }
        }
    }

    /// The updates learned so far: the most any policy has (all but random have the same).
    var updates: Int64 {
        slots.map { slot in slot.policy.withLock { $0.updateCount } }.max() ?? 0
    }

    /// ListPolicies' view.
    func infos() -> [Oo_Ml_V1_PolicyInfo] {
        slots.map { slot in
            slot.policy.withLock { policy in
                var info = Oo_Ml_V1_PolicyInfo()
                info.name = slot.name
                info.kind = policy.kind.name
                info.active = slot.active
                info.updates = policy.updateCount
                info.arms = policy.arms
                return info
            }
        }
    }
}
