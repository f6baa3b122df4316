import ExampleProtos
import ExampleService
import Foundation
import GRPCTestingProtos
import HealthProtos
import OODynamic
import OOHealth
import OOMesh
import OOMeshHTTP2
import OOProcess
import OOReflection
import ReflectionProtos
import SwiftProtobuf

/// The pool the transcoder tests use: the Greeter, gRPC's test messages, and a hand-written
/// file of well-known types and a recursive message.
func testPool() throws -> DescriptorPool {
    var pool = try DescriptorPool(embedded: [
        Oo_Example_V1_GreeterProtoFile.descriptors, Grpc_Testing_MessagesProtoFile.descriptors, Grpc_Testing_TestProtoFile.descriptors,
        Grpc_Reflection_V1_ReflectionProtoFile.descriptors,
    ])
    for file in handWrittenFiles() { pool.add(file) }
    return pool
}

/// `google/protobuf/{timestamp,duration,wrappers,empty}.proto` as far as the transcoder needs
/// them (same names, numbers and types as the real files), and `test/recursive.proto`.
func handWrittenFiles() -> [Google_Protobuf_FileDescriptorProto] {
    func field(_ name: String, _ number: Int32, _ type: Google_Protobuf_FieldDescriptorProto.TypeEnum, typeName: String? = nil,
               repeated: Bool = false) -> Google_Protobuf_FieldDescriptorProto {
        .with {
            $0.name = name
            $0.number = number
            $0.type = type
            $0.label = repeated ? .repeated : .optional
            if let typeName { $0.typeName = typeName }
        }
    }
    func message(_ name: String, _ fields: [Google_Protobuf_FieldDescriptorProto]) -> Google_Protobuf_DescriptorProto {
        .with {
            $0.name = name
            $0.field = fields
        }
    }
    let wellKnown = Google_Protobuf_FileDescriptorProto.with {
        $0.name = "google/protobuf/wkt_for_tests.proto"
        $0.package = "google.protobuf"
        $0.syntax = "proto3"
        $0.messageType = [
            message("Timestamp", [field("seconds", 1, .int64), field("nanos", 2, .int32)]),
            message("Duration", [field("seconds", 1, .int64), field("nanos", 2, .int32)]),
            message("Int64Value", [field("value", 1, .int64)]),
            message("StringValue", [field("value", 1, .string)]),
            message("BoolValue", [field("value", 1, .bool)]),
            message("DoubleValue", [field("value", 1, .double)]),
            message("Empty", []),
        ]
    }
    let recursive = Google_Protobuf_FileDescriptorProto.with {
        $0.name = "test/recursive.proto"
        $0.package = "test"
        $0.syntax = "proto3"
        $0.dependency = ["google/protobuf/wkt_for_tests.proto"]
        $0.messageType = [
            message("Node", [
                field("child", 1, .message, typeName: ".test.Node"), field("label", 2, .string),
                field("created", 3, .message, typeName: ".google.protobuf.Timestamp"),
                field("ttl", 4, .message, typeName: ".google.protobuf.Duration"),
                field("note", 5, .message, typeName: ".google.protobuf.StringValue"),
                field("sint", 6, .sint64), field("fixed", 7, .fixed64), field("ratio", 8, .float),
                field("values", 9, .sint32, repeated: true),
            ])
        ]
    }
    return [wellKnown, recursive]
}

/// Runs `body` with the Greeter, Health and reflection (v1 unless `v1alphaOnly`, and v1alpha)
/// served over real HTTP/2 on a free loopback port.
func withReflectionServer<Result: Sendable>(
    v1alphaOnly: Bool = false, _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
    let greeter = Greeter()
    let health = HealthService(monitor: HealthMonitor(initial: .serving))
    let reflection = try ReflectionService(
        services: [greeter, health],
        files: [Oo_Example_V1_GreeterProtoFile.descriptors, Grpc_Health_V1_HealthProtoFile.descriptors])
    let services: [any RPCService] = v1alphaOnly ? [greeter, health, reflection.v1alpha] : [greeter, health, reflection, reflection.v1alpha]
    let server = GRPCServer(transport: transport, services: services)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        try await server.waitUntilListening()
        defer { server.beginGracefulShutdown() }
        return try await body(transport.port)
    }
}

/// Runs `body` with a client connected to 127.0.0.1:`port`.
func withClient<Result: Sendable>(port: Int, _ body: (GRPCClient) async throws -> Result) async throws -> Result {
    try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: port), body)
}

/// The repository's root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What `oo` did.
struct CommandResult: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs the built `.build/debug/oo` with `arguments`, killed after `timeout`.
func runOO(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
    let child = try ChildProcess(repositoryRoot.path + "/.build/debug/oo", arguments, directory: repositoryRoot.path, output: .separate)
    let watchdog = Task {
        try await Task.sleep(for: timeout)
        child.signal(SIGKILL)
    }
    let status = await child.exitStatus()
    watchdog.cancel()
    return CommandResult(
        status: status, standardOutput: String(decoding: child.standardOutput, as: UTF8.self),
        standardError: String(decoding: child.standardError, as: UTF8.self))
}
