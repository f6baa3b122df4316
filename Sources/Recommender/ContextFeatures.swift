import Foundation
import MLProtos

/// What the recommender knows about a user when it builds features: their reactions so far,
/// counted by tip category, project and time of day (4-hour block of their local day).
public struct UserHistory: Sendable, Hashable {
    /// Shown (reacted-to) and done counts.
    public struct Tally: Sendable, Hashable {
        public var shown = 0
        public var done = 0
        public init(shown: Int = 0, done: Int = 0) {
            self.shown = shown
            self.done = done
        }

        /// The done-rate smoothed towards one half: (done + 1) / (shown + 2), so a category
        /// never tried is neither favoured nor excluded.
        public var smoothedRate: Double { Double(done + 1) / Double(shown + 2) }
    }

    public var byCategory: [String: Tally] = [:]
    public var byProject: [String: Tally] = [:]
    public var byHourBlock: [Int: Tally] = [:]
    /// Tips shown in the 7 days before the request, and how many of them were done.
    public var shown7d = 0
    public var done7d = 0
    /// The user's previous tip, if any.
    public var lastTipAt: Date?

    public init() {}
}

/// A candidate task, as the recommender stores it.
public struct CandidateTask: Sendable, Hashable {
    public var taskID: String
    public var content: String
    public var project: String
    public var labels: [String]
    public var priority: Int
    public var due: Date?

    public init(taskID: String, content: String, project: String, labels: [String], priority: Int, due: Date?) {
        self.taskID = taskID
        self.content = content
        self.project = project
        self.labels = labels
        self.priority = priority
        self.due = due
    }

    /// The tip category: the first label, or "uncategorized". It is the bandit's arm.
    public var category: String { labels.first ?? "uncategorized" }
}

/// Builds the registered feature vector (`oo.ml.v1.TipFeatures`) for one candidate at one
/// moment: pure, so the training pipeline can rebuild exactly what serving sent.
public enum ContextFeatures {
    /// The 4-hour block of the local day, 0 to 5.
    public static func hourBlock(_ hour: Int) -> Int { max(0, min(5, hour / 4)) }

    /// Local hour (0-23) and ISO weekday (1 = Monday … 7 = Sunday) of `date` in `timeZone`.
    public static func localTime(_ date: Date, in timeZone: TimeZone) -> (hour: Int, weekday: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.hour, .weekday], from: date)
        let sundayFirst = parts.weekday ?? 1
        return (parts.hour ?? 0, sundayFirst == 1 ? 7 : sundayFirst - 1)
    }

    /// The features of `task` for a user with `history`, at `date` in `timeZone`.
    public static func make(
        task: CandidateTask, history: UserHistory, at date: Date, timeZone: TimeZone
    ) -> Oo_Ml_V1_TipFeatures {
        make(task: task, history: history, at: date, localTime: localTime(date, in: timeZone))
    }

    /// The features of `task` at `date`, whose local hour and weekday are `localTime`
    /// (``localTime(_:in:)``, computed once for all of a request's candidates).
    public static func make(
        task: CandidateTask, history: UserHistory, at date: Date, localTime: (hour: Int, weekday: Int)
    ) -> Oo_Ml_V1_TipFeatures {
        let (hour, weekday) = localTime
        var features = Oo_Ml_V1_TipFeatures()
        features.hourOfDay = Int32(hour)
        features.dayOfWeek = Int32(weekday)
        features.tipsShown7D = Int64(history.shown7d)
        features.positiveRate7D = history.shown7d == 0 ? 0 : Double(history.done7d) / Double(history.shown7d)
        features.secondsSinceLastSession = history.lastTipAt.map { max(0, date.timeIntervalSince($0)) } ?? 0
        features.tipCategory = task.category
        // tip_ctr is the category's click-through rate across all users, which the
        // recommender does not hold (it knows each user's own history); left unset rather
        // than filled with the user's rate, which category_done_rate already carries.
        features.inQuietHours = false
        features.project = task.project
        features.priority = Int32(max(1, min(4, task.priority)))
        if let due = task.due {
            features.dueSet = true
            features.hoursUntilDue = due.timeIntervalSince(date) / 3600
        }
        features.categoryDoneRate = (history.byCategory[task.category] ?? .init()).smoothedRate
        features.projectDoneRate = (history.byProject[task.project] ?? .init()).smoothedRate
        features.hourDoneRate = (history.byHourBlock[hourBlock(hour)] ?? .init()).smoothedRate
        return features
    }
}
