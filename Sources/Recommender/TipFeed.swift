import RecommenderProtos
import Synchronization

/// Live tip subscriptions: each produced tip goes to its user's subscribers. Bounded:
/// at most a configured number of subscribers per user and in all, and each keeps at most
/// 16 unread tips (a subscriber that does not read loses the oldest, never blocks others).
final class TipFeed: Sendable {
    private struct State {
        var subscribers: [String: [Int: AsyncStream<Oo_Recommender_V1_Tip>.Continuation]] = [:]
        var count = 0
        var nextID = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let maxPerUser: Int
    private let maxTotal: Int

    init(maxPerUser: Int, maxTotal: Int) {
        self.maxPerUser = maxPerUser
        self.maxTotal = maxTotal
    }

    /// A stream of `user`'s tips from now on, or nil when over a limit.
    func subscribe(user: String) -> AsyncStream<Oo_Recommender_V1_Tip>? {
        let (stream, continuation) = AsyncStream<Oo_Recommender_V1_Tip>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id: Int? = state.withLock { state in
            guard !state.closed, state.count < maxTotal, (state.subscribers[user]?.count ?? 0) < maxPerUser else { return nil }
            let id = state.nextID
            state.nextID += 1
            // Before the subscriber is visible to `end`: its slot is always given back.
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { state in
                    if state.subscribers[user]?.removeValue(forKey: id) != nil { state.count -= 1 }
                    if state.subscribers[user]?.isEmpty == true { state.subscribers[user] = nil }
                }
            }
            state.count += 1
            state.subscribers[user, default: [:]][id] = continuation
            return id
        }
        guard id != nil else { return nil }
        return stream
    }

    /// Sends `tip` to its user's subscribers.
    func publish(_ tip: Oo_Recommender_V1_Tip) {
        let targets = state.withLock { Array(($0.subscribers[tip.userID] ?? [:]).values) }
        for continuation in targets { continuation.yield(tip) }
    }

    /// Ends every subscription and refuses new ones (the server is draining).
    func close() {
        let targets = state.withLock { state in
            state.closed = true
            return state.subscribers.values.flatMap(\.values)
        }
        for continuation in targets { continuation.finish() }
    }

    /// Ends `user`'s subscriptions (their data was erased).
    func end(user: String) {
        let targets = state.withLock { Array(($0.subscribers[user] ?? [:]).values) }
        for continuation in targets { continuation.finish() }
    }
}
