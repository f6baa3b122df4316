import Foundation
import SwiftProtobuf

/// Thresholds beyond which a feature counts as drifted between training and serving.
public struct DriftThresholds: Sendable {
    /// The largest shift of the mean, in pooled standard deviations. Defaults to 0.25.
    public var maxMeanShift = 0.25
    /// The largest ratio of the larger variance to the smaller. Defaults to 2.
    public var maxVarianceRatio = 2.0
    /// The largest difference in missing rate (0 to 1). Defaults to 0.05.
    public var maxMissingRateDelta = 0.05

    /// The defaults.
    public init() {}
}

/// Statistics of one feature in one log.
public struct FeatureStatistics: Sendable, Equatable {
    /// Records in the log.
    public var records = 0
    /// Records where the feature was on the wire (for proto3 scalars, also: not zero).
    public var present = 0
    /// Mean and (population) variance of the present numeric values; nil for strings.
    public var mean: Double?
    public var variance: Double?
    /// Distinct string values seen (counted up to 10,000); nil for numeric features.
    public var distinctValues: Int?
    /// Present values that were NaN or infinite (left out of mean and variance).
    public var nonFinite = 0

    /// The share of records without the feature.
    public var missingRate: Double { records == 0 ? 0 : Double(records - present) / Double(records) }
}

/// One feature compared across the training and the served log.
public struct FeatureComparison: Sendable {
    /// The feature (field) name.
    public var name: String
    /// Its type in the training schema and in the served schema; nil where absent.
    public var trainingType: String?
    public var servedType: String?
    public var training: FeatureStatistics
    public var served: FeatureStatistics
    /// What is wrong: empty when the feature is at parity.
    public var problems: [String]
}

/// The result of comparing a training feature log with a served one.
public struct ParityReport: Sendable {
    /// The schema ids each log was written with.
    public var trainingSchemaIDs: [String]
    public var servedSchemaIDs: [String]
    /// Every feature of either schema, in field-number order of the training schema first.
    public var features: [FeatureComparison]

    /// True when every feature is at parity.
    public var isAtParity: Bool { features.allSatisfy { $0.problems.isEmpty } }
}

/// Compares the feature vectors a model was trained on with the ones serving sends it:
/// features missing on one side, type mismatches, and drift of mean, variance and missing
/// rate. Each record is decoded with the schema its `schemaID` names.
public struct FeatureParityChecker: Sendable {
    /// The full name of the feature message, e.g. `oo.ml.v1.TipFeatures`.
    public var messageName: String
    public var thresholds: DriftThresholds

    /// A checker for `messageName`.
    public init(messageName: String, thresholds: DriftThresholds = DriftThresholds()) {
        self.messageName = messageName
        self.thresholds = thresholds
    }

    /// Compares the logs; `schemas` resolves a record's schema id (nil: unknown, an error).
    public func compare(
        training: [FeatureLogRecord], served: [FeatureLogRecord], schemas: (String) -> SchemaSet?
    ) throws(FeatureLogError) -> ParityReport {
        let trainingSide = try Side(records: training, messageName: messageName, schemas: schemas, label: "training")
        let servedSide = try Side(records: served, messageName: messageName, schemas: schemas, label: "served")
        var names = trainingSide.order
        for name in servedSide.order where !names.contains(name) { names.append(name) }
        let features = names.map { name -> FeatureComparison in
            let trainingType = trainingSide.types[name], servedType = servedSide.types[name]
            let trainingStats = trainingSide.statistics(name), servedStats = servedSide.statistics(name)
            var problems: [String] = []
            switch (trainingType, servedType) {
            case (_?, nil): problems.append("missing in serving: the model reads its default value")
            case (nil, _?): problems.append("not in training: the model ignores it")
            case (let trained?, let serving?) where trained != serving:
                problems.append("type mismatch: trained as \(trained), served as \(serving)")
            default:
                problems += drift(trainingStats, servedStats)
            }
            return FeatureComparison(
                name: name, trainingType: trainingType, servedType: servedType,
                training: trainingStats, served: servedStats, problems: problems)
        }
        return ParityReport(
            trainingSchemaIDs: trainingSide.schemaIDs, servedSchemaIDs: servedSide.schemaIDs, features: features)
    }

