import OOMesh

/// Whether ml-serving's model may serve, after the train/serve parity check.
public enum ModelStatus: Sendable, Hashable, CustomStringConvertible {
    /// Not checked yet (while ``ModelServingService/open(configuration:servingSchema:health:registry:logger:)`` runs).
    case starting
    /// Admitted by the schema registry: the serving feature schema `schemaID` is compatible
    /// with the schema the model was trained on.
    case admitted(schemaID: String)
    /// No registry is configured, so parity cannot be checked; the model serves.
    case unchecked
    /// Refused: `reason` says why (an incompatible serving schema, a registry that cannot
    /// be reached, …). Score and Update answer FAILED_PRECONDITION; health is NOT_SERVING.
    case refused(reason: String)

    /// Whether Score and Update are served.
    public var isServing: Bool {
        switch self {
        case .admitted, .unchecked: true
        case .starting, .refused: false
        }
    }

    /// `ListPoliciesResponse.model_status`: "SERVING", "unchecked: no registry configured",
    /// or why the model is refused.
    public var description: String {
        switch self {
        case .starting: "starting: the model has not been checked yet"
        case .admitted: "SERVING"
        case .unchecked: "unchecked: no registry configured"
        case .refused(let reason): "refused: \(reason)"
        }
    }
}

/// Bounds every registry call by a deadline (`CallOptions.timeout`), keeping a shorter one
/// a caller set.
struct RegistryDeadline: ClientInterceptor {
    let timeout: Duration

    func intercept<Result: Sendable>(_ head: ClientCallHead, next: (ClientCallHead) async throws -> Result) async throws -> Result {
        var head = head
        head.options.timeout = min(head.options.timeout ?? timeout, timeout)
        return try await next(head)
    }
}
