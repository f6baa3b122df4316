import Foundation
import SwiftProtobuf

/// Transcodes between protobuf's JSON mapping and its binary wire format for any message
/// type of a ``DescriptorPool``, without generated code (swift-protobuf has no dynamic
/// messages): what `oo call` sends and prints.
///
/// Follows https://protobuf.dev/programming-guides/json/:
/// - field names: lowerCamelCase JSON names on output; JSON names or `.proto` names on input;
/// - 64-bit integers as strings on output, strings or numbers on input; other integers as
///   numbers (strings accepted); `float`/`double` as numbers or `"NaN"`, `"Infinity"`,
///   `"-Infinity"`; `bytes` as base64 (standard or URL-safe, padding optional on input);
///   enums by name (numbers accepted, unknown numbers printed as numbers);
/// - repeated fields as arrays (packed and unpacked both read; proto3 scalars written packed),
///   maps as objects with string keys, oneofs (two members set is an error);
/// - proto3 fields without presence that hold their default are omitted on output, as
///   grpcurl does without `--emit-defaults`; `null` means "default" on input;
/// - unknown fields are skipped on decode; unknown JSON members are errors on encode;
/// - well-known types `google.protobuf.Timestamp` (RFC 3339), `Duration` (`"1.5s"`), the
///   wrappers (the bare value) and `Empty` in their special JSON forms. `Any`, `Struct`,
///   `Value`, `ListValue` and `FieldMask` are transcoded as plain messages.
///
/// Nesting is bounded (``maximumDepth``): hostile bytes or JSON produce a ``TranscodingError``
/// naming the JSON path, never a crash.
///
/// ```swift
/// let codec = DynamicCodec(pool: pool)
/// let bytes = try codec.encode(json: #"{"name":"oO","count":3}"#, messageType: "oo.example.v1.HelloRequest")
/// print(try codec.decode(bytes, messageType: "oo.example.v1.HelloRequest").rendered())
/// ```
public struct DynamicCodec: Sendable {
    /// The types it transcodes.
    public let pool: DescriptorPool
    /// The deepest nesting of messages accepted either way: 100.
    public static let maximumDepth = 100

    /// A codec over `pool`.
    public init(pool: DescriptorPool) { self.pool = pool }

    /// The wire bytes of the message of type `messageType` that `json` describes.
    /// - Throws: ``TranscodingError`` for malformed JSON, unknown members, wrong value types,
    ///   out-of-range numbers, or a type the pool lacks.
    public func encode(json: String, messageType: String) throws(TranscodingError) -> [UInt8] {
        try encode(JSONValue.parse(json), messageType: messageType)
    }

    /// The wire bytes of the message of type `messageType` that `value` describes.
    public func encode(_ value: JSONValue, messageType: String) throws(TranscodingError) -> [UInt8] {
        try encodeMessage(value, try type(named: messageType, path: ""), path: "", depth: 1)
    }

    /// The JSON form of a message of type `messageType` from its wire bytes.
    /// - Throws: ``TranscodingError`` for malformed bytes (truncated, bad tags, invalid
    ///   UTF-8 in a string, nesting too deep) or a type the pool lacks.
    public func decode(_ bytes: [UInt8], messageType: String) throws(TranscodingError) -> JSONValue {
        try decodeMessage(bytes, bytes.indices, try type(named: messageType, path: ""), path: "", depth: 1)
    }

    /// ``decode(_:messageType:)`` rendered as text, compact or pretty.
    public func jsonText(_ bytes: [UInt8], messageType: String, pretty: Bool = false) throws(TranscodingError) -> String {
        try decode(bytes, messageType: messageType).rendered(pretty: pretty)
    }

    func type(named name: String, path: String) throws(TranscodingError) -> MessageType {
        guard let type = pool.message(named: name) else {
            throw TranscodingError(path: path, message: "message type '\(DescriptorPool.strip(name))' is not in the descriptors loaded")
        }
        return type
    }

