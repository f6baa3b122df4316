import Foundation
import Logging
import MLProtos
import OOMesh
import RecommenderProtos
import SwiftProtobuf
import Synchronization

/// `oo.recommender.v1.Recommender`: turns a user's open tasks into a tip. For each request
/// it builds every candidate's features (the registered `oo.ml.v1.TipFeatures`), asks
/// ml-serving for the scores of the active and the shadow policies, serves the active
/// policy's pick and stores the decision with every candidate's features and every
/// policy's scores. Reactions are stored durably before they are acknowledged, then sent to
/// ml-serving as rewards through an outbox, so ml-serving being down loses no feedback.
public final class RecommenderService: Oo_Recommender_V1_Recommender_ServiceProtocol {
    private let configuration: RecommenderConfiguration
    private let store: RecommenderStore
    private let candidateSource: any CandidateSource
    private let modelServing: Oo_Ml_V1_ModelServing_Client
    private let feed: TipFeed
    private let logger: Logger
    /// Whether a flush of the outbox is running (one at a time, so no reward is sent twice
    /// by two flushes reading the same rows).
    private let flushing = Mutex(false)
    /// Wakes the outbox loop when a reaction has been stored.
    private let outboxWake = WakeSignal()

    /// Opens the recommender's database and scores through `modelServing`.
    public init(
        configuration: RecommenderConfiguration, modelServing: Oo_Ml_V1_ModelServing_Client,
        logger: Logger = Logger(label: "oo.recommender")
    ) throws {
        self.configuration = configuration
        let store = try RecommenderStore(path: configuration.databasePath)
        self.store = store
        self.candidateSource = TaskListCandidates(
            store: store, snoozeInterval: configuration.snoozeInterval, dismissInterval: configuration.dismissInterval)
        self.modelServing = modelServing
        self.feed = TipFeed(maxPerUser: configuration.maxWatchersPerUser, maxTotal: configuration.maxWatchers)
        self.logger = logger
    }

    /// Sends queued rewards to ml-serving until cancelled, retrying those it could not
    /// send, and prunes candidate details past their retention.
    public func run() async {
        var lastPrune = ContinuousClock.now - .seconds(3600)
        while !Task.isCancelled {
            let sent = (try? await flushOutbox()) ?? 0
            if ContinuousClock.now - lastPrune > .seconds(60) {
                lastPrune = .now
                let cutoff = Date().addingTimeInterval(-configuration.candidateRetention.seconds)
                while let pruned = try? await store.pruneCandidates(before: cutoff, limit: 500), pruned > 0, !Task.isCancelled {}
                let tipCutoff = Date().addingTimeInterval(-configuration.tipRetention.seconds)
                while let pruned = try? await store.pruneTips(before: tipCutoff, limit: 500), pruned > 0, !Task.isCancelled {}
            }
            if sent == 0 { await outboxWake.wait(upTo: configuration.outboxRetryInterval) }
        }
    }

    /// The server is draining: live tip subscriptions end (their clients reconnect
    /// elsewhere) so they do not hold the drain open.
    public func beginShutdown() { feed.close() }

    /// Rewards stored but not yet accepted by ml-serving.
    public func pendingRewards() async throws -> Int { try await store.pendingUpdateCount() }