    private func drift(_ training: FeatureStatistics, _ served: FeatureStatistics) -> [String] {
        guard training.records > 0, served.records > 0 else { return [] }
        var problems: [String] = []
        let missingDelta = abs(training.missingRate - served.missingRate)
        if missingDelta > thresholds.maxMissingRateDelta {
            problems.append(String(format: "missing rate %.1f%% in training, %.1f%% served", training.missingRate * 100, served.missingRate * 100))
        }
        let trainedNonFinite = Double(training.nonFinite) / Double(training.records)
        let servedNonFinite = Double(served.nonFinite) / Double(served.records)
        if abs(trainedNonFinite - servedNonFinite) > thresholds.maxMissingRateDelta {
            problems.append(String(format: "NaN/infinite rate %.1f%% in training, %.1f%% served", trainedNonFinite * 100, servedNonFinite * 100))
        }
        if let trainedMean = training.mean, let servedMean = served.mean,
           let trainedVariance = training.variance, let servedVariance = served.variance {
            let pooled = ((trainedVariance + servedVariance) / 2).squareRoot()
            let shift = pooled > 0 ? abs(servedMean - trainedMean) / pooled : (servedMean == trainedMean ? 0 : .infinity)
            if shift > thresholds.maxMeanShift {
                problems.append(String(format: "mean shifted by %.2f standard deviations (%.4g trained, %.4g served)", shift, trainedMean, servedMean))
            }
            let low = min(trainedVariance, servedVariance), high = max(trainedVariance, servedVariance)
            let ratio = low > 0 ? high / low : (high == 0 ? 1 : .infinity)
            if ratio > thresholds.maxVarianceRatio {
                problems.append(String(format: "variance differs %.2fx (%.4g trained, %.4g served)", ratio, trainedVariance, servedVariance))
            }
        }
        return problems
    }
}

/// One log's features: their types (from the schemas used) and running statistics.
private struct Side {
    var order: [String] = []
    var types: [String: String] = [:]
    var schemaIDs: [String] = []
    private var accumulators: [String: Accumulator] = [:]
    private var records = 0

    init(records: [FeatureLogRecord], messageName: String, schemas: (String) -> SchemaSet?, label: String) throws(FeatureLogError) {
        var layouts: [String: MessageLayout] = [:]
        for (index, record) in records.enumerated() {
            let layout: MessageLayout
            if let known = layouts[record.schemaID] {
                layout = known
            } else {
                guard let schema = schemas(record.schemaID) else {
                    throw FeatureLogError(message: "\(label) record \(index + 1): schema id '\(record.schemaID)' is unknown: pass the descriptor set it was registered with (--schema; a directory's id covers every file under it), or a registry that has it (--registry).")
                }
                guard let found = MessageLayout(schema: schema, messageName: messageName) else {
                    throw FeatureLogError(message: "\(label) schema '\(record.schemaID)' has no message \(messageName).")
                }
                layouts[record.schemaID] = found
                schemaIDs.append(record.schemaID)
                for field in found.fields.values.sorted(by: { $0.number < $1.number }) where types[field.name] == nil {
                    types[field.name] = field.typeName
                    order.append(field.name)
                }
                layout = found
            }
            guard let values = layout.decode(record.features) else {
                throw FeatureLogError(message: "\(label) record \(index + 1): its features do not parse as \(messageName).")
            }
            self.records += 1
            for (name, value) in values { accumulators[name, default: Accumulator()].add(value) }
        }
    }

    func statistics(_ name: String) -> FeatureStatistics {
        var statistics = accumulators[name]?.statistics ?? FeatureStatistics()
        statistics.records = records
        if types[name] == "string", statistics.distinctValues == nil { statistics.distinctValues = 0 }
        return statistics
    }
}

/// A decoded feature value.
private enum FeatureValue {
    case number(Double)
    case text(String)
}

