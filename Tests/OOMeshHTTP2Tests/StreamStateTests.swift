import OOMesh
@testable import OOMeshHTTP2
import Testing

/// The gRPC stream machine, role × state × event, without a connection: each test puts a
/// stream in a state by its events and checks what the next event tells the connection.
@Suite("Stream state machine")
struct StreamStateTests {
    private static let noError: UInt32 = 0
    private static let cancel: UInt32 = 0x8
    private static let refused = StreamState.refusedStream

    // MARK: Server

    @Test("server: the first HEADERS is the request, a second block is ignored")
    func serverHeaders() {
        var s = StreamState(role: .server)
        let action1 = s.receivedHeaders()
        #expect(action1 == .request)
        #expect(s.peerHeadersReceived)
        let action2 = s.receivedHeaders()
        #expect(action2 == .ignore)
    }

    @Test("server: END_STREAM finishes the request, or fails it when a message was cut short")
    func serverEndStream() {
        var whole = StreamState(role: .server)
        _ = whole.receivedHeaders()
        let action1 = whole.receivedEndStream(hasPartialMessage: false)
        #expect(action1 == .finishRequest)
        #expect(whole.remoteEnded)
        #expect(!whole.takesData)

        var cut = StreamState(role: .server)
        _ = cut.receivedHeaders()
        let action2 = cut.receivedEndStream(hasPartialMessage: true)
        #expect(action2 == .failPartialMessage)
        #expect(cut.canFail)
    }

    @Test("server: DATA is taken until END_STREAM, even after the status is out")
    func serverTakesData() {
        var s = StreamState(role: .server)
        _ = s.receivedHeaders()
        s.headersSubmitted()
        s.trailersSubmitted()
        #expect(s.finished)
        #expect(s.takesData)
        _ = s.receivedEndStream(hasPartialMessage: false)
        #expect(!s.takesData)
    }

    @Test("server: a status sent while the client still sends is followed by RST_STREAM(NO_ERROR)")
    func serverEarlyStatus() {
        var s = StreamState(role: .server)
        _ = s.receivedHeaders()
        s.trailersOnlySubmitted()
        #expect(s.headersSent && s.finished)
        #expect(s.sentEndStream())
        _ = s.receivedEndStream(hasPartialMessage: false)
        #expect(!s.sentEndStream())
    }

    @Test("server: closed before its status, the handler is cancelled; after it, only released")
    func serverClosed() {
        var running = StreamState(role: .server)
        _ = running.receivedHeaders()
        running.headersSubmitted()
        let action1 = running.closed(errorCode: Self.cancel, mayRetry: true)
        #expect(action1 == .cancelHandler)
        #expect(running.closed)
        #expect(!running.canFail)

        var done = StreamState(role: .server)
        _ = done.receivedHeaders()
        done.trailersOnlySubmitted()
        let action2 = done.closed(errorCode: Self.noError, mayRetry: false)
        #expect(action2 == .released)

        var refused = StreamState(role: .server)
        _ = refused.receivedHeaders()
        refused.refused()
        #expect(!refused.headersSent)
        let action3 = refused.closed(errorCode: Self.noError, mayRetry: false)
        #expect(action3 == .released)
    }

    @Test("server: a transport error ends a call only while it has no status and is open")
    func serverCanFail() {
        var s = StreamState(role: .server)
        _ = s.receivedHeaders()
        #expect(s.canFail)
        s.headersSubmitted()
        #expect(s.canFail)
        s.trailersSubmitted()
        #expect(!s.canFail)
    }

    @Test("server: connection loss never counts as telling a caller (the handler is cancelled instead)")
    func serverTerminated() {
        var s = StreamState(role: .server)
        _ = s.receivedHeaders()
        let action = s.terminated()
        #expect(!action)
        #expect(s.closed)
        #expect(!s.finished)
    }

    // MARK: Client

    @Test("client: response headers, then trailers; nothing after the outcome")
    func clientHeaders() {
        var s = StreamState(role: .client)
        s.headersSubmitted()
        let action1 = s.receivedHeaders()
        #expect(action1 == .responseHeaders)
        // A 1xx block is not the response headers: the next block is still them.
        let action2 = s.receivedHeaders()
        #expect(action2 == .responseHeaders)
        s.responseHeadersAccepted()
        let action3 = s.receivedHeaders()
        #expect(action3 == .trailers)
        let action4 = s.settle()
        #expect(action4)
        let action5 = s.receivedHeaders()
        #expect(action5 == .ignore)
    }