    static func member(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
}

// MARK: - JSON → wire

/// A scalar ready for the wire.
enum WireScalar {
    case varint(UInt64)
    case fixed32(UInt32)
    case fixed64(UInt64)
    case bytes([UInt8])

    var wireType: WireType {
        switch self {
        case .varint: .varint
        case .fixed32: .fixed32
        case .fixed64: .fixed64
        case .bytes: .lengthDelimited
        }
    }

    func write(to writer: inout WireWriter) {
        switch self {
        case .varint(let value): writer.varint(value)
        case .fixed32(let value): writer.fixed32(value)
        case .fixed64(let value): writer.fixed64(value)
        case .bytes(let value): writer.lengthDelimited(value)
        }
    }
}

extension DynamicCodec {
    func encodeMessage(_ value: JSONValue, _ type: MessageType, path: String, depth: Int) throws(TranscodingError) -> [UInt8] {
        guard depth <= Self.maximumDepth else {
            throw TranscodingError(path: path, message: "messages nested deeper than \(Self.maximumDepth)")
        }
        if let special = try encodeWellKnown(value, type, path: path) { return special }
        guard case .object(let members) = value else {
            throw TranscodingError(path: path, message: "expected an object for \(type.fullName), got \(value.snippet)")
        }
        var seen: [Int32: String] = [:]
        var oneofs: [Int32: String] = [:]
        var entries: [(field: FieldInfo, value: JSONValue, path: String)] = []
        for member in members {
            let memberPath = Self.member(path, member.key)
            guard let field = type.field(named: member.key) else {
                throw TranscodingError(path: memberPath, message: "\(type.fullName) has no field named '\(member.key)'")
            }
            if let previous = seen[field.number] {
                throw TranscodingError(path: memberPath, message: "field \(field.name) is set twice (also as '\(previous)')")
            }
            seen[field.number] = member.key
            if case .null = member.value { continue }
            if field.isRealOneofMember {
                let index = field.proto.oneofIndex
                if let other = oneofs[index] {
                    let oneofName = Int(index) < type.proto.oneofDecl.count ? type.proto.oneofDecl[Int(index)].name : "#\(index)"
                    throw TranscodingError(path: memberPath, message: "oneof \(oneofName) already has '\(other)' set")
                }
                oneofs[index] = member.key
            }
            entries.append((field, member.value, memberPath))
        }
        entries.sort { $0.field.number < $1.field.number }
        var writer = WireWriter()
        for entry in entries {
            try encodeField(entry.field, entry.value, in: type, path: entry.path, depth: depth, into: &writer)
        }
        return writer.bytes
    }

    private func encodeField(
        _ field: FieldInfo, _ value: JSONValue, in type: MessageType, path: String, depth: Int, into writer: inout WireWriter
    ) throws(TranscodingError) {
        if field.isMap {
            try encodeMap(field, value, in: type, path: path, depth: depth, into: &writer)
            return
        }
        if field.isRepeated {
            guard case .array(let elements) = value else {
                throw TranscodingError(path: path, message: "expected an array, got \(value.snippet)")
            }
            var packed = WireWriter()
            for (index, element) in elements.enumerated() {
                let elementPath = "\(path)[\(index)]"
                if case .null = element {
                    throw TranscodingError(path: elementPath, message: "null is not allowed in a repeated field")
                }
                if field.type == .message || field.type == .group {
                    try encodeSubmessage(field, element, in: type, path: elementPath, depth: depth, into: &writer)
                } else {
                    let scalar = try encodeScalar(field, element, in: type, path: elementPath).scalar
                    if field.isPacked {
                        scalar.write(to: &packed)
                    } else {
                        writer.tag(field.number, scalar.wireType)
                        scalar.write(to: &writer)
                    }
                }
            }
            if field.isPacked, !packed.bytes.isEmpty {
                writer.tag(field.number, .lengthDelimited)
                writer.lengthDelimited(packed.bytes)
            }
            return
        }
        if field.type == .message || field.type == .group {
            try encodeSubmessage(field, value, in: type, path: path, depth: depth, into: &writer)
            return
        }
        let (scalar, isDefault) = try encodeScalar(field, value, in: type, path: path)
        if isDefault, !field.hasPresence { return }
        writer.tag(field.number, scalar.wireType)
        scalar.write(to: &writer)
    }

