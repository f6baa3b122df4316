import Foundation
import Logging
import NotifierProtos
import OOHealth
import OOMesh
import OOStorage

/// `oo.notifier.v1.Notifier`: delivers tips on each user's channels ("log": a structured
/// swift-log line; "webhook": an HTTP POST of a small JSON body), deferring those due in
/// the user's quiet hours to the end of the window (``QuietHours``), sending a tip to a
/// user at most once per dedupe window, and logging every delivery durably in SQLite
/// before answering. A failed send is answered QUEUED and retried by ``dispatcher`` with
/// exponential backoff until it is sent.
///
/// ```swift
/// let notifier = try NotifierService(configuration: configuration, logger: logger)
/// let server = GRPCServer(transport: transport, services: [notifier])
/// // and, in the same task group as server.serve():
/// await notifier.dispatcher.run()
/// ```
///
/// Errors: INVALID_ARGUMENT for a bad request (the message names the field and what is
/// allowed), RESOURCE_EXHAUSTED when the user already has
/// ``NotifierConfiguration/maxPendingDeliveriesPerUser`` deliveries waiting, UNAVAILABLE
/// when the database fails.
///
/// Webhooks and SSRF: a webhook URL is chosen by the caller of SetPreferences and POSTed
/// to from the notifier's network position. Only `http` and `https` URLs with a host are
/// accepted, and redirects are followed only to the same scheme, host and port with the
/// method kept (307/308); but the notifier does not (and, because of DNS rebinding, could
/// not reliably) refuse hosts that resolve to loopback, private or link-local addresses
/// such as a cloud metadata endpoint; it does now (``WebhookAddressPolicy``): a URL whose
/// host resolves to any such address is refused at SetPreferences and again before each
/// POST (DNS rebinding), unless the operator's allow-list names the network. The POST
/// resolves the name once more itself, so deployments should still confine the notifier's
/// egress with a network policy or an egress proxy.
public struct NotifierService: Oo_Notifier_V1_Notifier_ServiceProtocol {
    private let core: NotifierCore

    /// Sends deferred and failed deliveries when due; the process must run it
    /// (``NotifierDispatcher/run()``) for as long as it serves.
    public let dispatcher: NotifierDispatcher

    /// The settings it runs with.
    public var configuration: NotifierConfiguration { core.configuration }

    /// The gRPC service name, for health statuses.
    public static let serviceName = Oo_Notifier_V1_Notifier.descriptor.fullyQualifiedService

    /// Opens (creating if needed) the database at `configuration.databasePath`.
    /// - Parameters:
    ///   - configuration: the settings; see ``NotifierConfiguration`` for the defaults.
    ///   - clock: "now" for requests without `at_unix_ms` and for the dispatcher; the
    ///     system clock unless a test injects its own.
    ///   - logger: where the "log" channel writes its lines, and the service its warnings.
    ///   - health: when given, the service's status (``serviceName``) is set to SERVING
    ///     once the database is open.
    /// - Throws: ``NotifierConfigurationError`` for a setting out of range, `StorageError`
    ///   when the database cannot be opened.
    public init(
        configuration: NotifierConfiguration = .defaults, clock: any NotifierClock = SystemNotifierClock(),
        logger: Logger = Logger(label: "oo.notifier"), health: HealthMonitor? = nil
    ) throws {
        core = try NotifierCore(configuration: configuration, clock: clock, logger: logger)
        dispatcher = NotifierDispatcher(core: core)
        health?.setStatus(.serving, for: Self.serviceName)
    }

    // MARK: - Deliver

