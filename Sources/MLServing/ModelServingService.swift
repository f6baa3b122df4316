import Foundation
import Logging
import MLProtos
import OOHealth
import OOMesh
import OOSchema
import OOStorage
import RegistryProtos
import SchemaRegistry
import SwiftProtobuf
import Synchronization

/// `oo.ml.v1.ModelServing`: contextual-bandit scoring of tip candidates and online learning
/// from their rewards, with every policy's state persisted and the model checked against
/// the schema registry for train/serve parity.
///
/// - **Score** runs every configured policy on every candidate (the active one marked),
///   timing each, and appends one `FeatureLogRecord` per candidate to the served feature
///   log. At most `maxCandidates` per request.
/// - **Update** validates the reward (finite, 0 to 1), appends it to the update log and
///   commits (`synchronous = FULL`) before any policy learns it or the caller hears back;
///   every `snapshotEvery` updates all policies are snapshotted in one transaction and the
///   covered log rows deleted. The update log therefore holds at most `snapshotEvery` rows
///   (more only while snapshots fail, which is logged), each at most ``maxFeatureBytes`` of
///   features, and `policy_snapshots` one row per policy name: both are bounded. The
///   trade-off: the log is not kept for retraining or for restarting a policy whose kind
///   changed (such a policy starts from the rows after the last snapshot only). ``open(configuration:servingSchema:health:registry:logger:)``
///   loads the snapshots and replays the rows after them, so a restart — clean or a crash
///   — resumes the learned state exactly.
/// - **DeleteUserData** deletes the user's update-log rows (after snapshotting, so what
///   the aggregates learned from them is kept and a restart does not need them).
/// - **Parity**: the model record (`ModelArtifact`) names the feature schema it was
///   trained on; at start the serving schema is registered and ``SchemaRegistry/ModelSchemaGate``
///   judges it against the training schema. Refused: health NOT_SERVING for
///   ``serviceName`` with the reason, and Score and Update answer FAILED_PRECONDITION.
///
/// Policies live in memory, each behind its own `Mutex`; SQLite runs on the store's serial
/// queue, never on Swift's cooperative threads; the served log has its own queue.
///
/// ```swift
/// let health = HealthMonitor()
/// let service = try await withGRPCClient(transport: try HTTP2ClientTransport(host: "registry", port: 7001)) { client in
///     try await ModelServingService.open(
///         configuration: configuration, servingSchema: featuresSchema, health: health,
///         registry: Oo_Registry_V1_SchemaRegistry_Client(wrapping: client))
/// }
/// let server = GRPCServer(transport: transport, services: [service, HealthService(monitor: health)])
/// try await server.serve()
/// await service.shutdown()
/// ```
public final class ModelServingService: Oo_Ml_V1_ModelServing_ServiceProtocol, Sendable {
    /// The service's name in health reports: "oo.ml.v1.ModelServing".
    public static let serviceName = "oo.ml.v1.ModelServing"

    /// The configuration it runs with.
    public let configuration: MLServingConfiguration
    /// The id of the serving feature schema (content-derived, as the registry gives it);
    /// every served `FeatureLogRecord` carries it.
    public let servingSchemaID: String

    private struct State {
        var status: ModelStatus = .starting
        var closed = false
    }

    private let servingSchema: SchemaSet
    private let database: ModelDatabase
    private let engine: PolicyEngine
    private let servedLog: ServedFeatureLogWriter?
    private let health: HealthMonitor
    private let logger: Logger
    private let state = Mutex(State())

    /// Arm (tip category) names longer than this many bytes are refused in updates.
    public static let maxArmNameBytes = 128
    /// User and request ids longer than this many bytes are refused in updates.
    public static let maxIDBytes = 1024
    /// A candidate's or an update's `TipFeatures` may serialize to at most this many bytes
    /// (a real one is about a hundred): they are written to the update log and the served
    /// feature log, which must not be filled by a few huge strings.
    public static let maxFeatureBytes = 16 << 10

    private init(
        configuration: MLServingConfiguration, servingSchema: SchemaSet, database: ModelDatabase, engine: PolicyEngine,
        servedLog: ServedFeatureLogWriter?, health: HealthMonitor, logger: Logger
    ) {
        self.configuration = configuration
        self.servingSchema = servingSchema
        self.servingSchemaID = servingSchema.id
        self.database = database
        self.engine = engine
        self.servedLog = servedLog
        self.health = health
        self.logger = logger
    }

