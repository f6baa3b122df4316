public import OOMesh
public import SwiftProtobuf

/// The `.proto` files a client knows, indexed by fully qualified name: messages (nested ones
/// too), enums and services. The transcoder and `oo call describe` read types from it;
/// ``ReflectionClient`` fills it from a server.
///
/// Type references (`FieldDescriptorProto.type_name`) are resolved when looked up, so files
/// may be added in any order; a reference to a file not added yet fails only when used.
public struct DescriptorPool: Sendable {
    /// The files, by name.
    public private(set) var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
    private var messages: [String: MessageType] = [:]
    private var enums: [String: EnumType] = [:]
    private var services: [String: ServiceType] = [:]

    /// An empty pool.
    public init() {}

    /// A pool holding `files`.
    public init(files: [Google_Protobuf_FileDescriptorProto]) {
        for file in files { add(file) }
    }

    /// A pool holding the generated code's embedded descriptors (each a file and its imports).
    /// - Throws: when an embedded set does not parse.
    public init(embedded: [EmbeddedProtoFile]) throws {
        for file in embedded {
            let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: file.serializedFileDescriptorSet)
            for proto in set.file { add(proto) }
        }
    }

    /// Adds a file and indexes its symbols; a file already present (by name) is kept as is.
    public mutating func add(_ file: Google_Protobuf_FileDescriptorProto) {
        guard files[file.name] == nil else { return }
        files[file.name] = file
        let prefix = file.package.isEmpty ? "" : file.package + "."
        // proto3 and editions default to packed repeated scalars; proto3 to implicit presence.
        let syntax = file.syntax.isEmpty ? "proto2" : file.syntax
        for message in file.messageType { addMessage(message, scope: prefix, syntax: syntax, fileName: file.name) }
        for enumType in file.enumType { enums[prefix + enumType.name] = EnumType(fullName: prefix + enumType.name, proto: enumType) }
        for service in file.service {
            services[prefix + service.name] = ServiceType(fullName: prefix + service.name, proto: service, fileName: file.name)
        }
    }

    private mutating func addMessage(_ proto: Google_Protobuf_DescriptorProto, scope: String, syntax: String, fileName: String) {
        let fullName = scope + proto.name
        messages[fullName] = MessageType(fullName: fullName, proto: proto, syntax: syntax, fileName: fileName)
        for nested in proto.nestedType { addMessage(nested, scope: fullName + ".", syntax: syntax, fileName: fileName) }
        for nested in proto.enumType { enums[fullName + "." + nested.name] = EnumType(fullName: fullName + "." + nested.name, proto: nested) }
    }

    /// Names of files that files in the pool import but the pool lacks.
    public var missingDependencies: [String] {
        Set(files.values.flatMap(\.dependency)).subtracting(files.keys).sorted()
    }

    /// The message type with this fully qualified name (a leading dot is ignored).
    public func message(named name: String) -> MessageType? { messages[Self.strip(name)] }
    /// The enum type with this fully qualified name (a leading dot is ignored).
    public func enumType(named name: String) -> EnumType? { enums[Self.strip(name)] }
    /// The service with this fully qualified name (a leading dot is ignored).
    public func service(named name: String) -> ServiceType? { services[Self.strip(name)] }
    /// Every service in the pool, sorted by name.
    public var serviceNames: [String] { services.keys.sorted() }

    /// Resolves a field's or method's type reference: fully qualified (`.pkg.Type`) as protoc
    /// writes it, or relative to `scope` with protobuf's scoping rules.
    func resolve(_ reference: String, scope: String) -> String {
        if reference.hasPrefix(".") { return String(reference.dropFirst()) }
        var parts = scope.split(separator: ".").map(String.init)
        while true {
            let candidate = (parts + [reference]).joined(separator: ".")
            if messages[candidate] != nil || enums[candidate] != nil { return candidate }
            if parts.isEmpty { return reference }
            parts.removeLast()
        }
    }

    static func strip(_ name: String) -> String { name.hasPrefix(".") ? String(name.dropFirst()) : name }
}

/// A message type of a ``DescriptorPool``: its descriptor, fields by number and JSON name.
public struct MessageType: Sendable {
    /// The fully qualified name, e.g. `oo.example.v1.HelloRequest`.
    public let fullName: String
    /// The descriptor.
    public let proto: Google_Protobuf_DescriptorProto
    /// The declaring file's syntax: `proto2`, `proto3` or `editions`.
    public let syntax: String
    /// The declaring file's name.
    public let fileName: String
    /// The fields, by field number.
    public let fields: [FieldInfo]
    private let indexByNumber: [Int32: Int]
    private let indexByName: [String: Int]

