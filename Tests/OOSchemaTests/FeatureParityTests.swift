import Foundation
import MLProtos
import OOSchema
import SwiftProtobuf
import Testing

/// Train/serve parity: feature logs of real `oo.ml.v1.TipFeatures` messages, compared with
/// the schemas they were written with (Proto/oo/ml/v1/features.proto, compiled by protoc).
@Suite("Train/serve parity")
struct FeatureParityTests {
    /// The released feature schema, and a serving variant that dropped `tip_ctr` and
    /// changed `tips_shown_7d` to int32.
    static func schemas() async throws -> (trained: SchemaSet, served: SchemaSet) {
        // features.proto alone (its directory also holds serving.proto, which imports it by
        // its path from Proto/), as released and as edited.
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Proto/oo/ml/v1/features.proto"), encoding: .utf8)
        let edited = source
            .replacingOccurrences(of: "  double tip_ctr = 7;\n", with: "")
            .replacingOccurrences(of: "  int64 tips_shown_7d = 3;", with: "  int32 tips_shown_7d = 3;")
        var loaded: [SchemaSet] = []
        for text in [source, edited] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-parity-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try text.write(to: directory.appendingPathComponent("features.proto"), atomically: true, encoding: .utf8)
            loaded.append(try await SchemaSet.load(from: directory.path))
        }
        return (loaded[0], loaded[1])
    }

    /// `count` records of TipFeatures drawn deterministically; `shift` moves positive_rate_7d.
    static func records(_ count: Int, schemaID: String, shift: Double = 0, quietShare: Int = 10) throws -> [FeatureLogRecord] {
        var generator = SplitMix(seed: 7)
        return try (0..<count).map { index in
            let features = Oo_Ml_V1_TipFeatures.with {
                $0.hourOfDay = Int32(generator.next() % 24)
                $0.dayOfWeek = Int32(generator.next() % 7 + 1)
                $0.tipsShown7D = Int64(generator.next() % 50)
                $0.positiveRate7D = min(1, Double(generator.next() % 1000) / 1000 + shift)
                $0.secondsSinceLastSession = Double(generator.next() % 86_400)
                $0.tipCategory = ["sleep", "hydration", "movement"][index % 3]
                $0.tipCtr = Double(generator.next() % 100) / 1000
                $0.inQuietHours = index % quietShare == 0
            }
            return FeatureLogRecord(schemaID: schemaID, features: try features.serializedBytes())
        }
    }

    @Test("the same features from the same schema are at parity")
    func atParity() async throws {
        let (trained, _) = try await Self.schemas()
        let report = try FeatureParityChecker(messageName: "oo.ml.v1.TipFeatures").compare(
            training: try Self.records(2000, schemaID: trained.id), served: try Self.records(1000, schemaID: trained.id)
        ) { $0 == trained.id ? trained : nil }
        #expect(report.isAtParity, "\(report.features.filter { !$0.problems.isEmpty })")
        #expect(report.features.map(\.name).prefix(3) == ["hour_of_day", "day_of_week", "tips_shown_7d"])
        let hour = try #require(report.features.first { $0.name == "hour_of_day" })
        #expect(abs((hour.training.mean ?? 0) - 11.5) < 0.5)  // uniform over 0...23
    }

    @Test("a missing feature, a type mismatch and drift are each reported")
    func problems() async throws {
        let (trained, served) = try await Self.schemas()
        #expect(trained.id != served.id)
        let report = try FeatureParityChecker(messageName: "oo.ml.v1.TipFeatures").compare(
            training: try Self.records(2000, schemaID: trained.id),
            served: try Self.records(2000, schemaID: served.id, shift: 0.3, quietShare: 2)
        ) { [trained.id: trained, served.id: served][$0] }
        let problems = Dictionary(uniqueKeysWithValues: report.features.map { ($0.name, $0.problems) })
        #expect(problems["tip_ctr"]?.first?.contains("missing in serving") == true)
        #expect(problems["tips_shown_7d"]?.first?.contains("type mismatch") == true)
        #expect(problems["positive_rate_7d"]?.contains { $0.contains("mean shifted") } == true)
        // in_quiet_hours true for 1 in 2 instead of 1 in 10: its missing (false) rate moves by 40 points.
        #expect(problems["in_quiet_hours"]?.contains { $0.contains("missing rate") } == true)
        #expect(problems["hour_of_day"] == [])
        #expect(!report.isAtParity)
    }

    @Test("oo schema parity: exit 0 at parity, 1 with the problems listed, 2 for an unknown schema id")
    func command() async throws {
        let (trained, served) = try await Self.schemas()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-parity-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ records: [FeatureLogRecord]) throws -> String {
            let url = directory.appendingPathComponent(name)
            try Data(FeatureLog.write(records)).write(to: url)
            return url.path
        }
        let training = try write("training.log", Self.records(500, schemaID: trained.id))
        let same = try write("same.log", Self.records(500, schemaID: trained.id))
        let drifted = try write("drifted.log", Self.records(500, schemaID: served.id, shift: 0.3))
        let servedSchema = directory.appendingPathComponent("served.binpb")
        let servedBytes: [UInt8] = try Google_Protobuf_FileDescriptorSet.with { $0.file = served.files }.serializedBytes()
        try Data(servedBytes).write(to: servedSchema)
        let trainedSchema = directory.appendingPathComponent("trained.binpb").path
        let trainedBytes: [UInt8] = try Google_Protobuf_FileDescriptorSet.with { $0.file = trained.files }.serializedBytes()
        try Data(trainedBytes).write(to: URL(fileURLWithPath: trainedSchema))

        let ok = try await runOO(["schema", "parity", training, same, "--schema", trainedSchema])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("at parity: 15 features"), "\(ok.output)")

        let bad = try await runOO(["schema", "parity", training, drifted, "--schema", trainedSchema, "--schema", servedSchema.path])
        #expect(bad.status == 1, "\(bad.output)")
        #expect(bad.output.contains("tip_ctr: missing in serving"), "\(bad.output)")
        #expect(bad.output.contains("tips_shown_7d: type mismatch: trained as int64, served as int32"), "\(bad.output)")

        let unknown = try await runOO(["schema", "parity", training, drifted, "--schema", trainedSchema])
        #expect(unknown.status == 2, "\(unknown.output)")
        #expect(unknown.output.contains("schema id '\(served.id)' is unknown"), "\(unknown.output)")
    }

    @Test("a truncated log is refused with where it breaks")
    func truncatedLog() throws {
        var bytes = FeatureLog.write([FeatureLogRecord(schemaID: "a", features: [8, 1]), FeatureLogRecord(schemaID: "b", features: [8, 2])])
        bytes.removeLast(2)
        let error = #expect(throws: FeatureLogError.self) { try FeatureLog.read(bytes, name: "served.log") }
        #expect(error?.message.contains("served.log: record 2") == true, "\(String(describing: error))")
    }
}

/// A small deterministic generator, so the statistics are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
