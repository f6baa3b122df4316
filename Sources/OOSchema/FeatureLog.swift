import Foundation
import SwiftProtobuf

/// One record of a feature log (`oo.ml.v1.FeatureLogRecord`): which schema the features
/// were written with, and the feature message's bytes.
public struct FeatureLogRecord: Sendable, Hashable {
    /// The registry id of the feature schema.
    public var schemaID: String
    /// The serialized feature message.
    public var features: [UInt8]

    /// Creates a record.
    public init(schemaID: String, features: [UInt8]) {
        self.schemaID = schemaID
        self.features = features
    }
}

/// Reads and writes feature logs: `oo.ml.v1.FeatureLogRecord` messages, each preceded by
/// its length as a varint (protobuf's length-delimited stream format, as
/// `writeDelimitedTo` in Java and C++ writes it).
public enum FeatureLog {
    /// Records longer than this are refused as corrupt: 1 MiB.
    public static let maxRecordBytes = 1 << 20

    /// Parses a whole log.
    public static func read(_ bytes: [UInt8], name: String = "log") throws(FeatureLogError) -> [FeatureLogRecord] {
        var reader = WireReader(bytes)
        var records: [FeatureLogRecord] = []
        while !reader.isAtEnd {
            let offset = reader.offset
            guard let length = reader.varint(), length <= UInt64(maxRecordBytes), let body = reader.bytes(Int(length)) else {
                throw FeatureLogError(message: "\(name): record \(records.count + 1) at byte \(offset) is truncated or longer than \(maxRecordBytes) bytes.")
            }
            guard let record = decodeRecord(body) else {
                throw FeatureLogError(message: "\(name): record \(records.count + 1) at byte \(offset) is not a FeatureLogRecord.")
            }
            records.append(record)
        }
        return records
    }

    /// Encodes records as a log.
    public static func write(_ records: [FeatureLogRecord]) -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            var body: [UInt8] = []
            appendField(1, Array(record.schemaID.utf8), to: &body)
            appendField(2, record.features, to: &body)
            appendVarint(UInt64(body.count), to: &out)
            out += body
        }
        return out
    }

    private static func decodeRecord(_ body: [UInt8]) -> FeatureLogRecord? {
        var reader = WireReader(body)
        var record = FeatureLogRecord(schemaID: "", features: [])
        while !reader.isAtEnd {
            guard let key = reader.varint() else { return nil }
            let number = key >> 3, wireType = key & 7
            switch (number, wireType) {
            case (1, 2):
                guard let bytes = reader.lengthDelimited() else { return nil }
                record.schemaID = String(decoding: bytes, as: UTF8.self)
            case (2, 2):
                guard let bytes = reader.lengthDelimited() else { return nil }
                record.features = bytes
            default:
                guard reader.skip(wireType: wireType) else { return nil }
            }
        }
        return record
    }

    private static func appendField(_ number: UInt64, _ bytes: [UInt8], to out: inout [UInt8]) {
        appendVarint(number << 3 | 2, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out += bytes
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }
}

/// A feature log that cannot be read, saying where.
public struct FeatureLogError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    public var description: String { message }

    /// Creates an error saying `message`.
    public init(message: String) { self.message = message }
}

/// Reads protobuf wire format, refusing to read past the end.
struct WireReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func lengthDelimited() -> [UInt8]? {
        guard let length = varint(), length <= UInt64(Int.max) else { return nil }
        return bytes(Int(length))
    }

    mutating func fixed32() -> UInt32? {
        guard let raw = bytes(4) else { return nil }
        return raw.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func fixed64() -> UInt64? {
        guard let raw = bytes(8) else { return nil }
        return raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Skips one value of `wireType`; false when it is malformed or a group.
    mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1: return bytes(8) != nil
        case 2: return lengthDelimited() != nil
        case 5: return bytes(4) != nil
        default: return false
        }
    }
}
