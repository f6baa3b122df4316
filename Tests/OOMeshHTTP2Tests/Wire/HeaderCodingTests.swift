import OOMesh
@testable import OOMeshHTTP2
import Testing

@Suite("HeaderCoding: grpc-timeout")
struct TimeoutCodingTests {
    @Test("formats with the finest unit that fits in 8 digits", arguments: [
        (Duration.nanoseconds(1), "1n"),
        (.nanoseconds(999), "999n"),
        (.microseconds(1), "1000n"),
        (.milliseconds(1), "1000000n"),
        (.nanoseconds(99_999_999), "99999999n"),
        (.nanoseconds(100_000_000), "100000u"),
        (.milliseconds(100), "100000u"),
        (.seconds(1), "1000000u"),
        (.seconds(99), "99000000u"),
        (.seconds(100), "100000m"),
        (.seconds(99_999), "99999000m"),
        (.seconds(100_000), "100000S"),
        (.seconds(99_999_999), "99999999S"),
        (.seconds(100_000_000), "1666667M"),
        (.seconds(5_999_999_940), "99999999M"),
        (.seconds(6_000_000_000), "1666667H"),
    ])
    func formats(_ duration: Duration, _ expected: String) {
        #expect(HeaderCoding.formatTimeout(duration) == expected)
    }

    @Test("rounds up, so the server never sees a shorter deadline", arguments: [
        (Duration.nanoseconds(100_000_001), "100001u"),
        (.nanoseconds(100_000_999), "100001u"),
        (.nanoseconds(100_001_000), "100001u"),
        (.seconds(100) + .nanoseconds(1), "100001m"),
        (.seconds(100_000) + .nanoseconds(1), "100001S"),
        (.seconds(100_000_000) + .nanoseconds(1), "1666667M"),
        (.seconds(100_000_021), "1666668M"),
        (.seconds(6_000_000_001), "1666667H"),
        // Less than a nanosecond is still a positive timeout: it must not become "0n".
        (Duration(secondsComponent: 0, attosecondsComponent: 1), "1n"),
        (.nanoseconds(5) + Duration(secondsComponent: 0, attosecondsComponent: 1), "6n"),
    ])
    func roundsUp(_ duration: Duration, _ expected: String) {
        #expect(HeaderCoding.formatTimeout(duration) == expected)
    }

    @Test("timeouts beyond the largest expressible one saturate instead of overflowing", arguments: [
        Duration.seconds(99_999_999 * 3600),
        .seconds(99_999_999 * 3600 + 1),
        .seconds(Int64.max),
    ])
    func saturates(_ duration: Duration) {
        #expect(HeaderCoding.formatTimeout(duration) == "99999999H")
    }

    @Test("timeouts whose nanoseconds overflow Int64 still format in hours, rounded up")
    func nanosecondOverflow() {
        // 9.3 × 10⁹ s is 9.3 × 10¹⁸ ns, past Int64.max; in hours it is 2,583,333.3.
        #expect(HeaderCoding.formatTimeout(.seconds(9_300_000_000)) == "2583334H")
    }

    @Test("zero and negative timeouts format as 0n", arguments: [Duration.zero, .nanoseconds(-1), .seconds(-5)])
    func nonPositive(_ duration: Duration) {
        #expect(HeaderCoding.formatTimeout(duration) == "0n")
    }

    @Test("formatting is at most 8 digits and a unit, never shorter than asked, at most one unit longer",
          arguments: [Int64(1), 7, 999, 1_234_567, 99_999_999, 100_000_000, 123_456_789_012, 999_999_999_999,
                      86_400_000_000_000, 3_141_592_653_589_793, 9_000_000_000_000_000_000])
    func formatParseRoundTrip(_ nanoseconds: Int64) throws {
        let duration = Duration.nanoseconds(nanoseconds)
        let text = HeaderCoding.formatTimeout(duration)
        #expect(text.utf8.count <= 9)
        #expect(text.dropLast().allSatisfy(\.isASCII) && text.dropLast().allSatisfy(\.isNumber))
        let parsed = try #require(HeaderCoding.parseTimeout(text), "\(text) does not parse")
        #expect(parsed >= duration)
        let unit: Duration = switch text.last! {
        case "n": .nanoseconds(1)
        case "u": .microseconds(1)
        case "m": .milliseconds(1)
        case "S": .seconds(1)
        case "M": .seconds(60)
        default: .seconds(3600)
        }
        #expect(parsed - duration < unit)
    }