    /// Sends queued rewards, oldest first, until none is left or ml-serving cannot be
    /// reached. One flush at a time: a caller finding one running returns at once (the
    /// running one goes on until the outbox is empty). A reward ml-serving refuses for good
    /// (an invalid value, a category over its arm limit) is moved to `outbox_dead` and
    /// logged, so it cannot block the others. Returns how many were sent.
    @discardableResult
    func flushOutbox() async throws -> Int {
        guard flushing.withLock({ busy in
            defer { busy = true }
            return !busy
        }) else { return 0 }
        defer { flushing.withLock { $0 = false } }
        var sent = 0
        while true {
            let batch = try await store.pendingUpdates(limit: 64)
            if batch.isEmpty { return sent }
            for update in batch {
                guard let features = try? Oo_Ml_V1_TipFeatures(serializedBytes: update.features) else {
                    try await store.deadLetter(update, reason: "the stored features do not parse")
                    continue
                }
                do {
                    _ = try await modelServing.update(
                        .with {
                            $0.requestID = update.tipID
                            $0.userID = update.user
                            $0.features = features
                            $0.reward = update.reward
                        }, options: CallOptions(timeout: .seconds(2)))
                } catch let error as RPCError where [.invalidArgument, .resourceExhausted, .outOfRange].contains(error.code) {
                    logger.error("ml-serving refused a reward for good; moved to outbox_dead", metadata: ["tip": "\(update.tipID)", "error": "\(error)"])
                    try await store.deadLetter(update, reason: "\(error.code): \(error.message)")
                    continue
                } catch {
                    logger.debug("ml-serving unreachable; rewards kept for retry", metadata: ["error": "\(error)"])
                    return sent
                }
                try await store.markSent(seq: update.seq)
                sent += 1
            }
        }
    }

    // MARK: Recommend

    public func recommend(request: Oo_Recommender_V1_RecommendRequest, context: ServerContext) async throws -> Oo_Recommender_V1_Tip {
        let user = try Self.requireUser(request.userID)
        let now = Self.moment(request.atUnixMs)
        // The user's zone and history in one snapshot, beside the candidates' query.
        async let userContext = store.context(user: user, at: now)
        let candidates = try await candidateSource.candidates(for: user, at: now, limit: configuration.maxCandidates)
        guard !candidates.isEmpty else {
            throw RPCError(code: .failedPrecondition, message: "User '\(user)' has no open task to suggest: import tasks first.")
        }
        let (zoneName, history) = try await userContext
        let timeZone = zoneName.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        // The same moment for every candidate: its local time is worked out once.
        let local = ContextFeatures.localTime(now, in: timeZone)
        let features = candidates.map { ContextFeatures.make(task: $0, history: history, at: now, localTime: local) }
        let tipID = RandomIdentifier.uuidString()

        let started = ContinuousClock.now
        let scores: Oo_Ml_V1_ScoreResponse
        let scoreRequest = Oo_Ml_V1_ScoreRequest.with {
            $0.requestID = tipID
            $0.userID = user
            $0.candidates = zip(candidates, features).map { candidate, features in
                .with {
                    $0.candidateID = candidate.taskID
                    $0.features = features
                }
            }
        }
        do {
            scores = try await modelServing.score(
                scoreRequest, options: CallOptions(timeout: configuration.scoringTimeout))  // capped by the caller's deadline (CallDeadline)
        } catch let error as RPCError {
            let code = Self.downstreamCode(error.code, callerTimeLeft: context.remainingTime)
            throw RPCError(code: code, message: "ml-serving could not score: \(error.message)", cause: error)
        }
        let latency = ContinuousClock.now - started
        let serving = Self.inControlCohort(user, share: configuration.controlShare)
            ? scores.policies.first { $0.policy == configuration.controlPolicy } ?? scores.policies.first(where: \.active)
            : scores.policies.first(where: \.active)
        guard let active = serving, active.scores.count == candidates.count, candidates.indices.contains(Int(active.chosen)),
              active.scores[Int(active.chosen)].isFinite
        else {
            throw RPCError(code: .internal, message: "ml-serving answered without a usable score from the serving policy.")
        }
        let chosen = Int(active.chosen)
        let task = candidates[chosen]
        let tip = Oo_Recommender_V1_Tip.with {
            $0.tipID = tipID
            $0.userID = user
            $0.task = .with {
                $0.taskID = task.taskID
                $0.content = task.content
                $0.project = task.project
                $0.labels = task.labels
                $0.priority = Int32(task.priority)
                $0.dueUnixMs = task.due.map(RecommenderStore.ms) ?? 0
            }
            $0.createdUnixMs = RecommenderStore.ms(now)
            $0.policy = active.policy
            $0.score = active.scores[chosen]
            $0.promptVersion = configuration.promptVersion
            $0.scoringLatencyUs = Int64(latency.microseconds)
        }
        let hour = local.hour
        do {
            try await store.saveTip(
                tip, category: task.category, hourBlock: ContextFeatures.hourBlock(hour), features: try features[chosen].serializedBytes(),
                decision: .init(candidates: try scoreRequest.serializedBytes(), scores: try scores.serializedBytes()))
        } catch is RecommenderStore.TaskGone {
            throw RPCError(code: .aborted, message: "The chosen task was done or removed while the tip was being chosen; ask again.")
        }
        feed.publish(tip)
        return tip
    }