    private func encodeSubmessage(
        _ field: FieldInfo, _ value: JSONValue, in type: MessageType, path: String, depth: Int, into writer: inout WireWriter
    ) throws(TranscodingError) {
        let messageType = try self.type(named: pool.resolve(field.typeName, scope: type.fullName), path: path)
        let bytes = try encodeMessage(value, messageType, path: path, depth: depth + 1)
        if field.type == .group {
            writer.tag(field.number, .startGroup)
            writer.bytes.append(contentsOf: bytes)
            writer.tag(field.number, .endGroup)
        } else {
            writer.tag(field.number, .lengthDelimited)
            writer.lengthDelimited(bytes)
        }
    }

    private func encodeMap(
        _ field: FieldInfo, _ value: JSONValue, in type: MessageType, path: String, depth: Int, into writer: inout WireWriter
    ) throws(TranscodingError) {
        guard case .object(let members) = value else {
            throw TranscodingError(path: path, message: "expected an object (a map), got \(value.snippet)")
        }
        let entryType = try self.type(named: pool.resolve(field.typeName, scope: type.fullName), path: path)
        guard let keyField = entryType.field(number: 1), let valueField = entryType.field(number: 2) else {
            throw TranscodingError(path: path, message: "map entry type \(entryType.fullName) lacks its key or value field")
        }
        for member in members {
            var keyQuoted = ""
            JSONValue.appendQuoted(member.key, to: &keyQuoted)
            let entryPath = "\(path)[\(keyQuoted)]"
            var entry = WireWriter()
            let keyJSON: JSONValue
            if keyField.type == .bool {
                guard member.key == "true" || member.key == "false" else {
                    throw TranscodingError(path: entryPath, message: "expected a map key of true or false, got \(keyQuoted)")
                }
                keyJSON = .bool(member.key == "true")
            } else {
                keyJSON = .string(member.key)
            }
            let key = try encodeScalar(keyField, keyJSON, in: entryType, path: entryPath).scalar
            entry.tag(1, key.wireType)
            key.write(to: &entry)
            if case .null = member.value {
                throw TranscodingError(path: entryPath, message: "null is not allowed as a map value")
            }
            if valueField.type == .message {
                try encodeSubmessage(valueField, member.value, in: entryType, path: entryPath, depth: depth, into: &entry)
            } else {
                let scalar = try encodeScalar(valueField, member.value, in: entryType, path: entryPath).scalar
                entry.tag(2, scalar.wireType)
                scalar.write(to: &entry)
            }
            writer.tag(field.number, .lengthDelimited)
            writer.lengthDelimited(entry.bytes)
        }
    }

