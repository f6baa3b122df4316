import Foundation
import OOMeshGenerator
import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// Builders for small descriptor sets, and a way to run the plugin on them in-process.
enum Fixtures {
    /// An rpc to put in a hand-built service.
    struct RPC {
        var name: String
        var input: String
        var output: String
        var clientStreaming = false
        var serverStreaming = false
        var comment: String? = nil
        var idempotency: Google_Protobuf_MethodOptions.IdempotencyLevel = .idempotencyUnknown
    }

    /// A hand-built service.
    struct Service {
        var name: String
        var comment: String? = nil
        var rpcs: [RPC]
    }

    /// A `FileDescriptorProto` with top-level messages (`Outer.Inner` nests), services, and
    /// leading comments in its source info, as protoc would record them.
    static func file(
        _ name: String,
        package: String,
        imports: [String] = [],
        messages: [String] = [],
        services: [Service] = [],
        swiftPrefix: String? = nil
    ) -> Google_Protobuf_FileDescriptorProto {
        var file = Google_Protobuf_FileDescriptorProto()
        file.name = name
        file.package = package
        file.syntax = "proto3"
        file.dependency = imports
        if let swiftPrefix { file.options.swiftPrefix = swiftPrefix }

        var topLevel: [String: Google_Protobuf_DescriptorProto] = [:]
        var order: [String] = []
        for message in messages {
            let parts = message.split(separator: ".").map(String.init)
            if topLevel[parts[0]] == nil {
                var proto = Google_Protobuf_DescriptorProto()
                proto.name = parts[0]
                topLevel[parts[0]] = proto
                order.append(parts[0])
            }
            if parts.count == 2 {
                var nested = Google_Protobuf_DescriptorProto()
                nested.name = parts[1]
                topLevel[parts[0]]!.nestedType.append(nested)
            }
        }
        file.messageType = order.map { topLevel[$0]! }

        var locations: [Google_Protobuf_SourceCodeInfo.Location] = []
        for (serviceIndex, service) in services.enumerated() {
            var proto = Google_Protobuf_ServiceDescriptorProto()
            proto.name = service.name
            if let comment = service.comment {
                locations.append(location([6, Int32(serviceIndex)], comment))
            }
            for (methodIndex, rpc) in service.rpcs.enumerated() {
                var method = Google_Protobuf_MethodDescriptorProto()
                method.name = rpc.name
                method.inputType = rpc.input
                method.outputType = rpc.output
                if rpc.clientStreaming { method.clientStreaming = true }
                if rpc.serverStreaming { method.serverStreaming = true }
                if rpc.idempotency != .idempotencyUnknown { method.options.idempotencyLevel = rpc.idempotency }
                proto.method.append(method)
                if let comment = rpc.comment {
                    locations.append(location([6, Int32(serviceIndex), 2, Int32(methodIndex)], comment))
                }
            }
            file.service.append(proto)
        }
        if !locations.isEmpty { file.sourceCodeInfo.location = locations }
        return file
    }

    private static func location(_ path: [Int32], _ comment: String) -> Google_Protobuf_SourceCodeInfo.Location {
        var location = Google_Protobuf_SourceCodeInfo.Location()
        location.path = path
        location.span = [0, 0, 0]
        location.leadingComments = comment
        return location
    }

    /// The example Greeter, as protoc describes `greeterProtoSource`.
    static var greeter: Google_Protobuf_FileDescriptorProto {
        let request = ".oo.example.v1.HelloRequest"
        let reply = ".oo.example.v1.HelloReply"
        return file(
            "oo/example/v1/greeter.proto",
            package: "oo.example.v1",
            messages: ["HelloRequest", "HelloReply"],
            services: [
                Service(
                    name: "Greeter",
                    comment: " Greets people, once or many times.\n",
                    rpcs: [
                        RPC(name: "SayHello", input: request, output: reply, comment: " Answers one greeting.\n"),
                        RPC(
                            name: "SayHelloStream", input: request, output: reply, serverStreaming: true,
                            comment: " Answers with `count` greetings, streamed.\n"),
                        RPC(
                            name: "CollectHellos", input: request, output: reply, clientStreaming: true,
                            comment: " Greets everyone sent, in one reply.\n"),
                        RPC(
                            name: "Chat", input: request, output: reply, clientStreaming: true,
                            serverStreaming: true, comment: " Answers each greeting as it arrives.\n"),
                    ])
            ])
    }

