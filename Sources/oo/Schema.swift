import ArgumentParser
import Foundation
import OOSchema

/// `oo schema …`: schema evolution checks.
struct Schema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check .proto schema changes for compatibility.",
        subcommands: [Breaking.self, Parity.self])
}

/// `oo schema breaking <new> --against <old>`: the CI check for breaking `.proto` changes.
struct Breaking: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report the breaking changes from one schema version to another.",
        discussion: """
            Each side is a directory of .proto files (compiled with the system protoc, the directory \
            being the import root) or a binary FileDescriptorSet (protoc --descriptor_set_out \
            --include_imports --include_source_info). Rules and categories are buf's; see \
            docs/schema-rules.md. Exit status: 0 compatible, 1 breaking changes found, 2 usage or \
            parse errors.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "The new schema: a directory of .proto files or a descriptor set file.")
    var new: String

    @Option(help: "The old schema to compare against: a directory or a descriptor set file.")
    var against: String

    @Option(help: "The rules to apply: FILE (default), PACKAGE, WIRE_JSON or WIRE.")
    var category: BreakingCategory = .file

    @Option(help: "text: file:line:col:RULE_ID:message per line; json: one object per line.")
    var format: Format = .text

    func run() async throws {
        let old: SchemaSet, new: SchemaSet
        do {
            old = try await SchemaSet.load(from: against)
            new = try await SchemaSet.load(from: self.new)
        } catch {
            FileHandle.standardError.write(Data("oo schema breaking: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        let changes = BreakingChecker(category: category).check(new, against: old)
        for change in changes {
            switch format {
            case .text: print(change.textLine)
            case .json: print(Self.jsonLine(change))
            }
        }
        if !changes.isEmpty { throw ExitCode(1) }
    }

    /// One change as buf's `--error-format json` writes it, so tooling can read either.
    static func jsonLine(_ change: BreakingChange) -> String {
        struct Line: Encodable {
            var path: String
            var start_line: Int
            var start_column: Int
            var type: String
            var message: String
        }
        let line = Line(path: change.location.file, start_line: change.location.line, start_column: change.location.column,
                        type: change.ruleID, message: change.message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(line)) ?? Data(), as: UTF8.self)
    }
}

extension BreakingCategory: ExpressibleByArgument {}

/// `oo schema parity <training-log> <served-log>`: train/serve parity of feature vectors.
struct Parity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a training feature log with a served one: missing, extra and mistyped features, and drift.",
        discussion: """
            Each log is a sequence of length-delimited oo.ml.v1.FeatureLogRecord messages. Every \
            record names the schema id its features were written with; the schemas come from \
            --schema (descriptor set files or .proto directories; their ids are computed as the \
            registry computes them) and, for ids not found there, from --registry. Exit status: 0 at \
            parity, 1 when a feature is missing, extra, mistyped or drifted, 2 on usage or read errors.
            """)

    @Argument(help: "The training feature log.")
    var training: String

    @Argument(help: "The served feature log.")
    var served: String

    @Option(name: .customLong("schema"), help: "A schema the logs may use: a descriptor set file or a directory of .proto files (repeatable).")
    var schemas: [String] = []

    @Option(help: "A schema registry (host:port) to fetch unknown schema ids from.")
    var registry: String?

    @Option(help: "The feature message's full name.")
    var message: String = "oo.ml.v1.TipFeatures"

    @Option(help: "Largest mean shift, in pooled standard deviations.")
    var maxMeanShift: Double = DriftThresholds().maxMeanShift

    @Option(help: "Largest ratio between the two variances.")
    var maxVarianceRatio: Double = DriftThresholds().maxVarianceRatio

    @Option(help: "Largest difference in missing rate, 0 to 1.")
    var maxMissingRateDelta: Double = DriftThresholds().maxMissingRateDelta

    func run() async throws {
        do {
            var known: [String: SchemaSet] = [:]
            for path in schemas {
                let schema = try await SchemaSet.load(from: path)
                known[schema.id] = schema
            }
            let trainingRecords = try FeatureLog.read(try Self.readFile(training), name: training)
            let servedRecords = try FeatureLog.read(try Self.readFile(served), name: served)
            if let registry {
                let wanted = Set((trainingRecords + servedRecords).map(\.schemaID)).subtracting(known.keys)
                for (id, schema) in try await RegistryLookup.fetch(ids: wanted, from: registry) { known[id] = schema }
            }
            var thresholds = DriftThresholds()
            thresholds.maxMeanShift = maxMeanShift
            thresholds.maxVarianceRatio = maxVarianceRatio
            thresholds.maxMissingRateDelta = maxMissingRateDelta
            let report = try FeatureParityChecker(messageName: message, thresholds: thresholds)
                .compare(training: trainingRecords, served: servedRecords) { known[$0] }
            print(Self.render(report, training: trainingRecords.count, served: servedRecords.count))
            if !report.isAtParity { throw ExitCode(1) }
        } catch let error as SchemaLoadError {
            FileHandle.standardError.write(Data("oo schema parity: \(error.message)\n".utf8))
            throw ExitCode(2)
        } catch let error as FeatureLogError {
            FileHandle.standardError.write(Data("oo schema parity: \(error.message)\n".utf8))
            throw ExitCode(2)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            // A registry that cannot be reached is an error (2), never drift (1).
            FileHandle.standardError.write(Data("oo schema parity: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    static func readFile(_ path: String) throws(FeatureLogError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FeatureLogError(message: "\(path): cannot be read.")
        }
        return [UInt8](data)
    }

    static func render(_ report: ParityReport, training: Int, served: Int) -> String {
        func number(_ value: Double?) -> String { value.map { String(format: "%.4g", $0) } ?? "-" }
        var lines = [
            "training: \(training) records, schema \(report.trainingSchemaIDs.joined(separator: ", "))",
            "served:   \(served) records, schema \(report.servedSchemaIDs.joined(separator: ", "))",
            "",
            "feature                          type (train/served)     mean (train/served)    variance (train/served)  missing % (train/served)",
        ]
        for feature in report.features {
            let type = "\(feature.trainingType ?? "-")/\(feature.servedType ?? "-")"
            let mean = "\(number(feature.training.mean))/\(number(feature.served.mean))"
            let variance = "\(number(feature.training.variance))/\(number(feature.served.variance))"
            let missing = String(format: "%.1f/%.1f", feature.training.missingRate * 100, feature.served.missingRate * 100)
            lines.append(feature.name.padding(toLength: 33, withPad: " ", startingAt: 0)
                + type.padding(toLength: 24, withPad: " ", startingAt: 0)
                + mean.padding(toLength: 23, withPad: " ", startingAt: 0)
                + variance.padding(toLength: 25, withPad: " ", startingAt: 0) + missing)
            for problem in feature.problems { lines.append("  ! \(feature.name): \(problem)") }
        }
        lines.append("")
        let problems = report.features.filter { !$0.problems.isEmpty }.count
        lines.append(problems == 0 ? "at parity: \(report.features.count) features" : "NOT at parity: \(problems) of \(report.features.count) features")
        return lines.joined(separator: "\n")
    }
}
