import OOMesh
import Synchronization

/// Serves one request in a web protocol (Connect, gRPC-Web) with the server's gRPC stream
/// handler, so every call runs through the same router, interceptors (auth, rate limits,
/// metrics, tracing) and deadlines as gRPC. Each transport (HTTP/2, HTTP/1.1) hands it the
/// request head, its body and a sink for the response.
///
/// What it answers itself, before any handler: CORS preflights and refused origins, methods
/// and content types no protocol uses (405, 415), malformed paths (404), GET for a method
/// with side effects (405), bad timeouts, versions and encodings (the protocol's error).
struct WebCallServer: Sendable {
    let configuration: WebProtocolsConfiguration
    let methods: ServedMethods
    let maxReceiveMessageBytes: Int
    let maxSendMessageBytes: Int
    /// What this server decompresses (besides identity).
    let enabledCompression: [CompressionAlgorithm]
    let streamHandler: @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void

    func serve(
        _ head: WebRequestHead, body: RPCAsyncSequence<[UInt8]>, sink: any WebResponseSink, peer: String,
        peerIdentity: PeerIdentity?
    ) async {
        let origin = head.header("origin")
        if head.method == "OPTIONS" {
            return await answerOptions(head, origin: origin, sink: sink)
        }
        if let origin, !configuration.cors.allows(origin: origin) {
            return await answer(sink, status: 403, text: "Origin '\(origin.prefix(200))' is not allowed to call this server; its operator can allow it (--cors-origin).")
        }
        let cors = configuration.cors.responseHeaders(origin: origin).map { (name: $0.name, value: $0.value) }
        let kind = WebRequestKind.classify(method: head.method, contentType: head.header("content-type"))
        guard case .supported(let webProtocol, var codec) = kind, webProtocol != .grpc else {
            let reason: String
            if case .unsupported(let why) = kind { reason = why } else { reason = "gRPC needs HTTP/2 (prior knowledge on plaintext, ALPN h2 on TLS)." }
            let status = head.method == "GET" || head.method == "POST" ? 415 : 405
            return await answer(sink, status: status, text: reason, headers: cors + [
                ("accept-post", WebRequestKind.acceptedContentTypes.joined(separator: ", ")), ("allow", "GET, POST, OPTIONS"),
            ])
        }
        guard var descriptor = MethodDescriptor(path: head.path) else {
            return await answer(sink, status: 404, text: "No method at '\(head.path.prefix(200))': paths are /package.Service/Method.", headers: cors)
        }

        // The request's facts, or the protocol's error saying which is wrong.
        var getMessage: [UInt8]?
        var requestEncoding = CompressionAlgorithm.identity
        var deadline: ContinuousClock.Instant?
        var refusal: Status?
        let served = methods[head.path]
        if let served { descriptor = served.descriptor }
        switch webProtocol {
        case .connectUnary where head.method == "GET":
            if served != nil, descriptor.idempotency != .noSideEffects {
                return await answer(sink, status: 405, json: Status(
                    code: .unimplemented, message: "\(descriptor.path) may change state, so it is called with POST; GET is for methods marked idempotency_level = NO_SIDE_EFFECTS."),
                    headers: cors + [("allow", "POST")])
            }
            switch ConnectGetRequest.parse(query: head.query ?? "", maxBytes: configuration.maxGetQueryBytes) {
            case .success(let request):
                codec = request.codec
                getMessage = request.message
                if let name = request.compression { (requestEncoding, refusal) = encoding(name, header: "compression") }
            case .failure(let error):
                refusal = Status(code: .invalidArgument, message: "\(error).")
            }
        case .connectUnary, .connectStreaming:
            if let version = head.header("connect-protocol-version"), version != "1" {
                refusal = Status(code: .invalidArgument, message: "connect-protocol-version '\(version.prefix(20))' is not supported; this server speaks version 1.")
            }
            let encodingHeader = webProtocol == .connectUnary ? "content-encoding" : "connect-content-encoding"
            if let name = head.header(encodingHeader) { (requestEncoding, refusal) = encoding(name, header: encodingHeader) }
            if let value = head.header("connect-timeout-ms") {
                switch ConnectTimeout.parse(value) {
                case .success(let timeout): deadline = .now + timeout
                case .failure(let error): refusal = Status(code: .invalidArgument, message: error.description)
                }
            }
        case .grpcWeb, .grpcWebText, .grpc:
            if let name = head.header("grpc-encoding") { (requestEncoding, refusal) = encoding(name, header: "grpc-encoding") }
            if let value = head.header("grpc-timeout") {
                if let timeout = HeaderCoding.parseTimeout(value) {
                    deadline = .now + timeout
                } else {
                    refusal = Status(code: .invalidArgument, message: "Invalid grpc-timeout '\(value.prefix(20))': expected 1 to 8 digits and a unit (H, M, S, m, u, n).")
                }
            }
        }

        let encoder = WebResponseEncoder(
            webProtocol: webProtocol, codec: codec, responseJSON: served?.responseJSON, maxMessageBytes: maxSendMessageBytes,
            extraHeaders: cors)
        let writer = WebResponseWriter(encoder: encoder, sink: sink)
        if codec == .json, let served, served.requestJSON == nil {
            refusal = Status(code: .unimplemented, message: "\(descriptor.path) does not take JSON; send application/proto.")
        }
        if let refusal {
            return await writer.end(refusal)
        }
        guard served != nil else {
            return await writer.end(Status(code: .unimplemented, message: "This server has no method \(descriptor.path)."))
        }

        let reader = WebRequestReader(
            metadata: Self.metadata(head.headers), body: body, preRead: getMessage,
            decoder: WebRequestDecoder(
                webProtocol: webProtocol, maxMessageBytes: maxReceiveMessageBytes, bodyCompressed: requestEncoding != .identity),
            encoding: requestEncoding, requestJSON: codec == .json ? served?.requestJSON : nil,
            messageType: descriptor.path, limit: maxReceiveMessageBytes)
        let stream = RPCStream<RPCRequestPart, RPCResponsePart>(
            descriptor: descriptor, inbound: RPCAsyncSequence(wrapping: reader), outbound: ClosableRPCWriter(wrapping: writer))
        let context = ServerStreamContext(descriptor: descriptor, peer: peer, deadline: deadline, peerIdentity: peerIdentity)
        if let deadline {
            // The deadline ends the response in the protocol's shape and cancels the handler,
            // as the gRPC path's timer does.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await streamHandler(stream, context) }
                group.addTask {
                    guard (try? await Task.sleep(until: deadline)) != nil else { return }
                    await writer.end(Status(code: .deadlineExceeded, message: "The call exceeded its deadline."))
                }
                await group.next()
                group.cancelAll()
            }
        } else {
            await streamHandler(stream, context)
        }
        await writer.end(Status(code: .internal, message: "The handler ended without a status."))
    }

    /// The request's encoding `name` if this server decompresses it; else the error saying
    /// what it accepts.
    private func encoding(_ name: String, header: String) -> (CompressionAlgorithm, Status?) {
        if let algorithm = CompressionAlgorithm(rawValue: name), algorithm == .identity || enabledCompression.contains(algorithm) {
            return (algorithm, nil)
        }
        let accepted = (["identity"] + enabledCompression.map(\.name)).joined(separator: ", ")
        return (.identity, Status(code: .unimplemented, message: "\(header) '\(name.prefix(40))' is not supported; this server accepts: \(accepted)."))
    }

    /// Request headers as call metadata: what the protocols and browsers use for themselves
    /// (encodings, timeouts, CORS, fetch metadata, cookies) is left out.
    static func metadata(_ headers: [(name: String, value: String)]) -> Metadata {
        var metadata = Metadata()
        for (name, value) in headers {
            if HeaderCoding.isReserved(name) || name.hasPrefix("connect-") || name.hasPrefix("content-")
                || name.hasPrefix("access-control-") || name.hasPrefix("sec-") || name.hasPrefix("accept") {
                continue
            }
            switch name {
            case "origin", "referer", "cookie", "host", "x-grpc-web", "x-user-agent", "keep-alive", "transfer-encoding",
                 "upgrade", "proxy-connection", "priority":
                continue
            default:
                guard let parsed = HeaderCoding.metadataValue(name: name, value: value) else { continue }
                metadata.add(parsed, forKey: name)
            }
        }
        return metadata
    }

    private func answerOptions(_ head: WebRequestHead, origin: String?, sink: any WebResponseSink) async {
        guard let origin, let method = head.header("access-control-request-method") else {
            return await write(sink, WebResponseChunk(
                head: HTTPResponseHead(status: 204, headers: [("allow", "GET, POST, OPTIONS")]), end: true))
        }
        switch configuration.cors.preflight(
            origin: origin, requestMethod: method, requestHeaders: head.header("access-control-request-headers")) {
        case .allowed(let headers):
            await write(sink, WebResponseChunk(
                head: HTTPResponseHead(status: 204, headers: headers.map { ($0.name, $0.value) }), end: true))
        case .refused(let reason):
            await answer(sink, status: 403, text: reason)
        }
    }

    private func answer(_ sink: any WebResponseSink, status: Int, text: String, headers: [(name: String, value: String)] = []) async {
        await write(sink, WebResponseChunk(
            head: HTTPResponseHead(status: status, headers: [("content-type", "text/plain; charset=utf-8")] + headers),
            body: Array((text + "\n").utf8), end: true))
    }

    private func answer(_ sink: any WebResponseSink, status: Int, json: Status, headers: [(name: String, value: String)]) async {
        await write(sink, WebResponseChunk(
            head: HTTPResponseHead(status: status, headers: [("content-type", "application/json")] + headers),
            body: Array(ConnectStatus.errorJSON(json).utf8), end: true))
    }

    private func write(_ sink: any WebResponseSink, _ chunk: WebResponseChunk) async {
        guard (try? sink.enqueue(chunk)) == true else { return }
        try? await sink.waitForDrain()
    }
}

