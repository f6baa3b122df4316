import Foundation
import OOSchema
import Testing

/// A proto3 file of `package`: the syntax line, a blank line, the package line, a blank line, then `body`.
func proto3(_ package: String, _ body: String) -> String {
    "syntax = \"proto3\";\n\npackage \(package);\n\n\(body)"
}

/// A proto2 file of `package`, laid out like ``proto3(_:_:)``.
func proto2(_ package: String, _ body: String) -> String {
    "syntax = \"proto2\";\n\npackage \(package);\n\n\(body)"
}

/// Creates a fresh, empty directory under the system temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("ooschema-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Writes `files` (path relative to `directory` -> contents) into `directory`, creating the
/// intermediate directories.
func writeFiles(_ files: [String: String], into directory: URL) throws {
    for (path, contents) in files {
        let file = directory.appendingPathComponent(path, isDirectory: false)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: file, atomically: true, encoding: .utf8)
    }
}

/// Writes `files` into a fresh temporary directory, loads it with `SchemaSet.load(from:)` (the
/// directory is the import root) and removes the directory again.
func loadSchema(_ files: [String: String]) async throws -> SchemaSet {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try writeFiles(files, into: directory)
    return try await SchemaSet.load(from: directory.path)
}

/// Loads each version in order.
func loadSchemas(_ versions: [[String: String]]) async throws -> [SchemaSet] {
    var schemas: [SchemaSet] = []
    for files in versions { schemas.append(try await loadSchema(files)) }
    return schemas
}
