import Logging
import OOMesh

/// Sends deliveries when they come due: deferred ones at the end of their quiet window,
/// failed ones on their retry (exponential backoff, never given up). Its state is all in
/// the store, so a restarted process picks up where the last one stopped.
///
/// The process runs it next to the server and stops it by cancelling its task:
///
/// ```swift
/// let notifier = try NotifierService(configuration: configuration)
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { await notifier.dispatcher.run() }
///     group.addTask { try await GRPCServer(transport: transport, services: [notifier]).serve() }
///     …
/// }
/// ```
///
/// Times are the injected clock's (the wall clock in production): a delivery is due when
/// its `deliver_at` (deferred) or next retry time has passed on it.
public final class NotifierDispatcher: Sendable {
    private let core: NotifierCore
    private let wake = WakeSignal()

    init(core: NotifierCore) {
        self.core = core
    }

    /// Starts the next tick now instead of after `dispatchInterval`: a delivery was queued.
    public func wakeUp() {
        wake.signal()
    }

    /// Runs ticks until the task is cancelled: each takes at most
    /// `dispatchBatchSize` due deliveries and sends them, at most `maxConcurrentSends` at
    /// once; it then sleeps `dispatchInterval`, unless the batch was full (a backlog), in
    /// which case the next tick starts at once. Storage failures are logged and retried on
    /// the next tick. Returns soon after cancellation (sends in flight are cancelled and
    /// retried later).
    ///
    /// Every `retentionInterval` it also prunes sent deliveries older than the retention
    /// (``pruneOnce()``), one batch per tick until a batch comes back short.
    public func run() async {
        core.logger.info(
            "Notifier dispatcher started",
            metadata: ["interval": "\(core.configuration.dispatchInterval)", "batch": "\(core.configuration.dispatchBatchSize)"])
        let clock = ContinuousClock()
        var nextPrune = clock.now
        while !Task.isCancelled {
            var backlog = false
            if clock.now >= nextPrune {
                let pruned = await pruneOnce()
                if pruned >= core.configuration.retentionBatchSize {
                    backlog = true
                } else {
                    nextPrune = clock.now + core.configuration.retentionInterval
                }
            }
            let taken = await runOnce()
            if taken >= core.configuration.dispatchBatchSize || backlog {
                await Task.yield()
                continue
            }
            await wake.wait(upTo: core.configuration.dispatchInterval)
        }
        core.logger.info("Notifier dispatcher stopped")
    }

    /// Deletes one batch (at most `retentionBatchSize`) of sent deliveries requested and
    /// sent more than ``NotifierConfiguration/effectiveDeliveryRetention`` ago by the
    /// injected clock. Pending deliveries (deferred, or queued for a retry) are never
    /// deleted. Storage failures are logged (and retried on a later pass).
    /// - Returns: how many deliveries were deleted.
    @discardableResult
    public func pruneOnce() async -> Int {
        let now = core.clock.nowUnixMilliseconds()
        let (cutoff, overflow) = now.subtractingReportingOverflow(core.configuration.effectiveDeliveryRetention.wholeMilliseconds)
        guard !overflow else { return 0 }
        do {
            let pruned = try await core.store.pruneSent(before: cutoff, limit: core.configuration.retentionBatchSize)
            if pruned > 0 {
                core.logger.debug("Pruned expired deliveries", metadata: ["deleted": "\(pruned)", "cutoff_unix_ms": "\(cutoff)"])
            }
            return pruned
        } catch {
            core.logger.error("Notifier dispatcher cannot prune expired deliveries; retrying later", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// One tick: takes up to `dispatchBatchSize` deliveries due now and sends them (or, for a
    /// retry that has come due inside the user's quiet hours, moves it to the window's end).
    /// - Returns: how many deliveries were taken.
    @discardableResult
    public func runOnce() async -> Int {
        let now = core.clock.nowUnixMilliseconds()
        let claimed: [(DeliveryRecord, StoredPreferences?)]
        do {
            claimed = try await core.store.claimDue(
                nowMS: now, limit: core.configuration.dispatchBatchSize, leaseUntilMS: now + core.leaseMS)
        } catch {
            core.logger.error("Notifier dispatcher cannot read due deliveries; retrying next tick", metadata: ["error": "\(error)"])
            return 0
        }
        let limit = core.configuration.maxConcurrentSends
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for (record, preferences) in claimed {
                if running >= limit {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.dispatch(record, preferences: preferences ?? .defaults, now: now) }
                running += 1
            }
        }
        return claimed.count
    }

    private func dispatch(_ record: DeliveryRecord, preferences: StoredPreferences, now: Int64) async {
        do {
            // A retry (not the first send of a deferred tip, which was placed at the end of
            // its window) that comes due in quiet hours waits for the window's end.
            if record.attempts > 0,
                case .deferUntil(let end) = core.quietHours(preferences, userID: record.userID).decision(atUnixMilliseconds: now)
            {
                var moved = record
                moved.nextAttemptUnixMS = end
                try await core.store.update(moved)
                return
            }
            let updated = try await core.attempt(record, preferences: preferences, sentAtMS: core.clock.nowUnixMilliseconds())
            if updated.state == .sent {
                core.logger.debug("Delivery sent", metadata: ["delivery_id": "\(record.id)", "attempts": "\(updated.attempts)"])
            }
        } catch {
            core.logger.error(
                "Notifier dispatcher cannot save a delivery's outcome; it is retried after its lease",
                metadata: ["delivery_id": "\(record.id)", "error": "\(error)"])
        }
    }
}
