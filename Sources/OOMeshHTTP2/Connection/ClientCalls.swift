import OOMesh

/// Client calls: opening and finishing streams, and the response's headers and trailers.
extension HTTP2Connection {
    // MARK: Client API

    /// Starts (or queues, while connecting) a client stream.
    func openClientStream(_ stream: HTTP2Stream) {
        if isClosed || draining {
            let error = RPCError(code: .unavailable, message: "The connection is closing; retry on a new one.")
            _ = stream.state.settle()
            stream.outbox.close(.fail(error))
            stream.clientInbox?.finish(error)
            return
        }
        if let deadline = stream.deadline {
            stream.deadlineTimer = loop.schedule(at: deadline) { [self] in
                guard !stream.state.finished else { return }
                resetStream(stream, reason: "The call did not finish within its deadline.", code: .deadlineExceeded)
            }
        }
        pendingStreams.append(stream)
    }

    /// The caller is done with a client stream; reset it if the call is still open.
    func clientStreamFinished(_ stream: HTTP2Stream) {
        stream.deadlineTimer?.cancel()
        pendingStreams.removeAll { $0 === stream }
        guard !stream.state.finished else { return }
        resetStream(stream, reason: "The call was cancelled by the client.", code: .cancelled)
    }

    // MARK: Client: responses

    func receiveResponseHeaders(_ stream: HTTP2Stream, headers: [(name: String, value: String)]) {
        guard let inbox = stream.clientInbox else { return }
        switch ResponseHead.parse(headers) {
        case .informational:
            return
        case .trailersOnly(let status, let metadata):
            _ = stream.state.settle()
            _ = inbox.deliver(.status(status, metadata))
            inbox.finish(nil)
            stream.outbox.close(.discard)
        case .failure(let code, let message):
            resetStream(stream, reason: message, code: code)
        case .headers(let metadata, let encoding):
            stream.deframer.encoding = encoding
            stream.state.responseHeadersAccepted()
            stream.outbox.stopReplay()
            _ = inbox.deliver(.metadata(metadata))
        }
    }

    func receiveTrailers(_ stream: HTTP2Stream, headers: [(name: String, value: String)]) {
        guard let inbox = stream.clientInbox else { return }
        if stream.deframer.hasPartialMessage {
            return resetStream(stream, reason: "The response ended in the middle of a message.", code: .internal)
        }
        let (status, metadata) = ResponseHead.trailers(headers)
        _ = stream.state.settle()
        _ = inbox.deliver(.status(status, metadata))
        inbox.finish(nil)
        stream.outbox.close(.discard)
    }
}
