/// How a recommender behaves. Every field has a documented default (``defaults``).
public struct RecommenderConfiguration: Sendable, Hashable {
    /// The SQLite file holding tasks, tips, scores and reactions. Default `recommender.sqlite`.
    public var databasePath = "recommender.sqlite"
    /// Carried on every tip, for A/B analysis of the recommendation pipeline. Default `tips-v1`.
    public var promptVersion = "tips-v1"
    /// At most this many candidates are scored per tip: the open tasks first by priority,
    /// then by due date. Default 50.
    public var maxCandidates = 50
    /// At most this many open tasks per user (imports beyond are refused; done tasks do not
    /// count). Default 10,000.
    public var maxTasksPerUser = 10_000
    /// How long ml-serving may take to score, when the caller's deadline leaves more. Default 2 s.
    public var scoringTimeout: Duration = .seconds(2)
    /// A snoozed task is not suggested again for this long. Default 3 hours.
    public var snoozeInterval: Duration = .seconds(3 * 3600)
    /// A dismissed task is not suggested again for this long. Default 24 hours.
    public var dismissInterval: Duration = .seconds(24 * 3600)
    /// Live tip subscriptions allowed per user, and in all. Defaults 8 and 10,000.
    public var maxWatchersPerUser = 8
    public var maxWatchers = 10_000
    /// Rewards sent to ml-serving per reaction. Defaults: done 1, snooze 0.25, dismiss 0.
    public var rewardDone = 1.0
    public var rewardSnooze = 0.25
    public var rewardDismiss = 0.0
    /// A/B control: this share of users (0 to 1, chosen by a stable hash of the user id) is
    /// served by `controlPolicy` (a shadow policy of ml-serving, default `random`) instead of
    /// the active one, so the active policy's done-rate can be compared with it. Default 0.
    public var controlShare = 0.0
    public var controlPolicy = "random"
    /// Every candidate's features and every policy's scores are kept this long after the
    /// tip (for offline evaluation), then pruned; the tip and its served features stay.
    /// Default 30 days.
    public var candidateRetention: Duration = .seconds(30 * 86_400)
    /// Tips and their reactions are kept this long, then deleted (what they taught stays in
    /// the per-user history tallies and in ml-serving's model). Default 365 days.
    public var tipRetention: Duration = .seconds(365 * 86_400)
    /// How often rewards that could not be sent to ml-serving are retried. Default 1 s.
    public var outboxRetryInterval: Duration = .seconds(1)

    /// The defaults.
    public init() {}

    /// The defaults, as a value.
    public static var defaults: RecommenderConfiguration { RecommenderConfiguration() }
}
