#if canImport(Glibc)
import Glibc
#endif
import CNGHTTP2
import OOMesh
import Synchronization

/// nghttp2's callbacks (from ``NGHTTP2Callbacks``), turned into ``StreamState`` events and
/// ``InboundCredit`` bookkeeping: headers, frames, DATA chunks, stream closes.
extension HTTP2Connection {
    // MARK: nghttp2 callbacks

    func onBeginHeaders(_ frame: nghttp2_frame) -> Int32 {
        guard isServer, frame.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
              frame.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        let streamID = frame.hd.stream_id
        let outbox = StreamOutbox(
            highWaterBytes: configuration.maxQueuedOutboundBytesPerStream, maxMessageBytes: configuration.maxSendMessageBytes
        ) { [loop, self] in
            // A handler writing on the loop (the usual case) pumps at once, allocating no
            // closure; one on another thread hands the pump to the loop.
            if loop.inEventLoop { self.pumpStream(id: streamID) } else { loop.execute { self.pumpStream(id: streamID) } }
        }
        let stream = HTTP2Stream(id: streamID, role: .server, descriptor: MethodDescriptor(service: "", method: ""), outbox: outbox,
                                 maxMessageBytes: configuration.maxReceiveMessageBytes)
        streams[streamID] = stream
        return 0
    }

    func pumpStream(id: Int32) {
        if let stream = streams[id] { pump(stream) }
    }

