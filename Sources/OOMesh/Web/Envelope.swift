/// A length-prefixed message as gRPC, gRPC-Web and Connect streaming frame them: one flags
/// byte, a 4-byte big-endian length, then that many bytes.
public struct Envelope: Sendable, Hashable {
    /// The message is compressed with the stream's encoding.
    public static let compressed: UInt8 = 0x01
    /// Connect streaming: the end-of-stream message (JSON: status and trailers).
    public static let connectEndStream: UInt8 = 0x02
    /// gRPC-Web: the trailers, as HTTP/1 header lines.
    public static let grpcWebTrailers: UInt8 = 0x80

    /// The flags byte.
    public var flags: UInt8
    /// The message bytes.
    public var payload: [UInt8]

    /// An envelope of `payload` with `flags`.
    public init(flags: UInt8 = 0, payload: [UInt8]) {
        self.flags = flags
        self.payload = payload
    }

    /// The envelope's bytes on the wire.
    public var encoded: [UInt8] {
        let count = UInt32(payload.count)
        var bytes: [UInt8] = [flags, UInt8(count >> 24), UInt8(truncatingIfNeeded: count >> 16), UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)]
        bytes += payload
        return bytes
    }
}

/// Why a body's envelopes could not be read.
public enum EnvelopeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An envelope says it is longer than the limit: refused when its prefix is read, before
    /// its bytes are buffered.
    case tooLarge(length: Int, limit: Int)
    /// The body ended inside an envelope (its prefix, or fewer bytes than the prefix says).
    case truncated(have: Int, want: Int)

    public var description: String {
        switch self {
        case .tooLarge(let length, let limit):
            "an enveloped message of \(length) bytes is larger than the limit of \(limit) bytes"
        case .truncated(let have, let want):
            "the body ended inside an envelope: \(have) of its \(want) bytes arrived"
        }
    }
}

/// Reads envelopes from a body that arrives in pieces: a pure state machine (bytes in,
/// envelopes out), holding at most one envelope's prefix and payload.
public struct EnvelopeDecoder: Sendable {
    private let maxMessageBytes: Int
    private var header: [UInt8] = []
    private var payload: [UInt8] = []
    private var flags: UInt8 = 0
    /// The current envelope's length once its prefix is read.
    private var wanted: Int?

    /// A decoder refusing envelopes longer than `maxMessageBytes`.
    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// The envelopes `bytes` complete, in order.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(EnvelopeError) -> [Envelope] {
        var envelopes: [Envelope] = []
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if let wanted {
                let take = min(wanted - payload.count, bytes.distance(from: index, to: bytes.endIndex))
                let end = bytes.index(index, offsetBy: take)
                payload.append(contentsOf: bytes[index..<end])
                index = end
            } else {
                header.append(bytes[index])
                index = bytes.index(after: index)
                if header.count == 5 {
                    flags = header[0]
                    let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
                    guard length <= maxMessageBytes else { throw .tooLarge(length: length, limit: maxMessageBytes) }
                    header.removeAll(keepingCapacity: true)
                    wanted = length
                    payload.reserveCapacity(min(length, 64 * 1024))  // grown as bytes arrive, not on a prefix's word
                }
            }
            if let wanted, payload.count == wanted {
                envelopes.append(Envelope(flags: flags, payload: payload))
                payload = []
                self.wanted = nil
            }
        }
        return envelopes
    }

    /// Checks that the body ended between envelopes.
    public func finish() throws(EnvelopeError) {
        if let wanted { throw .truncated(have: payload.count, want: wanted + 5) }
        if !header.isEmpty { throw .truncated(have: header.count, want: 5) }
    }
}

/// gRPC-Web's trailers frame: the trailers as `name: value\r\n` lines (names lower case) in
/// an envelope flagged 0x80, the body's last frame.
public enum GRPCWebTrailers {
    /// The frame for `fields` (`grpc-status`, `grpc-message` already percent-encoded, and any
    /// trailing metadata).
    public static func frame(_ fields: [(name: String, value: String)]) -> Envelope {
        var text = ""
        for (name, value) in fields { text += name.lowercased() + ": " + value + "\r\n" }
        return Envelope(flags: Envelope.grpcWebTrailers, payload: Array(text.utf8))
    }

    /// The fields of a trailers frame's payload, or nil when a line is not `name: value`.
    public static func fields(_ payload: [UInt8]) -> [(name: String, value: String)]? {
        var fields: [(name: String, value: String)] = []
        for line in String(decoding: payload, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingASCIISpaces().lowercased()
            guard !name.isEmpty else { return nil }
            fields.append((name, String(line[line.index(after: colon)...].trimmingASCIISpaces())))
        }
        return fields
    }
}

/// Decodes `application/grpc-web-text` bodies: base64 that arrives in pieces of any size, and
/// may be several padded base64 texts one after another (a server encodes each write on its
/// own). A pure state machine holding at most three characters between pieces.
public struct Base64StreamDecoder: Sendable {
    private var quantum: [UInt8] = []

    /// A decoder at the start of a body.
    public init() {}

    /// The bytes `text` completes; throws on a character that is not base64 (line breaks and
    /// spaces included: gRPC-Web does not send them).
    public mutating func append(_ text: some Collection<UInt8>) throws(Base64StreamError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3 + 3)
        for character in text {
            guard Self.value(character) != nil || character == UInt8(ascii: "=") else {
                throw .invalidCharacter(character)
            }
            quantum.append(character)
            guard quantum.count == 4 else { continue }
            defer { quantum.removeAll(keepingCapacity: true) }
            let values = quantum.map(Self.value)
            guard let a = values[0], let b = values[1] else { throw .misplacedPadding }
            out.append(a << 2 | b >> 4)
            switch (values[2], values[3]) {
            case (let c?, let d?):
                out.append(b << 4 | c >> 2)
                out.append(c << 6 | d)
            case (let c?, nil):
                out.append(b << 4 | c >> 2)
            case (nil, nil):
                break
            case (nil, _?):
                throw .misplacedPadding
            }
        }
        return out
    }

    /// Checks that the body ended on a whole base64 quantum.
    public func finish() throws(Base64StreamError) {
        if !quantum.isEmpty { throw .truncated(quantum.count) }
    }

    private static func value(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}

/// Why a `grpc-web-text` body is not base64.
public enum Base64StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidCharacter(UInt8)
    case misplacedPadding
    case truncated(Int)

    public var description: String {
        switch self {
        case .invalidCharacter(let byte): "the grpc-web-text body has byte 0x\(String(byte, radix: 16)), which is not base64"
        case .misplacedPadding: "the grpc-web-text body has '=' padding inside a base64 group"
        case .truncated(let count): "the grpc-web-text body ends with \(count) base64 characters, not a whole group of 4"
        }
    }
}