    @Test("parses every unit", arguments: [
        ("1H", Duration.seconds(3600)),
        ("2M", .seconds(120)),
        ("3S", .seconds(3)),
        ("4m", .milliseconds(4)),
        ("5u", .microseconds(5)),
        ("6n", .nanoseconds(6)),
        ("0S", .zero),
        ("00000001S", .seconds(1)),
        ("99999999H", .seconds(99_999_999 * 3600)),
        ("99999999n", .nanoseconds(99_999_999)),
        ("12345678m", .milliseconds(12_345_678)),
    ])
    func parses(_ text: String, _ expected: Duration) {
        #expect(HeaderCoding.parseTimeout(text) == expected)
    }

    @Test("rejects malformed values", arguments: [
        "", "1", "S", "123456789S", "1x", "-1S", "1.5S", "+1S", " 1S", "1S ", "1 S", "1s", "1h", "1N", "1SS",
        "ten S", "１S", "1é",
    ])
    func rejects(_ text: String) {
        #expect(HeaderCoding.parseTimeout(text) == nil)
    }
}

@Suite("HeaderCoding: grpc-message")
struct PercentCodingTests {
    static let interopMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"

    @Test("round trips", arguments: [
        interopMessage, "", "plain ASCII, with punctuation: !#$&'()*+,/:;=?@[]~", "100% sure", "%", "%25",
        "tab\there", "\u{0}\u{1F}\u{7F}", "é", "日本語", "😈😈",
    ])
    func roundTrip(_ message: String) {
        let encoded = HeaderCoding.percentEncode(message)
        #expect(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }, "not printable ASCII: \(encoded)")
        #expect(HeaderCoding.percentDecode(encoded) == message)
    }

    @Test("encodes exactly the bytes outside printable ASCII, and %", arguments: [
        ("abc XYZ 09 ~", "abc XYZ 09 ~"),
        ("%", "%25"),
        ("\t", "%09"),
        ("\r\n", "%0D%0A"),
        ("\u{7F}", "%7F"),
        ("☺", "%E2%98%BA"),
        ("😈", "%F0%9F%98%88"),
        (interopMessage,
         "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A"),
    ])
    func encodes(_ message: String, _ expected: String) {
        #expect(HeaderCoding.percentEncode(message) == expected)
    }

    @Test("decodes upper- and lower-case escapes", arguments: [
        ("%E2%98%BA", "☺"), ("%e2%98%ba", "☺"), ("a%20b", "a b"), ("%41%42%43", "ABC"), ("no escapes", "no escapes"),
    ])
    func decodes(_ text: String, _ expected: String) {
        #expect(HeaderCoding.percentDecode(text) == expected)
    }

    @Test("keeps malformed escapes as they are", arguments: [
        ("%", "%"), ("%4", "%4"), ("%zz", "%zz"), ("%4g", "%4g"), ("%g4", "%g4"), ("100%", "100%"),
        ("a%4", "a%4"), ("%%41", "%A"), ("%41%", "A%"), ("%%", "%%"), ("% 41", "% 41"),
    ])
    func lenient(_ text: String, _ expected: String) {
        #expect(HeaderCoding.percentDecode(text) == expected)
    }
}

@Suite("HeaderCoding: base64 for -bin values")
struct Base64CodingTests {
    /// RFC 4648 §10 test vectors, padded.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("encodes without padding", arguments: vectors)
    func encodes(_ plain: String, _ padded: String) {
        let unpadded = String(padded.prefix { $0 != "=" })
        #expect(HeaderCoding.base64Encode(Array(plain.utf8)) == unpadded)
    }

    @Test("decodes padded and unpadded", arguments: vectors)
    func decodes(_ plain: String, _ padded: String) {
        let unpadded = String(padded.prefix { $0 != "=" })
        #expect(HeaderCoding.base64Decode(padded) == Array(plain.utf8))
        #expect(HeaderCoding.base64Decode(unpadded) == Array(plain.utf8))
    }