/// The handler's response writer for a web call: each part encoded and queued under one
/// lock, so a deadline's error and the handler's last write cannot interleave or both end
/// the response.
final class WebResponseWriter: ClosableRPCWriterProtocol {
    private let encoder: Mutex<WebResponseEncoder>
    private let sink: any WebResponseSink

    init(encoder: WebResponseEncoder, sink: any WebResponseSink) {
        self.encoder = Mutex(encoder)
        self.sink = sink
    }

    func write(_ part: RPCResponsePart) async throws {
        try await write(contentsOf: [part])
    }

    func write(contentsOf parts: [RPCResponsePart]) async throws {
        let mustWait = try encoder.withLock { encoder throws -> Bool in
            if encoder.ended { throw RPCError(code: .cancelled, message: "The response has already ended.") }
            var wait = false
            for part in parts {
                let chunk = encoder.encode(part)
                if !chunk.isEmpty, try sink.enqueue(chunk) { wait = true }
            }
            return wait
        }
        if mustWait { try await sink.waitForDrain() }
    }

    func finish() async {}

    func finish(throwing error: any Error) async {
        await end(RPCError(converting: error).status)
    }

    /// Ends the response with `status` unless it has ended.
    func end(_ status: Status) async {
        let mustWait = encoder.withLock { encoder -> Bool in
            guard !encoder.ended else { return false }
            let chunk = encoder.encode(.status(status, [:]))
            return (try? sink.enqueue(chunk)) ?? false
        }
        if mustWait { try? await sink.waitForDrain() }
    }
}