    @Test("client: END_STREAM without a status fails the call once; after the status it is nothing")
    func clientEndStream() {
        var noStatus = StreamState(role: .client)
        noStatus.headersSubmitted()
        noStatus.responseHeadersAccepted()
        let action1 = noStatus.receivedEndStream(hasPartialMessage: false)
        #expect(action1 == .failMissingStatus)
        #expect(noStatus.finished)

        var withStatus = StreamState(role: .client)
        withStatus.headersSubmitted()
        withStatus.responseHeadersAccepted()
        let action2 = withStatus.settle()
        #expect(action2)
        let action3 = withStatus.receivedEndStream(hasPartialMessage: false)
        #expect(action3 == .none)

        var cut = StreamState(role: .client)
        cut.headersSubmitted()
        cut.responseHeadersAccepted()
        let action4 = cut.receivedEndStream(hasPartialMessage: true)
        #expect(action4 == .failPartialMessage)
        #expect(cut.canFail)
    }

    @Test("client: DATA stops being taken once the outcome is settled")
    func clientTakesData() {
        var s = StreamState(role: .client)
        s.headersSubmitted()
        s.responseHeadersAccepted()
        #expect(s.takesData)
        let action = s.settle()
        #expect(action)
        #expect(!s.takesData)
    }

    @Test("client: the outcome is settled once")
    func clientSettlesOnce() {
        var s = StreamState(role: .client)
        let action1 = s.settle()
        #expect(action1)
        let action2 = s.settle()
        #expect(!action2)
        let action3 = s.terminated()
        #expect(!action3)
    }

    @Test("client: REFUSED_STREAM before any response is retried when allowed")
    func clientRefusedRetried() {
        var s = StreamState(role: .client)
        s.headersSubmitted()
        let action = s.closed(errorCode: Self.refused, mayRetry: true)
        #expect(action == .retryOrFail(code: .unavailable))
        // Retrying is the connection's to do: the outcome is still open.
        #expect(!s.finished)
    }

    @Test("client: REFUSED_STREAM is not retried after response headers, when not allowed, or when settled")
    func clientRefusedNotRetried() {
        var afterHeaders = StreamState(role: .client)
        afterHeaders.headersSubmitted()
        afterHeaders.responseHeadersAccepted()
        let action1 = afterHeaders.closed(errorCode: Self.refused, mayRetry: true)
        #expect(action1 == .failCaller(code: .unavailable))
        #expect(afterHeaders.finished)

        var exhausted = StreamState(role: .client)
        exhausted.headersSubmitted()
        let action2 = exhausted.closed(errorCode: Self.refused, mayRetry: false)
        #expect(action2 == .failCaller(code: .unavailable))

        var settled = StreamState(role: .client)
        settled.headersSubmitted()
        let action3 = settled.settle()
        #expect(action3)
        let action4 = settled.closed(errorCode: Self.refused, mayRetry: true)
        #expect(action4 == .done)
    }

    @Test("client: another reset fails the caller with its code mapped to a status")
    func clientReset() {
        var s = StreamState(role: .client)
        s.headersSubmitted()
        let action = s.closed(errorCode: Self.cancel, mayRetry: true)
        #expect(action == .failCaller(code: .cancelled))
        #expect(s.closed)
        #expect(!s.canFail)
    }

    @Test("client: a request that could not be submitted is closed and settled")
    func clientFailedToStart() {
        var s = StreamState(role: .client)
        s.failedToStart()
        #expect(s.closed && s.finished && !s.headersSent)
        let action = s.settle()
        #expect(!action)
    }

    @Test("client: connection loss tells a caller without an outcome, once")
    func clientTerminated() {
        var open = StreamState(role: .client)
        open.headersSubmitted()
        let action1 = open.terminated()
        #expect(action1)
        #expect(open.closed && open.finished)

        var done = StreamState(role: .client)
        let action2 = done.settle()
        #expect(action2)
        let action3 = done.terminated()
        #expect(!action3)
    }

    @Test("client: sending END_STREAM never calls for RST_STREAM")
    func clientSentEndStream() {
        var s = StreamState(role: .client)
        s.headersSubmitted()
        #expect(!s.sentEndStream())
    }
}
