import Foundation
import OOMesh
import OOSchema
import RegistryProtos
import SwiftProtobuf

/// Decides whether a trained model may serve: the feature schema serving sends must be
/// compatible with the schema the model was trained on, under its subject's mode in the
/// registry. ml-serving asks it for every model it loads and refuses (health NOT_SERVING for
/// that model) the ones it rejects.
///
/// The serving schema is the candidate, the training schema the earlier version: FORWARD
/// means the model (a reader of the training schema) reads what serving writes, BACKWARD
/// the reverse, FULL both; the transitive modes mean the same here (one earlier version).
public struct ModelSchemaGate: Sendable {
    /// Why a model was refused.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        /// The model's id.
        public var modelID: String
        /// What is wrong, for the log and the health status.
        public var reason: String
        /// The breaking changes from the training schema to the serving one, if that is why.
        public var changes: [BreakingChange]

        public var description: String { "Model '\(modelID)' refused: \(reason)" }
    }

    private let registry: Oo_Registry_V1_SchemaRegistry_Client
    private let category: BreakingCategory

    /// A gate asking `registry`, judging with the rules of `category` (default WIRE_JSON).
    public init(registry: Oo_Registry_V1_SchemaRegistry_Client, category: BreakingCategory = .wireJSON) {
        self.registry = registry
        self.category = category
    }

    /// Accepts the model (returns the mode used) or throws ``Refusal``.
    @discardableResult
    public func admit(
        modelID: String, featureSubject: String, trainingSchemaID: String, serving: SchemaSet
    ) async throws -> CompatibilityMode {
        func refuse(_ reason: String, _ changes: [BreakingChange] = []) -> Refusal {
            Refusal(modelID: modelID, reason: reason, changes: changes)
        }
        guard !trainingSchemaID.isEmpty else {
            throw refuse("it records no feature schema id, so its training features cannot be checked.")
        }
        let trained: SchemaSet
        do {
            let response = try await registry.getSchema(.with { $0.schemaID = trainingSchemaID })
            trained = SchemaSet(descriptorSet: try Google_Protobuf_FileDescriptorSet(serializedBytes: response.fileDescriptorSet))
        } catch let error as RPCError where error.code == .notFound {
            throw refuse("its training feature schema \(trainingSchemaID) is not in the registry.")
        }
        let config = try await registry.getCompatibility(.with { $0.subject = featureSubject })
        guard let mode = SchemaRegistryService.mode(config.mode) else {
            throw refuse("the registry returned no compatibility mode for subject '\(featureSubject)'.")
        }
        if trained.id == serving.id || mode == .none { return mode }
        let changes = CompatibilityChecker(category: category).check(serving, against: [trained], mode: mode.nonTransitive)
        guard changes.isEmpty else {
            let listed = changes.prefix(10).map(\.textLine).joined(separator: "; ")
            throw refuse(
                "the serving feature schema \(serving.id) is incompatible (\(mode.rawValue)) with the training schema \(trainingSchemaID): \(listed)",
                changes)
        }
        return mode
    }
}
