import Foundation
import MLProtos
import MLServing
import OOHealth
import OOMesh
import OOSchema
import OOStorage
import SwiftProtobuf
import Testing

/// The repository's root (this file is Tests/MLServingTests/Support.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh directory under the system temporary directory; the caller removes it.
func makeTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-ml-serving-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withTemporaryDirectory<Result>(_ body: (URL) async throws -> Result) async throws -> Result {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// Proto/oo/ml/v1/features.proto compiled by protoc, after `edit` (the file's text in, the
/// text to compile out): the serving schema, or a changed one.
func featuresSchema(_ edit: (String) -> String = { $0 }) async throws -> SchemaSet {
    let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Proto/oo/ml/v1/features.proto"), encoding: .utf8)
    let edited = edit(source)
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("oo/ml/v1/features.proto")
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try edited.write(to: file, atomically: true, encoding: .utf8)
    return SchemaSet(descriptorSet: try await ProtocCompiler(timeout: .seconds(60)).compile(directory: directory.path))
}

/// A configuration keeping everything in `directory`.
func testConfiguration(_ directory: URL, snapshotEvery: Int = 500) -> MLServingConfiguration {
    var configuration = MLServingConfiguration.defaults
    configuration.databasePath = directory.appendingPathComponent("ml.sqlite").path
    configuration.servedFeatureLog.path = directory.appendingPathComponent("served.featlog").path
    configuration.snapshotEvery = snapshotEvery
    configuration.seed = 7
    return configuration
}

/// Tip features with the fields the tests vary.
func tip(_ category: String, hour: Int32 = 9, priority: Int32 = 2, doneRate: Double = 0.5, ctr: Double = 0.1) -> Oo_Ml_V1_TipFeatures {
    .with {
        $0.tipCategory = category
        $0.hourOfDay = hour
        $0.dayOfWeek = 3
        $0.priority = priority
        $0.categoryDoneRate = doneRate
        $0.tipCtr = ctr
        $0.tipsShown7D = 12
        $0.positiveRate7D = 0.4
    }
}

/// A score request for `features`, candidates named c0, c1, …
func scoreRequest(_ features: [Oo_Ml_V1_TipFeatures], requestID: String = "r") -> Oo_Ml_V1_ScoreRequest {
    .with {
        $0.requestID = requestID
        $0.userID = "u"
        $0.candidates = features.enumerated().map { index, features in
            .with {
                $0.candidateID = "c\(index)"
                $0.features = features
            }
        }
    }
}

/// An update request, with a fresh request id unless one is given (Update is idempotent
/// by request id).
func updateRequest(
    _ features: Oo_Ml_V1_TipFeatures, reward: Double, user: String = "u", requestID: String = UUID().uuidString
) -> Oo_Ml_V1_UpdateRequest {
    .with {
        $0.userID = user
        $0.requestID = requestID
        $0.features = features
        $0.reward = reward
    }
}

/// A context for calling a handler directly.
func context(_ method: MethodDescriptor = Oo_Ml_V1_ModelServing.Method.Score.descriptor) -> ServerContext {
    ServerContext(descriptor: method, requestMetadata: [:], peer: "test", deadline: nil)
}

/// A deterministic stream of varied tips over `categories`.
func tipStream(count: Int, categories: [String], seed: UInt64 = 11) -> [Oo_Ml_V1_TipFeatures] {
    var random = SeededRandom(seed: seed)
    return (0..<count).map { _ in
        var features = tip(categories[random.index(below: categories.count)], hour: Int32(random.index(below: 24)), priority: Int32(1 + random.index(below: 4)))
        features.categoryDoneRate = random.unit()
        features.projectDoneRate = random.unit()
        features.dueSet = random.unit() < 0.5
        features.hoursUntilDue = random.unit() * 96 - 24
        return features
    }
}

/// Applies `count` updates from `user` (rewards from a fixed rule) to `service` directly.
func train(_ service: ModelServingService, count: Int, categories: [String] = ["sleep", "hydration", "focus"], user: String = "u", seed: UInt64 = 11) async throws {
    for (index, features) in tipStream(count: count, categories: categories, seed: seed).enumerated() {
        let reward = features.tipCategory == "sleep" ? 0.8 * features.categoryDoneRate : 0.3
        _ = try await service.update(request: updateRequest(features, reward: reward, user: user, requestID: "\(user)-\(seed)-\(index)"), context: context())
    }
}

/// Every policy's scores for a fixed probe of candidates.
func probeScores(_ service: ModelServingService) throws -> [String: [Double]] {
    let probe = scoreRequest(tipStream(count: 12, categories: ["sleep", "hydration", "focus", "new-arm"], seed: 99)).candidates
    return Dictionary(uniqueKeysWithValues: try service.scoreOnly(probe).map { ($0.policy, $0.scores) })
}

/// Rows of `table` in the SQLite file at `path` matching `condition` (a second connection;
/// the file is in WAL mode).
func countRows(_ path: String, _ table: String, where condition: String = "1", _ parameters: [SQLiteValue] = []) throws -> Int {
    let database = try SQLiteDatabase(path: path)
    return Int(try database.query("SELECT COUNT(*) FROM \(table) WHERE \(condition)", parameters).first?.first?.integer ?? -1)
}
