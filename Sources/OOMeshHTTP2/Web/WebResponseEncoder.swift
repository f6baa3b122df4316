import OOMesh

/// Turns a call's response parts (metadata, messages, a status) into one web protocol's HTTP
/// response. Pure: parts in, ``WebResponseChunk``s out; the same machine for HTTP/2 and
/// HTTP/1.1.
///
/// | protocol          | head                                   | message                  | status                                          |
/// |-------------------|----------------------------------------|--------------------------|-------------------------------------------------|
/// | Connect unary     | held until the status                  | held (JSON if asked)     | OK: 200 + message; else the code's HTTP status + JSON error |
/// | Connect streaming | 200 `application/connect+…`            | an envelope              | end-of-stream envelope (0x02) with status and trailers |
/// | gRPC-Web (+text)  | 200 `application/grpc-web…`            | an envelope (base64'd)   | trailers envelope (0x80)                         |
///
/// Metadata becomes headers; Connect unary's trailers are headers prefixed `trailer-`.
struct WebResponseEncoder: Sendable {
    let webProtocol: WebProtocol
    let codec: WebCodec
    /// Reads the response type's wire bytes as JSON (Connect with the JSON codec).
    let responseJSON: (any JSONTranscoder)?
    /// The largest message written; a larger one ends the call with RESOURCE_EXHAUSTED.
    let maxMessageBytes: Int
    /// Headers every response carries (CORS).
    let extraHeaders: [(name: String, value: String)]

    private var metadata: Metadata?
    private var unaryMessage: [UInt8]?
    private var headSent = false
    private(set) var ended = false

    init(
        webProtocol: WebProtocol, codec: WebCodec, responseJSON: (any JSONTranscoder)?, maxMessageBytes: Int,
        extraHeaders: [(name: String, value: String)]
    ) {
        self.webProtocol = webProtocol
        self.codec = codec
        self.responseJSON = responseJSON
        self.maxMessageBytes = maxMessageBytes
        self.extraHeaders = extraHeaders
    }

    /// The content type of a successful response.
    var contentType: String {
        switch webProtocol {
        case .connectUnary: codec == .json ? "application/json" : "application/proto"
        case .connectStreaming: codec == .json ? "application/connect+json" : "application/connect+proto"
        case .grpcWeb: codec == .json ? "application/grpc-web+json" : "application/grpc-web+proto"
        case .grpcWebText: "application/grpc-web-text+proto"
        case .grpc: "application/grpc"
        }
    }

    /// The chunk that writes `part`. After the status, parts are ignored.
    mutating func encode(_ part: RPCResponsePart) -> WebResponseChunk {
        guard !ended else { return .none }
        switch part {
        case .metadata(let metadata):
            if webProtocol == .connectUnary || headSent {
                self.metadata = metadata
                return .none
            }
            self.metadata = metadata
            return WebResponseChunk(head: streamingHead())
        case .message(let bytes, _):
            guard bytes.count <= maxMessageBytes else {
                return encode(.status(Status(
                    code: .resourceExhausted,
                    message: "A response message of \(bytes.count) bytes exceeds the send limit of \(maxMessageBytes) bytes."), [:]))
            }
            let payload: [UInt8]
            switch transcode(bytes) {
            case .success(let encoded): payload = encoded
            case .failure(let error): return encode(.status(error.status, [:]))
            }
            if webProtocol == .connectUnary {
                unaryMessage = payload
                return .none
            }
            var chunk = WebResponseChunk(head: headSent ? nil : streamingHead())
            chunk.body = frame(Envelope(payload: payload).encoded)
            return chunk
        case .status(let status, let trailers):
            ended = true
            return finish(status, trailers)
        }
    }

    /// Ends the response with `error` if it has not ended (a failed handler, a deadline).
    mutating func fail(_ error: RPCError) -> WebResponseChunk {
        encode(.status(error.status, error.metadata))
    }

    // MARK: Pieces

    private func transcode(_ bytes: [UInt8]) -> Result<[UInt8], RPCError> {
        guard codec == .json else { return .success(bytes) }
        guard let responseJSON else {
            return .failure(RPCError(code: .internal, message: "This method's response cannot be written as JSON."))
        }
        do {
            return .success(try responseJSON.json(fromBinary: bytes))
        } catch {
            return .failure(RPCError(code: .internal, message: "The response could not be written as JSON: \(error)"))
        }
    }

    /// gRPC-Web text: every piece of the body is base64, each padded (clients decode a
    /// body of concatenated padded pieces).
    private func frame(_ bytes: [UInt8]) -> [UInt8] {
        webProtocol == .grpcWebText ? Array(HeaderCoding.base64Encode(bytes).utf8) : bytes
    }

    private mutating func streamingHead() -> HTTPResponseHead {
        headSent = true
        var headers = [(name: "content-type", value: contentType)]
        Self.add(metadata ?? [:], to: &headers, prefix: "")
        headers += extraHeaders
        return HTTPResponseHead(status: 200, headers: headers)
    }

    private mutating func finish(_ status: Status, _ trailers: Metadata) -> WebResponseChunk {
        switch webProtocol {
        case .connectUnary, .grpc:
            var headers: [(name: String, value: String)] = []
            Self.add(metadata ?? [:], to: &headers, prefix: "")
            Self.add(trailers, to: &headers, prefix: "trailer-")
            headers += extraHeaders
            headSent = true
            if status.code == .ok {
                return WebResponseChunk(
                    head: HTTPResponseHead(status: 200, headers: [("content-type", contentType)] + headers),
                    body: unaryMessage ?? [], end: true)
            }
            return WebResponseChunk(
                head: HTTPResponseHead(status: ConnectStatus.httpStatus(status.code), headers: [("content-type", "application/json")] + headers),
                body: Array(ConnectStatus.errorJSON(status).utf8), end: true)
        case .connectStreaming:
            var fields: [(name: String, value: String)] = []
            Self.add(trailers, to: &fields, prefix: "")
            let json = ConnectStatus.endStreamJSON(status, trailers: fields)
            let envelope = Envelope(flags: Envelope.connectEndStream, payload: Array(json.utf8))
            return WebResponseChunk(head: headSent ? nil : streamingHead(), body: envelope.encoded, end: true)
        case .grpcWeb, .grpcWebText:
            var fields = [(name: "grpc-status", value: String(status.code.rawValue))]
            if !status.message.isEmpty { fields.append(("grpc-message", HeaderCoding.percentEncode(status.message))) }
            Self.add(trailers, to: &fields, prefix: "")
            return WebResponseChunk(
                head: headSent ? nil : streamingHead(), body: frame(GRPCWebTrailers.frame(fields).encoded), end: true)
        }
    }

    /// Metadata as header fields (binary values base64'd), reserved names left out.
    static func add(_ metadata: Metadata, to headers: inout [(name: String, value: String)], prefix: String) {
        for element in metadata where !HeaderCoding.isReserved(element.key) {
            headers.append((prefix + element.key, HeaderCoding.headerValue(element.value)))
        }
    }
}
