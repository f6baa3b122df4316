import Foundation

/// The notifier's settings, each with a documented default, so `oo serve notifier` can
/// start with `NotifierConfiguration()` and override what the operator passes.
///
/// ```swift
/// var configuration = NotifierConfiguration()
/// configuration.databasePath = "/var/lib/oo/notifier.sqlite"
/// configuration.dedupeWindow = .seconds(12 * 3600)
/// ```
public struct NotifierConfiguration: Sendable, Hashable {
    /// The SQLite file holding preferences and the delivery log (created if missing).
    /// Defaults to `oo-notifier.sqlite` in the working directory.
    public var databasePath = "oo-notifier.sqlite"

    /// The same tip to the same user within this long of an earlier request (by the
    /// requests' `at_unix_ms`) is a duplicate: it is not sent again. Defaults to 24 hours.
    public var dedupeWindow: Duration = .seconds(24 * 3600)

    /// How failed sends are retried. Defaults to ``RetryBackoff/defaults`` (1 s doubling to
    /// 5 min, 20 % jitter); retries never stop until the tip is sent or the user's data is
    /// deleted.
    public var retryBackoff = RetryBackoff.defaults

    /// How long the dispatcher sleeps between ticks when it has no backlog. Defaults to 1 s.
    public var dispatchInterval: Duration = .seconds(1)

    /// At most this many due deliveries are taken per dispatcher tick. Defaults to 100.
    public var dispatchBatchSize = 100

    /// At most this many deliveries are sent at once within a tick. Defaults to 8.
    public var maxConcurrentSends = 8

    /// A webhook POST that has not answered within this long fails (and is retried).
    /// Defaults to 5 s.
    public var webhookTimeout: Duration = .seconds(5)

    /// ListDeliveries returns this many deliveries when the request's `limit` is 0.
    /// Defaults to 50.
    public var defaultDeliveriesListed = 50

    /// ListDeliveries never returns more than this many deliveries (a larger `limit` is
    /// lowered to it). Defaults to 500.
    public var maxDeliveriesListed = 500

    /// A tip's title may be at most this many bytes of UTF-8 (else INVALID_ARGUMENT).
    /// Defaults to 1 KiB.
    public var maxTitleBytes = 1024

    /// A user id or tip id may be at most this many bytes of UTF-8. Defaults to 256.
    public var maxIdentifierBytes = 256

    /// Which addresses webhooks may reach: by default not the notifier's own network
    /// (loopback, private, link-local/metadata, …); `allowedNetworks` lets an operator open
    /// some (the tests open 127.0.0.1/32 for their server). Checked at SetPreferences and
    /// before every POST.
    public var webhookAddresses = WebhookAddressPolicy()

    /// A webhook URL may be at most this many bytes. Defaults to 2048.
    public var maxWebhookURLBytes = 2048

    /// A webhook's answer body is read up to this many bytes and then the connection is
    /// closed (the body is never used; the status decides), so a hostile receiver cannot
    /// make the notifier buffer without limit. Defaults to 64 KiB.
    public var maxWebhookResponseBytes = 64 << 10

    /// A user may have at most this many deliveries pending (deferred, or queued for a
    /// retry) at once; a Deliver past it is refused with RESOURCE_EXHAUSTED before anything
    /// is recorded, so a webhook that never answers cannot grow the delivery log without
    /// limit (pending deliveries are never pruned). Defaults to 1,000.
    public var maxPendingDeliveriesPerUser = 1_000

    /// Sent deliveries are kept in the delivery log (ListDeliveries, dedupe) at least this
    /// long after they were requested and sent (by the injected clock), and then pruned by
    /// the dispatcher. The effective retention is never shorter than ``dedupeWindow``
    /// (see ``effectiveDeliveryRetention``), so pruning cannot make a tip a non-duplicate
    /// for a request made now. Pending (deferred or queued) deliveries are never pruned.
    /// Defaults to 30 days.
    ///
    /// A request whose `at_unix_ms` lies further in the past than the retention is
    /// deduplicated only against rows still kept.
    public var deliveryRetention: Duration = .seconds(30 * 86_400)

    /// The dispatcher deletes at most this many expired deliveries per transaction (so a
    /// large backlog never holds the write lock long). Defaults to 1,000.
    public var retentionBatchSize = 1_000

    /// How often the dispatcher looks for expired deliveries; while it finds full batches
    /// it keeps going on every tick. Defaults to 60 s.
    public var retentionInterval: Duration = .seconds(60)

    /// The defaults stated on each property.
    public init() {}

    /// The defaults stated on each property.
    public static var defaults: NotifierConfiguration { NotifierConfiguration() }

    /// How long sent deliveries are really kept: the longer of ``deliveryRetention`` and
    /// ``dedupeWindow``.
    public var effectiveDeliveryRetention: Duration { max(deliveryRetention, dedupeWindow) }