    func encodeScalar(
        _ field: FieldInfo, _ value: JSONValue, in type: MessageType, path: String
    ) throws(TranscodingError) -> (scalar: WireScalar, isDefault: Bool) {
        switch field.type {
        case .int32, .sfixed32, .sint32:
            let number = Int32(try Self.integer(value, path: path, range: Int64(Int32.min)...Int64(Int32.max), typeName: "int32"))
            switch field.type {
            case .sfixed32: return (.fixed32(UInt32(bitPattern: number)), number == 0)
            case .sint32: return (.varint(UInt64(UInt32(bitPattern: (number << 1) ^ (number >> 31)))), number == 0)
            default: return (.varint(UInt64(bitPattern: Int64(number))), number == 0)
            }
        case .int64, .sfixed64, .sint64:
            let number = try Self.integer(value, path: path, range: Int64.min...Int64.max, typeName: "int64")
            switch field.type {
            case .sfixed64: return (.fixed64(UInt64(bitPattern: number)), number == 0)
            case .sint64: return (.varint(UInt64(bitPattern: (number << 1) ^ (number >> 63))), number == 0)
            default: return (.varint(UInt64(bitPattern: number)), number == 0)
            }
        case .uint32, .fixed32:
            let number = UInt32(try Self.unsigned(value, path: path, maximum: UInt64(UInt32.max), typeName: "uint32"))
            return (field.type == .fixed32 ? .fixed32(number) : .varint(UInt64(number)), number == 0)
        case .uint64, .fixed64:
            let number = try Self.unsigned(value, path: path, maximum: UInt64.max, typeName: "uint64")
            return (field.type == .fixed64 ? .fixed64(number) : .varint(number), number == 0)
        case .double:
            let number = try Self.floatingPoint(value, path: path, isFloat: false)
            return (.fixed64(number.bitPattern), number == 0)
        case .float:
            let number = Float(try Self.floatingPoint(value, path: path, isFloat: true))
            return (.fixed32(number.bitPattern), number == 0)
        case .bool:
            guard case .bool(let flag) = value else {
                throw TranscodingError(path: path, message: "expected true or false, got \(value.snippet)")
            }
            return (.varint(flag ? 1 : 0), !flag)
        case .string:
            guard case .string(let text) = value else {
                throw TranscodingError(path: path, message: "expected a string, got \(value.snippet)")
            }
            return (.bytes(Array(text.utf8)), text.isEmpty)
        case .bytes:
            guard case .string(let text) = value, let bytes = Self.base64Decode(text) else {
                throw TranscodingError(path: path, message: "expected base64-encoded bytes, got \(value.snippet)")
            }
            return (.bytes(bytes), bytes.isEmpty)
        case .enum:
            let enumName = pool.resolve(field.typeName, scope: type.fullName)
            guard let enumType = pool.enumType(named: enumName) else {
                throw TranscodingError(path: path, message: "enum type '\(enumName)' is not in the descriptors loaded")
            }
            let number: Int32
            switch value {
            case .string(let name):
                if let known = enumType.number(of: name) {
                    number = known
                } else if let numeric = Int32(name) {
                    number = numeric
                } else {
                    let names = enumType.proto.value.prefix(10).map(\.name).joined(separator: ", ")
                    throw TranscodingError(
                        path: path, message: "\(enumType.fullName) has no value named \(value.snippet) (values: \(names)\(enumType.proto.value.count > 10 ? ", …" : ""))")
                }
            case .number:
                number = Int32(try Self.integer(value, path: path, range: Int64(Int32.min)...Int64(Int32.max), typeName: "enum"))
            default:
                throw TranscodingError(path: path, message: "expected an enum value name or number for \(enumType.fullName), got \(value.snippet)")
            }
            return (.varint(UInt64(bitPattern: Int64(number))), number == 0)
        case .message, .group:
            throw TranscodingError(path: path, message: "internal: message field encoded as a scalar")
        }
    }

    /// A signed integer from a JSON number or string (`"12"`, `1e3`, `-4.0`), within `range`.
    static func integer(_ value: JSONValue, path: String, range: ClosedRange<Int64>, typeName: String) throws(TranscodingError) -> Int64 {
        let text: String
        switch value {
        case .number(let number): text = number
        case .string(let string): text = string
        default: throw TranscodingError(path: path, message: "expected an integer, got \(value.snippet)")
        }
        let parsed: Int64
        if let exact = Int64(text) {
            parsed = exact
        } else if let double = Double(text), double.isFinite, double.rounded(.towardZero) == double,
            let exact = Int64(exactly: double), Self.looksNumeric(text)
        {
            parsed = exact
        } else if let double = Double(text), double.isFinite, Self.looksNumeric(text) {
            throw TranscodingError(
                path: path,
                message: double.rounded(.towardZero) == double
                    ? "\(text) is out of range for \(typeName)" : "expected an integer, got \(value.snippet)")
        } else {
            throw TranscodingError(path: path, message: "expected an integer, got \(value.snippet)")
        }
        guard range.contains(parsed) else { throw TranscodingError(path: path, message: "\(text) is out of range for \(typeName)") }
        return parsed
    }

