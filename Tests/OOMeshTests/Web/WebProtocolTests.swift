import Foundation
@testable import OOMesh
import Testing

@Suite("Web protocols: content types, Connect status, envelopes, gRPC-Web text, CORS")
struct WebProtocolTests {
    @Test("a request's protocol comes from its method and content type; anything else is refused naming what is accepted", arguments: [
        ("POST", "application/grpc", WebRequestKind.supported(.grpc, .proto)),
        ("POST", "application/grpc+proto", .supported(.grpc, .proto)),
        ("POST", "application/grpc-web+proto", .supported(.grpcWeb, .proto)),
        ("POST", "application/grpc-web", .supported(.grpcWeb, .proto)),
        ("POST", "application/grpc-web-text", .supported(.grpcWebText, .proto)),
        ("POST", "Application/JSON; charset=utf-8", .supported(.connectUnary, .json)),
        ("POST", "application/proto", .supported(.connectUnary, .proto)),
        ("POST", "application/connect+json", .supported(.connectStreaming, .json)),
        ("POST", "application/connect+proto", .supported(.connectStreaming, .proto)),
        ("GET", nil, .supported(.connectUnary, .json)),
    ] as [(String, String?, WebRequestKind)])
    func classify(_ method: String, _ contentType: String?, _ expected: WebRequestKind) {
        #expect(WebRequestKind.classify(method: method, contentType: contentType) == expected)
    }

    @Test("unsupported methods and content types are refused with a reason", arguments: [
        ("PUT", "application/json", "HTTP method PUT"),
        ("POST", nil, "no content-type"),
        ("POST", "text/plain", "content-type 'text/plain'"),
        ("POST", "application/xml", "application/connect+json"),
    ] as [(String, String?, String)])
    func refuse(_ method: String, _ contentType: String?, _ fragment: String) {
        guard case .unsupported(let reason) = WebRequestKind.classify(method: method, contentType: contentType) else {
            Issue.record("accepted \(method) \(contentType ?? "nil")")
            return
        }
        #expect(reason.contains(fragment), "\(reason)")
    }

    @Test("Connect codes: names, HTTP statuses both ways, and the JSON error body")
    func connectStatus() throws {
        #expect(ConnectStatus.name(.cancelled) == "canceled")
        #expect(ConnectStatus.name(.invalidArgument) == "invalid_argument")
        for code in StatusCode.allCases { #expect(ConnectStatus.code(named: ConnectStatus.name(code)) == code) }
        #expect(ConnectStatus.code(named: "cancelled") == nil)
        let table: [StatusCode: Int] = [
            .cancelled: 499, .unknown: 500, .invalidArgument: 400, .deadlineExceeded: 504, .notFound: 404,
            .alreadyExists: 409, .permissionDenied: 403, .resourceExhausted: 429, .failedPrecondition: 400,
            .aborted: 409, .outOfRange: 400, .unimplemented: 501, .internal: 500, .unavailable: 503,
            .dataLoss: 500, .unauthenticated: 401,
        ]
        for (code, status) in table { #expect(ConnectStatus.httpStatus(code) == status, "\(code)") }
        #expect(ConnectStatus.code(forHTTPStatus: 404) == .unimplemented)
        #expect(ConnectStatus.code(forHTTPStatus: 502) == .unavailable)
        #expect(ConnectStatus.code(forHTTPStatus: 418) == .unknown)
        // The body parses as JSON and says what was wrong, control characters and quotes escaped.
        let body = ConnectStatus.errorJSON(Status(code: .notFound, message: "no tip \"t1\"\n\u{1}é"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])
        #expect(object == ["code": "not_found", "message": "no tip \"t1\"\n\u{1}é"])
        #expect(ConnectStatus.errorJSON(Status(code: .internal, message: "")) == #"{"code":"internal"}"#)
    }

    @Test("the end-of-stream message: {} on success, the error otherwise, trailers as metadata lists")
    func endStream() throws {
        #expect(ConnectStatus.endStreamJSON(Status(code: .ok, message: "")) == "{}")
        let text = ConnectStatus.endStreamJSON(
            Status(code: .unavailable, message: "down"), trailers: [("X-Hop", "a"), ("x-hop", "b"), ("x-id", "7")])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["error"] as? [String: String] == ["code": "unavailable", "message": "down"])
        #expect(object["metadata"] as? [String: [String]] == ["x-hop": ["a", "b"], "x-id": ["7"]])
    }

    @Test("Connect-Timeout-Ms: 1 to 10 digits; anything else refused, naming the value", arguments: [
        ("0", Duration?.some(.zero)), ("1500", .milliseconds(1500)), ("9999999999", .milliseconds(9_999_999_999)),
        ("", nil), ("12345678901", nil), ("-5", nil), ("1.5", nil), (" 10", nil), ("10s", nil), ("٣", nil),
    ] as [(String, Duration?)])
    func timeout(_ value: String, _ expected: Duration?) {
        switch ConnectTimeout.parse(value) {
        case .success(let duration): #expect(duration == expected, "\(value)")
        case .failure(let error):
            #expect(expected == nil, "\(value) refused")
            #expect(error.description.contains("Connect-Timeout-Ms"))
        }
    }

    @Test("envelopes split at every byte come out whole and in order; one past the limit is refused at its prefix; a cut body is truncated")
    func envelopes() throws {
        let messages = [Envelope(payload: Array("hello".utf8)), Envelope(flags: Envelope.compressed, payload: []),
                        Envelope(flags: Envelope.connectEndStream, payload: Array(repeating: 7, count: 300))]
        let wire = messages.flatMap(\.encoded)
        for split in 0...wire.count {
            var decoder = EnvelopeDecoder(maxMessageBytes: 300)
            let got = try decoder.append(wire[..<split]) + decoder.append(wire[split...])
            #expect(got == messages)
            try decoder.finish()
        }
        // One byte at a time.
        var bytewise = EnvelopeDecoder(maxMessageBytes: 300)
        var got: [Envelope] = []
        for byte in wire { got += try bytewise.append([byte]) }
        #expect(got == messages)
        // Too large: refused when the prefix says so, before any payload byte.
        var small = EnvelopeDecoder(maxMessageBytes: 299)
        #expect(throws: EnvelopeError.tooLarge(length: 300, limit: 299)) {
            _ = try small.append(messages[2].encoded.prefix(5))
        }
        // Longer than the body: an error at the end, not a wait.
        var cut = EnvelopeDecoder(maxMessageBytes: 300)
        _ = try cut.append(messages[0].encoded.dropLast(2))
        #expect(throws: EnvelopeError.truncated(have: 3, want: 10)) { try cut.finish() }
        var prefixOnly = EnvelopeDecoder(maxMessageBytes: 300)
        _ = try prefixOnly.append([0, 0])
        #expect(throws: EnvelopeError.truncated(have: 2, want: 5)) { try prefixOnly.finish() }
    }

