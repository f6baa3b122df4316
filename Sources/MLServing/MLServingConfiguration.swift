/// ml-serving's configuration: where it keeps its state, which policies it runs and how
/// it checks its model against the schema registry. Every field has a documented default;
/// ``defaults`` is what `oo serve ml-serving` uses unless told otherwise.
///
/// ```swift
/// var configuration = MLServingConfiguration.defaults
/// configuration.databasePath = "/var/lib/oo/ml-serving.sqlite"
/// configuration.activePolicy = "thompson"
/// ```
public struct MLServingConfiguration: Sendable, Hashable {
    /// One configured policy: its name (unique; what ``activePolicy``, `PolicyScores.policy`
    /// and the snapshots call it) and its kind with parameters.
    public struct Policy: Sendable, Hashable {
        /// The policy's name, e.g. "linucb".
        public var name: String
        /// Its kind and parameters.
        public var kind: PolicyKind

        /// A policy called `name` of `kind`.
        public init(name: String, kind: PolicyKind) {
            self.name = name
            self.kind = kind
        }
    }

    /// The served feature log: one `oo.ml.v1.FeatureLogRecord` per scored candidate,
    /// length-delimited (as `oo schema parity` reads it).
    public struct ServedFeatureLog: Sendable, Hashable {
        /// The file appended to; nil turns the log off. Defaults to "oo-ml-served.featlog".
        public var path: String?
        /// When the file would grow past this many bytes it is renamed to `<path>.1`
        /// (replacing the previous one: one old file is kept) and a new one is started.
        /// Defaults to 64 MiB.
        public var maxBytes: Int
        /// Records waiting to be written beyond this many are dropped (and counted in the
        /// log) rather than queued without bound when the disk is slow. Defaults to 100,000.
        public var maxPendingRecords: Int
        /// Records waiting to be written are dropped (and counted) once they would hold
        /// more than this many bytes, whatever their number. Defaults to 32 MiB.
        public var maxPendingBytes: Int

        /// A served log at `path`.
        public init(
            path: String? = "oo-ml-served.featlog", maxBytes: Int = 64 << 20, maxPendingRecords: Int = 100_000,
            maxPendingBytes: Int = 32 << 20
        ) {
            self.path = path
            self.maxBytes = maxBytes
            self.maxPendingRecords = maxPendingRecords
            self.maxPendingBytes = maxPendingBytes
        }
    }

    /// The SQLite file holding the model record, policy snapshots and the update log
    /// (created if missing). Defaults to "oo-ml-serving.sqlite".
    public var databasePath: String
    /// The served feature log. Defaults to ``ServedFeatureLog/init(path:maxBytes:maxPendingRecords:)``'s defaults.
    public var servedFeatureLog: ServedFeatureLog
    /// The policies, all scoring every request. Defaults to "linucb" (LinUCB, α = 1.0),
    /// "thompson" (linear Thompson sampling, v = 0.25), "epsilon_greedy" (ε = 0.1) and
    /// "random".
    public var policies: [Policy]
    /// The name of the policy whose pick is the answer; the others are shadows. Defaults
    /// to "linucb".
    public var activePolicy: String
    /// Every this many updates, all policies are snapshotted in one transaction and the
    /// update-log rows the snapshot covers are deleted. Defaults to 500.
    public var snapshotEvery: Int
    /// The seed of the exploring policies' random streams (each policy derives its own from
    /// it and its name). Defaults to 0x6F4F_6D65_7368 ("oOmesh").
    public var seed: UInt64
    /// At most this many arms (tip categories) are learned; updates for more are refused
    /// with RESOURCE_EXHAUSTED. Defaults to 256.
    public var maxArms: Int
    /// Score requests with more candidates are refused with INVALID_ARGUMENT. Defaults to
    /// 1,000.
    public var maxCandidates: Int
    /// The model's id, recorded the first time it starts (`ModelArtifact.model_id`).
    /// Defaults to "tip-bandit".
    public var modelID: String
    /// The registry subject of the feature schema. Defaults to "oo.ml.v1.TipFeatures".
    public var featureSubject: String
    /// The full name of the feature message. Defaults to "oo.ml.v1.TipFeatures".
    public var featureMessage: String
    /// The schema registry, `host:port`, that `oo serve ml-serving` connects to; nil (the
    /// default) runs without one, the model "unchecked". The library itself uses the client
    /// passed to ``ModelServingService/open(configuration:servingSchema:health:registry:logger:)``.
    public var registryAddress: String?
    /// Each call to the registry (registering the serving schema, the parity gate's
    /// lookups) must answer within this. Defaults to 5 seconds.
    public var registryCallTimeout: Duration