    func onHeader(_ frame: nghttp2_frame, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let stream = streams[frame.hd.stream_id] else { return 0 }
        stream.receivedHeaderBytes += name.count + value.count + 32
        if stream.receivedHeaderBytes > configuration.maxHeaderListBytes {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        // One allocation for a typical header block instead of growing 1, 2, 4, 8.
        if stream.receivedHeaders.capacity == 0 { stream.receivedHeaders.reserveCapacity(12) }
        stream.receivedHeaders.append((headerStrings.string(name), headerStrings.string(value)))
        return 0
    }

    func onFrameReceived(_ frame: nghttp2_frame) -> Int32 {
        let endStream = frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch frame.hd.type {
        case UInt8(NGHTTP2_HEADERS.rawValue):
            guard let stream = streams[frame.hd.stream_id] else { return 0 }
            let headers = stream.receivedHeaders
            stream.receivedHeaders = []
            stream.receivedHeaderBytes = 0
            switch stream.state.receivedHeaders() {
            case .request:
                management.callStarted()
                acceptRequest(stream, headers: headers)
            case .responseHeaders:
                receiveResponseHeaders(stream, headers: headers)
            case .trailers:
                receiveTrailers(stream, headers: headers)
            case .ignore:
                break
            }
            if endStream { remoteEnded(stream) }
        case UInt8(NGHTTP2_DATA.rawValue):
            if endStream, let stream = streams[frame.hd.stream_id] { remoteEnded(stream) }
        case UInt8(NGHTTP2_SETTINGS.rawValue):
            if frame.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0, !peerSpokeHTTP2.load(ordering: .relaxed) {
                peerReady()
            }
        case UInt8(NGHTTP2_GOAWAY.rawValue):
            draining = true
        case UInt8(NGHTTP2_PING.rawValue):
            if frame.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 {
                receivedPingAck(frame)
            } else if isServer {
                policePing()
            }
        default:
            break
        }
        return 0
    }

    func onFrameSent(_ frame: nghttp2_frame) -> Int32 {
        // A server that has sent its status while the client is still sending ends the
        // stream with RST_STREAM(NO_ERROR), so the client stops and the stream is freed.
        guard frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
              let stream = streams[frame.hd.stream_id], stream.state.sentEndStream() else { return 0 }
        if stream.isWeb {
            // HTTP clients (curl, browsers) report a reset that follows the response as a
            // failure: the rest of the request body is credited and dropped as it comes, and
            // the reset waits a moment for the client to finish sending.
            releaseQueued(stream, dropParts: true)
            let id = stream.id
            stream.deadlineTimer = loop.schedule(at: .now + Self.webRequestLinger) { [self] in
                guard let open = streams[id], open === stream else { return }
                session?.reset(stream: id, .noError)
                scheduleFlush()
            }
            return 0
        }
        session?.reset(stream: stream.id, .noError)
        return 0
    }

    /// How long a web response's stream stays open for the rest of a request body the call
    /// did not read (see ``onFrameSent(_:)``).
    static let webRequestLinger: Duration = .seconds(1)

    func onDataChunk(streamID: Int32, _ data: UnsafeRawBufferPointer) -> Int32 {
        creditTotals.receivedBytes += data.count
        guard let stream = streams[streamID], stream.state.takesData else {
            pendingCredits.append((0, data.count))
            return 0
        }
        // Every byte is held until the message it completes is taken (InboundCredit).
        let dropped = inboundCredit.received(data.count, on: &stream.credit)
        if dropped > 0 {
            pendingCredits.append((0, dropped))
            return 0
        }
        // Debts settled at once: messages a waiting reader took straight away.
        var credit = 0
        var released = 0
        if stream.isWeb {
            // A web request's body: each DATA payload is a part as it is (its protocol
            // reads the framing), owing its bytes until the call takes it.
            let debt = inboundCredit.completed(wireBytes: data.count, on: &stream.credit)
            let settled = stream.serverInbox?.deliver(.message(Array(data), []), debt: debt) ?? debt
            releaseAdvance(settled.advance)
            if settled.owed > 0 { pendingCredits.append((streamID, settled.owed)) }
            return 0
        }
        do {
            let encoding = stream.deframer.encoding
            try stream.deframer.process(data) { message, wireLength, compressed in
                let debt = inboundCredit.completed(wireBytes: 5 + wireLength, on: &stream.credit)
                let settled: InboundCredit.MessageDebt
                // Still compressed, if it was: its reader inflates it (InboundMessageDecoder).
                let flags = MessageFlags.received(compressed: compressed, deferredWith: encoding)
                if let inbox = stream.serverInbox {
                    settled = inbox.deliver(.message(message, flags), debt: debt)
                } else if let inbox = stream.clientInbox {
                    settled = inbox.deliver(.message(message, flags), debt: debt)
                } else {
                    settled = debt
                }
                credit += settled.owed
                released += settled.advance
            }
        } catch {
            // Dead inbound: what the stream holds goes back now, later DATA as it comes.
            if credit > 0 { pendingCredits.append((streamID, credit)) }
            releaseAdvance(released)
            killInbound(stream)
            failStream(stream, error)
            return 0
        }
        releaseAdvance(released)
        // Part of a message is held: a reader waiting for it gets it advanced (else the
        // inbox tells us when one starts waiting).
        if inboundCredit.wantsAdvance(stream.credit),
           stream.serverInbox?.signalWhenReaderWaits() ?? stream.clientInbox?.signalWhenReaderWaits() ?? false {
            credit += advance(stream)
        }
        if credit > 0 { pendingCredits.append((streamID, credit)) }
        return 0
    }

    /// A closed stream's queued parts and held bytes: credited at connection level now.
    func releaseQueued(_ stream: HTTP2Stream, dropParts: Bool) {
        let debt = stream.serverInbox?.releaseQueuedCredit(dropParts: dropParts)
            ?? stream.clientInbox?.releaseQueuedCredit(dropParts: dropParts) ?? .init(owed: 0, advance: 0)
        if debt.owed > 0 { pendingCredits.append((0, debt.owed)) }
        killInbound(stream)
        releaseAdvance(debt.advance)
    }

    func onStreamClosed(streamID: Int32, errorCode: UInt32) -> Int32 {
        guard let stream = streams.removeValue(forKey: streamID) else { return 0 }
        if configuration.maxConnectionIdle != nil { management.streamActivity(now: .now) }
        stream.deadlineTimer?.cancel()
        let mayRetry = onRefusedStream != nil && stream.transparentRetries < 3
        let action = stream.state.closed(errorCode: errorCode, mayRetry: mayRetry)
        switch action {
        case .cancelHandler, .released:
            // A status not sent yet means the handler still runs: it is cancelled below.
            let error = RPCError(
                code: .cancelled,
                message: errorCode == NGHTTP2_NO_ERROR.rawValue ? "The stream closed." : "The client reset the stream (HTTP/2 error \(errorCode)).")
            stream.outbox.close(.fail(error))
            stream.serverInbox?.finish(error)
            // Request parts the handler never took: their bytes go back to the connection
            // window now (see `StreamInbox.releaseQueuedCredit`).
            releaseQueued(stream, dropParts: true)
            if case .cancelHandler = action { stream.task?.cancel() }
        case .retryOrFail(let code):
            // Refused unprocessed (an explicit refusal, or a stream above a GOAWAY's last
            // stream id): send it again, on this connection or a new one, when it can
            // still be replayed.
            if let onRefusedStream, stream.outbox.rewindForRetry() {
                stream.resetForRetry()
                // Not from inside this nghttp2 callback: on the next turn of the loop.
                loop.execute { onRefusedStream(stream) }
                return 0
            }
            _ = stream.state.settle()
            clientStreamClosed(stream, failing: code, errorCode: errorCode)
        case .failCaller(let code):
            clientStreamClosed(stream, failing: code, errorCode: errorCode)
        case .done:
            clientStreamClosed(stream, failing: nil, errorCode: errorCode)
        }
        if draining, streams.isEmpty { scheduleFlush() }
        return 0
    }

    /// A client stream nghttp2 closed: the request side is discarded; response parts still
    /// queued for the caller stay readable, but their bytes go back to the connection
    /// window now (a caller that stops reading must not starve the connection's other
    /// calls); a caller without an outcome gets `code`.
    func clientStreamClosed(_ stream: HTTP2Stream, failing code: StatusCode?, errorCode: UInt32) {
        stream.outbox.close(.discard)
        releaseQueued(stream, dropParts: false)
        if let code {
            stream.clientInbox?.finish(RPCError(
                code: code, message: "The server reset the stream (HTTP/2 error \(errorCode)) before sending a status."))
        }
    }
}