    /// An unsigned integer from a JSON number or string, at most `maximum`.
    static func unsigned(_ value: JSONValue, path: String, maximum: UInt64, typeName: String) throws(TranscodingError) -> UInt64 {
        let text: String
        switch value {
        case .number(let number): text = number
        case .string(let string): text = string
        default: throw TranscodingError(path: path, message: "expected a non-negative integer, got \(value.snippet)")
        }
        let parsed: UInt64
        if let exact = UInt64(text) {
            parsed = exact
        } else if let double = Double(text), double.isFinite, Self.looksNumeric(text) {
            guard double.rounded(.towardZero) == double else {
                throw TranscodingError(path: path, message: "expected a non-negative integer, got \(value.snippet)")
            }
            guard let exact = UInt64(exactly: double) else {
                throw TranscodingError(path: path, message: "\(text) is out of range for \(typeName)")
            }
            parsed = exact
        } else {
            throw TranscodingError(path: path, message: "expected a non-negative integer, got \(value.snippet)")
        }
        guard parsed <= maximum else { throw TranscodingError(path: path, message: "\(text) is out of range for \(typeName)") }
        return parsed
    }

    /// A `double` (or `float`, range-checked) from a JSON number, a numeric string, or
    /// `"NaN"`, `"Infinity"`, `"-Infinity"`.
    static func floatingPoint(_ value: JSONValue, path: String, isFloat: Bool) throws(TranscodingError) -> Double {
        let typeName = isFloat ? "float" : "double"
        let number: Double
        switch value {
        case .number(let text):
            guard let parsed = Double(text) else { throw TranscodingError(path: path, message: "expected a number, got \(value.snippet)") }
            number = parsed
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let text):
            guard Self.looksNumeric(text), let parsed = Double(text) else {
                throw TranscodingError(path: path, message: "expected a number, got \(value.snippet)")
            }
            number = parsed
        default:
            throw TranscodingError(path: path, message: "expected a number, got \(value.snippet)")
        }
        guard number.isFinite, !isFloat || abs(number) <= Double(Float.greatestFiniteMagnitude) else {
            throw TranscodingError(path: path, message: "\(value.snippet) is out of range for \(typeName)")
        }
        return number
    }

    /// Only JSON-number-shaped text: no whitespace, `inf`, `nan` or hexadecimal, which
    /// Swift's parsers would accept.
    static func looksNumeric(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        return text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || "+-.eE".utf8.contains($0) }
    }

    /// Standard or URL-safe base64, padding optional; nil when malformed.
    static func base64Decode(_ text: String) -> [UInt8]? {
        var normalized = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        let remainder = normalized.utf8.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { normalized += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: normalized).map { Array($0) }
    }
}

// MARK: - wire → JSON

/// One occurrence of a field on the wire.
enum Occurrence {
    case varint(UInt64)
    case fixed32(UInt32)
    case fixed64(UInt64)
    case lengthDelimited(Range<Int>)
    case group(Range<Int>)
}

extension DynamicCodec {
    /// Reads a message's fields, keeping the occurrences of those `type` knows.
    func scanFields(_ bytes: [UInt8], _ range: Range<Int>, _ type: MessageType, path: String, depth: Int) throws(TranscodingError) -> [Int32: [Occurrence]] {
        var reader = WireReader(bytes, range: range)
        var found: [Int32: [Occurrence]] = [:]
        while !reader.atEnd {
            let (number, occurrence) = try Self.readField(&reader, path: path, depth: depth)
            guard let occurrence else {
                throw TranscodingError(path: path, message: "malformed \(type.fullName): unexpected end-group tag for field \(number)")
            }
            if type.field(number: number) != nil { found[number, default: []].append(occurrence) }
        }
        return found
    }

