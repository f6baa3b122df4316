import Foundation
import OOSchema
import SwiftProtobuf

/// A schema as the registry receives it: parsed, validated, and given its global id.
public struct RegisteredSchema: Sendable {
    /// The descriptor set as sent (with source positions, if the client kept them).
    public let bytes: Data
    /// The parsed descriptor set.
    public let descriptorSet: Google_Protobuf_FileDescriptorSet
    /// The global id (``SchemaIdentity``).
    public let id: String

    /// Parses and validates `bytes`, a binary `FileDescriptorSet`.
    public init(bytes: Data) throws(SchemaValidationError) {
        let set: Google_Protobuf_FileDescriptorSet
        do {
            set = try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
        } catch {
            throw SchemaValidationError(message: "file_descriptor_set is not a binary google.protobuf.FileDescriptorSet (\(error)).")
        }
        guard !set.file.isEmpty else {
            throw SchemaValidationError(message: "file_descriptor_set has no files.")
        }
        try Self.checkReferences(set)
        self.bytes = bytes
        self.descriptorSet = set
        self.id = SchemaIdentity.id(of: set)
    }

    /// Every file's imports are in the set, and every type a field or RPC names is
    /// defined in it (so the set was made with `--include_imports`).
    private static func checkReferences(_ set: Google_Protobuf_FileDescriptorSet) throws(SchemaValidationError) {
        let names = Set(set.file.map(\.name))
        var types = Set<String>()
        func collect(_ message: Google_Protobuf_DescriptorProto, scope: String) {
            let name = scope + message.name
            types.insert("." + name)
            for nested in message.nestedType { collect(nested, scope: name + ".") }
            for nested in message.enumType { types.insert("." + name + "." + nested.name) }
        }
        for file in set.file {
            let scope = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType { collect(message, scope: scope) }
            for proto in file.enumType { types.insert("." + scope + proto.name) }
        }
        for file in set.file {
            if let missing = file.dependency.first(where: { !names.contains($0) }) {
                throw SchemaValidationError(
                    message: "\(file.name) imports \(missing), which is not in the set: build it with protoc --include_imports.")
            }
            var referenced: [String] = file.service.flatMap { $0.method.flatMap { [$0.inputType, $0.outputType] } }
            func fields(_ message: Google_Protobuf_DescriptorProto) {
                referenced += message.field.filter { $0.type == .message || $0.type == .enum || $0.type == .group }.map(\.typeName)
                for nested in message.nestedType { fields(nested) }
            }
            for message in file.messageType { fields(message) }
            if let missing = referenced.first(where: { !types.contains($0) }) {
                throw SchemaValidationError(message: "\(file.name) refers to \(missing), which is not defined in the set.")
            }
        }
    }
}

/// A schema the registry refuses to store: what is wrong with it.
public struct SchemaValidationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}
