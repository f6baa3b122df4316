import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// The protoc plugin: for every requested `.proto` file with at least one service, one
/// `.grpc.swift` file beside where protoc-gen-swift puts its `.pb.swift` (FullPath naming);
/// for every requested file, one `.descriptor.swift` embedding its descriptors (and its
/// imports') for reflection and the schema registry.
///
/// Takes no options; any `--oomesh_opt` is an error.
public struct OOMeshCodeGenerator: CodeGenerator {
    public init() {}

    public func generate(
        files: [FileDescriptor],
        parameter: any CodeGeneratorParameter,
        protoCompilerContext: any ProtoCompilerContext,
        generatorOutputs: any GeneratorOutputs
    ) throws {
        if let unknown = parameter.parsedPairs.first {
            throw GenerationError("protoc-gen-oomesh takes no options, got '\(unknown.key)'.")
        }
        for (path, contents) in try Self.generate(files: files) {
            try generatorOutputs.add(fileName: path, contents: contents)
        }
    }

    /// The output files for `files`, in order: (path relative to the output directory,
    /// Swift source).
    public static func generate(files: [FileDescriptor]) throws -> [(path: String, contents: String)] {
        let builder = ModelBuilder()
        let renderer = SwiftRenderer()
        var outputs: [(path: String, contents: String)] = []
        let descriptors = DescriptorRenderer()
        for file in files {
            if !file.services.isEmpty {
                let model = try builder.makeFileModel(file)
                outputs.append((model.outputPath, renderer.render(model)))
            }
            outputs.append((DescriptorRenderer.outputPath(for: file), try descriptors.render(file)))
        }
        return outputs
    }

    public var supportedFeatures: [Google_Protobuf_Compiler_CodeGeneratorResponse.Feature] {
        [.proto3Optional, .supportsEditions]
    }

    public var supportedEditionRange: ClosedRange<Google_Protobuf_Edition> {
        // Services and methods use nothing that editions change: whatever the plugin
        // library can read.
        DescriptorSet.bundledEditionsSupport
    }

    public var version: String? { "1.0.0" }

    public var projectURL: String? { nil }

    public func printHelp() {
        print(
            """
            protoc-gen-oomesh: a protoc plugin writing oO mesh service stubs.

            Usage: protoc --plugin=protoc-gen-oomesh=PATH --oomesh_out=DIR [-I ...] FILE.proto...

            For every .proto file with a service it writes DIR/<path>.grpc.swift: a namespace
            enum with the method descriptors, a server protocol, and a client, all public.
            For every .proto file it writes DIR/<path>.descriptor.swift: the file's
            descriptors and its imports' as an embedded FileDescriptorSet.
            Message types are named as protoc-gen-swift names them; compile the output in the
            same module as protoc-gen-swift's output for the same files.
            """)
    }
}