    /// Reads one field; nil occurrence: an end-group tag.
    static func readField(_ reader: inout WireReader, path: String, depth: Int) throws(TranscodingError) -> (Int32, Occurrence?) {
        func malformed(_ why: String) -> TranscodingError { TranscodingError(path: path, message: "malformed message: \(why)") }
        guard let tag = reader.varint() else { throw malformed("truncated field tag") }
        let number = tag >> 3
        guard number >= 1, number <= 536_870_911 else { throw malformed("invalid field number \(number)") }
        let fieldNumber = Int32(number)
        switch WireType(rawValue: UInt8(tag & 7)) {
        case .varint:
            guard let value = reader.varint() else { throw malformed("truncated varint in field \(fieldNumber)") }
            return (fieldNumber, .varint(value))
        case .fixed64:
            guard let value = reader.fixed64() else { throw malformed("truncated fixed64 in field \(fieldNumber)") }
            return (fieldNumber, .fixed64(value))
        case .fixed32:
            guard let value = reader.fixed32() else { throw malformed("truncated fixed32 in field \(fieldNumber)") }
            return (fieldNumber, .fixed32(value))
        case .lengthDelimited:
            guard let range = reader.lengthDelimited() else { throw malformed("field \(fieldNumber) is longer than the message") }
            return (fieldNumber, .lengthDelimited(range))
        case .startGroup:
            guard depth < maximumDepth else {
                throw TranscodingError(path: path, message: "messages nested deeper than \(maximumDepth)")
            }
            let start = reader.position
            while true {
                let before = reader.position
                let (inner, occurrence) = try readField(&reader, path: path, depth: depth + 1)
                if occurrence == nil {
                    guard inner == fieldNumber else { throw malformed("end-group tag \(inner) does not match group \(fieldNumber)") }
                    return (fieldNumber, .group(start..<before))
                }
                if reader.atEnd { throw malformed("group \(fieldNumber) is not closed") }
            }
        case .endGroup:
            return (fieldNumber, nil)
        case nil:
            throw malformed("invalid wire type \(tag & 7) in field \(fieldNumber)")
        }
    }

    func decodeMessage(_ bytes: [UInt8], _ range: Range<Int>, _ type: MessageType, path: String, depth: Int) throws(TranscodingError) -> JSONValue {
        guard depth <= Self.maximumDepth else {
            throw TranscodingError(path: path, message: "messages nested deeper than \(Self.maximumDepth)")
        }
        let found = try scanFields(bytes, range, type, path: path, depth: depth)
        if let special = try decodeWellKnown(found, bytes, type, path: path) { return special }
        var members: [(key: String, value: JSONValue)] = []
        for field in type.fields {
            guard let occurrences = found[field.number] else { continue }
            let fieldPath = Self.member(path, field.jsonName)
            if let value = try decodeField(field, occurrences, bytes, in: type, path: fieldPath, depth: depth) {
                members.append((field.jsonName, value))
            }
        }
        return .object(members)
    }

