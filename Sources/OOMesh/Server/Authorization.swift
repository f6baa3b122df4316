/// Which callers may call which methods, by workload identity: the name in the SPIFFE id
/// (`spiffe://TRUST-DOMAIN/NAME`) of the certificate the caller proved with mutual TLS.
/// Pure data, decided by a pure function (``decide(caller:method:)``); enforced by
/// ``AuthorizationInterceptor``. Anything no rule allows is denied.
///
/// Rules name methods as `package.Service/Method` or `package.Service/*`, and callers by
/// workload name, or `*` for any caller that proved an identity of the trust domain.
public struct AuthorizationPolicy: Sendable, Hashable, Codable {
    /// Who may call a method, or every method of a service.
    public struct Rule: Sendable, Hashable, Codable {
        /// `package.Service/Method` or `package.Service/*`.
        public var method: String
        /// Workload names, or `*` for any authenticated caller.
        public var allow: [String]

        public init(method: String, allow: [String]) {
            self.method = method
            self.allow = allow
        }
    }

    /// The trust domain whose identities count. Default: `oo.local` (`oo up`'s CA).
    public var trustDomain: String
    /// The rules; a call is allowed when any rule for its method (or service) allows its caller.
    public var rules: [Rule]
    /// Callers that may call every read-only method, whatever the rules say.
    public var readOnlyCallers: [String]
    /// What makes a method read-only: its name starts with one of these.
    public var readOnlyPrefixes: [String]
    /// Services not checked here: public APIs that authenticate their callers otherwise
    /// (the gateway's, with tokens).
    public var publicServices: [String]

    public init(trustDomain: String = "oo.local", rules: [Rule], readOnlyCallers: [String] = [],
                readOnlyPrefixes: [String] = ["Get", "List", "Check", "Watch"], publicServices: [String] = []) {
        self.trustDomain = trustDomain
        self.rules = rules
        self.readOnlyCallers = readOnlyCallers
        self.readOnlyPrefixes = readOnlyPrefixes
        self.publicServices = publicServices
    }

    /// The mesh's policy: each internal service answers the services that call it; health
    /// and reflection answer any authenticated peer; `operator` may call everything
    /// read-only; the gateway's API is public (its callers prove themselves with tokens).
    public static let meshDefault = AuthorizationPolicy(
        rules: [
            Rule(method: "oo.recommender.v1.Recommender/*", allow: ["gateway"]),
            Rule(method: "oo.ml.v1.ModelServing/Score", allow: ["recommender"]),
            Rule(method: "oo.ml.v1.ModelServing/Update", allow: ["recommender"]),
            Rule(method: "oo.ml.v1.ModelServing/DeleteUserData", allow: ["gateway"]),
            Rule(method: "oo.notifier.v1.Notifier/*", allow: ["gateway"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/Register", allow: ["ml-serving", "operator"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/DeleteVersion", allow: ["operator"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/SetCompatibility", allow: ["operator"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/CheckCompatibility", allow: ["*"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/GetSchema", allow: ["*"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/GetVersion", allow: ["*"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/ListVersions", allow: ["*"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/ListSubjects", allow: ["*"]),
            Rule(method: "oo.registry.v1.SchemaRegistry/GetCompatibility", allow: ["*"]),
            Rule(method: "grpc.health.v1.Health/*", allow: ["*"]),
            Rule(method: "grpc.reflection.v1.ServerReflection/*", allow: ["*"]),
            Rule(method: "grpc.reflection.v1alpha.ServerReflection/*", allow: ["*"]),
        ],
        readOnlyCallers: ["operator"],
        publicServices: ["oo.gateway.v1.Gateway", "oo.example.v1.Greeter"])

    /// A policy's answer.
    public enum Decision: Sendable, Hashable {
        case allow
        /// Denied; the reason names the caller and the method.
        case deny(String)
    }

    /// The workload name in `identity` (its `spiffe://TRUST-DOMAIN/NAME` URI SAN); nil when it
    /// has none of this trust domain.
    public func workload(of identity: PeerIdentity?) -> String? {
        let prefix = "URI:spiffe://\(trustDomain)/"
        guard let uri = identity?.subjectAlternativeNames.first(where: { $0.hasPrefix(prefix) }) else { return nil }
        let name = uri.dropFirst(prefix.count)
        return name.isEmpty || name.contains("/") ? nil : String(name)
    }

    /// Whether `caller` may call `method`.
    public func decide(caller identity: PeerIdentity?, method: MethodDescriptor) -> Decision {
        if publicServices.contains(method.service) { return .allow }
        guard let caller = workload(of: identity) else {
            let who = identity.map { "a certificate without a spiffe://\(trustDomain)/ identity (\($0.subject))" } ?? "no client certificate"
            return .deny("\(method.path) needs a caller of this mesh; the caller presented \(who).")
        }
        let candidates = rules.filter { $0.method == "\(method.service)/\(method.method)" || $0.method == "\(method.service)/*" }
        if candidates.contains(where: { $0.allow.contains("*") || $0.allow.contains(caller) }) { return .allow }
        if readOnlyCallers.contains(caller), readOnlyPrefixes.contains(where: { method.method.hasPrefix($0) }) { return .allow }
        return .deny("spiffe://\(trustDomain)/\(caller) may not call \(method.path).")
    }
}

/// Enforces an ``AuthorizationPolicy`` on every call: a denied call fails with
/// PERMISSION_DENIED before its handler runs, and `onDenied` hears of it (to log and count).
public struct AuthorizationInterceptor: ServerInterceptor {
    public let policy: AuthorizationPolicy
    private let onDenied: @Sendable (_ caller: String, _ method: MethodDescriptor, _ reason: String) -> Void

    public init(policy: AuthorizationPolicy,
                onDenied: @escaping @Sendable (_ caller: String, _ method: MethodDescriptor, _ reason: String) -> Void = { _, _, _ in }) {
        self.policy = policy
        self.onDenied = onDenied
    }

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        switch policy.decide(caller: context.peerIdentity, method: context.descriptor) {
        case .allow:
            try await next(context)
        case .deny(let reason):
            onDenied(policy.workload(of: context.peerIdentity) ?? "unauthenticated", context.descriptor, reason)
            throw RPCError(code: .permissionDenied, message: reason)
        }
    }
}
