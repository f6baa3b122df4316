import OOMesh

/// Server calls: a request's headers become a handler task with its stream, context and
/// deadline; transport-detected errors end calls with a status.
extension HTTP2Connection {
    // MARK: Server: requests

    func acceptRequest(_ stream: HTTP2Stream, headers: [(name: String, value: String)]) {
        guard case .server(let handler, let web) = role else { return }
        // Handlers of reset or timed-out streams may still run (cancellation is only a
        // request): refuse new streams while the connection has as many handlers as it
        // allows streams. REFUSED_STREAM tells the client it may retry.
        if liveHandlers.current >= configuration.maxConcurrentStreams {
            refusedForHandlers += 1
            session?.reset(stream: stream.id, .refusedStream)
            stream.state.refused()
            return
        }
        if let web, !Self.isGRPC(headers) {
            return acceptWebRequest(stream, headers: headers, web: web)
        }
        let head: RequestHead
        switch RequestHead.parse(headers, enabledCompression: configuration.enabledCompression, acceptEncodingHeader: acceptEncodingHeader) {
        case .success(let parsed): head = parsed
        case .failure(let refusal): return reject(stream, refusal)
        }
        stream.deframer.encoding = head.requestEncoding
        if head.responseEncoding != .identity { stream.outbox.setCompression(head.responseEncoding) }
        let deadline = head.timeout.map { ContinuousClock.now + $0.duration }

        // Weak: the stream owns its inbox; a strong capture would keep every stream alive.
        let inbox = StreamInbox<RPCRequestPart>(returnCredit: { [loop, self, weak stream] in
            guard let stream else { return }
            if loop.inEventLoop { self.returnCredit(stream) } else { loop.execute { self.returnCredit(stream) } }
        }, readerWaiting: { [loop, self, weak stream] in
            guard let stream else { return }
            loop.executeOrRun { self.readerWaiting(stream) }
        })
        stream.serverInbox = inbox
        _ = inbox.deliver(.metadata(head.metadata))
        let rpcStream = RPCStream(
            descriptor: head.descriptor,
            inbound: RPCAsyncSequence(wrapping: RequestInboxSequence(
                inbox: inbox, decoder: InboundMessageDecoder(limit: configuration.maxReceiveMessageBytes))),
            outbound: ClosableRPCWriter(wrapping: ServerStreamWriter(
                outbox: stream.outbox, enabledCompression: configuration.enabledCompression, clientAcceptEncoding: head.acceptEncoding)))
        let context = ServerStreamContext(
            descriptor: head.descriptor, peer: peer, deadline: deadline, peerIdentity: peerIdentity, requestEncoding: head.requestEncoding)
        if let deadline, let timeoutText = head.timeout?.text {
            stream.deadline = deadline
            stream.deadlineTimer = loop.schedule(at: deadline) { [self] in
                failStream(stream, RPCError(code: .deadlineExceeded, message: "The call exceeded its deadline (grpc-timeout \(timeoutText))."))
            }
        }
        liveHandlers.increment()
        handlerTally?.begin()
        stream.task = Task(executorPreference: loop) { [liveHandlers, handlerTally] in
            await handler(rpcStream, context)
            liveHandlers.decrement()
            handlerTally?.end()
        }
    }

    /// Whether a request is gRPC (POST, `application/grpc` or `application/grpc+…`) rather
    /// than a web protocol; `application/grpc-web…` is not.
    static func isGRPC(_ headers: [(name: String, value: String)]) -> Bool {
        var post = false, grpc = false
        for (name, value) in headers {
            if name == ":method" { post = value == "POST" }
            if name == "content-type" {
                grpc = value.hasPrefix("application/grpc") && !value.hasPrefix("application/grpc-web")
            }
        }
        return post && grpc
    }