    /// A configuration; every argument defaults as documented on its property.
    public init(
        databasePath: String = "oo-ml-serving.sqlite",
        servedFeatureLog: ServedFeatureLog = ServedFeatureLog(),
        policies: [Policy] = MLServingConfiguration.defaultPolicies,
        activePolicy: String = "linucb",
        snapshotEvery: Int = 500,
        seed: UInt64 = 0x6F4F_6D65_7368,
        maxArms: Int = 256,
        maxCandidates: Int = 1_000,
        modelID: String = "tip-bandit",
        featureSubject: String = "oo.ml.v1.TipFeatures",
        featureMessage: String = "oo.ml.v1.TipFeatures",
        registryAddress: String? = nil,
        registryCallTimeout: Duration = .seconds(5)
    ) {
        self.databasePath = databasePath
        self.servedFeatureLog = servedFeatureLog
        self.policies = policies
        self.activePolicy = activePolicy
        self.snapshotEvery = snapshotEvery
        self.seed = seed
        self.maxArms = maxArms
        self.maxCandidates = maxCandidates
        self.modelID = modelID
        self.featureSubject = featureSubject
        self.featureMessage = featureMessage
        self.registryAddress = registryAddress
        self.registryCallTimeout = registryCallTimeout
    }

    /// Every default.
    public static var defaults: MLServingConfiguration { MLServingConfiguration() }

    /// LinUCB (α = 1.0, active by default), Thompson sampling (v = 0.25), ε-greedy
    /// (ε = 0.1) and uniform random.
    public static let defaultPolicies: [Policy] = [
        Policy(name: "linucb", kind: .linUCB(alpha: 1.0)),
        Policy(name: "thompson", kind: .thompson(v: 0.25)),
        Policy(name: "epsilon_greedy", kind: .epsilonGreedy(epsilon: 0.1)),
        Policy(name: "random", kind: .random),
    ]

    /// Checks the configuration as a whole.
    ///
    /// - Throws: ``MLServingError`` naming the field: no policies, duplicate or empty
    ///   names, an active policy that is not configured, parameters out of range,
    ///   snapshotEvery, maxArms, maxCandidates or the log's maxBytes below 1.
    public func validate() throws(MLServingError) {
        guard !policies.isEmpty else { throw MLServingError("Configure at least one policy.") }
        var names: Set<String> = []
        for policy in policies {
            guard !policy.name.isEmpty else { throw MLServingError("A policy has an empty name; give every policy a unique name.") }
            guard names.insert(policy.name).inserted else {
                throw MLServingError("Two policies are named '\(policy.name)'; policy names must be unique.")
            }
            do {
                _ = try PolicySnapshot.make(policy.kind, dimension: TipFeaturizer.dimension, maxArms: max(maxArms, 1))
            } catch {
                throw MLServingError("Policy '\(policy.name)': \(error)")
            }
        }
        guard names.contains(activePolicy) else {
            throw MLServingError("The active policy '\(activePolicy)' is not configured; choose one of \(policies.map(\.name).joined(separator: ", ")).")
        }
        guard snapshotEvery >= 1 else { throw MLServingError("snapshotEvery must be at least 1, got \(snapshotEvery).") }
        guard (1...1_000_000).contains(maxArms) else { throw MLServingError("maxArms must be 1 to 1,000,000, got \(maxArms).") }
        guard maxCandidates >= 1 else { throw MLServingError("maxCandidates must be at least 1, got \(maxCandidates).") }
        guard servedFeatureLog.maxPendingRecords >= 1, servedFeatureLog.maxPendingBytes >= 1 else {
            throw MLServingError("servedFeatureLog.maxPendingRecords and maxPendingBytes must be at least 1.")
        }
        guard servedFeatureLog.maxBytes >= 1 else { throw MLServingError("servedFeatureLog.maxBytes must be at least 1, got \(servedFeatureLog.maxBytes).") }
        guard registryCallTimeout > .zero else { throw MLServingError("registryCallTimeout must be positive, got \(registryCallTimeout).") }
    }
}

/// ml-serving could not start or run: a bad configuration, an unusable database or served
/// log. The message says what to fix.
public struct MLServingError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    public var description: String { message }

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }
}
