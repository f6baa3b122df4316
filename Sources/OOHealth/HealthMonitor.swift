import Synchronization

/// A service's serving status, as gRPC's health protocol reports it.
public enum ServingStatus: Sendable, Hashable, CustomStringConvertible {
    /// Ready for calls.
    case serving
    /// Up but not taking calls: draining, or refusing (e.g. a model whose schema is refused).
    case notServing
    /// Not yet known (starting).
    case unknown

    public var description: String {
        switch self {
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .unknown: "UNKNOWN"
        }
    }
}

/// The serving status of each service a process serves, plus the overall status (the
/// empty service name), with watchers notified of every change. The process's services
/// set their own status; ``HealthService`` reports it; ``enterDraining()`` flips everything
/// to NOT_SERVING when graceful shutdown starts.
public final class HealthMonitor: Sendable {
    private struct State {
        var statuses: [String: ServingStatus] = [:]
        var reasons: [String: String] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus?>.Continuation)] = [:]
        var nextWatcher = 0
        var draining = false
    }

    private let state = Mutex(State())

    /// The overall status's name: the empty string, as the protocol defines it.
    public static let overall = ""

    /// A monitor whose overall status is `initial` (default UNKNOWN until the process is ready).
    public init(initial: ServingStatus = .unknown) {
        state.withLock { $0.statuses[Self.overall] = initial }
    }

    /// Sets `service`'s status (`""`: the overall one), with an optional reason for logs and
    /// `oo up`. Ignored while draining except to NOT_SERVING: a draining process never comes
    /// back to SERVING.
    public func setStatus(_ status: ServingStatus, for service: String = HealthMonitor.overall, reason: String = "") {
        let notify: [AsyncStream<ServingStatus?>.Continuation] = state.withLock { state in
            if state.draining && status != .notServing { return [] }
            let old = state.statuses[service]
            state.statuses[service] = status
            state.reasons[service] = reason.isEmpty ? nil : reason
            guard old != status else { return [] }
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for continuation in notify { continuation.yield(status) }
    }

    /// `service`'s status, or nil when the service is not known.
    public func status(of service: String = HealthMonitor.overall) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Why `service` has its status, when whoever set it said.
    public func reason(for service: String = HealthMonitor.overall) -> String? {
        state.withLock { $0.reasons[service] }
    }

    /// Every service's status (the overall one under `""`).
    public var statuses: [String: ServingStatus] { state.withLock { $0.statuses } }

    /// Graceful shutdown has begun: every service and the overall status become NOT_SERVING,
    /// watchers are told so, and then their streams end (so they do not hold the drain open).
    public func enterDraining() {
        let services: [String] = state.withLock { state in
            state.draining = true
            return Array(state.statuses.keys)
        }
        for service in services { setStatus(.notServing, for: service, reason: "draining") }
        let watchers = state.withLock { state in
            defer { state.watchers = [:] }
            return state.watchers.values.map(\.continuation)
        }
        for continuation in watchers { continuation.finish() }
    }

    /// The status of `service` now (nil: unknown service), then each change, until the
    /// stream's consumer stops. Bounded: a slow watcher sees the newest status, older
    /// unread changes are dropped.
    public func watch(_ service: String) -> AsyncStream<ServingStatus?> {
        let (stream, continuation) = AsyncStream<ServingStatus?>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id: Int = state.withLock { state in
            if state.draining {
                continuation.yield(.notServing)
                continuation.finish()
                return -1
            }
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (service, continuation)
            continuation.yield(state.statuses[service])
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