    /// Throws ``NotifierConfigurationError`` naming the first setting out of range.
    public func validate() throws(NotifierConfigurationError) {
        func require(_ condition: Bool, _ message: String) throws(NotifierConfigurationError) {
            if !condition { throw NotifierConfigurationError(message: message) }
        }
        try require(!databasePath.isEmpty, "databasePath must not be empty.")
        try require(dedupeWindow >= .zero, "dedupeWindow must not be negative (it is \(dedupeWindow)).")
        try require(dispatchInterval > .zero, "dispatchInterval must be positive (it is \(dispatchInterval)).")
        try require(dispatchBatchSize > 0, "dispatchBatchSize must be positive (it is \(dispatchBatchSize)).")
        try require(maxConcurrentSends > 0, "maxConcurrentSends must be positive (it is \(maxConcurrentSends)).")
        try require(webhookTimeout > .zero, "webhookTimeout must be positive (it is \(webhookTimeout)).")
        do { try webhookAddresses.validate() } catch { throw NotifierConfigurationError(message: error.description) }
        try require(maxDeliveriesListed > 0, "maxDeliveriesListed must be positive (it is \(maxDeliveriesListed)).")
        try require(
            (1...maxDeliveriesListed).contains(defaultDeliveriesListed),
            "defaultDeliveriesListed must be in 1...maxDeliveriesListed (it is \(defaultDeliveriesListed)).")
        try require(maxTitleBytes > 0, "maxTitleBytes must be positive (it is \(maxTitleBytes)).")
        try require(maxIdentifierBytes > 0, "maxIdentifierBytes must be positive (it is \(maxIdentifierBytes)).")
        try require(maxWebhookURLBytes > 0, "maxWebhookURLBytes must be positive (it is \(maxWebhookURLBytes)).")
        try require(maxWebhookResponseBytes > 0, "maxWebhookResponseBytes must be positive (it is \(maxWebhookResponseBytes)).")
        try require(
            maxPendingDeliveriesPerUser > 0, "maxPendingDeliveriesPerUser must be positive (it is \(maxPendingDeliveriesPerUser)).")
        try require(deliveryRetention >= .zero, "deliveryRetention must not be negative (it is \(deliveryRetention)).")
        try require(retentionBatchSize > 0, "retentionBatchSize must be positive (it is \(retentionBatchSize)).")
        try require(retentionInterval > .zero, "retentionInterval must be positive (it is \(retentionInterval)).")
        try retryBackoff.validate()
    }
}

/// A ``NotifierConfiguration`` (or ``RetryBackoff``) setting is out of range.
public struct NotifierConfigurationError: Error, CustomStringConvertible, Sendable {
    /// Which setting, and why.
    public var message: String
    public var description: String { "Invalid notifier configuration: \(message)" }

    /// An error saying `message`.
    public init(message: String) { self.message = message }
}

/// Exponential backoff with jitter for failed sends: the n-th retry waits
/// `initial × multiplier^(n-1)`, capped at `maximum`, then shortened by a random fraction
/// of up to `jitter` (so retries of many deliveries that failed together spread out).
public struct RetryBackoff: Sendable, Hashable {
    /// The wait before the first retry. Defaults to 1 s.
    public var initial: Duration = .seconds(1)
    /// The longest wait between retries. Defaults to 5 min.
    public var maximum: Duration = .seconds(300)
    /// Each wait is this many times the previous one. Defaults to 2.
    public var multiplier = 2.0
    /// Up to this fraction (0…1) of each wait is taken off at random. Defaults to 0.2.
    public var jitter = 0.2

    /// The defaults stated on each property.
    public init() {}

    /// A backoff with the given settings.
    public init(initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// 1 s doubling to 5 min, 20 % jitter.
    public static var defaults: RetryBackoff { RetryBackoff() }

    /// Throws ``NotifierConfigurationError`` naming the first setting out of range.
    public func validate() throws(NotifierConfigurationError) {
        guard initial > .zero else { throw NotifierConfigurationError(message: "retryBackoff.initial must be positive (it is \(initial)).") }
        guard maximum >= initial else {
            throw NotifierConfigurationError(message: "retryBackoff.maximum (\(maximum)) must be at least retryBackoff.initial (\(initial)).")
        }
        guard multiplier >= 1, multiplier.isFinite else {
            throw NotifierConfigurationError(message: "retryBackoff.multiplier must be at least 1 (it is \(multiplier)).")
        }
        guard (0...1).contains(jitter) else {
            throw NotifierConfigurationError(message: "retryBackoff.jitter must be in 0...1 (it is \(jitter)).")
        }
    }

    /// The wait, in milliseconds, after `failedAttempts` (≥ 1) failed attempts; `random`
    /// is a number in 0..<1 (injectable for tests).
    public func delayMilliseconds(afterFailedAttempts failedAttempts: Int, random: Double = Double.random(in: 0..<1)) -> Int64 {
        let initialMS = Double(initial.wholeMilliseconds)
        let maximumMS = Double(maximum.wholeMilliseconds)
        let exponent = Double(max(failedAttempts, 1) - 1)
        let raw = min(initialMS * pow(multiplier, exponent), maximumMS)
        let jittered = raw * (1 - jitter * min(max(random, 0), 1))
        return max(1, Int64(jittered.rounded()))
    }
}

/// The wall clock the notifier reads for "now": the time a request without `at_unix_ms` is
/// made, and the dispatcher's notion of when deferred deliveries and retries are due.
/// Injectable so tests control time.
public protocol NotifierClock: Sendable {
    /// Now, in milliseconds since the Unix epoch.
    func nowUnixMilliseconds() -> Int64
}

/// The system's real-time clock (`Date()`).
public struct SystemNotifierClock: NotifierClock {
    /// The system clock.
    public init() {}

    public func nowUnixMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded down), saturating at `Int64`'s bounds
    /// instead of trapping for a huge configured duration.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflow2 ? (milliseconds < 0 ? .min : .max) : total
    }
}
