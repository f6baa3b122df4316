import OOMesh

/// Encodings of gRPC's HTTP/2 header values: `grpc-timeout`, `grpc-message`, `-bin` values.
enum HeaderCoding {
    // MARK: grpc-timeout

    /// Formats a timeout as `grpc-timeout`: at most 8 digits and a unit, rounded up so the
    /// server never sees a shorter deadline than the client set.
    static func formatTimeout(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, duration > .zero else { return "0n" }
        // In 128 bits, so no Duration overflows; a fraction of a nanosecond counts as a whole one.
        let totalNanos = Int128(seconds) * 1_000_000_000 + Int128((attoseconds + 999_999_999) / 1_000_000_000)
        let units: [(Int128, Character)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"), (3_600_000_000_000, "H")]
        for (size, unit) in units {
            let value = (totalNanos + size - 1) / size
            if value < 100_000_000 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }

    /// Parses `grpc-timeout` (1–8 ASCII digits and one of H M S m u n); nil when malformed.
    static func parseTimeout(_ text: String) -> Duration? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8.count <= 9 else { return nil }
        var value: Int64 = 0
        for byte in utf8.dropLast() {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        switch utf8.last! {
        case UInt8(ascii: "H"): return .seconds(value * 3600)
        case UInt8(ascii: "M"): return .seconds(value * 60)
        case UInt8(ascii: "S"): return .seconds(value)
        case UInt8(ascii: "m"): return .milliseconds(value)
        case UInt8(ascii: "u"): return .microseconds(value)
        case UInt8(ascii: "n"): return .nanoseconds(value)
        default: return nil
        }
    }

    // MARK: grpc-message

    /// Percent-encodes a status message: bytes outside printable ASCII, and `%`, become `%XX`.
    static func percentEncode(_ message: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(message.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a percent-encoded status message; malformed escapes are kept as they are,
    /// as the gRPC specification asks.
    static func percentDecode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "%")) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    // MARK: base64 for -bin values

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Base64 without padding, as gRPC implementations send `-bin` values.
    static func base64Encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(alphabet[Int(value >> 6 & 63)])
            out.append(alphabet[Int(value & 63)])
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(alphabet[Int(value >> 6 & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64, padded or not; nil when the text is not base64.
    static func base64Decode(_ text: String) -> [UInt8]? {
        var input = Array(text.utf8)
        while input.last == UInt8(ascii: "=") { input.removeLast() }
        guard input.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in input {
            let value = decodeTable[Int(byte)]
            guard value != 0xFF else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }

    // MARK: status from HTTP

    /// The gRPC code for a response without `grpc-status`, from its HTTP status, as the
    /// gRPC specification maps them.
    static func statusCode(forHTTPStatus status: Int) -> StatusCode {
        StatusCode(inferredFromHTTPStatus: status)
    }

    /// The gRPC code for an HTTP/2 RST_STREAM or GOAWAY error code.
    static func statusCode(forHTTP2Error error: UInt32) -> StatusCode {
        switch error {
        case 0x7: .unavailable       // REFUSED_STREAM
        case 0x8: .cancelled         // CANCEL
        case 0xB: .resourceExhausted // ENHANCE_YOUR_CALM
        case 0xC: .permissionDenied  // INADEQUATE_SECURITY
        default: .internal
        }
    }

    // MARK: metadata

    /// Header names the transport owns; they never appear as custom metadata.
    static func isReserved(_ name: String) -> Bool {
        if name.hasPrefix(":") { return true }
        switch name {
        case "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
             "grpc-status", "grpc-message", "content-length", "connection":
            return true
        default:
            return false
        }
    }

    /// A metadata value as a header value: `-bin` values base64-encoded.
    static func headerValue(_ value: Metadata.Value) -> String {
        switch value {
        case .string(let string): string
        case .binary(let bytes): base64Encode(bytes)
        }
    }

    /// A header as a metadata value; nil when a `-bin` value is not valid base64.
    static func metadataValue(name: String, value: String) -> Metadata.Value? {
        if name.hasSuffix("-bin") {
            return base64Decode(value).map(Metadata.Value.binary)
        }
        return .string(value)
    }
}