    @Test("round trips every byte value and every length up to 3 × 4")
    func roundTrip() {
        let all = (0...255).map(UInt8.init)
        #expect(HeaderCoding.base64Decode(HeaderCoding.base64Encode(all)) == all)
        for length in 0...12 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 251) }
            let encoded = HeaderCoding.base64Encode(bytes)
            #expect(encoded.utf8.count == (length * 4 + 2) / 3)
            #expect(!encoded.contains("="))
            #expect(HeaderCoding.base64Decode(encoded) == bytes)
        }
    }

    @Test("uses the standard alphabet, not the URL-safe one")
    func alphabet() {
        #expect(HeaderCoding.base64Encode([0xFB, 0xFF]) == "+/8")
        #expect(HeaderCoding.base64Decode("+/8") == [0xFB, 0xFF])
        #expect(HeaderCoding.base64Decode("-_8") == nil)
    }

    @Test("rejects text that is not base64", arguments: [
        "Z", "Zm9vY", "Zm9v!A", "Zm 9", "Zm9v\nAA", "Zm9v-_", "Zg\u{0}A", "Z=g=", "=Zg", "Zg=a", "é", "Zm9vYmFy=====x",
    ])
    func rejects(_ text: String) {
        #expect(HeaderCoding.base64Decode(text) == nil)
    }

    @Test("-bin metadata values go through base64; others are kept as text")
    func metadataValues() {
        #expect(HeaderCoding.headerValue(.binary([0xCA, 0xFE])) == "yv4")
        #expect(HeaderCoding.headerValue(.string("plain")) == "plain")
        #expect(HeaderCoding.metadataValue(name: "trace-bin", value: "yv4=") == .binary([0xCA, 0xFE]))
        #expect(HeaderCoding.metadataValue(name: "trace-bin", value: "not base64!") == nil)
        #expect(HeaderCoding.metadataValue(name: "trace", value: "yv4=") == .string("yv4="))
    }
}

@Suite("HeaderCoding: status mapping")
struct StatusMappingTests {
    @Test("HTTP status without grpc-status maps as the gRPC specification says", arguments: [
        (400, StatusCode.internal), (401, .unauthenticated), (403, .permissionDenied), (404, .unimplemented),
        (429, .unavailable), (502, .unavailable), (503, .unavailable), (504, .unavailable),
        (200, .unknown), (204, .unknown), (301, .unknown), (405, .unknown), (500, .unknown), (501, .unknown),
        (505, .unknown),
    ])
    func httpStatus(_ status: Int, _ code: StatusCode) {
        #expect(HeaderCoding.statusCode(forHTTPStatus: status) == code)
    }

    @Test("HTTP/2 error codes map as the gRPC specification says", arguments: [
        (UInt32(0x0), StatusCode.internal),  // NO_ERROR
        (0x1, .internal),                    // PROTOCOL_ERROR
        (0x2, .internal),                    // INTERNAL_ERROR
        (0x3, .internal),                    // FLOW_CONTROL_ERROR
        (0x4, .internal),                    // SETTINGS_TIMEOUT
        (0x6, .internal),                    // FRAME_SIZE_ERROR
        (0x7, .unavailable),                 // REFUSED_STREAM
        (0x8, .cancelled),                   // CANCEL
        (0x9, .internal),                    // COMPRESSION_ERROR
        (0xA, .internal),                    // CONNECT_ERROR
        (0xB, .resourceExhausted),           // ENHANCE_YOUR_CALM
        (0xC, .permissionDenied),            // INADEQUATE_SECURITY
        (0xFF, .internal),                   // unknown
    ])
    func http2Error(_ error: UInt32, _ code: StatusCode) {
        #expect(HeaderCoding.statusCode(forHTTP2Error: error) == code)
    }

    @Test("transport-owned headers are reserved; custom metadata is not", arguments: [
        (":path", true), (":status", true), ("content-type", true), ("te", true), ("grpc-timeout", true),
        ("grpc-encoding", true), ("grpc-accept-encoding", true), ("grpc-status", true), ("grpc-message", true),
        ("content-length", true), ("connection", true),
        ("x-user", false), ("authorization", false), ("grpc-status-details-bin", false), ("user-agent", false),
    ])
    func reserved(_ name: String, _ isReserved: Bool) {
        #expect(HeaderCoding.isReserved(name) == isReserved)
    }
}
