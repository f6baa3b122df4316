#if canImport(Glibc)
import Glibc
#endif
import Foundation
import OOProcess
import SwiftProtobuf

/// Compiles a directory of `.proto` files into a `FileDescriptorSet` with the system
/// `protoc`, keeping source positions for error locations.
public struct ProtocCompiler: Sendable {
    /// The `protoc` executable: a path, or a name looked up in `PATH`. Defaults to `protoc`.
    public var executable: String
    /// How long one compilation may take before protoc is killed. Defaults to 2 minutes.
    public var timeout: Duration

    /// Creates a compiler that runs `executable`.
    public init(executable: String = "protoc", timeout: Duration = .seconds(120)) {
        self.executable = executable
        self.timeout = timeout
    }

    /// Every `.proto` file under `directory` (recursively), compiled with `directory` as the
    /// import root. Throws ``SchemaLoadError`` with protoc's own message when they do not
    /// compile.
    public func compile(directory: String) async throws(SchemaLoadError) -> Google_Protobuf_FileDescriptorSet {
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath()
        let files = Self.protoFiles(under: root)
        guard !files.isEmpty else {
            throw SchemaLoadError(message: "\(directory): no .proto files found.")
        }
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("oo-schema-\(UUID().uuidString).binpb")
        defer { try? FileManager.default.removeItem(at: output) }

        let result: (status: Int32, standardOutput: Data, standardError: Data)
        do {
            let child = try ChildProcess(
                executable,
                ["--proto_path=\(root.path)", "--include_imports", "--include_source_info", "--descriptor_set_out=\(output.path)"] + files,
                directory: root.path)
            // Bounded: a protoc that hangs (a FIFO named x.proto, say) is killed.
            let watchdog = Task {
                try await Task.sleep(for: timeout)
                child.signal(SIGKILL)
            }
            let status = await child.exitStatus()
            watchdog.cancel()
            result = (status, child.standardOutput, child.standardError)
        } catch {
            throw SchemaLoadError(message: "Could not run \(executable): \(error.message)")
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
        for case let url as URL in enumerator where url.pathExtension == "proto"
            && (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.resolvingSymlinksInPath().path
            if path.hasPrefix(prefix) { files.append(String(path.dropFirst(prefix.count))) }
        }
        return files.sorted()
    }
}