    /// A field's JSON value from its occurrences; nil when it is omitted.
    private func decodeField(
        _ field: FieldInfo, _ occurrences: [Occurrence], _ bytes: [UInt8], in type: MessageType, path: String, depth: Int
    ) throws(TranscodingError) -> JSONValue? {
        if field.isMap {
            let entryType = try self.type(named: pool.resolve(field.typeName, scope: type.fullName), path: path)
            var members: [(key: String, value: JSONValue)] = []
            var positions: [String: Int] = [:]
            for occurrence in occurrences {
                guard case .lengthDelimited(let range) = occurrence else { continue }
                let (key, value) = try decodeMapEntry(bytes, range, entryType, path: path, depth: depth)
                if let index = positions[key] {
                    members[index].value = value
                } else {
                    positions[key] = members.count
                    members.append((key, value))
                }
            }
            return members.isEmpty ? nil : .object(members)
        }
        if field.type == .message || field.type == .group {
            let messageType = try self.type(named: pool.resolve(field.typeName, scope: type.fullName), path: path)
            var ranges: [Range<Int>] = []
            for occurrence in occurrences {
                switch occurrence {
                case .lengthDelimited(let range) where field.type == .message: ranges.append(range)
                case .group(let range) where field.type == .group: ranges.append(range)
                default: continue
                }
            }
            if field.isRepeated {
                var values: [JSONValue] = []
                for (index, range) in ranges.enumerated() {
                    values.append(try decodeMessage(bytes, range, messageType, path: "\(path)[\(index)]", depth: depth + 1))
                }
                return values.isEmpty ? nil : .array(values)
            }
            guard let first = ranges.first else { return nil }
            // Several occurrences of a singular message merge: parse their concatenation.
            if ranges.count == 1 { return try decodeMessage(bytes, first, messageType, path: path, depth: depth + 1) }
            let merged = ranges.flatMap { bytes[$0] }
            return try decodeMessage(merged, merged.indices, messageType, path: path, depth: depth + 1)
        }
        if field.isRepeated {
            var values: [JSONValue] = []
            for occurrence in occurrences {
                if case .lengthDelimited(let range) = occurrence, field.type != .string, field.type != .bytes {
                    // Packed: values back to back.
                    var reader = WireReader(bytes, range: range)
                    while !reader.atEnd {
                        let element: Occurrence?
                        switch Self.wireType(of: field.type) {
                        case .fixed32: element = reader.fixed32().map { .fixed32($0) }
                        case .fixed64: element = reader.fixed64().map { .fixed64($0) }
                        default: element = reader.varint().map { .varint($0) }
                        }
                        guard let element else {
                            throw TranscodingError(path: path, message: "malformed message: truncated packed field \(field.number)")
                        }
                        if let value = try scalarJSON(field, element, bytes, in: type, path: "\(path)[\(values.count)]") {
                            values.append(value.json)
                        }
                    }
                } else if let value = try scalarJSON(field, occurrence, bytes, in: type, path: "\(path)[\(values.count)]") {
                    values.append(value.json)
                }
            }
            return values.isEmpty ? nil : .array(values)
        }
        var last: (json: JSONValue, isDefault: Bool)?
        for occurrence in occurrences {
            if let value = try scalarJSON(field, occurrence, bytes, in: type, path: path) { last = value }
        }
        guard let last else { return nil }
        if last.isDefault, !field.hasPresence { return nil }
        return last.json
    }

    private func decodeMapEntry(
        _ bytes: [UInt8], _ range: Range<Int>, _ entryType: MessageType, path: String, depth: Int
    ) throws(TranscodingError) -> (String, JSONValue) {
        guard depth < Self.maximumDepth else {
            throw TranscodingError(path: path, message: "messages nested deeper than \(Self.maximumDepth)")
        }
        guard let keyField = entryType.field(number: 1), let valueField = entryType.field(number: 2) else {
            throw TranscodingError(path: path, message: "map entry type \(entryType.fullName) lacks its key or value field")
        }
        let found = try scanFields(bytes, range, entryType, path: path, depth: depth + 1)
        var keyJSON = try scalarJSON(keyField, Self.zero(of: keyField.type), [], in: entryType, path: path)?.json
        for occurrence in found[1] ?? [] {
            if let value = try scalarJSON(keyField, occurrence, bytes, in: entryType, path: path) { keyJSON = value.json }
        }
        let key: String
        switch keyJSON {
        case .string(let text)?, .number(let text)?: key = text
        case .bool(let flag)?: key = flag ? "true" : "false"
        default: throw TranscodingError(path: path, message: "map key of type \(keyField.type) is not allowed")
        }
        var quoted = ""
        JSONValue.appendQuoted(key, to: &quoted)
        let entryPath = "\(path)[\(quoted)]"
        if valueField.type == .message {
            let valueType = try self.type(named: pool.resolve(valueField.typeName, scope: entryType.fullName), path: entryPath)
            let ranges = (found[2] ?? []).compactMap { occurrence -> Range<Int>? in
                if case .lengthDelimited(let range) = occurrence { return range }
                return nil
            }
            let merged = ranges.count == 1 ? nil : ranges.flatMap { bytes[$0] }
            if let merged {
                return (key, try decodeMessage(merged, merged.indices, valueType, path: entryPath, depth: depth + 1))
            }
            return (key, try decodeMessage(bytes, ranges[0], valueType, path: entryPath, depth: depth + 1))
        }
        var value = try scalarJSON(valueField, Self.zero(of: valueField.type), [], in: entryType, path: entryPath)?.json ?? .null
        for occurrence in found[2] ?? [] {
            if let decoded = try scalarJSON(valueField, occurrence, bytes, in: entryType, path: entryPath) { value = decoded.json }
        }
        return (key, value)
    }

