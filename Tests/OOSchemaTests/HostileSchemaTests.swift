import Foundation
import OOSchema
import SwiftProtobuf
import Testing

/// Descriptor sets protoc would never write (hand-made or hostile) must not crash the
/// checker or the parity tool: the registry compares every later version with them.
@Suite("Hostile descriptor sets")
struct HostileSchemaTests {
    static func set(_ message: Google_Protobuf_DescriptorProto, spanLine: Int32 = 0) -> SchemaSet {
        SchemaSet(descriptorSet: .with {
            $0.file = [.with {
                $0.name = "h.proto"
                $0.package = "h"
                $0.syntax = "proto3"
                $0.messageType = [message]
                $0.sourceCodeInfo.location = [.with { $0.path = [4, 0]; $0.span = [spanLine, spanLine, 3] }]
            }]
        })
    }

    @Test("inverted ranges, a bad oneof index, negative numbers and huge spans are checked without a crash")
    func noCrash() {
        let hostile = Self.set(.with {
            $0.name = "M"
            $0.reservedRange = [.with { $0.start = 9; $0.end = 5 }]
            $0.extensionRange = [.with { $0.start = 20; $0.end = 10 }]
            $0.oneofDecl = [.with { $0.name = "o" }]
            $0.field = [
                .with { $0.name = "a"; $0.number = 1; $0.type = .int32; $0.label = .optional; $0.oneofIndex = -1 },
                .with { $0.name = "b"; $0.number = -7; $0.type = .int32; $0.label = .optional },
            ]
        }, spanLine: Int32.max)
        let plain = Self.set(.with {
            $0.name = "M"
            $0.field = [.with { $0.name = "a"; $0.number = 1; $0.type = .int64; $0.label = .optional }]
        })
        for category in BreakingCategory.allCases {
            _ = BreakingChecker(category: category).check(hostile, against: plain)
            let changes = BreakingChecker(category: category).check(plain, against: hostile)
            #expect(changes.allSatisfy { $0.location.line >= 1 })
        }
        for mode in CompatibilityMode.allCases {
            _ = CompatibilityChecker().check(plain, against: [hostile, plain], mode: mode)
        }
        let record = FeatureLogRecord(schemaID: "x", features: [8, 1, 0x10, 2])
        #expect(throws: Never.self) {
            _ = try FeatureParityChecker(messageName: "h.M").compare(training: [record], served: [record]) { _ in hostile }
        }
    }

    @Test("a NaN feature value does not make identical logs drift")
    func nanIsNotDrift() throws {
        let schema = SchemaSet(descriptorSet: .with {
            $0.file = [.with {
                $0.name = "f.proto"; $0.package = "f"; $0.syntax = "proto3"
                $0.messageType = [.with {
                    $0.name = "F"
                    $0.field = [.with { $0.name = "rate"; $0.number = 1; $0.type = .double; $0.label = .optional }]
                }]
            }]
        })
        func record(_ value: Double) -> FeatureLogRecord {
            var bytes: [UInt8] = [9]  // field 1, fixed64
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
            return FeatureLogRecord(schemaID: "s", features: bytes)
        }
        let log = [record(0.5), record(.nan), record(0.25), record(0.75)]
        let report = try FeatureParityChecker(messageName: "f.F").compare(training: log, served: log) { _ in schema }
        #expect(report.isAtParity, "\(report.features.map(\.problems))")
        #expect(report.features.first?.training.nonFinite == 1)
        #expect(report.features.first?.training.mean == 0.5)
    }
}