    /// Opens the database (creating it), restores every policy from its snapshot plus the
    /// update log after it, opens the served feature log, then checks the model
    /// (``checkModel(registry:)``) and sets health for ``serviceName`` accordingly.
    ///
    /// - Parameters:
    ///   - configuration: what to run; validated first.
    ///   - servingSchema: the feature schema serving sends (features.proto's descriptor set,
    ///     with `oo.ml.v1.TipFeatures`).
    ///   - health: where the service's status is reported.
    ///   - registry: a client of the schema registry (the caller keeps it running while
    ///     this returns; it is not used afterwards); nil: no parity check, the model is
    ///     "unchecked" and serves. Each registry call is bounded by
    ///     `configuration.registryCallTimeout`.
    ///   - logger: where restores, refusals and failures are logged.
    /// - Throws: ``MLServingError`` for a bad configuration, a database or served log that
    ///   cannot be opened or read. A refused model does not throw: the service runs,
    ///   NOT_SERVING, and says why.
    public static func open(
        configuration: MLServingConfiguration,
        servingSchema: SchemaSet,
        health: HealthMonitor,
        registry: Oo_Registry_V1_SchemaRegistry_Client? = nil,
        logger: Logger = Logger(label: "oo.ml-serving")
    ) async throws -> ModelServingService {
        try configuration.validate()
        if let address = configuration.registryAddress, registry == nil {
            throw MLServingError("registryAddress is \(address) but no registry client was given; connect one to it and pass it as `registry`.")
        }
        health.setStatus(.notServing, for: serviceName, reason: "starting: restoring policies")
        let database = try ModelDatabase(path: configuration.databasePath)
        let engine = try await restore(configuration, database, logger)
        let servedLog = try configuration.servedFeatureLog.path.map { path throws(MLServingError) in
            try ServedFeatureLogWriter(
                path: path, maxBytes: configuration.servedFeatureLog.maxBytes,
                maxPendingRecords: configuration.servedFeatureLog.maxPendingRecords,
                maxPendingBytes: configuration.servedFeatureLog.maxPendingBytes, logger: logger)
        }
        let service = ModelServingService(
            configuration: configuration, servingSchema: servingSchema, database: database, engine: engine,
            servedLog: servedLog, health: health, logger: logger)
        await service.checkModel(registry: registry)
        return service
    }

    /// The model's status: admitted, unchecked (no registry) or refused with why.
    public var modelStatus: ModelStatus { state.withLock { $0.status } }

    // MARK: - Restoring

    /// Builds every configured policy from its snapshot (or afresh) and replays the update
    /// log after it, on the database's queue.
    private static func restore(_ configuration: MLServingConfiguration, _ database: ModelDatabase, _ logger: Logger) async throws(MLServingError) -> PolicyEngine {
        do {
            return try await database.store.exclusive { db in
                let snapshots = try ModelDatabase.snapshots(db)
                var slots: [PolicyEngine.Slot] = []
                var after: [String: Int64] = [:]
                for policy in configuration.policies {
                    let (restored, seq) = restorePolicy(policy, snapshots[policy.name], configuration, logger)
                    after[policy.name] = seq
                    slots.append(PolicyEngine.Slot(name: policy.name, active: policy.name == configuration.activePolicy, policy: restored))
                }
                let engine = PolicyEngine(slots: slots)
                let oldest = after.values.min() ?? 0
                var cursor = oldest
                var replayed = 0
                while true {
                    let rows = try ModelDatabase.updates(db, after: cursor, limit: 1_000)
                    guard let last = rows.last else { break }
                    for row in rows {
                        guard let features = row.features else {
                            logger.error("Update-log row \(row.seq) does not hold TipFeatures; it is skipped.")
                            continue
                        }
                        let refusals = engine.apply(
                            seq: row.seq, arm: TipFeaturizer.arm(of: features), features: TipFeaturizer.vector(features),
                            reward: row.reward, after: after)
                        for (name, error) in refusals { logger.error("Replaying update \(row.seq) into policy '\(name)' failed: \(error)") }
                        replayed += 1
                    }
                    cursor = last.seq
                }
                let newest = after.values.max() ?? 0
                engine.progress.withLock {
                    $0.lastApplied = max(newest, cursor)
                    $0.sinceSnapshot = replayed
                }
                logger.info("Restored \(slots.count) policies from snapshots at update \(newest) and replayed \(replayed) logged updates.")
                return engine
            }
        } catch let error as MLServingError {
            throw error
        } catch {
            throw MLServingError("Cannot restore the policies from \(configuration.databasePath): \(error)")
        }
    }

