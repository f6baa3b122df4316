import Foundation
import GatewayProtos
import Logging
import MLProtos
import NotifierProtos
import OOMesh
import RecommenderProtos
import SwiftProtobuf
import Synchronization

/// `oo.gateway.v1.Gateway`: the API mobile backends consume. Each call is authenticated
/// (``AuthenticationInterceptor`` sets ``AuthenticatedUser``) and fans out to the
/// recommender, the notifier and ml-serving with the caller's deadline (less a margin).
/// A downstream that is down gives the caller UNAVAILABLE naming it, within the deadline;
/// a tip whose delivery failed is still returned, with delivery status "unavailable".
///
/// Each response carries the time each downstream hop took in the trailing metadata
/// `oo-hop-us` (e.g. `recommender=1830,ml-serving=410,notifier=920`, microseconds).
public struct GatewayService: Oo_Gateway_V1_Gateway_ServiceProtocol {
    private let configuration: GatewayConfiguration
    private let recommender: Oo_Recommender_V1_Recommender_Client
    private let notifier: Oo_Notifier_V1_Notifier_Client
    private let modelServing: Oo_Ml_V1_ModelServing_Client
    private let logger: Logger
    private let subscriptions = SubscriptionCount()

    /// A gateway calling the three downstream services through these clients.
    public init(
        configuration: GatewayConfiguration, recommender: Oo_Recommender_V1_Recommender_Client,
        notifier: Oo_Notifier_V1_Notifier_Client, modelServing: Oo_Ml_V1_ModelServing_Client,
        logger: Logger = Logger(label: "oo.gateway")
    ) {
        self.configuration = configuration
        self.recommender = recommender
        self.notifier = notifier
        self.modelServing = modelServing
        self.logger = logger
    }

