import OOMesh
@testable import OOMeshHTTP2
import Testing

/// Request and response heads read from header arrays, and the header blocks we send: no
/// socket, no nghttp2 session. (BadInputTests sends the same mistakes over real sockets.)
@Suite("Request and response heads")
struct HeadTests {
    private let accept = "gzip,deflate"

    private func request(_ extra: [(String, String)], method: String = "POST", path: String = "/pkg.Svc/Call",
                         contentType: String = "application/grpc") -> [(name: String, value: String)] {
        [(":method", method), (":scheme", "http"), (":path", path), (":authority", "x"), ("content-type", contentType), ("te", "trailers")]
            + extra.map { (name: $0.0, value: $0.1) }
    }

    private func parse(_ headers: [(name: String, value: String)], compression: [CompressionAlgorithm] = [.gzip, .deflate]) -> Result<RequestHead, RequestHead.Refusal> {
        RequestHead.parse(headers, enabledCompression: compression, acceptEncodingHeader: accept)
    }

    @Test("a gRPC request: method, metadata (text and -bin), timeout and encodings")
    func goodRequest() throws {
        let head = try parse(request([
            ("grpc-timeout", "250m"), ("grpc-encoding", "gzip"), ("grpc-accept-encoding", "identity, gzip"),
            ("x-user", "ada"), ("x-trace-bin", "AQID"), ("user-agent", "grpc-go/1.0"),
        ])).get()
        #expect(head.descriptor == MethodDescriptor(service: "pkg.Svc", method: "Call"))
        #expect(head.metadata.firstString(forKey: "x-user") == "ada")
        #expect(Array(head.metadata).contains { $0.key == "x-trace-bin" && $0.value == .binary([1, 2, 3]) })
        #expect(head.timeout?.text == "250m")
        #expect(head.timeout?.duration == .milliseconds(250))
        #expect(head.requestEncoding == .gzip)
        // The client accepts gzip: answer in it.
        #expect(head.responseEncoding == .gzip)
        #expect(head.acceptEncoding == "identity, gzip")
        // Reserved and pseudo headers are not metadata.
        #expect(!Array(head.metadata).contains { $0.key.hasPrefix(":") || $0.key == "te" || $0.key == "content-type" })
    }

    @Test("a compressed request whose client does not accept the encoding is answered in identity")
    func responseEncodingNeedsAcceptance() throws {
        let head = try parse(request([("grpc-encoding", "deflate"), ("grpc-accept-encoding", "gzip")])).get()
        #expect(head.requestEncoding == .deflate)
        #expect(head.responseEncoding == .identity)
    }

    @Test("refusals: wrong method, content type, path, encoding, timeout, base64", arguments: [
        (["method": "GET"], 405, StatusCode.internal, "gRPC requires POST, got GET."),
        (["content-type": "application/json"], 415, .internal, "Content-Type 'application/json' is not a gRPC content type (application/grpc)."),
        (["path": "/nope"], 200, .unimplemented, "Malformed method path '/nope'; expected /package.Service/Method."),
        (["grpc-encoding": "snappy"], 200, .unimplemented, "Message encoding 'snappy' is not supported; this server accepts: gzip,deflate."),
        (["grpc-timeout": "12345678901S"], 200, .internal, "Invalid grpc-timeout '12345678901S': expected 1 to 8 digits and a unit (H, M, S, m, u, n)."),
        (["x-bad-bin": "!!!"], 200, .internal, "Metadata 'x-bad-bin' is not valid base64."),
    ])
    func refusals(change: [String: String], httpStatus: Int, code: StatusCode, message: String) {
        var extra: [(String, String)] = []
        for (name, value) in change where !["method", "content-type", "path"].contains(name) { extra.append((name, value)) }
        let headers = request(extra, method: change["method"] ?? "POST", path: change["path"] ?? "/pkg.Svc/Call",
                              contentType: change["content-type"] ?? "application/grpc")
        guard case .failure(let refusal) = parse(headers) else {
            Issue.record("accepted: \(headers)")
            return
        }
        #expect(refusal.httpStatus == httpStatus)
        #expect(refusal.status == Status(code: code, message: message))
        if change["grpc-encoding"] != nil {
            #expect(refusal.extraHeaders == ["grpc-accept-encoding": accept])
        }
    }

