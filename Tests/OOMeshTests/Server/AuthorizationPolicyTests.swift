import Foundation
import OOMesh
import Testing

/// The mesh's authorization policy as a table: every method of every service against every
/// caller, and what a caller without an identity of the mesh gets.
@Suite("Authorization policy")
struct AuthorizationPolicyTests {
    private static let workloads = ["gateway", "recommender", "ml-serving", "notifier", "registry", "operator"]

    /// Who may call each method (the issue's table): `*` is every workload.
    private static let table: [String: [String: [String]]] = [
        "oo.recommender.v1.Recommender": Dictionary(uniqueKeysWithValues: [
            "Recommend", "RecordReaction", "ImportTasks", "SetTimezone", "DeleteUserData",
        ].map { ($0, ["gateway"]) } + [("ListTips", ["gateway", "operator"]), ("WatchTips", ["gateway", "operator"])]),
        "oo.ml.v1.ModelServing": [
            "Score": ["recommender"], "Update": ["recommender"], "DeleteUserData": ["gateway"], "ListPolicies": ["operator"],
        ],
        "oo.notifier.v1.Notifier": [
            "Deliver": ["gateway"], "SetPreferences": ["gateway"], "DeleteUserData": ["gateway"],
            "GetPreferences": ["gateway", "operator"], "ListDeliveries": ["gateway", "operator"],
        ],
        "oo.registry.v1.SchemaRegistry": [
            "Register": ["ml-serving", "operator"], "DeleteVersion": ["operator"], "SetCompatibility": ["operator"],
            "CheckCompatibility": ["*"], "GetSchema": ["*"], "GetVersion": ["*"], "ListVersions": ["*"], "ListSubjects": ["*"],
            "GetCompatibility": ["*"],
        ],
        "grpc.health.v1.Health": ["Check": ["*"], "Watch": ["*"]],
        "grpc.reflection.v1.ServerReflection": ["ServerReflectionInfo": ["*"]],
        "grpc.reflection.v1alpha.ServerReflection": ["ServerReflectionInfo": ["*"]],
    ]

    private func identity(_ name: String, domain: String = "oo.local") -> PeerIdentity {
        PeerIdentity(subject: "O=oO mesh,CN=\(name)", subjectAlternativeNames: ["DNS:\(name)", "URI:spiffe://\(domain)/\(name)"])
    }

    @Test("every method × every workload decides as the table says")
    func table() {
        let policy = AuthorizationPolicy.meshDefault
        for (service, methods) in Self.table {
            for (method, allowed) in methods {
                let descriptor = MethodDescriptor(service: service, method: method)
                for caller in Self.workloads {
                    let expected = allowed.contains("*") || allowed.contains(caller)
                    let decision = policy.decide(caller: identity(caller), method: descriptor)
                    #expect((decision == .allow) == expected, "\(caller) → \(descriptor.path): \(decision)")
                }
            }
        }
    }

    @Test("no certificate, another trust domain, or an unknown method: denied, saying who and what")
    func denials() {
        let policy = AuthorizationPolicy.meshDefault
        let update = MethodDescriptor(service: "oo.ml.v1.ModelServing", method: "Update")
        #expect(policy.decide(caller: nil, method: update)
                == .deny("/oo.ml.v1.ModelServing/Update needs a caller of this mesh; the caller presented no client certificate."))
        guard case .deny(let foreign) = policy.decide(caller: identity("recommender", domain: "evil.example"), method: update) else {
            Issue.record("a foreign trust domain was allowed")
            return
        }
        #expect(foreign.contains("without a spiffe://oo.local/ identity"))
        #expect(policy.decide(caller: identity("notifier"), method: update) == .deny("spiffe://oo.local/notifier may not call /oo.ml.v1.ModelServing/Update."))
        #expect(policy.decide(caller: identity("gateway"), method: MethodDescriptor(service: "oo.ml.v1.ModelServing", method: "Retrain"))
                != .allow, "a method no rule names is denied")
        // A path-like name is not a workload.
        let tricky = PeerIdentity(subject: "CN=x", subjectAlternativeNames: ["URI:spiffe://oo.local/gateway/extra"])
        #expect(policy.workload(of: tricky) == nil)
    }

    @Test("the gateway's API is public (tokens authenticate its callers), even without a certificate")
    func publicServices() {
        let policy = AuthorizationPolicy.meshDefault
        #expect(policy.decide(caller: nil, method: MethodDescriptor(service: "oo.gateway.v1.Gateway", method: "GetNextTip")) == .allow)
        #expect(policy.decide(caller: nil, method: MethodDescriptor(service: "grpc.health.v1.Health", method: "Check")) != .allow)
    }

    @Test("a policy round-trips through JSON, the override file's format")
    func json() throws {
        let data = try JSONEncoder().encode(AuthorizationPolicy.meshDefault)
        #expect(try JSONDecoder().decode(AuthorizationPolicy.self, from: data) == .meshDefault)
    }
}
