import Foundation
import OOProcess
import Testing

/// The project's own CI check, `oo schema breaking Proto --against Proto/released.binpb
/// --category WIRE_JSON` (run by tools/test), on edited copies of Proto/: it passes on the
/// released state and a compatible edit, and fails on breaking ones, naming the rule.
@Suite("Schema evolution check on Proto/")
struct SchemaEvolutionTests {
    struct Edit: Sendable, CustomTestStringConvertible {
        let name: String
        let file: String
        let from: String
        let to: String
        /// nil: the check must pass; otherwise the rule it must report.
        let expectedRule: String?
        var testDescription: String { name }
    }

    static let edits: [Edit] = [
        Edit(name: "unchanged", file: "oo/example/v1/greeter.proto", from: "", to: "", expectedRule: nil),
        Edit(name: "a new field (compatible)", file: "oo/example/v1/greeter.proto",
             from: "  int32 count = 2;\n", to: "  int32 count = 2;\n  // Language.\n  string locale = 3;\n", expectedRule: nil),
        Edit(name: "a field's type changes", file: "oo/example/v1/greeter.proto",
             from: "  int32 count = 2;", to: "  int64 count = 2;", expectedRule: "FIELD_WIRE_JSON_COMPATIBLE_TYPE"),
        Edit(name: "a field is renamed", file: "oo/example/v1/greeter.proto",
             from: "  string name = 1;", to: "  string full_name = 1;", expectedRule: "FIELD_SAME_NAME"),
        Edit(name: "a field is deleted without reserving it", file: "oo/example/v1/greeter.proto",
             from: "  int32 count = 2;\n", to: "", expectedRule: "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"),
        Edit(name: "an rpc starts streaming", file: "oo/example/v1/greeter.proto",
             from: "rpc SayHello(HelloRequest) returns (HelloReply);", to: "rpc SayHello(HelloRequest) returns (stream HelloReply);",
             expectedRule: "RPC_SAME_SERVER_STREAMING"),
    ]

    @Test("the CI check passes on compatible edits and fails on breaking ones", arguments: edits)
    func check(_ edit: Edit) async throws {
        let copy = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Proto"), to: copy.appendingPathComponent("Proto"))
        if !edit.from.isEmpty {
            let path = copy.appendingPathComponent("Proto").appendingPathComponent(edit.file)
            let text = try String(contentsOf: path, encoding: .utf8)
            #expect(text.contains(edit.from), "the edit no longer applies to \(edit.file)")
            try text.replacingOccurrences(of: edit.from, with: edit.to).write(to: path, atomically: true, encoding: .utf8)
        }
        let result = try await runOO([
            "schema", "breaking", copy.appendingPathComponent("Proto").path,
            "--against", repositoryRoot.appendingPathComponent("Proto/released.binpb").path, "--category", "WIRE_JSON",
        ])
        if let rule = edit.expectedRule {
            #expect(result.status == 1, "\(result.output)")
            #expect(result.output.contains(":\(rule):"), "\(result.output)")
            #expect(result.output.contains("oo/example/v1/greeter.proto:"), "\(result.output)")
        } else {
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.isEmpty, "\(result.output)")
        }
    }

    @Test("a .proto that does not compile exits 2 with protoc's message")
    func parseError() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "syntax = \"proto3\";\nmessage A { int32 x = 1 }\n".write(
            to: directory.appendingPathComponent("a.proto"), atomically: true, encoding: .utf8)
        let result = try await runOO([
            "schema", "breaking", directory.path, "--against", repositoryRoot.appendingPathComponent("Proto/released.binpb").path,
        ])
        #expect(result.status == 2)
        #expect(result.output.contains("a.proto:2:"), "\(result.output)")
    }
}

/// A new empty directory under the temporary directory.
private func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("oo-schema-evolution-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs the built `oo` executable (tools/test builds it before the tests run); its output
/// is stdout and stderr together.
func runOO(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let result = try await ChildProcess.run(repositoryRoot.appendingPathComponent(".build/debug/oo").path, arguments, output: .merged)
    return (result.status, String(decoding: result.standardOutput, as: UTF8.self))
}

/// The repository's root (this file is Tests/OOSchemaTests/SchemaEvolutionTests.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