    // MARK: Reactions

    public func recordReaction(
        request: Oo_Recommender_V1_RecordReactionRequest, context: ServerContext
    ) async throws -> Oo_Recommender_V1_RecordReactionResponse {
        let user = try Self.requireUser(request.userID)
        let reward: Double
        switch request.reaction {
        case .done: reward = configuration.rewardDone
        case .snooze: reward = configuration.rewardSnooze
        case .dismiss: reward = configuration.rewardDismiss
        default:
            throw RPCError(code: .invalidArgument, message: "The reaction must be DONE, SNOOZE or DISMISS, got \(request.reaction).")
        }
        switch try await store.recordReaction(
            user: user, tipID: request.tipID, reaction: request.reaction.rawValue, reward: reward, at: Self.moment(request.atUnixMs))
        {
        case .notFound:
            throw RPCError(code: .notFound, message: "No tip '\(request.tipID)' for this user.")
        case .conflict(let existing):
            let name = Oo_Recommender_V1_Reaction(rawValue: existing).map { "\($0)" } ?? "\(existing)"
            throw RPCError(code: .failedPrecondition, message: "Tip '\(request.tipID)' already has the reaction \(name); a tip takes one reaction.")
        case .duplicate(let reward):
            return .with {
                $0.reward = reward
                $0.duplicate = true
            }
        case .recorded:
            // Durable now. The outbox loop hands the reward over at once (and retries it
            // until ml-serving takes it); the reaction's caller does not wait for that.
            outboxWake.signal()
            return .with { $0.reward = reward }
        }
    }

    // MARK: History, feed, tasks, settings, erasure

    public func listTips(request: Oo_Recommender_V1_ListTipsRequest, context: ServerContext) async throws -> Oo_Recommender_V1_ListTipsResponse {
        let user = try Self.requireUser(request.userID)
        let limit = request.limit <= 0 ? 20 : min(Int(request.limit), 200)
        let tips: [Oo_Recommender_V1_Tip]
        do {
            tips = try await store.tips(user: user, limit: limit, before: request.beforeTipID.isEmpty ? nil : request.beforeTipID)
        } catch is RecommenderStore.UnknownTip {
            throw RPCError(code: .invalidArgument, message: "before_tip_id '\(request.beforeTipID)' is not one of this user's tips.")
        }
        return .with { $0.tips = tips }
    }

    public func watchTips(
        request: Oo_Recommender_V1_WatchTipsRequest, response: ResponseWriter<Oo_Recommender_V1_Tip>, context: ServerContext
    ) async throws {
        let user = try Self.requireUser(request.userID)
        guard let tips = feed.subscribe(user: user) else {
            throw RPCError(code: .resourceExhausted, message: "Too many live tip subscriptions for this user (or in all); close one first.")
        }
        for await tip in tips { try await response.write(tip) }
    }

