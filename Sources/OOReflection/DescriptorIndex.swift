import OOMesh
import SwiftProtobuf

/// The `.proto` files a server can describe, indexed for reflection: by file name, and by
/// every fully qualified symbol they declare (services, methods, messages, nested messages,
/// enums, enum values, extensions). Built once from the generated code's embedded
/// descriptors (``EmbeddedProtoFile``); immutable afterwards.
public struct DescriptorIndex: Sendable {
    /// Each file's serialized `FileDescriptorProto`, by name.
    private var files: [String: [UInt8]] = [:]
    /// Each file's direct imports, by name.
    private var imports: [String: [String]] = [:]
    /// The file declaring each symbol.
    private var symbols: [String: String] = [:]
    /// Extensions: (extended message, number) → the declaring file.
    private var extensions: [String: [Int32: String]] = [:]

    /// Indexes `embedded` (each a file and its imports).
    /// - Throws: when an embedded descriptor set does not parse (a generator bug).
    public init(_ embedded: [EmbeddedProtoFile]) throws {
        for file in embedded {
            let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: file.serializedFileDescriptorSet)
            for proto in set.file where files[proto.name] == nil { try add(proto) }
        }
    }

    private mutating func add(_ file: Google_Protobuf_FileDescriptorProto) throws {
        files[file.name] = try file.serializedBytes()
        imports[file.name] = file.dependency
        let prefix = file.package.isEmpty ? "" : file.package + "."
        func addEnum(_ enumType: Google_Protobuf_EnumDescriptorProto, scope: String) {
            let name = scope + enumType.name
            symbols[name] = file.name
            // Enum values are scoped like their enum's siblings (C++ scoping rules).
            for value in enumType.value { symbols[scope + value.name] = file.name }
        }
        func addExtension(_ field: Google_Protobuf_FieldDescriptorProto, scope: String) {
            symbols[scope + field.name] = file.name
            let extended = field.extendee.hasPrefix(".") ? String(field.extendee.dropFirst()) : field.extendee
            extensions[extended, default: [:]][field.number] = file.name
        }
        func addMessage(_ message: Google_Protobuf_DescriptorProto, scope: String) {
            let name = scope + message.name
            symbols[name] = file.name
            for field in message.field { symbols[name + "." + field.name] = file.name }
            for nested in message.nestedType { addMessage(nested, scope: name + ".") }
            for nested in message.enumType { addEnum(nested, scope: name + ".") }
            for field in message.extension { addExtension(field, scope: name + ".") }
        }
        for message in file.messageType { addMessage(message, scope: prefix) }
        for enumType in file.enumType { addEnum(enumType, scope: prefix) }
        for field in file.extension { addExtension(field, scope: prefix) }
        for service in file.service {
            symbols[prefix + service.name] = file.name
            for method in service.method { symbols[prefix + service.name + "." + method.name] = file.name }
        }
    }

    /// The names of every indexed file.
    public var fileNames: [String] { files.keys.sorted() }

    /// The file that declares `symbol`, if indexed.
    public func file(declaring symbol: String) -> String? {
        symbols[symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol]
    }

    /// The file declaring extension `number` of `messageType`, if indexed.
    public func file(extending messageType: String, number: Int32) -> String? {
        extensions[messageType]?[number]
    }

    /// The extension numbers of `messageType` (nil when the type is unknown).
    public func extensionNumbers(of messageType: String) -> [Int32]? {
        guard symbols[messageType] != nil else { return nil }
        return (extensions[messageType] ?? [:]).keys.sorted()
    }

    /// `name` and every file it imports, transitively, dependencies first: the serialized
    /// `FileDescriptorProto`s (nil when `name` is unknown).
    public func fileWithImports(_ name: String) -> [(name: String, bytes: [UInt8])]? {
        guard files[name] != nil else { return nil }
        var ordered: [(String, [UInt8])] = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard seen.insert(name).inserted, let bytes = files[name] else { return }
            for dependency in imports[name] ?? [] { visit(dependency) }
            ordered.append((name, bytes))
        }
        visit(name)
        return ordered
    }

    /// The serialized `FileDescriptorProto` of one file.
    public func serializedFile(_ name: String) -> [UInt8]? { files[name] }
}
