import Foundation
import OOProcess
import SwiftProtobuf

/// Compiles a directory of `.proto` files into a `FileDescriptorSet` with the system
/// `protoc`, keeping source positions for error locations.
public struct ProtocCompiler: Sendable {
    /// The `protoc` executable: a path, or a name looked up in `PATH`. Defaults to `protoc`.
    public var executable: String

    /// Creates a compiler that runs `executable`.
    public init(executable: String = "protoc") {
        self.executable = executable
    }

    /// Every `.proto` file under `directory` (recursively), compiled with `directory` as the
    /// import root. Throws ``SchemaLoadError`` with protoc's own message when they do not
    /// compile.
    public func compile(directory: String) async throws(SchemaLoadError) -> Google_Protobuf_FileDescriptorSet {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        let files = Self.protoFiles(under: root)
        guard !files.isEmpty else {
            throw SchemaLoadError(message: "\(directory): no .proto files found.")
        }
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("oo-schema-\(UUID().uuidString).binpb")
        defer { try? FileManager.default.removeItem(at: output) }

        let result: (status: Int32, standardOutput: Data, standardError: Data)
        do {
            result = try await ChildProcess.run(
                executable,
                ["--proto_path=\(root.path)", "--include_imports", "--include_source_info", "--descriptor_set_out=\(output.path)"] + files,
                directory: root.path)
        } catch {
            throw SchemaLoadError(message: "\(error.message) Is protoc installed (Debian: protobuf-compiler)?")
        }
        if result.status == 127 {
            throw SchemaLoadError(message: "Could not run \(executable): not found in PATH. Is protoc installed (Debian: protobuf-compiler)?")
        }
        guard result.status == 0 else {
            let text = String(decoding: result.standardError, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw SchemaLoadError(message: "protoc could not compile \(directory):\n\(text)")
        }
        do {
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: try Data(contentsOf: output))
        } catch {
            throw SchemaLoadError(message: "protoc's descriptor set for \(directory) could not be read: \(error)")
        }
    }

    /// The `.proto` files under `root`, relative to it, sorted.
    static func protoFiles(under root: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else { return [] }
        var files: [String] = []
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in enumerator where url.pathExtension == "proto" {
            let path = url.standardizedFileURL.path
            if path.hasPrefix(prefix) { files.append(String(path.dropFirst(prefix.count))) }
        }
        return files.sorted()
    }
}
