import Foundation
import OOMesh
import OOSchema
import RegistryProtos
import SchemaRegistry
import SwiftProtobuf
import Testing

/// The registry service through the generated client over the in-process transport, on a
/// real SQLite file.
@Suite("Schema registry service")
struct SchemaRegistryServiceTests {
    @Test("register, re-register the same schema, list, get by id and by version")
    func registerAndRead() async throws {
        try await withRegistry { registry, _ in
            let v1 = try await registry.register(.with { $0.subject = "oo.ml.v1.FeatureVector"; $0.fileDescriptorSet = features(["clicks"]) })
            #expect(v1.version == 1 && v1.created)
            let again = try await registry.register(.with { $0.subject = "oo.ml.v1.FeatureVector"; $0.fileDescriptorSet = features(["clicks"]) })
            #expect(again.version == 1 && !again.created && again.schemaID == v1.schemaID)
            let v2 = try await registry.register(.with { $0.subject = "oo.ml.v1.FeatureVector"; $0.fileDescriptorSet = features(["clicks", "dwell"]) })
            #expect(v2.version == 2 && v2.created && v2.schemaID != v1.schemaID)

            let versions = try await registry.listVersions(.with { $0.subject = "oo.ml.v1.FeatureVector" })
            #expect(versions.versions.map(\.version) == [1, 2])
            let latest = try await registry.getVersion(.with { $0.subject = "oo.ml.v1.FeatureVector" })
            #expect(latest.version == 2 && latest.schemaID == v2.schemaID)
            let byID = try await registry.getSchema(.with { $0.schemaID = v1.schemaID })
            let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: byID.fileDescriptorSet)
            #expect(set.file.first?.messageType.first?.field.map(\.name) == ["clicks"])
            #expect(try await registry.listSubjects(.init()).subjects == ["oo.ml.v1.FeatureVector"])
        }
    }

    @Test("the same schema gets the same id whatever its file order or source positions, in any subject")
    func stableIDs() async throws {
        try await withRegistry { registry, _ in
            var withSource = try Google_Protobuf_FileDescriptorSet(serializedBytes: twoFiles())
            withSource.file[0].sourceCodeInfo.location = [.with { $0.path = [4, 0]; $0.span = [3, 0, 10] }]
            withSource.file.reverse()
            let a = try await registry.register(.with { $0.subject = "a"; $0.fileDescriptorSet = twoFiles() })
            let b = try await registry.register(.with { $0.subject = "b"; $0.fileDescriptorSet = try withSource.serializedBytes() })
            #expect(a.schemaID == b.schemaID)
            #expect(a.schemaID.count == 32)
        }
    }

    @Test("an incompatible registration is refused with FAILED_PRECONDITION and the breaking changes; nothing is stored")
    func incompatibleRefused() async throws {
        try await withRegistry { registry, _ in
            _ = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["clicks"]) })
            let error = await #expect(throws: RPCError.self) {
                _ = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["clicks"], type: .int64) })
            }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.message.contains("FIELD_WIRE_JSON_COMPATIBLE_TYPE") == true, "\(String(describing: error))")
            #expect(error?.message.contains("BACKWARD") == true, "\(String(describing: error))")
            #expect(try await registry.listVersions(.with { $0.subject = "s" }).versions.count == 1)

            let check = try await registry.checkCompatibility(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["clicks"], type: .int64) })
            #expect(!check.compatible)
            #expect(check.mode == .backward)
            #expect(check.breakingChanges.map(\.ruleID) == ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"])
            #expect(check.breakingChanges.first?.againstVersion == 1)
        }
    }

    @Test("compatibility modes: per subject over the global default; NONE accepts anything; transitive checks every version")
    func modes() async throws {
        try await withRegistry { registry, _ in
            let global = try await registry.getCompatibility(.init())
            #expect(global.mode == .backward)
            _ = try await registry.setCompatibility(.with { $0.subject = "s"; $0.mode = .none })
            let subject = try await registry.getCompatibility(.with { $0.subject = "s" })
            #expect(subject.mode == .none && !subject.isDefault)
            #expect(try await registry.getCompatibility(.with { $0.subject = "other" }).isDefault)

            // v1 int32 clicks; v2 deletes it (allowed under NONE); v3 brings back 'clicks' as int64.
            _ = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["clicks"]) })
            _ = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["dwell"], firstNumber: 2) })
            _ = try await registry.setCompatibility(.with { $0.subject = "s"; $0.mode = .backward })
            let v3 = features(["clicks", "dwell"], type: .int64)
            #expect(try await registry.checkCompatibility(.with { $0.subject = "s"; $0.fileDescriptorSet = v3 }).compatible == false)
            // Against v2 alone, bringing 'clicks' back (as int64) is an addition: compatible.
            let v3Compatible = features(["clicks", "dwell"], types: [.int64, .int32])
            #expect(try await registry.checkCompatibility(.with { $0.subject = "s"; $0.fileDescriptorSet = v3Compatible }).compatible)
            _ = try await registry.setCompatibility(.with { $0.subject = "s"; $0.mode = .backwardTransitive })
            let transitive = try await registry.checkCompatibility(.with { $0.subject = "s"; $0.fileDescriptorSet = v3Compatible })
            #expect(!transitive.compatible)
            #expect(transitive.breakingChanges.map(\.againstVersion) == [1])
            await #expect(throws: RPCError.self) {
                _ = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = v3Compatible })
            }
        }
    }

    @Test("soft delete: not listed nor checked against, readable by id, its number never reused")
    func softDelete() async throws {
        try await withRegistry { registry, _ in
            let v1 = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["clicks"]) })
            _ = try await registry.deleteVersion(.with { $0.subject = "s"; $0.version = 1 })
            #expect(try await registry.listVersions(.with { $0.subject = "s" }).versions.isEmpty)
            #expect(try await registry.listVersions(.with { $0.subject = "s"; $0.includeDeleted = true }).versions.map(\.deleted) == [true])
            #expect(try await registry.listSubjects(.init()).subjects.isEmpty)
            #expect(try await registry.getSchema(.with { $0.schemaID = v1.schemaID }).schemaID == v1.schemaID)
            // No live version: an otherwise incompatible schema is accepted, as version 2.
            let v2 = try await registry.register(.with { $0.subject = "s"; $0.fileDescriptorSet = features(["clicks"], type: .int64) })
            #expect(v2.version == 2)
            let error = await #expect(throws: RPCError.self) {
                _ = try await registry.deleteVersion(.with { $0.subject = "s"; $0.version = 1 })
            }
            #expect(error?.code == .notFound)
        }
    }

    @Test("bad input: INVALID_ARGUMENT saying what is wrong, NOT_FOUND for unknown ids")
    func badInput() async throws {
        try await withRegistry { registry, _ in
            let cases: [(Oo_Registry_V1_RegisterRequest, String)] = [
                (.with { $0.subject = ""; $0.fileDescriptorSet = features(["a"]) }, "subject"),
                (.with { $0.subject = "has space"; $0.fileDescriptorSet = features(["a"]) }, "subject"),
                (.with { $0.subject = "s"; $0.fileDescriptorSet = Data([0xFF, 0xFF, 0xFF]) }, "FileDescriptorSet"),
                (.with { $0.subject = "s"; $0.fileDescriptorSet = Data() }, "no files"),
                (.with { $0.subject = "s"; $0.fileDescriptorSet = missingImport() }, "--include_imports"),
                // Sets protoc never writes: refused, so they never reach later checks.
                (.with { $0.subject = "s"; $0.fileDescriptorSet = hostile { $0.reservedRange = [.with { $0.start = 9; $0.end = 5 }] } }, "reserved range 9 to 5"),
                (.with { $0.subject = "s"; $0.fileDescriptorSet = hostile { $0.field[0].number = -7 } }, "number -7"),
                (.with { $0.subject = "s"; $0.fileDescriptorSet = hostile { $0.field[0].oneofIndex = 3 } }, "oneof 3"),
            ]
            for (request, mention) in cases {
                let error = await #expect(throws: RPCError.self) { _ = try await registry.register(request) }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains(mention) == true, "\(String(describing: error))")
            }
            let error = await #expect(throws: RPCError.self) { _ = try await registry.getSchema(.with { $0.schemaID = "nope" }) }
            #expect(error?.code == .notFound)
            // Nothing was stored by the refused calls, and the service still answers.
            let subjects = try await registry.listSubjects(.init()).subjects
            #expect(subjects.isEmpty)
        }
    }
}

