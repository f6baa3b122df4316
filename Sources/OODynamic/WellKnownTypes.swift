/// The special JSON forms of `google.protobuf.Timestamp`, `Duration`, the wrappers and `Empty`.
extension DynamicCodec {
    static let wrapperTypes: Set<String> = [
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
    ]

    /// Seconds between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range.
    static let minimumTimestampSeconds: Int64 = -62_135_596_800
    static let maximumTimestampSeconds: Int64 = 253_402_300_799
    /// ±10,000 years, the Duration range.
    static let maximumDurationSeconds: Int64 = 315_576_000_000

    /// The wire bytes of a well-known type from its special JSON form; nil for other types.
    func encodeWellKnown(_ value: JSONValue, _ type: MessageType, path: String) throws(TranscodingError) -> [UInt8]? {
        switch type.fullName {
        case "google.protobuf.Timestamp":
            guard case .string(let text) = value, let (seconds, nanos) = Self.parseTimestamp(text) else {
                throw TranscodingError(path: path, message: "expected an RFC 3339 timestamp such as \"2024-05-01T12:00:00Z\", got \(value.snippet)")
            }
            return Self.secondsAndNanos(seconds, nanos)
        case "google.protobuf.Duration":
            guard case .string(let text) = value, let (seconds, nanos) = Self.parseDuration(text) else {
                throw TranscodingError(path: path, message: "expected a duration such as \"1.5s\", got \(value.snippet)")
            }
            return Self.secondsAndNanos(seconds, nanos)
        case let name where Self.wrapperTypes.contains(name):
            guard let field = type.field(number: 1) else { return nil }
            // The bare value stands for {"value": …}; a default value is not written.
            let (scalar, isDefault) = try encodeScalar(field, value, in: type, path: path)
            var writer = WireWriter()
            if !isDefault {
                writer.tag(1, scalar.wireType)
                scalar.write(to: &writer)
            }
            return writer.bytes
        default:
            return nil
        }
    }

    private static func secondsAndNanos(_ seconds: Int64, _ nanos: Int32) -> [UInt8] {
        var writer = WireWriter()
        if seconds != 0 {
            writer.tag(1, .varint)
            writer.varint(UInt64(bitPattern: seconds))
        }
        if nanos != 0 {
            writer.tag(2, .varint)
            writer.varint(UInt64(bitPattern: Int64(nanos)))
        }
        return writer.bytes
    }

    /// The special JSON form of a well-known type from its fields; nil for other types.
    func decodeWellKnown(_ found: [Int32: [Occurrence]], _ bytes: [UInt8], _ type: MessageType, path: String) throws(TranscodingError) -> JSONValue? {
        func lastVarint(_ number: Int32) -> UInt64 {
            var result: UInt64 = 0
            for case .varint(let value) in found[number] ?? [] { result = value }
            return result
        }
        switch type.fullName {
        case "google.protobuf.Timestamp":
            let seconds = Int64(bitPattern: lastVarint(1)), nanos = Int32(truncatingIfNeeded: lastVarint(2))
            guard let text = Self.formatTimestamp(seconds, nanos) else {
                throw TranscodingError(path: path, message: "timestamp out of range: \(seconds) s, \(nanos) ns")
            }
            return .string(text)
        case "google.protobuf.Duration":
            let seconds = Int64(bitPattern: lastVarint(1)), nanos = Int32(truncatingIfNeeded: lastVarint(2))
            guard let text = Self.formatDuration(seconds, nanos) else {
                throw TranscodingError(path: path, message: "duration out of range: \(seconds) s, \(nanos) ns")
            }
            return .string(text)
        case let name where Self.wrapperTypes.contains(name):
            guard let field = type.field(number: 1) else { return nil }
            var value = try scalarJSON(field, Self.zero(of: field.type), [], in: type, path: path)?.json
            for occurrence in found[1] ?? [] {
                if let decoded = try scalarJSON(field, occurrence, bytes, in: type, path: path) { value = decoded.json }
            }
            return value
        default:
            return nil
        }
    }

    // MARK: Timestamp

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `1972-01-01T10:00:20.021Z`: UTC, with 0, 3, 6 or 9 fractional digits.
    static func formatTimestamp(_ seconds: Int64, _ nanos: Int32) -> String? {
        guard (minimumTimestampSeconds...maximumTimestampSeconds).contains(seconds), (0..<1_000_000_000).contains(nanos) else {
            return nil
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
            + fraction(nanos) + "Z"
    }

    /// `.021`, `.000021`, `.000000021` or nothing: the fewest of 3, 6, 9 digits.
    static func fraction(_ nanos: Int32) -> String {
        guard nanos != 0 else { return "" }
        var digits = String(nanos)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        if nanos % 1_000_000 == 0 { return "." + digits.prefix(3) }
        if nanos % 1000 == 0 { return "." + digits.prefix(6) }
        return "." + digits
    }

    /// Parses RFC 3339 (`Z` or `±hh:mm` offsets, up to 9 fractional digits).
    static func parseTimestamp(_ text: String) -> (Int64, Int32)? {
        let chars = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= chars.count else { return nil }
            var value: Int64 = 0
            for byte in chars[index..<index + width] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < chars.count, chars[index] == character.asciiValue! else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            index < chars.count, chars[index] == UInt8(ascii: "T") || chars[index] == UInt8(ascii: "t")
        else { return nil }
        index += 1
        guard let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var nanos: Int64 = 0
        if expect(".") {
            var digits = 0
            while index < chars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[index]) {
                guard digits < 9 else { return nil }
                nanos = nanos * 10 + Int64(chars[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        if expect("Z") || expect("z") {
        } else if index < chars.count, chars[index] == UInt8(ascii: "+") || chars[index] == UInt8(ascii: "-") {
            let sign: Int64 = chars[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2), offsetHours < 24, offsetMinutes < 60 else {
                return nil
            }
            offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        // Reject impossible dates (February 30th) by round-tripping the day.
        let days = daysFromCivil(year, month, day)
        guard civilFromDays(days) == (year, month, day) else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard (minimumTimestampSeconds...maximumTimestampSeconds).contains(seconds) else { return nil }
        return (seconds, Int32(nanos))
    }

    // MARK: Duration

    /// `1.5s`, `-0.000001s`, `3s`: seconds with 0, 3, 6 or 9 fractional digits.
    static func formatDuration(_ seconds: Int64, _ nanos: Int32) -> String? {
        // Range first, on magnitudes: abs(Int64.min) would trap on a hostile value.
        guard seconds.magnitude <= UInt64(maximumDurationSeconds), nanos.magnitude < 1_000_000_000,
            seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0)
        else { return nil }
        let negative = seconds < 0 || nanos < 0
        return (negative ? "-" : "") + String(seconds.magnitude) + fraction(Int32(nanos.magnitude)) + "s"
    }

    /// Parses `[-]seconds[.fraction]s`.
    static func parseDuration(_ text: String) -> (Int64, Int32)? {
        guard text.hasSuffix("s") else { return nil }
        var body = Substring(text.dropLast())
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber),
            let seconds = Int64(parts[0]), seconds <= maximumDurationSeconds
        else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy(\.isASCII), fraction.allSatisfy(\.isNumber),
                let value = Int64(fraction)
            else { return nil }
            nanos = value
            for _ in fraction.count..<9 { nanos *= 10 }
        }
        return negative ? (-seconds, Int32(-nanos)) : (seconds, Int32(nanos))
    }
}