    /// One policy from its snapshot, adjusted to the configured parameters, or a fresh one
    /// when there is no usable snapshot; with the last update its state includes.
    private static func restorePolicy(
        _ policy: MLServingConfiguration.Policy, _ snapshot: ModelDatabase.Snapshot?, _ configuration: MLServingConfiguration, _ logger: Logger
    ) -> (any BanditPolicy, Int64) {
        func fresh() -> any BanditPolicy {
            // Validated with the configuration: cannot fail.
            try! PolicySnapshot.make(
                policy.kind, dimension: TipFeaturizer.dimension, maxArms: configuration.maxArms,
                seed: SeededRandom.seed(configuration.seed, for: policy.name))
        }
        guard let snapshot else { return (fresh(), 0) }
        let restored: any BanditPolicy
        do {
            restored = try PolicySnapshot.restore(snapshot.state)
        } catch {
            logger.error("The snapshot of policy '\(policy.name)' cannot be read (\(error)); it starts afresh from the update log.")
            return (fresh(), 0)
        }
        guard restored.kind.sameKind(as: policy.kind), restored.dimension == TipFeaturizer.dimension else {
            logger.warning(
                "Policy '\(policy.name)' was a \(restored.kind) over \(restored.dimension) features and is now configured as \(policy.kind) over \(TipFeaturizer.dimension); it starts afresh from the update log.")
            return (fresh(), 0)
        }
        if restored.kind != policy.kind {
            logger.info("Policy '\(policy.name)': parameters change from \(restored.kind) to \(policy.kind); its learned statistics are kept.")
        }
        return (PolicySnapshot.adjusted(restored, to: policy.kind, maxArms: configuration.maxArms), snapshot.seq)
    }

    // MARK: - Train/serve parity

    /// Checks the model against the registry and sets ``modelStatus`` and health: with a
    /// registry, registers the serving schema under the feature subject, records the model
    /// as trained on it the first time, then asks ``SchemaRegistry/ModelSchemaGate`` whether
    /// the serving schema is compatible with the model's training schema. Without one the
    /// model is "unchecked" and serves. Every registry call is bounded by
    /// `configuration.registryCallTimeout`; a registry that cannot be reached refuses the
    /// model (NOT_SERVING) until a later check succeeds.
    @discardableResult
    public func checkModel(registry: Oo_Registry_V1_SchemaRegistry_Client?) async -> ModelStatus {
        let status = await decideModelStatus(registry)
        state.withLock { $0.status = status }
        switch status {
        case .admitted(let schemaID):
            logger.info("Model admitted on feature schema \(schemaID).")
            health.setStatus(.serving, for: Self.serviceName, reason: "model admitted on feature schema \(schemaID)")
        case .unchecked:
            logger.warning("No schema registry configured: the model serves unchecked.")
            health.setStatus(.serving, for: Self.serviceName, reason: status.description)
        case .refused(let reason):
            logger.error("Model refused: \(reason)")
            health.setStatus(.notServing, for: Self.serviceName, reason: reason)
        case .starting:
            break
        }
        return status
    }