    public func deliver(request: Oo_Notifier_V1_DeliverRequest, context: ServerContext) async throws -> Oo_Notifier_V1_DeliverResponse {
        try checkIdentifier(request.userID, "DeliverRequest.user_id")
        try checkIdentifier(request.tipID, "DeliverRequest.tip_id")
        guard request.title.utf8.count <= configuration.maxTitleBytes else {
            throw RPCError(
                code: .invalidArgument,
                message: "DeliverRequest.title is \(request.title.utf8.count) bytes; at most \(configuration.maxTitleBytes) bytes of UTF-8 are allowed.")
        }
        // Bounded above too: quiet-hours arithmetic on instants near Int64.max would overflow.
        guard request.atUnixMs >= 0, request.atUnixMs <= Self.maxAtUnixMS else {
            throw RPCError(
                code: .invalidArgument,
                message: "DeliverRequest.at_unix_ms must be milliseconds since the Unix epoch up to \(Self.maxAtUnixMS) (9999-12-31), or 0 for now; it is \(request.atUnixMs).")
        }
        let requestedAt = request.atUnixMs != 0 ? request.atUnixMs : core.clock.nowUnixMilliseconds()
        let (core, enqueueOnly) = (core, request.enqueueOnly)
        let (id, userID, tipID, title) = (RandomIdentifier.uuidString(), request.userID, request.tipID, request.title)
        // Made from the user's preferences inside the store's transaction (one trip, not two).
        let (outcome, stored) = try await storage {
            try await core.store.record(
                userID: userID, dedupeWindowMS: configuration.dedupeWindow.wholeMilliseconds,
                maxPending: configuration.maxPendingDeliveriesPerUser
            ) { stored in
                var record = DeliveryRecord(
                    id: id, userID: userID, tipID: tipID, title: title, state: .queued, requestedUnixMS: requestedAt,
                    deliverAtUnixMS: requestedAt, sentUnixMS: 0, attempts: 0, lastError: "", nextAttemptUnixMS: nil,
                    channelsSent: [])
                switch core.quietHours(stored ?? .defaults, userID: userID).decision(atUnixMilliseconds: requestedAt) {
                case .sendNow where enqueueOnly:
                    // Recorded due now; the dispatcher (woken below) sends it.
                    record.nextAttemptUnixMS = core.clock.nowUnixMilliseconds()
                case .sendNow:
                    // Recorded before it is sent, and kept from the dispatcher while this call sends
                    // it: if the process dies mid-send, the dispatcher sends it after the lease.
                    record.nextAttemptUnixMS = core.clock.nowUnixMilliseconds() + core.leaseMS
                case .deferUntil(let end):
                    record.state = .deferred
                    record.deliverAtUnixMS = end
                    record.nextAttemptUnixMS = end
                }
                return record
            }
        }
        let preferences = stored ?? .defaults
        let record: DeliveryRecord
        switch outcome {
        case .duplicate(let original):
            return Self.response(original, status: .duplicate)
        case .tooManyPending(let pending):
            throw RPCError(
                code: .resourceExhausted,
                message: "User '\(request.userID)' already has \(pending) deliveries waiting (deferred or being retried); at most \(configuration.maxPendingDeliveriesPerUser) may wait at once. Retry once some have been sent, or fix the user's webhook.")
        case .recorded(let recorded):
            record = recorded
        }
        if record.state == .deferred {
            return Self.response(record, status: .deferred)
        }
        if request.enqueueOnly {
            dispatcher.wakeUp()
            return Self.response(record, status: .queued)
        }
        let sent = try await storage { [record] in
            try await core.attempt(record, preferences: preferences, sentAtMS: requestedAt)
        }
        return Self.response(sent, status: sent.state == .sent ? .sent : .queued)
    }

    // MARK: - Preferences

    public func setPreferences(request: Oo_Notifier_V1_SetPreferencesRequest, context: ServerContext) async throws -> Oo_Notifier_V1_Preferences {
        try checkIdentifier(request.userID, "SetPreferencesRequest.user_id")
        let preferences = try validate(request.preferences)
        if !preferences.webhookURL.isEmpty {
            do {
                try await WebhookAddressCheck(policy: configuration.webhookAddresses).check(preferences.webhookURL)
            } catch {
                throw RPCError(
                    code: error.busy ? .unavailable : .invalidArgument,
                    message: "SetPreferencesRequest.preferences.webhook_url: \(error.description).")
            }
        }
        try await storage { try await core.store.setPreferences(preferences, userID: request.userID) }
        return Self.wire(preferences)
    }

    public func getPreferences(request: Oo_Notifier_V1_GetPreferencesRequest, context: ServerContext) async throws -> Oo_Notifier_V1_Preferences {
        try checkIdentifier(request.userID, "GetPreferencesRequest.user_id")
        let preferences = try await storage { try await core.store.preferences(userID: request.userID) } ?? .defaults
        return Self.wire(preferences)
    }