// MARK: - Helpers

/// Runs `body` with a registry client over in-process transport, on a fresh SQLite file.
func withRegistry<Result: Sendable>(
    _ body: (Oo_Registry_V1_SchemaRegistry_Client, URL) async throws -> Result
) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-registry-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let database = directory.appendingPathComponent("registry.sqlite")
    let store = try SchemaStore(path: database.path)
    let transport = InProcessTransport()
    let server = GRPCServer(transport: transport.server, services: [SchemaRegistryService(store: store)])
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        try await server.waitUntilListening()
        defer { server.beginGracefulShutdown() }
        return try await withGRPCClient(transport: transport.client) { client in
            try await body(Oo_Registry_V1_SchemaRegistry_Client(wrapping: client), database)
        }
    }
}

/// A descriptor set with one file `oo/ml/v1/features.proto` holding `FeatureVector` with
/// the given fields, numbered from `firstNumber`.
func features(
    _ names: [String], type: Google_Protobuf_FieldDescriptorProto.TypeEnum = .int32, types: [Google_Protobuf_FieldDescriptorProto.TypeEnum]? = nil,
    firstNumber: Int32 = 1
) -> Data {
    let set = Google_Protobuf_FileDescriptorSet.with {
        $0.file = [.with {
            $0.name = "oo/ml/v1/features.proto"
            $0.package = "oo.ml.v1"
            $0.syntax = "proto3"
            $0.messageType = [.with {
                $0.name = "FeatureVector"
                $0.field = names.enumerated().map { index, name in
                    .with {
                        $0.name = name
                        $0.number = firstNumber + Int32(index)
                        $0.label = .optional
                        $0.type = types?[index] ?? type
                        $0.jsonName = name
                    }
                }
            }]
        }]
    }
    return try! set.serializedBytes()
}