    @Test("gRPC-Web trailers: name: value lines in a frame flagged 0x80, read back")
    func trailers() throws {
        let frame = GRPCWebTrailers.frame([("grpc-status", "5"), ("Grpc-Message", "no%20tip"), ("x-id", "7")])
        #expect(frame.flags == 0x80)
        #expect(String(decoding: frame.payload, as: UTF8.self) == "grpc-status: 5\r\ngrpc-message: no%20tip\r\nx-id: 7\r\n")
        let fields = try #require(GRPCWebTrailers.fields(frame.payload))
        #expect(fields.map(\.name) == ["grpc-status", "grpc-message", "x-id"])
        #expect(fields.map(\.value) == ["5", "no%20tip", "7"])
        #expect(GRPCWebTrailers.fields(Array("no colon here\r\n".utf8)) == nil)
    }

    @Test("grpc-web-text: base64 in pieces of any size, several padded texts in a row; bad characters and cut groups refused")
    func base64Stream() throws {
        let parts: [[UInt8]] = [Array("first message".utf8), [0, 255, 1], Array("x".utf8), []]
        let text = Array(parts.map { Data($0).base64EncodedString() }.joined().utf8)
        for split in 0...text.count {
            var decoder = Base64StreamDecoder()
            let bytes = try decoder.append(text[..<split]) + decoder.append(text[split...])
            #expect(bytes == parts.flatMap { $0 }, "split at \(split)")
            try decoder.finish()
        }
        var bad = Base64StreamDecoder()
        #expect(throws: Base64StreamError.invalidCharacter(UInt8(ascii: "\n"))) { _ = try bad.append(Array("QUJD\n".utf8)) }
        var padding = Base64StreamDecoder()
        #expect(throws: Base64StreamError.misplacedPadding) { _ = try padding.append(Array("QU=D".utf8)) }
        var cut = Base64StreamDecoder()
        _ = try cut.append(Array("QUJDRA".utf8))
        #expect(throws: Base64StreamError.truncated(2)) { try cut.finish() }
    }