    /// Checks `preferences` and normalizes them: an empty time zone is "UTC", an empty
    /// channel list is the default ["log"], a repeated channel counts once.
    func validate(_ preferences: Oo_Notifier_V1_Preferences) throws -> StoredPreferences {
        let field = "SetPreferencesRequest.preferences"
        do {
            _ = try QuietHours(
                timeZoneIdentifier: preferences.timezone, startMinute: Int(preferences.quietStartMinute),
                endMinute: Int(preferences.quietEndMinute))
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(field): \(error.message)")
        }
        var channels: [NotificationChannel] = []
        for (index, name) in preferences.channels.enumerated() {
            guard let channel = NotificationChannel(rawValue: name) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "\(field).channels[\(index)] is '\(name)', which is not a channel; use \(NotificationChannel.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")).")
            }
            if !channels.contains(channel) { channels.append(channel) }
        }
        if channels.isEmpty { channels = StoredPreferences.defaults.channels }
        let url = preferences.webhookURL
        if !url.isEmpty {
            guard url.utf8.count <= configuration.maxWebhookURLBytes else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "\(field).webhook_url is \(url.utf8.count) bytes; at most \(configuration.maxWebhookURLBytes) are allowed.")
            }
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = parsed.host, !host.isEmpty
            else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "\(field).webhook_url '\(url)' is not an http:// or https:// URL with a host (e.g. https://example.com/hooks/oo).")
            }
        }
        if channels.contains(.webhook) && url.isEmpty {
            throw RPCError(
                code: .invalidArgument, message: "\(field).webhook_url is required when channels include 'webhook'.")
        }
        return StoredPreferences(
            timezone: preferences.timezone.isEmpty ? "UTC" : preferences.timezone,
            quietStartMinute: Int(preferences.quietStartMinute), quietEndMinute: Int(preferences.quietEndMinute),
            channels: channels, webhookURL: url)
    }

    // MARK: - Deliveries

    public func listDeliveries(request: Oo_Notifier_V1_ListDeliveriesRequest, context: ServerContext) async throws -> Oo_Notifier_V1_ListDeliveriesResponse {
        try checkIdentifier(request.userID, "ListDeliveriesRequest.user_id")
        guard request.limit >= 0 else {
            throw RPCError(
                code: .invalidArgument,
                message: "ListDeliveriesRequest.limit must not be negative (0 means the default, \(configuration.defaultDeliveriesListed)); it is \(request.limit).")
        }
        let limit = request.limit == 0 ? configuration.defaultDeliveriesListed : min(Int(request.limit), configuration.maxDeliveriesListed)
        let records = try await storage { try await core.store.deliveries(userID: request.userID, limit: limit) }
        var response = Oo_Notifier_V1_ListDeliveriesResponse()
        response.deliveries = records.map(Self.wire)
        return response
    }

    public func deleteUserData(request: Oo_Notifier_V1_DeleteUserDataRequest, context: ServerContext) async throws -> Oo_Notifier_V1_DeleteUserDataResponse {
        try checkIdentifier(request.userID, "DeleteUserDataRequest.user_id")
        let deleted = try await storage { try await core.store.deleteUser(userID: request.userID) }
        core.logger.info("User data deleted", metadata: ["user_id": "\(request.userID)", "records": "\(deleted)"])
        var response = Oo_Notifier_V1_DeleteUserDataResponse()
        response.recordsDeleted = deleted
        return response
    }

    // MARK: - Helpers

    /// The largest `at_unix_ms` accepted: 9999-12-31T23:59:59.999Z.
    static let maxAtUnixMS: Int64 = 253_402_300_799_999

    private func checkIdentifier(_ value: String, _ field: String) throws {
        guard !value.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "\(field) must not be empty.")
        }
        guard value.utf8.count <= configuration.maxIdentifierBytes else {
            throw RPCError(
                code: .invalidArgument,
                message: "\(field) is \(value.utf8.count) bytes; at most \(configuration.maxIdentifierBytes) are allowed.")
        }
    }

    private func storage<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as StorageError {
            throw RPCError(code: .unavailable, message: "The notifier's storage failed: \(error.message)", cause: error)
        }
    }

    static func response(_ record: DeliveryRecord, status: Oo_Notifier_V1_DeliveryStatus) -> Oo_Notifier_V1_DeliverResponse {
        var response = Oo_Notifier_V1_DeliverResponse()
        response.deliveryID = record.id
        response.status = status
        response.deliverAtUnixMs = record.deliverAtUnixMS
        return response
    }

    static func wire(_ preferences: StoredPreferences) -> Oo_Notifier_V1_Preferences {
        var wire = Oo_Notifier_V1_Preferences()
        wire.timezone = preferences.timezone
        wire.quietStartMinute = Int32(preferences.quietStartMinute)
        wire.quietEndMinute = Int32(preferences.quietEndMinute)
        wire.channels = preferences.channels.map(\.rawValue)
        wire.webhookURL = preferences.webhookURL
        return wire
    }

    static func wire(_ record: DeliveryRecord) -> Oo_Notifier_V1_Delivery {
        var wire = Oo_Notifier_V1_Delivery()
        wire.deliveryID = record.id
        wire.tipID = record.tipID
        wire.status =
            switch record.state {
            case .sent: .sent
            case .deferred: .deferred
            case .queued: .queued
            }
        wire.requestedUnixMs = record.requestedUnixMS
        wire.deliverAtUnixMs = record.deliverAtUnixMS
        wire.sentUnixMs = record.sentUnixMS
        wire.attempts = Int32(clamping: record.attempts)
        wire.lastError = record.lastError
        return wire
    }
}