/// Two files, the second importing the first.
func twoFiles() -> Data {
    let set = Google_Protobuf_FileDescriptorSet.with {
        $0.file = [
            .with {
                $0.name = "a.proto"; $0.package = "p"; $0.syntax = "proto3"
                $0.messageType = [.with { $0.name = "A" }]
            },
            .with {
                $0.name = "b.proto"; $0.package = "p"; $0.syntax = "proto3"; $0.dependency = ["a.proto"]
                $0.messageType = [.with {
                    $0.name = "B"
                    $0.field = [.with { $0.name = "a"; $0.number = 1; $0.label = .optional; $0.type = .message; $0.typeName = ".p.A" }]
                }]
            },
        ]
    }
    return try! set.serializedBytes()
}

/// A file importing one the set does not contain.
func missingImport() -> Data {
    let set = Google_Protobuf_FileDescriptorSet.with {
        $0.file = [.with { $0.name = "b.proto"; $0.package = "p"; $0.dependency = ["a.proto"] }]
    }
    return try! set.serializedBytes()
}

/// A valid one-message set, then `edit`ed into something protoc would never write.
func hostile(_ edit: (inout Google_Protobuf_DescriptorProto) -> Void) -> Data {
    var message = Google_Protobuf_DescriptorProto.with {
        $0.name = "M"
        $0.field = [.with { $0.name = "a"; $0.number = 1; $0.label = .optional; $0.type = .int32 }]
    }
    edit(&message)
    let set = Google_Protobuf_FileDescriptorSet.with {
        $0.file = [.with { $0.name = "h.proto"; $0.package = "h"; $0.syntax = "proto3"; $0.messageType = [message] }]
    }
    return try! set.serializedBytes()
}