    @Test("CORS: no origin by default; an allowed origin's preflight is answered with the headers clients need; others refused")
    func cors() {
        let closed = CORSPolicy()
        guard case .refused(let reason) = closed.preflight(origin: "https://app.example", requestMethod: "POST", requestHeaders: "content-type") else {
            Issue.record("the default policy allowed an origin")
            return
        }
        #expect(reason.contains("not allowed"))
        #expect(closed.responseHeaders(origin: "https://app.example").isEmpty)

        let policy = CORSPolicy(allowedOrigins: ["https://App.Example"])
        guard case .allowed(let headers) = policy.preflight(
            origin: "https://app.example", requestMethod: "POST", requestHeaders: "Content-Type, connect-protocol-version,authorization")
        else {
            Issue.record("an allowed origin's preflight was refused")
            return
        }
        let byName = Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) })
        #expect(byName["access-control-allow-origin"] == "https://app.example")
        #expect(byName["access-control-allow-headers"]?.contains("connect-protocol-version") == true)
        #expect(byName["access-control-allow-methods"] == "POST, GET")
        #expect(byName["vary"]?.contains("Origin") == true)
        let exposed = policy.responseHeaders(origin: "https://app.example").first { $0.name == "access-control-expose-headers" }?.value ?? ""
        #expect(["grpc-status", "grpc-message", "connect-content-encoding"].allSatisfy(exposed.contains))
        #expect(policy.responseHeaders(origin: "https://evil.example").isEmpty)
        #expect(policy.responseHeaders(origin: nil).isEmpty)
        if case .allowed = policy.preflight(origin: "https://evil.example", requestMethod: "POST", requestHeaders: nil) {
            Issue.record("another origin was allowed")
        }
        if case .allowed = policy.preflight(origin: "https://app.example", requestMethod: "DELETE", requestHeaders: nil) {
            Issue.record("DELETE was allowed")
        }
        if case .allowed = policy.preflight(origin: "https://app.example", requestMethod: "POST", requestHeaders: "x-secret") {
            Issue.record("an unlisted request header was allowed")
        }
        // "*" allows any origin but the opaque "null" one.
        let open = CORSPolicy(allowedOrigins: ["*"])
        #expect(open.allows(origin: "http://localhost:5173"))
        #expect(!open.allows(origin: "null"))
    }
}

@Suite("Connect GET queries")
struct ConnectGetRequestTests {
    @Test("the message percent-encoded or in URL-safe base64, with its codec and compression")
    func parse() throws {
        let json = try ConnectGetRequest.parse(query: "connect=v1&encoding=json&message=%7B%22limit%22%3A3%7D", maxBytes: 4096).get()
        #expect(json.codec == .json && String(decoding: json.message, as: UTF8.self) == #"{"limit":3}"#)
        #expect(json.compression == nil)
        // 0xfb 0xff as URL-safe base64 without padding is "-_8".
        let proto = try ConnectGetRequest.parse(query: "message=-_8&base64=1&encoding=proto&connect=v1&compression=gzip", maxBytes: 4096).get()
        #expect(proto.codec == .proto && proto.message == [0xfb, 0xff] && proto.compression == "gzip")
        let empty = try ConnectGetRequest.parse(query: "connect=v1&encoding=proto", maxBytes: 4096).get()
        #expect(empty.message.isEmpty)
    }

    @Test("queries that are not calls are refused saying why", arguments: [
        ("encoding=json&message=%7B%7D", ConnectGetError.missingVersion),
        ("connect=v1&message=%7B%7D", .badEncoding(nil)),
        ("connect=v1&encoding=xml", .badEncoding("xml")),
        ("connect=v1&encoding=json&message=%7", .badEscape),
        ("connect=v1&encoding=json&message=%zz", .badEscape),
        ("connect=v1&encoding=json&encoding=proto", .repeated("encoding")),
        ("connect=v1&encoding=proto&base64=1&message=A", .badBase64),
        ("connect=v1&encoding=proto&base64=1&message=A*B=", .badBase64),
    ])
    func refuse(_ query: String, _ expected: ConnectGetError) {
        #expect(throws: expected) { try ConnectGetRequest.parse(query: query, maxBytes: 4096).get() }
    }

    @Test("a query past the limit is refused before it is read")
    func tooLong() {
        let query = "connect=v1&encoding=json&message=" + String(repeating: "a", count: 5000)
        #expect(throws: ConnectGetError.tooLong(query.utf8.count, limit: 4096)) { try ConnectGetRequest.parse(query: query, maxBytes: 4096).get() }
    }
}
