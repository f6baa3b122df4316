import OOMesh

/// The gRPC life of one HTTP/2 stream, for either role: what has been sent and received,
/// and what the connection must do when something happens to the stream. Pure: facts and
/// decisions only, no bytes, no nghttp2, no I/O; ``HTTP2Connection`` performs the actions
/// (delivering a status, finishing an inbox, resetting, retrying).
///
/// nghttp2 owns the HTTP/2 stream states (idle, open, half-closed, closed); this owns what
/// HTTP/2 does not know: whether the request or response HEADERS went out, whether the
/// caller already has its outcome, whether a refused call may be sent again.
///
/// Each event's rules, by role:
///
/// | event                  | server                                   | client                                             |
/// |------------------------|------------------------------------------|----------------------------------------------------|
/// | peer HEADERS           | first: the request; later: ignored       | before response headers: them; after: trailers; settled: ignored |
/// | DATA                   | taken until END_STREAM                   | taken until END_STREAM or the outcome is settled   |
/// | END_STREAM             | the request ends (or a partial message fails it) | no status yet: fails (no grpc-status)      |
/// | we sent END_STREAM     | client still sending: RST_STREAM(NO_ERROR) | —                                                |
/// | nghttp2 closed it      | handler still running: cancel it         | refused before any response: retry; else no outcome yet: fail |
struct StreamState: Sendable, Hashable {
    enum Role: Sendable, Hashable { case server, client }

    let role: Role
    /// Our HEADERS are submitted (client: the request; server: the response headers or a
    /// Trailers-Only response).
    private(set) var headersSent = false
    /// The peer's first (non-informational) HEADERS have arrived: server — the request;
    /// client — the response headers, so any later HEADERS are the trailers.
    private(set) var peerHeadersReceived = false
    /// The peer has ended its side (END_STREAM received).
    private(set) var remoteEnded = false
    /// The call's outcome is settled. Server: its status is submitted (trailers,
    /// Trailers-Only or a refusal). Client: the caller has its final status or error.
    private(set) var finished = false
    /// nghttp2 has closed the stream (or it never opened) and the connection has let it go.
    private(set) var closed = false

    init(role: Role) {
        self.role = role
    }

    // MARK: Our side

    /// Our HEADERS were submitted.
    mutating func headersSubmitted() {
        headersSent = true
    }

    /// Server: a Trailers-Only response (headers and status in one block) was submitted.
    mutating func trailersOnlySubmitted() {
        headersSent = true
        finished = true
    }

    /// Server: the trailers with the status were submitted after the messages (or, for a
    /// web response, the end of its body, which carries the status).
    mutating func trailersSubmitted() {
        finished = true
    }

    /// Server: the stream was refused (RST_STREAM(REFUSED_STREAM)) before a handler ran.
    mutating func refused() {
        finished = true
    }

    /// Client: the request could not be submitted; the stream never opened.
    mutating func failedToStart() {
        closed = true
        finished = true
    }

    /// Settles the outcome once. Returns whether this call settled it, that is, whether
    /// the caller (client) still has to be told; false when it already was.
    mutating func settle() -> Bool {
        if finished { return false }
        finished = true
        return true
    }

    /// A transport-detected error (deadline, framing, limits) may still end the call: it
    /// has no outcome yet and nghttp2 has not closed it.
    var canFail: Bool { !finished && !closed }

    /// The connection must take DATA for this stream: a server takes the request until its
    /// end (even after its status is out, to credit it); a client stops once it has its
    /// outcome.
    var takesData: Bool {
        !remoteEnded && (role == .server || !finished)
    }

    // MARK: The peer's side

    /// What a complete HEADERS block from the peer is.
    enum OnHeaders: Sendable, Hashable {
        /// Server: the request headers; parse them and start the call.
        case request
        /// Client: the response headers (or a Trailers-Only response); parse them.
        case responseHeaders
        /// Client: the trailers, with the status.
        case trailers
        /// Nothing to do (a server's second HEADERS block, a client's after its outcome).
        case ignore
    }

    /// A complete HEADERS block arrived. A server's first block is its request (and is
    /// recorded now); a client records its response headers with
    /// ``responseHeadersAccepted()`` after parsing (a 1xx block is not them).
    mutating func receivedHeaders() -> OnHeaders {
        switch role {
        case .server:
            if peerHeadersReceived { return .ignore }
            peerHeadersReceived = true
            return .request
        case .client:
            if finished { return .ignore }
            return peerHeadersReceived ? .trailers : .responseHeaders
        }
    }

    /// Client: the response headers were valid (not informational, not Trailers-Only).
    mutating func responseHeadersAccepted() {
        peerHeadersReceived = true
    }

    /// What END_STREAM from the peer means.
    enum OnRemoteEnd: Sendable, Hashable {
        /// It cut a message short: fail the call (INTERNAL).
        case failPartialMessage
        /// Server: the request is complete; finish the handler's inbox.
        case finishRequest
        /// Client: the response ended without a status; fail the call (INTERNAL).
        case failMissingStatus
        /// Nothing to do (the client already has its outcome).
        case none
    }

    /// The peer ended its side. `hasPartialMessage`: the deframer holds part of a message.
    mutating func receivedEndStream(hasPartialMessage: Bool) -> OnRemoteEnd {
        remoteEnded = true
        if hasPartialMessage { return .failPartialMessage }
        switch role {
        case .server: return .finishRequest
        case .client: return settle() ? .failMissingStatus : .none
        }
    }

    /// We sent a frame with END_STREAM. Returns true when a server must follow with
    /// RST_STREAM(NO_ERROR): its status is out but the client is still sending, and the
    /// reset tells it to stop (RFC 9113 §8.1) and frees the stream.
    func sentEndStream() -> Bool {
        role == .server && !remoteEnded
    }

    // MARK: The end

    /// What the connection must do once nghttp2 has closed the stream.
    enum OnClose: Sendable, Hashable {
        /// Server: the handler still runs (no status was sent); cancel it.
        case cancelHandler
        /// Server: the call was over; release what is queued.
        case released
        /// Client: refused before the server processed it (REFUSED_STREAM promises it did
        /// not, RFC 9113 §8.7): send it again if the request can be replayed; if it cannot,
        /// settle with ``settle()`` and fail the caller with `code`.
        case retryOrFail(code: StatusCode)
        /// Client: no outcome yet; fail the caller with `code`.
        case failCaller(code: StatusCode)
        /// Client: the caller already has its outcome.
        case done
    }

    /// nghttp2 closed the stream with `errorCode` (an HTTP/2 error code; 0 when it ended
    /// normally). `mayRetry`: the client allows another transparent retry for this call.
    mutating func closed(errorCode: UInt32, mayRetry: Bool) -> OnClose {
        closed = true
        switch role {
        case .server:
            return finished ? .released : .cancelHandler
        case .client:
            let code = HeaderCoding.statusCode(forHTTP2Error: errorCode)
            if errorCode == Self.refusedStream, !finished, !peerHeadersReceived, mayRetry {
                return .retryOrFail(code: code)
            }
            return settle() ? .failCaller(code: code) : .done
        }
    }

    /// The connection is gone. Returns whether a client's caller still has to be told.
    mutating func terminated() -> Bool {
        closed = true
        return role == .client && settle()
    }

    /// HTTP/2's REFUSED_STREAM error code (RFC 9113 §7).
    static let refusedStream: UInt32 = 0x7
}