    /// Starts a web-protocol call: its DATA goes to the handler as body bytes, its response
    /// is written by ``WebCallServer`` through the stream's outbox.
    func acceptWebRequest(_ stream: HTTP2Stream, headers: [(name: String, value: String)], web: WebCallServer) {
        stream.isWeb = true
        var method = "", target = ""
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            switch name {
            case ":method": method = value
            case ":path": target = value
            case ":authority": fields.append(("host", value))
            default: if !name.hasPrefix(":") { fields.append((name, value)) }
            }
        }
        let inbox = StreamInbox<RPCRequestPart>(returnCredit: { [loop, self, weak stream] in
            guard let stream else { return }
            if loop.inEventLoop { self.returnCredit(stream) } else { loop.execute { self.returnCredit(stream) } }
        }, readerWaiting: { [loop, self, weak stream] in
            guard let stream else { return }
            loop.executeOrRun { self.readerWaiting(stream) }
        })
        stream.serverInbox = inbox
        let head = WebRequestHead(method: method, target: target, headers: fields)
        let body = RPCAsyncSequence(wrapping: WebBodySequence(inbox: inbox))
        let sink = StreamResponseSink(outbox: stream.outbox)
        liveHandlers.increment()
        handlerTally?.begin()
        stream.task = Task(executorPreference: loop) { [liveHandlers, handlerTally, peer, peerIdentity] in
            await web.serve(head, body: body, sink: sink, peer: peer, peerIdentity: peerIdentity)
            liveHandlers.decrement()
            handlerTally?.end()
        }
    }

    /// Answers a request the transport itself refuses, with a Trailers-Only response.
    func reject(_ stream: HTTP2Stream, _ refusal: RequestHead.Refusal) {
        submitTrailersOnly(stream, httpStatus: refusal.httpStatus, status: refusal.status, trailers: [:], extra: refusal.extraHeaders)
        scheduleFlush()
    }

    func remoteEnded(_ stream: HTTP2Stream) {
        switch stream.state.receivedEndStream(hasPartialMessage: stream.deframer.hasPartialMessage) {
        case .failPartialMessage:
            failStream(stream, RPCError(code: .internal, message: "The stream ended in the middle of a message (fewer bytes than its length prefix declared)."))
        case .finishRequest:
            stream.serverInbox?.finish(nil)
        case .failMissingStatus:
            stream.clientInbox?.finish(RPCError(code: .internal, message: "The server ended the stream without sending a status (no grpc-status trailer)."))
        case .none:
            break
        }
    }

    /// Ends a call because of a transport-detected error: a server answers with the status
    /// (and cancels the handler); a client resets the stream.
    func failStream(_ stream: HTTP2Stream, _ error: RPCError) {
        guard stream.state.canFail else { return }
        killInbound(stream)
        if isServer, stream.isWeb {
            // The web call answers in its protocol's shape when its body fails.
            stream.serverInbox?.finish(error)
        } else if isServer {
            stream.serverInbox?.finish(error)
            stream.task?.cancel()
            if stream.outbox.forceEnd(error.status, error: error) {
                pump(stream)
            }
        } else {
            resetStream(stream, reason: error.message, code: error.code)
        }
    }
}

/// A web request's body as the HTTP/2 stream delivers it: each DATA payload in order.
struct WebBodySequence: AsyncSequence, Sendable {
    let inbox: StreamInbox<RPCRequestPart>

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inbox: inbox) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let inbox: StreamInbox<RPCRequestPart>
        func next() async throws -> [UInt8]? {
            while let part = try await inbox.next() {
                if case .message(let bytes, _) = part { return bytes }
            }
            return nil
        }
    }
}

/// A web response written to an HTTP/2 stream's outbox.
struct StreamResponseSink: WebResponseSink {
    let outbox: StreamOutbox

    func enqueue(_ chunk: WebResponseChunk) throws -> Bool {
        try outbox.enqueueHTTP(chunk)
    }

    func waitForDrain() async throws {
        try await outbox.waitForDrain()
    }
}