    @Test("an encoding this server has switched off is refused like an unknown one")
    func disabledEncoding() {
        guard case .failure(let refusal) = parse(request([("grpc-encoding", "gzip")]), compression: []) else {
            Issue.record("accepted")
            return
        }
        #expect(refusal.status.code == .unimplemented)
    }

    @Test("responses: informational, Trailers-Only, headers, and what is not gRPC")
    func responses() {
        #expect(ResponseHead.parse([(":status", "100")]) == .informational)
        #expect(ResponseHead.parse([(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "5"),
                                    ("grpc-message", "no%20such%20tip"), ("x-why", "gone")])
                == .trailersOnly(Status(code: .notFound, message: "no such tip"), ["x-why": "gone"]))
        #expect(ResponseHead.parse([(":status", "200"), ("content-type", "application/grpc+proto"), ("grpc-encoding", "gzip"), ("x-a", "1")])
                == .headers(["x-a": "1"], encoding: .gzip))
        #expect(ResponseHead.parse([(":status", "503")])
                == .failure(.unavailable, "The server answered HTTP 503 without a gRPC status."))
        #expect(ResponseHead.parse([(":status", "200"), ("content-type", "text/html")])
                == .failure(.unknown, "The server answered with content-type 'text/html', not application/grpc."))
        #expect(ResponseHead.parse([(":status", "200"), ("content-type", "application/grpc"), ("grpc-encoding", "br")])
                == .failure(.internal, "The server used message encoding 'br', which this client does not support."))
        // A status code outside gRPC's range is UNKNOWN, and trailers without one too.
        #expect(ResponseHead.trailers([("grpc-status", "99")]).0.code == .unknown)
        #expect(ResponseHead.trailers([("x-only", "metadata")]) == (Status(code: .unknown, message: "The server's trailers had no grpc-status."), ["x-only": "metadata"]))
    }

    @Test("header blocks: request, response, Trailers-Only and trailers carry what gRPC requires")
    func blocks() {
        let request = HeaderBlock.request(
            path: "/pkg.Svc/Call", authority: "host:1", secure: true, encoding: .gzip, acceptEncoding: accept,
            timeout: .milliseconds(1500), metadata: ["x-user": "ada", "te": "sneaky", "grpc-status": "0"])
        #expect(request.fields.map(\.name) == [
            ":method", ":scheme", ":path", ":authority", "content-type", "te", "user-agent",
            "grpc-encoding", "grpc-accept-encoding", "grpc-timeout", "x-user",
        ])
        #expect(request.fields.first { $0.name == ":scheme" }?.value == "https")
        #expect(request.fields.first { $0.name == "te" }?.value == "trailers")
        #expect(HeaderCoding.parseTimeout(request.fields.first { $0.name == "grpc-timeout" }!.value) == .milliseconds(1500))

        let response = HeaderBlock.response(encoding: .identity, acceptEncoding: accept, metadata: ["x-a-bin": .binary([0xff])])
        #expect(response.fields.map(\.name) == [":status", "content-type", "grpc-accept-encoding", "x-a-bin"])
        #expect(response.fields.last?.value == "/w")  // unpadded, as gRPC says to emit

        let only = HeaderBlock.trailersOnly(
            httpStatus: 415, status: Status(code: .internal, message: "bad 100%"), trailers: [:], extra: ["grpc-accept-encoding": accept])
        #expect(only.fields.map(\.name) == [":status", "content-type", "grpc-accept-encoding", "grpc-status", "grpc-message"])
        #expect(only.fields.first?.value == "415")
        #expect(only.fields.last?.value == "bad 100%25")

        let trailers = HeaderBlock.trailers(status: Status(code: .ok, message: ""), trailers: ["x-t": "1"])
        #expect(trailers.fields.map(\.name) == ["grpc-status", "x-t"])
        #expect(trailers.fields.first?.value == "0")
    }

    @Test("what we send, we read back: a response's blocks through ResponseHead")
    func roundTrip() {
        let status = Status(code: .resourceExhausted, message: "quota: 10/s ✓")
        let only = HeaderBlock.trailersOnly(httpStatus: 200, status: status, trailers: ["x-retry-after": "2"])
        #expect(ResponseHead.parse(only.fields) == .trailersOnly(status, ["x-retry-after": "2"]))
        let response = HeaderBlock.response(encoding: .deflate, acceptEncoding: accept, metadata: ["x-a": "1"])
        #expect(ResponseHead.parse(response.fields) == .headers(["x-a": "1"], encoding: .deflate))
    }
}
