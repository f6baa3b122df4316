import HealthProtos
import OOMesh
import SwiftProtobuf

/// `grpc.health.v1.Health` over a ``HealthMonitor``: Check answers a service's status
/// (NOT_FOUND for an unknown one), Watch streams it and every change (SERVICE_UNKNOWN while
/// the service is unknown), as gRPC's health-checking protocol specifies, so
/// grpc_health_probe and orchestrators understand it.
public struct HealthService: Grpc_Health_V1_Health_ServiceProtocol {
    /// The statuses served.
    public let monitor: HealthMonitor

    /// Serves `monitor`'s statuses.
    public init(monitor: HealthMonitor) {
        self.monitor = monitor
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = monitor.status(of: request.service) else {
            throw RPCError(code: .notFound, message: "Unknown service '\(request.service)'.")
        }
        return .with { $0.status = Self.wire(status) }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: ResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        for await status in monitor.watch(request.service) {
            try await response.write(.with { $0.status = status.map(Self.wire) ?? .serviceUnknown })
        }
    }

    /// The protocol's value for `status`.
    public static func wire(_ status: ServingStatus) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        switch status {
        case .serving: .serving
        case .notServing: .notServing
        case .unknown: .unknown
        }
    }
}