    static func wireType(of type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> WireType {
        switch type {
        case .double, .fixed64, .sfixed64: .fixed64
        case .float, .fixed32, .sfixed32: .fixed32
        case .string, .bytes, .message: .lengthDelimited
        case .group: .startGroup
        default: .varint
        }
    }

    /// A field type's default as an occurrence.
    static func zero(of type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> Occurrence {
        switch wireType(of: type) {
        case .fixed64: .fixed64(0)
        case .fixed32: .fixed32(0)
        case .lengthDelimited: .lengthDelimited(0..<0)
        default: .varint(0)
        }
    }

    /// A scalar's JSON value and whether it is the type's default; nil when the occurrence's
    /// wire type does not fit the field (such occurrences are skipped like unknown fields).
    func scalarJSON(
        _ field: FieldInfo, _ occurrence: Occurrence, _ bytes: [UInt8], in type: MessageType, path: String
    ) throws(TranscodingError) -> (json: JSONValue, isDefault: Bool)? {
        switch (field.type, occurrence) {
        case (.int32, .varint(let raw)):
            let value = Int32(truncatingIfNeeded: raw)
            return (.number(String(value)), value == 0)
        case (.sint32, .varint(let raw)):
            let bits = UInt32(truncatingIfNeeded: raw)
            let value = Int32(bitPattern: bits >> 1) ^ -Int32(bitPattern: bits & 1)
            return (.number(String(value)), value == 0)
        case (.uint32, .varint(let raw)):
            let value = UInt32(truncatingIfNeeded: raw)
            return (.number(String(value)), value == 0)
        case (.int64, .varint(let raw)):
            return (.string(String(Int64(bitPattern: raw))), raw == 0)
        case (.sint64, .varint(let raw)):
            let value = Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
            return (.string(String(value)), value == 0)
        case (.uint64, .varint(let raw)):
            return (.string(String(raw)), raw == 0)
        case (.bool, .varint(let raw)):
            return (.bool(raw != 0), raw == 0)
        case (.enum, .varint(let raw)):
            let number = Int32(truncatingIfNeeded: raw)
            let enumName = pool.resolve(field.typeName, scope: type.fullName)
            if enumName == "google.protobuf.NullValue" { return (.null, number == 0) }
            if let name = pool.enumType(named: enumName)?.name(of: number) { return (.string(name), number == 0) }
            return (.number(String(number)), number == 0)
        case (.fixed32, .fixed32(let raw)):
            return (.number(String(raw)), raw == 0)
        case (.sfixed32, .fixed32(let raw)):
            return (.number(String(Int32(bitPattern: raw))), raw == 0)
        case (.float, .fixed32(let raw)):
            let value = Float(bitPattern: raw)
            return (Self.json(Double(value), text: value.debugDescription), value == 0)
        case (.fixed64, .fixed64(let raw)):
            return (.string(String(raw)), raw == 0)
        case (.sfixed64, .fixed64(let raw)):
            return (.string(String(Int64(bitPattern: raw))), raw == 0)
        case (.double, .fixed64(let raw)):
            let value = Double(bitPattern: raw)
            return (Self.json(value, text: value.debugDescription), value == 0)
        case (.string, .lengthDelimited(let range)):
            guard let text = String(validating: bytes[range], as: UTF8.self) else {
                throw TranscodingError(path: path, message: "malformed message: invalid UTF-8 in string field \(field.name)")
            }
            return (.string(text), text.isEmpty)
        case (.bytes, .lengthDelimited(let range)):
            return (.string(Data(bytes[range]).base64EncodedString()), range.isEmpty)
        default:
            return nil
        }
    }

    private static func json(_ value: Double, text: String) -> JSONValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
        return .number(text)
    }
}