    /// The moment of a call: the gateway's clock, unless it honours the client's (a
    /// simulation; see `GatewayConfiguration.honoursClientClock`) and the client gave one.
    private func moment(_ clientUnixMs: Int64) -> Int64 {
        if configuration.honoursClientClock, clientUnixMs != 0 { return clientUnixMs }
        return Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    public func getNextTip(request: Oo_Gateway_V1_GetNextTipRequest, context: ServerContext) async throws -> Oo_Gateway_V1_GetNextTipResponse {
        let user = try AuthenticatedUser.require()
        let at = moment(request.atUnixMs)
        var hops = HopTimes()
        let tip = try await hops.time("recommender") {
            try await call("recommender", context) { options in
                try await recommender.recommend(.with {
                    $0.userID = user
                    $0.atUnixMs = at
                }, options: options)
            }
        }
        hops.record("ml-serving", microseconds: tip.scoringLatencyUs)
        var delivery = Oo_Gateway_V1_Delivery()
        do {
            let delivered = try await hops.time("notifier") {
                try await notifier.deliver(.with {
                    $0.userID = user
                    $0.tipID = tip.tipID
                    $0.title = tip.task.content
                    $0.atUnixMs = at
                    // Recorded, not sent, before the answer: the tip never waits on a channel.
                    $0.enqueueOnly = true
                }, options: CallOptions(timeout: configuration.downstreamTimeout))
            }
            delivery.status = Self.name(delivered.status)
            delivery.deliverAtUnixMs = delivered.deliverAtUnixMs
        } catch let error as RPCError where error.code != .deadlineExceeded || context.remainingTime.map({ $0 > .zero }) ?? true {
            // The tip stands; its delivery is reported as not done.
            logger.warning("notifier unavailable; tip returned undelivered", metadata: ["error": "\(error)"])
            delivery.status = "unavailable"
        }
        context.trailingMetadata = hops.metadata
        return .with {
            $0.tip = Self.tip(tip)
            $0.delivery = delivery
        }
    }

    public func react(request: Oo_Gateway_V1_ReactRequest, context: ServerContext) async throws -> Oo_Gateway_V1_ReactResponse {
        let user = try AuthenticatedUser.require()
        guard !request.tipID.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "tip_id is required.")
        }
        var hops = HopTimes()
        let recorded = try await hops.time("recommender") {
            try await call("recommender", context) { options in
                try await recommender.recordReaction(.with {
                    $0.userID = user
                    $0.tipID = request.tipID
                    $0.reaction = Oo_Recommender_V1_Reaction(rawValue: request.reaction.rawValue) ?? .unspecified
                    $0.atUnixMs = moment(request.atUnixMs)
                }, options: options)
            }
        }
        context.trailingMetadata = hops.metadata
        return .with {
            $0.reward = recorded.reward
            $0.duplicate = recorded.duplicate
        }
    }

    public func listTips(request: Oo_Gateway_V1_ListTipsRequest, context: ServerContext) async throws -> Oo_Gateway_V1_ListTipsResponse {
        let user = try AuthenticatedUser.require()
        let response = try await call("recommender", context) { options in
            try await recommender.listTips(.with {
                $0.userID = user
                $0.limit = request.limit
                $0.beforeTipID = request.beforeTipID
            }, options: options)
        }
        return .with { $0.tips = response.tips.map(Self.tip) }
    }

    public func subscribeTips(
        request: Oo_Gateway_V1_SubscribeTipsRequest, response: ResponseWriter<Oo_Gateway_V1_Tip>, context: ServerContext
    ) async throws {
        let user = try AuthenticatedUser.require()
        guard subscriptions.enter(limit: configuration.maxSubscriptions) else {
            throw RPCError(code: .resourceExhausted, message: "Too many live tip subscriptions on this gateway; retry later.")
        }
        defer { subscriptions.leave() }
        // Lives as long as the caller's call: its deadline (if any, inherited through
        // CallDeadline) bounds it, and the caller's cancellation cancels the inner call.
        let options = CallOptions()
        do {
            try await recommender.watchTips(.with { $0.userID = user }, options: options) { tips in
                for try await tip in tips.messages { try await response.write(Self.tip(tip)) }
            }
        } catch let error as RPCError {
            throw Self.downstream("recommender", error, callerTimeLeft: context.remainingTime)
        }
    }

    public func updatePreferences(
        request: Oo_Gateway_V1_UpdatePreferencesRequest, context: ServerContext
    ) async throws -> Oo_Gateway_V1_UpdatePreferencesResponse {
        let user = try AuthenticatedUser.require()
        let wanted = request.preferences
        let timezone = wanted.timezone.isEmpty ? "UTC" : wanted.timezone
        guard TimeZone(identifier: timezone) != nil else {
            throw RPCError(code: .invalidArgument, message: "Unknown time zone '\(timezone)': use an IANA name such as Europe/Berlin.")
        }
        async let notified = call("notifier", context) { options in
            try await notifier.setPreferences(.with {
                $0.userID = user
                $0.preferences = .with {
                    $0.timezone = timezone
                    $0.quietStartMinute = wanted.quietStartMinute
                    $0.quietEndMinute = wanted.quietEndMinute
                    $0.channels = wanted.channels
                    $0.webhookURL = wanted.webhookURL
                }
            }, options: options)
        }
        async let zoned: Void = call("recommender", context) { options in
            _ = try await recommender.setTimezone(.with {
                $0.userID = user
                $0.timezone = timezone
            }, options: options)
        }
        let stored = try await notified
        try await zoned
        return .with {
            $0.preferences = .with {
                $0.timezone = stored.timezone
                $0.quietStartMinute = stored.quietStartMinute
                $0.quietEndMinute = stored.quietEndMinute
                $0.channels = stored.channels
                $0.webhookURL = stored.webhookURL
            }
        }
    }

    public func importTasks(request: Oo_Gateway_V1_ImportTasksRequest, context: ServerContext) async throws -> Oo_Gateway_V1_ImportTasksResponse {
        let user = try AuthenticatedUser.require()
        let tasks = try TodoistImport.parse(
            request.tasksJson, maxTasks: configuration.maxTasksPerImport, maxBytes: configuration.maxImportBytes)
        let response = try await call("recommender", context) { options in
            try await recommender.importTasks(.with {
                $0.userID = user
                $0.tasks = tasks
            }, options: options)
        }
        return .with {
            $0.imported = response.imported
            $0.updated = response.updated
        }
    }

    public func deleteMyData(request: Oo_Gateway_V1_DeleteMyDataRequest, context: ServerContext) async throws -> Oo_Gateway_V1_DeleteMyDataResponse {
        let user = try AuthenticatedUser.require()
        // Every service must confirm; erasure is idempotent, so a caller told it failed
        // simply retries.
        async let recommended = call("recommender", context) { options in
            try await recommender.deleteUserData(.with { $0.userID = user }, options: options).recordsDeleted
        }
        async let notified = call("notifier", context) { options in
            try await notifier.deleteUserData(.with { $0.userID = user }, options: options).recordsDeleted
        }
        async let modelled = call("ml-serving", context) { options in
            try await modelServing.deleteUserData(.with { $0.userID = user }, options: options).recordsDeleted
        }
        var outcomes: [(service: String, result: Result<Int64, any Error>)] = []
        do { outcomes.append(("recommender", .success(try await recommended))) } catch { outcomes.append(("recommender", .failure(error))) }
        do { outcomes.append(("notifier", .success(try await notified))) } catch { outcomes.append(("notifier", .failure(error))) }
        do { outcomes.append(("ml-serving", .success(try await modelled))) } catch { outcomes.append(("ml-serving", .failure(error))) }
        var confirmations: [Oo_Gateway_V1_ErasureConfirmation] = []
        var failures: [String] = []
        for (service, result) in outcomes {
            switch result {
            case .success(let deleted):
                confirmations.append(.with {
                    $0.service = service
                    $0.recordsDeleted = deleted
                })
            case .failure(let error):
                failures.append("\(service): \((error as? RPCError)?.message ?? "\(error)")")
            }
        }
        guard failures.isEmpty else {
            throw RPCError(
                code: .unavailable,
                message: "Erasure incomplete, not every service confirmed (\(failures.joined(separator: "; "))). Retry: erasure is idempotent.")
        }
        logger.info("erased a user's data in every service")
        return .with { $0.confirmations = confirmations }
    }

    // MARK: Helpers

    /// Calls `service` with the caller's remaining deadline; its failures become errors
    /// naming the service.
    private func call<Value: Sendable>(
        _ service: String, _ context: ServerContext, _ body: (CallOptions) async throws -> Value
    ) async throws -> Value {
        // Capped by the caller's deadline less a margin by the core (CallDeadline).
        let options = CallOptions(timeout: configuration.downstreamTimeout)
        do {
            return try await body(options)
        } catch let error as RPCError {
            throw Self.downstream(service, error, callerTimeLeft: context.remainingTime)
        }
    }

    /// A downstream failure as the caller sees it: the downstream's verdicts on the request
    /// (not found, invalid, refused) pass through; its outages become UNAVAILABLE naming it,
    /// and so does its slowness unless it is the caller's own deadline that ran out.
    static func downstream(_ service: String, _ error: RPCError, callerTimeLeft: Duration? = nil) -> RPCError {
        switch error.code {
        case .deadlineExceeded, .cancelled:
            if error.code == .deadlineExceeded, let left = callerTimeLeft, left <= .milliseconds(50) {
                return RPCError(code: .deadlineExceeded, message: error.message, cause: error)
            }
            return RPCError(code: .unavailable, message: "The \(service) service did not answer in time: \(error.message)", cause: error)
        case .invalidArgument, .notFound, .failedPrecondition, .resourceExhausted, .permissionDenied, .alreadyExists,
            .outOfRange, .aborted:
            return RPCError(code: error.code, message: error.message, cause: error)
        case .unavailable, .unknown, .dataLoss, .unimplemented, .internal, .unauthenticated, .ok:
            return RPCError(code: .unavailable, message: "The \(service) service is unavailable: \(error.message)", cause: error)
        }
    }

    static func tip(_ tip: Oo_Recommender_V1_Tip) -> Oo_Gateway_V1_Tip {
        .with {
            $0.tipID = tip.tipID
            $0.taskID = tip.task.taskID
            $0.content = tip.task.content
            $0.project = tip.task.project
            $0.labels = tip.task.labels
            $0.priority = tip.task.priority
            $0.createdUnixMs = tip.createdUnixMs
            $0.policy = tip.policy
            $0.score = tip.score
            $0.promptVersion = tip.promptVersion
            $0.reaction = Oo_Gateway_V1_Reaction(rawValue: tip.reaction.rawValue) ?? .unspecified
        }
    }

    static func name(_ status: Oo_Notifier_V1_DeliveryStatus) -> String {
        switch status {
        case .sent: "sent"
        case .deferred: "deferred"
        case .duplicate: "duplicate"
        case .queued: "queued"
        default: "unknown"
        }
    }
}

/// How long each downstream hop of one call took.
struct HopTimes {
    private var entries: [(String, Int64)] = []

    mutating func record(_ hop: String, microseconds: Int64) { entries.append((hop, microseconds)) }

    mutating func time<Value>(_ hop: String, _ body: () async throws -> Value) async rethrows -> Value {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            record(hop, microseconds: elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)
        }
        return try await body()
    }

    /// `oo-hop-us: recommender=1830,ml-serving=410,notifier=920`.
    var metadata: Metadata {
        var metadata = Metadata()
        metadata.addString(entries.map { "\($0.0)=\($0.1)" }.joined(separator: ","), forKey: "oo-hop-us")
        return metadata
    }
}

/// How many SubscribeTips calls are live.
final class SubscriptionCount: Sendable {
    private let count = Mutex(0)

    /// Counts one more, unless `limit` are live already.
    func enter(limit: Int) -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}