    private func decideModelStatus(_ registry: Oo_Registry_V1_SchemaRegistry_Client?) async -> ModelStatus {
        guard let registry else {
            do {
                _ = try await modelRecord(creatingWith: servingSchemaID)
            } catch {
                return .refused(reason: "ml-serving's database cannot record the model: \(error)")
            }
            return .unchecked
        }
        let bounded = Oo_Registry_V1_SchemaRegistry_Client(
            wrapping: GRPCClient(transport: registry.client.transport, interceptors: [RegistryDeadline(timeout: configuration.registryCallTimeout)]))
        let subject = configuration.featureSubject

        // 1. Register the serving schema, so the ids in the served log resolve.
        var registeredID: String?
        var registrationRefusal: String?
        do {
            let descriptorSet = try Google_Protobuf_FileDescriptorSet.with { $0.file = servingSchema.files }.serializedData()
            let response = try await bounded.register(.with {
                $0.subject = subject
                $0.fileDescriptorSet = descriptorSet
            })
            registeredID = response.schemaID
        } catch let error as RPCError where error.code == .failedPrecondition || error.code == .invalidArgument {
            registrationRefusal = error.message
        } catch {
            return .refused(reason: registryFailure(error))
        }

        // 2. The model record: the first start records the model as trained on this schema.
        let model: Oo_Ml_V1_ModelArtifact
        do {
            if let registeredID {
                model = try await modelRecord(creatingWith: registeredID)
            } else if let existing = try await existingModelRecord() {
                model = existing
            } else {
                return .refused(reason: "the registry refused the serving feature schema \(servingSchemaID) under '\(subject)', so no model can be recorded: \(registrationRefusal ?? "")")
            }
        } catch {
            return .refused(reason: "ml-serving's database cannot read or record the model: \(error)")
        }

        // 3. The gate: is the serving schema compatible with the training schema?
        do {
            try await ModelSchemaGate(registry: bounded).admit(
                modelID: model.modelID, featureSubject: model.featureSubject, trainingSchemaID: model.featureSchemaID, serving: servingSchema)
        } catch let refusal as ModelSchemaGate.Refusal {
            return .refused(reason: "\(refusal.description). Serve features compatible with the training schema, or retrain the model on the new schema.")
        } catch {
            return .refused(reason: registryFailure(error))
        }
        if let registrationRefusal {
            return .refused(reason: "the model admits the serving feature schema \(servingSchemaID), but the registry refused to register it under '\(subject)': \(registrationRefusal)")
        }
        return .admitted(schemaID: registeredID ?? servingSchemaID)
    }

    private func registryFailure(_ error: any Error) -> String {
        if let error = error as? RPCError {
            if error.code == .deadlineExceeded {
                return "the schema registry did not answer within \(configuration.registryCallTimeout), so the model's feature schema cannot be checked (\(error.message))."
            }
            return "the schema registry cannot be asked whether the model's feature schema matches (\(error.code): \(error.message))."
        }
        return "the schema registry cannot be asked whether the model's feature schema matches (\(error))."
    }

    /// The recorded model, or a new record (trained on `schemaID`) when there is none.
    private func modelRecord(creatingWith schemaID: String) async throws -> Oo_Ml_V1_ModelArtifact {
        let artifact = Oo_Ml_V1_ModelArtifact.with {
            $0.modelID = configuration.modelID
            $0.featureSubject = configuration.featureSubject
            $0.featureSchemaID = schemaID
            $0.featureMessage = configuration.featureMessage
            $0.parameters = Data(configuration.policies.map { "\($0.name)=\($0.kind)" }.joined(separator: ";").utf8)
        }
        return try await database.store.write { db in
            if let existing = try ModelDatabase.model(db) { return existing }
            try ModelDatabase.saveModel(db, artifact)
            return artifact
        }
    }

    private func existingModelRecord() async throws -> Oo_Ml_V1_ModelArtifact? {
        try await database.store.exclusive { db in try ModelDatabase.model(db) }
    }

    /// The recorded model: its id and the feature schema it was trained on; nil before
    /// the first check.
    public func modelRecord() async throws -> Oo_Ml_V1_ModelArtifact? {
        try await existingModelRecord()
    }

    // MARK: - RPCs

