import Foundation
import Logging
import OOStorage

/// What the service and the dispatcher share: configuration, the store, the clock, the
/// channels. Immutable; every part is `Sendable`.
final class NotifierCore: Sendable {
    let configuration: NotifierConfiguration
    let store: NotifierStore
    let clock: any NotifierClock
    let sender: ChannelSender
    let logger: Logger

    init(configuration: NotifierConfiguration, clock: any NotifierClock, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.store = try NotifierStore(path: configuration.databasePath)
        self.clock = clock
        self.logger = logger
        self.sender = ChannelSender(logger: logger, webhook: WebhookClient(
            timeout: configuration.webhookTimeout, maxResponseBytes: configuration.maxWebhookResponseBytes,
            addresses: configuration.webhookAddresses))
    }

    /// How long a delivery being sent is kept from the dispatcher (wall clock): longer than
    /// any send can take, so it is never sent twice at once; if the process dies mid-send,
    /// the dispatcher takes it again once this has passed.
    var leaseMS: Int64 { 2 * configuration.webhookTimeout.wholeMilliseconds + 10_000 }

    /// The quiet hours in `preferences` (stored ones were validated; should the time zone
    /// database have dropped a zone since, UTC is used and a warning logged).
    func quietHours(_ preferences: StoredPreferences, userID: String) -> QuietHours {
        do {
            return try QuietHours(
                timeZoneIdentifier: preferences.timezone, startMinute: preferences.quietStartMinute,
                endMinute: preferences.quietEndMinute)
        } catch {
            logger.warning(
                "Stored quiet hours are no longer valid; using UTC",
                metadata: ["user_id": "\(userID)", "error": "\(error)"])
            return (try? QuietHours(
                timeZoneIdentifier: "UTC", startMinute: preferences.quietStartMinute, endMinute: preferences.quietEndMinute))
                ?? .none
        }
    }

    /// Sends `record` on the channels of `preferences` it has not gone out on yet, and
    /// saves the outcome: SENT (at `sentAtMS`) when every channel took it, else QUEUED with
    /// the error and the next attempt after the backoff (wall clock).
    func attempt(_ record: DeliveryRecord, preferences: StoredPreferences, sentAtMS: Int64) async throws -> DeliveryRecord {
        let remaining = preferences.channels.filter { !record.channelsSent.contains($0.rawValue) }
        let outcome = await sender.send(record, channels: remaining, webhookURL: preferences.webhookURL)
        var updated = record
        updated.channelsSent += outcome.sent
        updated.attempts += 1
        if outcome.errors.isEmpty {
            updated.state = .sent
            updated.sentUnixMS = sentAtMS
            updated.nextAttemptUnixMS = nil
        } else {
            let delay = configuration.retryBackoff.delayMilliseconds(afterFailedAttempts: updated.attempts)
            updated.state = .queued
            updated.lastError = outcome.errors.joined(separator: "; ")
            updated.nextAttemptUnixMS = clock.nowUnixMilliseconds() + delay
            logger.warning(
                "Delivery failed; will retry",
                metadata: [
                    "delivery_id": "\(record.id)", "user_id": "\(record.userID)", "attempts": "\(updated.attempts)",
                    "retry_in_ms": "\(delay)", "error": "\(updated.lastError)",
                ])
        }
        try await store.update(updated)
        return updated
    }
}