    init(fullName: String, proto: Google_Protobuf_DescriptorProto, syntax: String, fileName: String) {
        self.fullName = fullName
        self.proto = proto
        self.syntax = syntax
        self.fileName = fileName
        let mapEntries = Set(proto.nestedType.filter { $0.options.mapEntry }.map { fullName + "." + $0.name })
        let fields = proto.field.map { FieldInfo($0, scope: fullName, syntax: syntax, mapEntries: mapEntries) }.sorted { $0.number < $1.number }
        self.fields = fields
        var byNumber: [Int32: Int] = [:]
        var byName: [String: Int] = [:]
        for (index, field) in fields.enumerated() {
            byNumber[field.number] = index
            byName[field.name] = index
        }
        // JSON names second-best: a field's own name wins a clash.
        for (index, field) in fields.enumerated() where byName[field.jsonName] == nil { byName[field.jsonName] = index }
        indexByNumber = byNumber
        indexByName = byName
    }

    /// Whether this is a synthesized `map<K, V>` entry type.
    public var isMapEntry: Bool { proto.options.mapEntry }

    /// The field with this number.
    public func field(number: Int32) -> FieldInfo? { indexByNumber[number].map { fields[$0] } }
    /// The field with this JSON name or `.proto` name.
    public func field(named name: String) -> FieldInfo? { indexByName[name].map { fields[$0] } }
}

/// One field of a ``MessageType``, with what the wire and JSON mappings need to know.
public struct FieldInfo: Sendable {
    /// The descriptor.
    public let proto: Google_Protobuf_FieldDescriptorProto
    /// The name in the `.proto` file.
    public var name: String { proto.name }
    /// The JSON name (lowerCamelCase unless `json_name` says otherwise).
    public let jsonName: String
    /// The field number.
    public var number: Int32 { proto.number }
    /// The field's type.
    public var type: Google_Protobuf_FieldDescriptorProto.TypeEnum { proto.type }
    /// Whether it is `repeated` (maps included).
    public var isRepeated: Bool { proto.label == .repeated }
    /// Whether it is a `map<K, V>`.
    public let isMap: Bool
    /// Whether a set default value is distinguishable from an unset one (message fields,
    /// oneof members, proto3 `optional`, proto2 singular fields).
    public let hasPresence: Bool
    /// Whether repeated scalars go out packed.
    public let isPacked: Bool
    /// The fully qualified message or enum type name for message, group and enum fields.
    public let typeName: String
    /// The message declaring the field (for scoping).
    let scope: String

    init(_ proto: Google_Protobuf_FieldDescriptorProto, scope: String, syntax: String, mapEntries: Set<String>) {
        self.proto = proto
        self.scope = scope
        jsonName = proto.hasJsonName && !proto.jsonName.isEmpty ? proto.jsonName : FieldInfo.lowerCamel(proto.name)
        // Relative names are resolved against the pool later; protoc always qualifies them.
        let typeName = proto.typeName.hasPrefix(".") ? String(proto.typeName.dropFirst()) : proto.typeName
        self.typeName = typeName
        isMap = proto.label == .repeated && proto.type == .message && mapEntries.contains(typeName)
        let singular = proto.label != .repeated
        hasPresence = singular && (proto.type == .message || proto.type == .group || proto.hasOneofIndex || proto.proto3Optional || syntax != "proto3")
        let packable = proto.label == .repeated && ![.string, .bytes, .message, .group].contains(proto.type)
        if proto.options.hasPacked {
            isPacked = packable && proto.options.packed
        } else {
            isPacked = packable && syntax != "proto2"
        }
    }

    /// protoc's `ToJsonName`: drop underscores, capitalize the letter after each.
    static func lowerCamel(_ name: String) -> String {
        var result = ""
        var capitalizeNext = false
        for character in name {
            if character == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                result += character.uppercased()
                capitalizeNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Whether it belongs to a oneof that is not a proto3 `optional`'s synthetic one.
    var isRealOneofMember: Bool { proto.hasOneofIndex && !proto.proto3Optional }
}

/// An enum type of a ``DescriptorPool``.
public struct EnumType: Sendable {
    /// The fully qualified name.
    public let fullName: String
    /// The descriptor.
    public let proto: Google_Protobuf_EnumDescriptorProto

    /// The first value's name with this number (aliases share numbers).
    func name(of number: Int32) -> String? { proto.value.first { $0.number == number }?.name }
    /// The number of the value with this name.
    func number(of name: String) -> Int32? { proto.value.first { $0.name == name }?.number }
}

/// A service of a ``DescriptorPool``.
public struct ServiceType: Sendable {
    /// The fully qualified name, e.g. `oo.example.v1.Greeter`.
    public let fullName: String
    /// The descriptor.
    public let proto: Google_Protobuf_ServiceDescriptorProto
    /// The declaring file's name.
    public let fileName: String

    /// The method with this name.
    public func method(named name: String) -> Google_Protobuf_MethodDescriptorProto? {
        proto.method.first { $0.name == name }
    }
}