    public func score(request: Oo_Ml_V1_ScoreRequest, context: ServerContext) async throws -> Oo_Ml_V1_ScoreResponse {
        let status = try requireServing("Score")
        guard !request.candidates.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "ScoreRequest.candidates is empty; send at least one candidate to score.")
        }
        guard request.candidates.count <= configuration.maxCandidates else {
            throw RPCError(
                code: .invalidArgument,
                message: "ScoreRequest has \(request.candidates.count) candidates; at most \(configuration.maxCandidates) are scored per request. Split the request or pre-filter the candidates.")
        }
        if let index = request.candidates.firstIndex(where: { !$0.hasFeatures }) {
            throw RPCError(
                code: .invalidArgument,
                message: "ScoreRequest.candidates[\(index)] (candidate_id '\(request.candidates[index].candidateID)') has no features; every candidate needs its TipFeatures.")
        }
        // Encoded once: measured here, and the same bytes go to the served-feature log.
        var encoded: [Data] = []
        encoded.reserveCapacity(request.candidates.count)
        for (index, candidate) in request.candidates.enumerated() {
            let bytes = try candidate.features.serializedData()
            encoded.append(bytes)
            let size = bytes.count
            guard size <= Self.maxFeatureBytes else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "ScoreRequest.candidates[\(index)].features is \(size) bytes; at most \(Self.maxFeatureBytes) are allowed.")
            }
        }
        var response = Oo_Ml_V1_ScoreResponse()
        response.policies = try scoreOnly(request.candidates)
        if case .admitted(let schemaID) = status { response.featureSchemaID = schemaID }
        servedLog?.append(
            requestID: request.requestID, schemaID: servingSchemaID, encodedFeatures: encoded,
            timestampMs: ModelDatabase.now())
        return response
    }

    /// Every policy's scores for `candidates`, with nothing else: no status check, no
    /// validation, no served log. For benchmarks and callers in the same process
    /// (featurizing plus scoring 50 candidates under the four default policies takes tens
    /// of microseconds).
    ///
    /// - Throws: `RPCError` INTERNAL if a policy refuses the vectors (it cannot: the
    ///   featurizer's length is the policies').
    public func scoreOnly(_ candidates: [Oo_Ml_V1_Candidate]) throws -> [Oo_Ml_V1_PolicyScores] {
        let inputs = candidates.map { PolicyCandidate(arm: TipFeaturizer.arm(of: $0.features), features: TipFeaturizer.vector($0.features)) }
        do {
            return try engine.score(inputs)
        } catch {
            throw RPCError(code: .internal, message: "A policy could not score the candidates: \(error)", cause: error)
        }
    }

    public func update(request: Oo_Ml_V1_UpdateRequest, context: ServerContext) async throws -> Oo_Ml_V1_UpdateResponse {
        try requireServing("Update")
        guard request.hasFeatures else {
            throw RPCError(code: .invalidArgument, message: "UpdateRequest.features is missing; send the chosen candidate's TipFeatures.")
        }
        let reward = request.reward
        guard reward.isFinite, reward >= 0, reward <= 1 else {
            throw RPCError(code: .invalidArgument, message: "UpdateRequest.reward must be a finite number from 0 to 1, got \(reward).")
        }
        let arm = TipFeaturizer.arm(of: request.features)
        guard arm.utf8.count <= Self.maxArmNameBytes else {
            throw RPCError(code: .invalidArgument, message: "UpdateRequest.features.tip_category is \(arm.utf8.count) bytes long; at most \(Self.maxArmNameBytes) are allowed.")
        }
        guard request.userID.utf8.count <= Self.maxIDBytes, request.requestID.utf8.count <= Self.maxIDBytes else {
            throw RPCError(code: .invalidArgument, message: "UpdateRequest.user_id and request_id must be at most \(Self.maxIDBytes) bytes long.")
        }
        let features = TipFeaturizer.vector(request.features)
        let bytes = try request.features.serializedData()
        guard bytes.count <= Self.maxFeatureBytes else {
            throw RPCError(
                code: .invalidArgument, message: "UpdateRequest.features is \(bytes.count) bytes; at most \(Self.maxFeatureBytes) are allowed.")
        }
        let (userID, requestID) = (request.userID, request.requestID)
        let (engine, snapshotEvery, logger) = (engine, configuration.snapshotEvery, logger)
        let updates = try await storage {
            try await database.store.exclusive { db in
                // On the store's queue: log, commit, then learn — in sequence order.
                if let refusal = engine.refusal(forLearning: arm) {
                    throw RPCError(code: .resourceExhausted, message: refusal.description)
                }
                guard let seq = try db.transaction({
                    try ModelDatabase.append(db, userID: userID, requestID: requestID, features: bytes, reward: reward)
                }) else {
                    return engine.updates  // a resent update, applied already: idempotent
                }
                for (name, error) in engine.apply(seq: seq, arm: arm, features: features, reward: reward) {
                    logger.error("Policy '\(name)' could not learn update \(seq): \(error)")
                }
                if engine.progress.withLock({ $0.sinceSnapshot }) >= snapshotEvery {
                    do {
                        try Self.takeSnapshot(db, engine, compact: true)
                    } catch {
                        logger.error("Snapshotting the policies failed (the update log keeps every update; retried at the next one): \(error)")
                    }
                }
                return engine.updates
            }
        }
        return .with { $0.updates = updates }
    }

    public func listPolicies(request: Oo_Ml_V1_ListPoliciesRequest, context: ServerContext) async throws -> Oo_Ml_V1_ListPoliciesResponse {
        var response = Oo_Ml_V1_ListPoliciesResponse()
        response.policies = engine.infos()
        response.modelStatus = modelStatus.description
        return response
    }

    public func deleteUserData(
        request: Oo_Ml_V1_DeleteUserDataRequest, context: ServerContext
    ) async throws -> Oo_Ml_V1_DeleteUserDataResponse {
        guard !request.userID.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "DeleteUserDataRequest.user_id is empty; name the user whose records to delete.")
        }
        let (userID, engine) = (request.userID, engine)
        let deleted = try await storage {
            try await database.store.exclusive { db in
                // On the store's queue, so no update is applied meanwhile.
                let count = try db.transaction { () throws -> Int64 in
                    let count = try db.query("SELECT COUNT(*) FROM update_log WHERE user_id = ?", [.text(userID)]).first?.first?.integer ?? 0
                    guard count > 0 else { return 0 }
                    // Snapshot first: the aggregates keep what these rows taught them, and a
                    // restart no longer needs the rows.
                    let seq = engine.progress.withLock { $0.lastApplied }
                    try ModelDatabase.writeSnapshots(db, engine.snapshots(), seq: seq)
                    try db.query("DELETE FROM update_log WHERE user_id = ?", [.text(userID)])
                    return count
                }
                if count > 0 { engine.progress.withLock { $0.sinceSnapshot = 0 } }
                return count
            }
        }
        return .with { $0.recordsDeleted = deleted }
    }

    // MARK: - Lifecycle

    /// Waits until every served-log record enqueued so far is written.
    public func flushServedFeatureLog() async {
        await servedLog?.flush()
    }

    /// Stops taking Score and Update calls (UNAVAILABLE), snapshots the policies if they
    /// learned anything since the last snapshot, and flushes and closes the served log.
    /// Call it after the server has stopped. Idempotent.
    public func shutdown() async {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        let engine = engine
        do {
            try await database.store.exclusive { db in
                if engine.progress.withLock({ $0.sinceSnapshot }) > 0 { try Self.takeSnapshot(db, engine, compact: true) }
            }
        } catch {
            logger.error("The final snapshot failed (the update log keeps every update): \(error)")
        }
        await servedLog?.close()
    }

    /// Snapshots every policy at the last applied update in one transaction and, with
    /// `compact`, deletes the update-log rows it covers. On the store's queue.
    private static func takeSnapshot(_ db: SQLiteDatabase, _ engine: PolicyEngine, compact: Bool) throws {
        let seq = engine.progress.withLock { $0.lastApplied }
        let states = engine.snapshots()
        try db.transaction {
            try ModelDatabase.writeSnapshots(db, states, seq: seq)
            if compact { try db.query("DELETE FROM update_log WHERE seq <= ?", [.integer(seq)]) }
        }
        engine.progress.withLock { $0.sinceSnapshot = 0 }
    }

    /// The model's status, if Score and Update may run; else the error to answer.
    @discardableResult
    private func requireServing(_ method: String) throws -> ModelStatus {
        let (status, closed) = state.withLock { ($0.status, $0.closed) }
        if closed { throw RPCError(code: .unavailable, message: "ml-serving is shutting down; retry \(method) on another instance.") }
        switch status {
        case .admitted, .unchecked:
            return status
        case .starting:
            throw RPCError(code: .unavailable, message: "ml-serving is still starting; retry \(method) shortly.")
        case .refused(let reason):
            throw RPCError(code: .failedPrecondition, message: "The model is refused, so \(method) is not served: \(reason)")
        }
    }

    /// Storage failures become UNAVAILABLE with SQLite's message; RPC errors pass.
    private func storage<Value: Sendable>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as RPCError {
            throw error
        } catch let error as StorageError {
            throw RPCError(code: .unavailable, message: "ml-serving's database failed: \(error.message)", cause: error)
        } catch {
            throw RPCError(code: .internal, message: "ml-serving failed: \(error)", cause: error)
        }
    }
}
