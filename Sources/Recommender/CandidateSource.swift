import Foundation

/// Where a tip's candidates come from. The recommender asks its source for the user's
/// candidates at a moment, then scores them; today the source is the user's own task list
/// (``TaskListCandidates``). Another source (say, tasks an LLM suggests through an
/// OpenAI-compatible endpoint) would implement this and be chosen by configuration.
public protocol CandidateSource: Sendable {
    /// At most `limit` candidates for `user` at `moment`, most relevant first.
    func candidates(for user: String, at moment: Date, limit: Int) async throws -> [CandidateTask]
}

/// The user's open tasks: not done, and not snoozed or dismissed too recently; the most
/// urgent first (priority, then due date).
struct TaskListCandidates: CandidateSource {
    let store: RecommenderStore
    let snoozeInterval: Duration
    let dismissInterval: Duration

    func candidates(for user: String, at moment: Date, limit: Int) async throws -> [CandidateTask] {
        try await store.candidates(
            user: user, at: moment, snoozedSince: moment.addingTimeInterval(-snoozeInterval.seconds),
            dismissedSince: moment.addingTimeInterval(-dismissInterval.seconds), limit: limit)
    }
}
