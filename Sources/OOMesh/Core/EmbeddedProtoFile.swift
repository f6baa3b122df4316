/// A `.proto` file's descriptors as generated code embeds them (`<file>.descriptor.swift`):
/// a serialized `google.protobuf.FileDescriptorSet` holding the file and every file it
/// imports, dependencies first, without source info. Server reflection and the schema
/// registry read these at run time.
public struct EmbeddedProtoFile: Sendable {
    /// The file's path as protoc knew it, e.g. `oo/ml/v1/features.proto`.
    public let path: String
    /// The serialized `FileDescriptorSet`.
    public let serializedFileDescriptorSet: [UInt8]

    /// Decodes the generator's base64 (whitespace between characters is ignored).
    /// Generated code only: malformed base64 is a generator bug and traps.
    public init(path: String, base64: String) {
        self.path = path
        guard let bytes = Self.decode(base64) else {
            preconditionFailure("The embedded descriptors of \(path) are not valid base64: regenerate with tools/generate.")
        }
        self.serializedFileDescriptorSet = bytes
    }

    /// Standard base64 (RFC 4648) with padding; nil when malformed.
    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): padding += 1; continue
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"): continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return padding <= 2 ? output : nil
    }
}