    public func importTasks(
        request: Oo_Recommender_V1_ImportTasksRequest, context: ServerContext
    ) async throws -> Oo_Recommender_V1_ImportTasksResponse {
        let user = try Self.requireUser(request.userID)
        var seen: Set<String> = []
        for (index, task) in request.tasks.enumerated() {
            guard !task.taskID.isEmpty, task.taskID.utf8.count <= 128 else {
                throw RPCError(code: .invalidArgument, message: "Task \(index) needs an id of 1 to 128 bytes.")
            }
            guard seen.insert(task.taskID).inserted else {
                throw RPCError(code: .invalidArgument, message: "Task id '\(task.taskID)' appears twice in one import.")
            }
            guard (1...4).contains(task.priority) else {
                throw RPCError(code: .invalidArgument, message: "Task '\(task.taskID)': priority must be 1 to 4, got \(task.priority).")
            }
        }
        guard let counts = try await store.importTasks(user: user, tasks: request.tasks, limit: configuration.maxTasksPerUser) else {
            throw RPCError(
                code: .resourceExhausted,
                message: "Importing these tasks would give the user more than \(configuration.maxTasksPerUser) tasks; nothing was imported.")
        }
        return .with {
            $0.imported = Int32(counts.imported)
            $0.updated = Int32(counts.updated)
        }
    }

    public func setTimezone(
        request: Oo_Recommender_V1_SetTimezoneRequest, context: ServerContext
    ) async throws -> Oo_Recommender_V1_SetTimezoneResponse {
        let user = try Self.requireUser(request.userID)
        guard TimeZone(identifier: request.timezone) != nil else {
            throw RPCError(code: .invalidArgument, message: "Unknown time zone '\(request.timezone)': use an IANA name such as Europe/Berlin.")
        }
        try await store.setTimezone(user: user, timezone: request.timezone)
        return .init()
    }

    public func deleteUserData(
        request: Oo_Recommender_V1_DeleteUserDataRequest, context: ServerContext
    ) async throws -> Oo_Recommender_V1_DeleteUserDataResponse {
        let user = try Self.requireUser(request.userID)
        let deleted = try await store.deleteUser(user)
        feed.end(user: user)
        logger.info("erased a user's data", metadata: ["rows": "\(deleted)"])
        return .with { $0.recordsDeleted = deleted }
    }

    // MARK: Helpers

    /// Whether `user` is in the control cohort: a stable hash (FNV-1a) of the id, mapped to
    /// [0, 1), is below `share`.
    static func inControlCohort(_ user: String, share: Double) -> Bool {
        guard share > 0 else { return false }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in user.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Double(hash % 10_000) / 10_000 < share
    }

    static func requireUser(_ user: String) throws -> String {
        guard !user.isEmpty, user.utf8.count <= 256 else {
            throw RPCError(code: .invalidArgument, message: "user_id must be 1 to 256 bytes.")
        }
        return user
    }

    /// The request's moment: `unixMS` when set, else now.
    static func moment(_ unixMS: Int64) -> Date {
        unixMS > 0 ? Date(timeIntervalSince1970: Double(unixMS) / 1000) : Date()
    }

    /// The status a caller gets when the ml-serving call it caused failed with `code`:
    /// ml-serving being down, slow, refusing its model or over a limit is this service
    /// being unavailable (FAILED_PRECONDITION and RESOURCE_EXHAUSTED mean other things to
    /// our callers); DEADLINE_EXCEEDED only when the caller's own deadline is what ran out.
    static func downstreamCode(_ code: StatusCode, callerTimeLeft: Duration?) -> StatusCode {
        switch code {
        case .deadlineExceeded:
            if let left = callerTimeLeft, left <= .milliseconds(50) { return .deadlineExceeded }
            return .unavailable
        case .unavailable, .resourceExhausted, .failedPrecondition, .cancelled, .aborted: return .unavailable
        default: return .internal
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in whole microseconds.
    var microseconds: Int { Int(components.seconds) * 1_000_000 + Int(components.attoseconds / 1_000_000_000_000) }
}