    /// The text of the Greeter proto, for the tests that run protoc.
    static let greeterProtoSource = """
        syntax = "proto3";

        // The example service of the README: one method of each call shape.
        package oo.example.v1;

        // Greets people, once or many times.
        service Greeter {
          // Answers one greeting.
          rpc SayHello(HelloRequest) returns (HelloReply);

          // Answers with `count` greetings, streamed.
          rpc SayHelloStream(HelloRequest) returns (stream HelloReply);

          // Greets everyone sent, in one reply.
          rpc CollectHellos(stream HelloRequest) returns (HelloReply);

          // Answers each greeting as it arrives.
          rpc Chat(stream HelloRequest) returns (stream HelloReply);
        }

        // Who to greet.
        message HelloRequest {
          string name = 1;
          int32 count = 2;
        }

        // A greeting.
        message HelloReply {
          string message = 1;
        }

        """

    /// Runs the plugin in-process, as protoc would with `protos` (dependencies first) and
    /// `generate` as the files to generate. Returns output path → contents of the stubs
    /// (`.grpc.swift`) and, apart, of the embedded descriptors (`.descriptor.swift`), or the
    /// error.
    static func run(
        _ protos: [Google_Protobuf_FileDescriptorProto], generate: [String]? = nil, parameter: String = ""
    ) -> (files: [String: String], order: [String], descriptors: [String: String], error: String?) {
        var request = Google_Protobuf_Compiler_CodeGeneratorRequest()
        request.protoFile = protos
        request.fileToGenerate = generate ?? [protos.last!.name]
        request.parameter = parameter
        let response = generateCode(request: request, generator: OOMeshCodeGenerator())
        var files: [String: String] = [:]
        var descriptors: [String: String] = [:]
        for file in response.file {
            if file.name.hasSuffix(".descriptor.swift") {
                descriptors[file.name] = file.content
            } else {
                files[file.name] = file.content
            }
        }
        let order = response.file.map(\.name).filter { !$0.hasSuffix(".descriptor.swift") }
        return (files, order, descriptors, response.hasError ? response.error : nil)
    }

    /// The one output file for `protos`' last file.
    static func generated(_ protos: [Google_Protobuf_FileDescriptorProto]) -> String {
        let result = run(protos)
        precondition(result.error == nil, "generation failed: \(result.error!)")
        precondition(result.files.count == 1, "expected one file, got \(result.order)")
        return result.files.values.first!
    }

    /// protoc, when there is one to run.
    static let protoc: String? = {
        let candidates = [ProcessInfo.processInfo.environment["PROTOC"], "/usr/bin/protoc", "/usr/local/bin/protoc"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Writes `sources` (path → text) to a temporary directory and has protoc describe them,
    /// with imports and source info, as it would to a plugin.
    static func describeWithProtoc(_ sources: [String: String]) throws -> [Google_Protobuf_FileDescriptorProto] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("oomesh-generator-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        for (path, text) in sources {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let output = directory.appendingPathComponent("set.pb")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: protoc!)
        process.arguments =
            ["-I", directory.path, "--include_imports", "--include_source_info", "--descriptor_set_out=\(output.path)"]
            + sources.keys.sorted()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GenerationError("protoc failed with status \(process.terminationStatus)")
        }
        return try Google_Protobuf_FileDescriptorSet(serializedBytes: Data(contentsOf: output)).file
    }
}

extension String {
    /// Whether `snippet` appears in this text as whole lines.
    func containsLines(_ snippet: String) -> Bool {
        ("\n" + self).contains("\n" + snippet + "\n")
    }
}