/// Welford's running mean and variance, or distinct strings.
private struct Accumulator {
    var count = 0
    var finiteCount = 0
    var nonFinite = 0
    var mean = 0.0
    var m2 = 0.0
    var numeric = false
    var strings = Set<String>()
    var isText = false

    mutating func add(_ value: FeatureValue) {
        count += 1
        switch value {
        case .number(let x):
            numeric = true
            guard x.isFinite else {
                nonFinite += 1
                return
            }
            finiteCount += 1
            let delta = x - mean
            mean += delta / Double(finiteCount)
            m2 += delta * (x - mean)
        case .text(let text):
            isText = true
            if strings.count < 10_000 { strings.insert(text) }
        }
    }

    var statistics: FeatureStatistics {
        var result = FeatureStatistics()
        result.present = count
        result.nonFinite = nonFinite
        if numeric, finiteCount > 0 {
            result.mean = mean
            result.variance = m2 / Double(finiteCount)
        }
        if isText { result.distinctValues = strings.count }
        return result
    }
}

/// The top-level fields of a feature message, for decoding its bytes without generated code.
private struct MessageLayout {
    struct Field {
        let number: UInt64
        let name: String
        let type: Google_Protobuf_FieldDescriptorProto.TypeEnum
        let typeName: String
        let repeated: Bool
    }
    let fields: [UInt64: Field]

    init?(schema: SchemaSet, messageName: String) {
        guard let message = schema.messages[messageName] else { return nil }
        var fields: [UInt64: Field] = [:]
        for field in message.proto.field where field.number > 0 {
            let typeName = switch field.type {
            case .message, .enum, .group: field.typeName.hasPrefix(".") ? String(field.typeName.dropFirst()) : field.typeName
            default: "\(field.type)"
            }
            fields[UInt64(field.number)] = Field(
                number: UInt64(field.number), name: field.name, type: field.type, typeName: typeName,
                repeated: field.label == .repeated)
        }
        self.fields = fields
    }

    /// The values of the singular scalar fields present in `bytes`; nil when they do not parse.
    func decode(_ bytes: [UInt8]) -> [String: FeatureValue]? {
        var reader = WireReader(bytes)
        var values: [String: FeatureValue] = [:]
        while !reader.isAtEnd {
            guard let key = reader.varint() else { return nil }
            let number = key >> 3, wireType = key & 7
            guard let field = fields[number], !field.repeated else {
                guard reader.skip(wireType: wireType) else { return nil }
                continue
            }
            switch (wireType, field.type) {
            case (0, _):
                guard let raw = reader.varint() else { return nil }
                values[field.name] = .number(Self.varintValue(raw, field.type))
            case (1, .double):
                guard let raw = reader.fixed64() else { return nil }
                values[field.name] = .number(Double(bitPattern: raw))
            case (1, .sfixed64):
                guard let raw = reader.fixed64() else { return nil }
                values[field.name] = .number(Double(Int64(bitPattern: raw)))
            case (1, _):
                guard let raw = reader.fixed64() else { return nil }
                values[field.name] = .number(Double(raw))
            case (5, .float):
                guard let raw = reader.fixed32() else { return nil }
                values[field.name] = .number(Double(Float(bitPattern: raw)))
            case (5, .sfixed32):
                guard let raw = reader.fixed32() else { return nil }
                values[field.name] = .number(Double(Int32(bitPattern: raw)))
            case (5, _):
                guard let raw = reader.fixed32() else { return nil }
                values[field.name] = .number(Double(raw))
            case (2, .string):
                guard let raw = reader.lengthDelimited() else { return nil }
                values[field.name] = .text(String(decoding: raw, as: UTF8.self))
            default:
                // Bytes and nested messages: presence only.
                guard reader.skip(wireType: wireType) else { return nil }
                values[field.name] = .text("")
            }
        }
        return values
    }

    private static func varintValue(_ raw: UInt64, _ type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> Double {
        switch type {
        case .sint32, .sint64: return Double(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        case .uint32, .uint64: return Double(raw)
        case .int32: return Double(Int32(truncatingIfNeeded: Int64(bitPattern: raw)))
        default: return Double(Int64(bitPattern: raw))  // int64, bool, enum
        }
    }
}
