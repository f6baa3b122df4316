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
        do {
            try SchemaSet.refuseEditions(set, source: "file_descriptor_set")
        } catch {
            throw SchemaValidationError(message: error.message)
        }
        try Self.checkNumbers(set)
        try Self.checkReferences(set)
        self.bytes = bytes
        self.descriptorSet = set
        self.id = SchemaIdentity.id(of: set)
    }

    /// Field numbers, ranges and oneof indexes are what protoc could have produced: a
    /// hostile set must not reach the checker, which every later version is compared with.
    private static func checkNumbers(_ set: Google_Protobuf_FileDescriptorSet) throws(SchemaValidationError) {
        let maxField: Int32 = 536_870_911
        func check(_ message: Google_Protobuf_DescriptorProto, in file: String, scope: String) throws(SchemaValidationError) {
            let name = scope + message.name
            func fail(_ what: String) -> SchemaValidationError {
                SchemaValidationError(message: "\(file): message \(name): \(what).")
            }
            for field in message.field + message.extension {
                guard (1...maxField).contains(field.number) else { throw fail("field \(field.name) has number \(field.number), outside 1 to \(maxField)") }
                if field.hasOneofIndex, !(0..<Int32(message.oneofDecl.count)).contains(field.oneofIndex) {
                    throw fail("field \(field.name) names oneof \(field.oneofIndex), which does not exist")
                }
            }
            for range in message.reservedRange where !(range.start >= 1 && range.start < range.end && range.end <= maxField + 1) {
                throw fail("reserved range \(range.start) to \(range.end) is not a valid range")
            }
            for range in message.extensionRange where !(range.start >= 1 && range.start < range.end && range.end <= maxField + 1) {
                throw fail("extension range \(range.start) to \(range.end) is not a valid range")
            }
            for nested in message.enumType { try checkEnum(nested, in: file, scope: name + ".") }
            for nested in message.nestedType { try check(nested, in: file, scope: name + ".") }
        }
        func checkEnum(_ proto: Google_Protobuf_EnumDescriptorProto, in file: String, scope: String) throws(SchemaValidationError) {
            for range in proto.reservedRange where range.start > range.end {
                throw SchemaValidationError(message: "\(file): enum \(scope + proto.name): reserved range \(range.start) to \(range.end) is not a valid range.")
            }
        }
        for file in set.file {
            let scope = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType { try check(message, in: file.name, scope: scope) }
            for proto in file.enumType { try checkEnum(proto, in: file.name, scope: scope) }
        }
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
