import Foundation
import OOMesh
import OOSchema
import RegistryProtos
import SchemaRegistry
import SwiftProtobuf
import Testing

/// The registry side of train/serve parity: a model is admitted only when the serving
/// feature schema is compatible with the one it was trained on.
@Suite("Model schema gate")
struct ModelSchemaGateTests {
    static func schema(_ bytes: Data) throws -> SchemaSet {
        SchemaSet(descriptorSet: try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes))
    }

    @Test("the same or a compatible serving schema is admitted; an incompatible one is refused with the changes")
    func admitsAndRefuses() async throws {
        try await withRegistry { registry, _ in
            let subject = "oo.ml.v1.FeatureVector"
            let trained = try await registry.register(.with { $0.subject = subject; $0.fileDescriptorSet = features(["clicks", "dwell"]) })
            _ = try await registry.setCompatibility(.with { $0.subject = subject; $0.mode = .full })
            let gate = ModelSchemaGate(registry: registry)

            let same = try Self.schema(features(["clicks", "dwell"]))
            #expect(try await gate.admit(modelID: "m1", featureSubject: subject, trainingSchemaID: trained.schemaID, serving: same) == .full)

            // Serving sends one more feature: the model skips it (FULL still holds).
            let more = try Self.schema(features(["clicks", "dwell", "hour"]))
            try await gate.admit(modelID: "m1", featureSubject: subject, trainingSchemaID: trained.schemaID, serving: more)

            // Serving changed dwell's type: the model would read garbage.
            let changed = try Self.schema(features(["clicks", "dwell"], types: [.int32, .double]))
            let refusal = await #expect(throws: ModelSchemaGate.Refusal.self) {
                try await gate.admit(modelID: "m1", featureSubject: subject, trainingSchemaID: trained.schemaID, serving: changed)
            }
            // FULL: reported both ways (serving's data read by the model, and the reverse).
            #expect(Set(refusal?.changes.map(\.ruleID) ?? []) == ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"])
            #expect(refusal?.changes.isEmpty == false)
            #expect(refusal?.description.contains("Model 'm1' refused") == true)

            // A model whose training schema the registry does not know is refused too.
            let unknown = await #expect(throws: ModelSchemaGate.Refusal.self) {
                try await gate.admit(modelID: "m2", featureSubject: subject, trainingSchemaID: "0123", serving: same)
            }
            #expect(unknown?.reason.contains("not in the registry") == true)
        }
    }
}
