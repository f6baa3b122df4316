import OOMesh
@testable import OOMeshHTTP2
import Testing

/// The web protocols' response encoder and request decoder, parts and bytes in and out, no
/// sockets.
@Suite("Web response encoder and request decoder")
struct WebCodingTests {
    private func encoder(_ webProtocol: WebProtocol, _ codec: WebCodec = .proto, limit: Int = 1024) -> WebResponseEncoder {
        WebResponseEncoder(
            webProtocol: webProtocol, codec: codec, responseJSON: nil, maxMessageBytes: limit,
            extraHeaders: [("access-control-allow-origin", "https://app.example")])
    }

    private func header(_ chunk: WebResponseChunk, _ name: String) -> String? {
        chunk.head?.headers.first { $0.name == name }?.value
    }

    @Test("Connect unary: nothing written until the status; OK is 200 with the message, metadata as headers and trailers prefixed trailer-")
    func connectUnaryOK() {
        var encoder = encoder(.connectUnary)
        #expect(encoder.encode(.metadata(["x-initial": "1"])).isEmpty)
        #expect(encoder.encode(.message([1, 2, 3], [])).isEmpty)
        let chunk = encoder.encode(.status(.ok, ["x-trailing": "2"]))
        #expect(chunk.head?.status == 200 && chunk.body == [1, 2, 3] && chunk.end)
        #expect(header(chunk, "content-type") == "application/proto")
        #expect(header(chunk, "x-initial") == "1" && header(chunk, "trailer-x-trailing") == "2")
        #expect(header(chunk, "access-control-allow-origin") == "https://app.example")
        #expect(encoder.encode(.message([9], [])).isEmpty, "after the status nothing more is written")
    }

    @Test("Connect unary errors: the code's HTTP status and the JSON error body", arguments: [
        (StatusCode.invalidArgument, 400, "invalid_argument"), (.unauthenticated, 401, "unauthenticated"),
        (.notFound, 404, "not_found"), (.resourceExhausted, 429, "resource_exhausted"), (.unavailable, 503, "unavailable"),
        (.deadlineExceeded, 504, "deadline_exceeded"), (.internal, 500, "internal"),
    ])
    func connectUnaryError(_ code: StatusCode, _ httpStatus: Int, _ name: String) {
        var encoder = encoder(.connectUnary)
        let chunk = encoder.encode(.status(Status(code: code, message: "why \"quoted\""), [:]))
        #expect(chunk.head?.status == httpStatus && chunk.end)
        #expect(header(chunk, "content-type") == "application/json")
        #expect(String(decoding: chunk.body, as: UTF8.self) == #"{"code":"\#(name)","message":"why \"quoted\""}"#)
    }

    @Test("Connect streaming: head with the first part, messages enveloped, the end-of-stream message last")
    func connectStreaming() {
        var encoder = encoder(.connectStreaming)
        let first = encoder.encode(.metadata(["x-a": "1"]))
        #expect(first.head?.status == 200 && header(first, "content-type") == "application/connect+proto" && first.body.isEmpty)
        let message = encoder.encode(.message([7, 8], []))
        #expect(message.head == nil && message.body == [0, 0, 0, 0, 2, 7, 8])
        let end = encoder.encode(.status(Status(code: .aborted, message: "x"), ["t": "v"]))
        #expect(end.end && end.body.first == Envelope.connectEndStream)
        #expect(String(decoding: end.body.dropFirst(5), as: UTF8.self) == #"{"error":{"code":"aborted","message":"x"},"metadata":{"t":["v"]}}"#)
    }

    @Test("gRPC-Web: trailers in a 0x80 frame; text: every piece base64 on its own")
    func grpcWeb() throws {
        var binary = encoder(.grpcWeb)
        let message = binary.encode(.message([5], []))
        #expect(message.head?.status == 200 && header(message, "content-type") == "application/grpc-web+proto")
        #expect(message.body == [0, 0, 0, 0, 1, 5])
        let end = binary.encode(.status(Status(code: .notFound, message: "100%"), [:]))
        #expect(end.end && end.body.first == Envelope.grpcWebTrailers)
        #expect(String(decoding: end.body.dropFirst(5), as: UTF8.self) == "grpc-status: 5\r\ngrpc-message: 100%25\r\n")

        var text = encoder(.grpcWebText)
        let encoded = text.encode(.message([5], []))
        var decoder = Base64StreamDecoder()
        #expect(try decoder.append(encoded.body) == [0, 0, 0, 0, 1, 5])
        let trailers = text.encode(.status(.ok, [:]))
        let decoded = try decoder.append(trailers.body)
        #expect(decoded.first == Envelope.grpcWebTrailers)
    }

    @Test("a response message past the send limit ends the call with RESOURCE_EXHAUSTED instead")
    func sendLimit() {
        var encoder = encoder(.connectUnary, limit: 4)
        let chunk = encoder.encode(.message([1, 2, 3, 4, 5], []))
        #expect(chunk.head?.status == 429 && chunk.end)
        #expect(String(decoding: chunk.body, as: UTF8.self).contains("resource_exhausted"))
    }

    @Test("Connect unary body: kept whole up to the limit, one past it refused before it is kept")
    func wholeBody() throws {
        var decoder = WebRequestDecoder(webProtocol: .connectUnary, maxMessageBytes: 8, bodyCompressed: true)
        #expect(try decoder.append([1, 2, 3]).isEmpty)
        #expect(try decoder.append([4, 5, 6, 7, 8]).isEmpty)
        #expect(try decoder.finish() == [WebRequestDecoder.Message(bytes: [1, 2, 3, 4, 5, 6, 7, 8], compressed: true)])
        var over = WebRequestDecoder(webProtocol: .connectUnary, maxMessageBytes: 8)
        _ = try over.append([1, 2, 3, 4, 5])
        #expect(throws: RPCError.self) { _ = try over.append([6, 7, 8, 9]) }
    }

    @Test("envelopes: messages out as they complete; end-stream or trailer flags in a request refused; a cut body refused")
    func envelopes() throws {
        var decoder = WebRequestDecoder(webProtocol: .connectStreaming, maxMessageBytes: 16)
        #expect(try decoder.append([1, 0, 0, 0]).isEmpty)
        #expect(try decoder.append([2, 9, 9, 0, 0]) == [WebRequestDecoder.Message(bytes: [9, 9], compressed: true)])
        #expect(try decoder.append([0, 0, 1, 4]) == [WebRequestDecoder.Message(bytes: [4], compressed: false)])
        #expect(try decoder.finish().isEmpty)

        var flagged = WebRequestDecoder(webProtocol: .grpcWeb, maxMessageBytes: 16)
        #expect(throws: RPCError.self) { _ = try flagged.append([0x80, 0, 0, 0, 0]) }

        var cut = WebRequestDecoder(webProtocol: .grpcWeb, maxMessageBytes: 16)
        _ = try cut.append([0, 0, 0, 0, 3, 1])
        #expect(throws: RPCError.self) { _ = try cut.finish() }

        var text = WebRequestDecoder(webProtocol: .grpcWebText, maxMessageBytes: 16)
        let body = Array("AAAAAAEF".utf8)  // base64 of [0, 0, 0, 0, 1, 5]
        #expect(try text.append(Array(body[..<3])).isEmpty)
        #expect(try text.append(Array(body[3...])) == [WebRequestDecoder.Message(bytes: [5], compressed: false)])
    }
}