/// A web call's request parts for the handler: its metadata, then each message of the body
/// decompressed and, for JSON, read into wire bytes.
///
/// `@unchecked Sendable`: transports' inbound sequences are single-consumer and continuing
/// (``RPCAsyncSequence``): the server reads the metadata with one iterator and the handler
/// the messages with the next, one after the other, never at once; the mutable state is
/// touched only from inside `next()`, by that one consumer.
final class WebRequestReader: AsyncSequence, @unchecked Sendable {
    private var metadata: Metadata?
    private var body: RPCAsyncSequence<[UInt8]>.AsyncIterator
    private var pending: [WebRequestDecoder.Message] = []
    private var decoder: WebRequestDecoder
    private var bodyEnded: Bool
    private let encoding: CompressionAlgorithm
    private let requestJSON: (any JSONTranscoder)?
    private let messageType: String
    private let limit: Int

    /// `preRead`: the message when it came with the head (a Connect GET), the body unread.
    init(
        metadata: Metadata, body: RPCAsyncSequence<[UInt8]>, preRead: [UInt8]?, decoder: WebRequestDecoder,
        encoding: CompressionAlgorithm, requestJSON: (any JSONTranscoder)?, messageType: String, limit: Int
    ) {
        self.metadata = metadata
        self.body = body.makeAsyncIterator()
        self.decoder = decoder
        self.encoding = encoding
        self.requestJSON = requestJSON
        self.messageType = messageType
        self.limit = limit
        if let preRead {
            pending = [WebRequestDecoder.Message(bytes: preRead, compressed: encoding != .identity)]
            bodyEnded = true
        } else {
            bodyEnded = false
        }
    }

    func makeAsyncIterator() -> Iterator { Iterator(reader: self) }

    struct Iterator: AsyncIteratorProtocol {
        let reader: WebRequestReader
        func next() async throws -> RPCRequestPart? { try await reader.next() }
    }

    private func next() async throws -> RPCRequestPart? {
        if let metadata {
            self.metadata = nil
            return .metadata(metadata)
        }
        while pending.isEmpty {
            if bodyEnded { return nil }
            if let piece = try await body.next() {
                pending = try decoder.append(piece)
            } else {
                bodyEnded = true
                pending = try decoder.finish()
            }
        }
        let message = pending.removeFirst()
        var bytes = message.bytes
        if message.compressed {
            guard encoding != .identity else {
                throw RPCError(code: .internal, message: "A message is flagged compressed but the request names no encoding.")
            }
            let flags: MessageFlags = encoding == .gzip ? .pendingGzip : .pendingDeflate
            bytes = try await InboundMessageDecoder(limit: limit).decode(bytes, flags).0
        }
        if let requestJSON {
            do {
                bytes = try requestJSON.binary(fromJSON: bytes)
            } catch {
                throw RPCError(code: .invalidArgument, message: "The request is not valid JSON for \(messageType)'s request message: \(error).")
            }
        }
        return .message(bytes, message.compressed ? .compressed : [])
    }
}
