/// A Connect unary call made with GET (for methods marked `idempotency_level =
/// NO_SIDE_EFFECTS`, so browsers and CDNs may cache it): the message travels in the query
/// string as `message` (percent-encoded, or URL-safe base64 with `base64=1`), with
/// `encoding` (`json` or `proto`), `connect=v1` and an optional `compression`.
public struct ConnectGetRequest: Sendable, Hashable {
    /// The message's codec.
    public var codec: WebCodec
    /// The message bytes (still compressed when `compression` is set).
    public var message: [UInt8]
    /// The `compression` parameter (`gzip`, …), or nil.
    public var compression: String?

    /// Parses `query` (the part of the target after `?`), refusing queries longer than
    /// `maxBytes` before looking at them.
    public static func parse(query: String, maxBytes: Int) -> Result<ConnectGetRequest, ConnectGetError> {
        guard query.utf8.count <= maxBytes else { return .failure(.tooLong(query.utf8.count, limit: maxBytes)) }
        var values: [String: [UInt8]] = [:]
        for pair in Array(query.utf8).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecode(parts[0]).map({ String(decoding: $0, as: UTF8.self) }),
                  let value = percentDecode(parts.count > 1 ? parts[1] : ArraySlice<UInt8>())
            else { return .failure(.badEscape) }
            guard values[name] == nil else { return .failure(.repeated(String(name.prefix(40)))) }
            values[name] = value
        }
        func text(_ name: String) -> String? { values[name].map { String(decoding: $0, as: UTF8.self) } }
        guard text("connect") == "v1" else { return .failure(.missingVersion) }
        let codec: WebCodec
        switch text("encoding") {
        case "json": codec = .json
        case "proto": codec = .proto
        case let other: return .failure(.badEncoding(other.map { String($0.prefix(40)) }))
        }
        var message = values["message"] ?? []
        if text("base64") == "1" {
            guard let decoded = base64URLDecode(message) else { return .failure(.badBase64) }
            message = decoded
        }
        return .success(ConnectGetRequest(codec: codec, message: message, compression: text("compression")))
    }

    private static func percentDecode(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard bytes.distance(from: index, to: bytes.endIndex) >= 3,
                      let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// URL-safe base64 (RFC 4648 §5), padded or not; standard `+` and `/` accepted too.
    private static func base64URLDecode(_ text: [UInt8]) -> [UInt8]? {
        var standard = text.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }
        while standard.last == UInt8(ascii: "=") { standard.removeLast() }
        guard standard.count % 4 != 1 else { return nil }
        standard += Array(repeating: UInt8(ascii: "="), count: (4 - standard.count % 4) % 4)
        var decoder = Base64StreamDecoder()
        guard let bytes = try? decoder.append(standard), (try? decoder.finish()) != nil else { return nil }
        return bytes
    }
}

/// Why a Connect GET's query is not a call.
public enum ConnectGetError: Error, Sendable, Hashable, CustomStringConvertible {
    case tooLong(Int, limit: Int)
    case badEscape
    case repeated(String)
    case missingVersion
    case badEncoding(String?)
    case badBase64

    public var description: String {
        switch self {
        case .tooLong(let count, let limit): "the query is \(count) bytes; at most \(limit) are read (send large messages with POST)"
        case .badEscape: "the query has a malformed %-escape"
        case .repeated(let name): "the query parameter '\(name)' appears more than once"
        case .missingVersion: "a Connect GET needs connect=v1 in its query"
        case .badEncoding(let value?): "encoding='\(value)' is neither json nor proto"
        case .badEncoding(nil): "a Connect GET needs encoding=json or encoding=proto in its query"
        case .badBase64: "message is not URL-safe base64 although base64=1"
        }
    }
}
