import Foundation
import SwiftProtobuf

/// One version of a schema: the files of a `FileDescriptorSet`, indexed by the names the
/// breaking-change rules match elements by.
public struct SchemaSet: Sendable {
    /// The files, in the order the descriptor set lists them.
    public let files: [Google_Protobuf_FileDescriptorProto]

    let filesByName: [String: FileInfo]
    let messages: [String: MessageInfo]
    let enums: [String: EnumInfo]
    let services: [String: ServiceInfo]
    let extensions: [String: FieldInfo]
    /// Package name → the files declaring it, in order.
    let packages: [String: [String]]
    /// The files that are the schema itself (not imports), when known: only their deletion
    /// is FILE_NO_DELETE. nil: every file counts.
    let ownFiles: Set<String>?

    /// Indexes the files of `descriptorSet` (as `protoc --descriptor_set_out
    /// --include_imports --include_source_info` writes it).
    public init(descriptorSet: Google_Protobuf_FileDescriptorSet, ownFiles: Set<String>? = nil) {
        self.ownFiles = ownFiles
        files = descriptorSet.file
        var filesByName: [String: FileInfo] = [:]
        var messages: [String: MessageInfo] = [:]
        var enums: [String: EnumInfo] = [:]
        var services: [String: ServiceInfo] = [:]
        var extensions: [String: FieldInfo] = [:]
        var packages: [String: [String]] = [:]
        for file in descriptorSet.file {
            let info = FileInfo(file)
            filesByName[file.name] = info
            packages[file.package, default: []].append(file.name)
            let prefix = file.package.isEmpty ? "" : file.package + "."
            func addEnum(_ proto: Google_Protobuf_EnumDescriptorProto, scope: String, path: [Int32]) {
                enums[scope + proto.name] = EnumInfo(
                    fullName: scope + proto.name, proto: proto, file: info, path: path)
            }
            func addMessage(_ proto: Google_Protobuf_DescriptorProto, scope: String, path: [Int32]) {
                let fullName = scope + proto.name
                messages[fullName] = MessageInfo(fullName: fullName, proto: proto, file: info, path: path)
                for (index, nested) in proto.nestedType.enumerated() {
                    addMessage(nested, scope: fullName + ".", path: path + [3, Int32(index)])
                }
                for (index, nested) in proto.enumType.enumerated() {
                    addEnum(nested, scope: fullName + ".", path: path + [4, Int32(index)])
                }
                for (index, field) in proto.extension.enumerated() {
                    extensions[fullName + "." + field.name] = FieldInfo(proto: field, file: info, path: path + [6, Int32(index)])
                }
            }
            for (index, message) in file.messageType.enumerated() {
                addMessage(message, scope: prefix, path: [4, Int32(index)])
            }
            for (index, proto) in file.enumType.enumerated() {
                addEnum(proto, scope: prefix, path: [5, Int32(index)])
            }
            for (index, service) in file.service.enumerated() {
                services[prefix + service.name] = ServiceInfo(
                    fullName: prefix + service.name, proto: service, file: info, path: [6, Int32(index)])
            }
            for (index, field) in file.extension.enumerated() {
                extensions[prefix + field.name] = FieldInfo(proto: field, file: info, path: [7, Int32(index)])
            }
        }
        self.filesByName = filesByName
        self.messages = messages
        self.enums = enums
        self.services = services
        self.extensions = extensions
        self.packages = packages
    }

    /// Loads a schema from `path`: a directory of `.proto` files, compiled with the system
    /// `protoc` (the directory is the import root), or a binary `FileDescriptorSet` file.
    public static func load(from path: String, protoc: ProtocCompiler = ProtocCompiler()) async throws(SchemaLoadError) -> SchemaSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SchemaLoadError(message: "\(path): no such file or directory.")
        }
        if isDirectory.boolValue {
            let set = try await protoc.compile(directory: path)
            try refuseEditions(set, source: path)
            // FILE_NO_DELETE concerns the directory's own files, not what they import.
            let own = Set(ProtocCompiler.protoFiles(under: URL(fileURLWithPath: path).resolvingSymlinksInPath()))
            return SchemaSet(descriptorSet: set, ownFiles: own)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SchemaLoadError(message: "\(path): cannot be read: \(error.localizedDescription)")
        }
        let set: Google_Protobuf_FileDescriptorSet
        do {
            set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data)
        } catch {
            throw SchemaLoadError(message: "\(path): not a binary FileDescriptorSet (\(error)).")
        }
        try refuseEditions(set, source: path)
        return SchemaSet(descriptorSet: set)
    }

    /// Editions files (`edition = "2023"`) carry features this checker does not model; a
    /// clear refusal beats wrong answers.
    public static func refuseEditions(_ set: Google_Protobuf_FileDescriptorSet, source: String) throws(SchemaLoadError) {
        if let file = set.file.first(where: { $0.syntax == "editions" }) {
            throw SchemaLoadError(message: "\(source): \(file.name) uses protobuf editions, which this checker does not support yet (proto2 and proto3 only).")
        }
    }
}

/// A schema that could not be loaded, with what went wrong (protoc's own message for
/// `.proto` files that do not compile).
public struct SchemaLoadError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var message: String
    public var description: String { message }

    /// Creates an error saying `message`.
    public init(message: String) { self.message = message }
}

/// A file and its source positions.
final class FileInfo: Sendable {
    let proto: Google_Protobuf_FileDescriptorProto
    let name: String
    /// proto3 semantics: open enums, implicit presence, UTF-8 checked strings. (Editions
    /// files are refused when a schema is loaded: their features are not modelled.)
    let isProto3: Bool
    /// Source path → (line, column), 1-based.
    private let positions: [[Int32]: (Int, Int)]

    init(_ proto: Google_Protobuf_FileDescriptorProto) {
        self.proto = proto
        self.name = proto.name
        self.isProto3 = proto.syntax == "proto3"
        var positions: [[Int32]: (Int, Int)] = [:]
        // Spans are 0-based; one that a line or column cannot hold (a hostile set) is ignored.
        for location in proto.sourceCodeInfo.location
        where location.span.count >= 3 && (0..<Int32.max - 1).contains(location.span[0]) && (0..<Int32.max - 1).contains(location.span[1]) {
            if positions[location.path] == nil {
                positions[location.path] = (Int(location.span[0]) + 1, Int(location.span[1]) + 1)
            }
        }
        self.positions = positions
    }

    /// The position of the element at `path`, or of its closest enclosing element with a
    /// known position; the start of the file when none is known.
    func location(_ path: [Int32]) -> SourceLocation {
        var path = path
        while true {
            if let (line, column) = positions[path] { return SourceLocation(file: name, line: line, column: column) }
            if path.isEmpty { return SourceLocation(file: name, line: 1, column: 1) }
            path.removeLast()
        }
    }
}

/// A message, enum or service, where it is declared.
struct MessageInfo: Sendable {
    let fullName: String
    let proto: Google_Protobuf_DescriptorProto
    let file: FileInfo
    let path: [Int32]
}

struct EnumInfo: Sendable {
    let fullName: String
    let proto: Google_Protobuf_EnumDescriptorProto
    let file: FileInfo
    let path: [Int32]
}

struct ServiceInfo: Sendable {
    let fullName: String
    let proto: Google_Protobuf_ServiceDescriptorProto
    let file: FileInfo
    let path: [Int32]
}

struct FieldInfo: Sendable {
    let proto: Google_Protobuf_FieldDescriptorProto
    let file: FileInfo
    let path: [Int32]
}
