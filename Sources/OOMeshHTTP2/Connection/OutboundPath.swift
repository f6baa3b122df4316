#if canImport(Glibc)
import Glibc
#endif
import CNGHTTP2
import OOMesh

/// What goes out on a stream: the outbox pumped into HEADERS, DATA and trailers; the zero-copy
/// DATA path (the data provider reserves, the send-data callback writes references); resets.
extension HTTP2Connection {
    // MARK: Outbound, per stream

    /// Submits whatever the stream's outbox has ready: headers, resumed DATA, an end.
    func pump(_ stream: HTTP2Stream) {
        guard !stream.state.closed else { return }
        guard !isClosed else {
            // The connection closed before this stream got going (a late first write, a
            // retry landing on a connection that just closed): fail it, or it waits forever.
            if !stream.state.finished {
                terminate(stream, error: RPCError(
                    code: .unavailable, message: "The connection to \(peer) closed: \(closeReason ?? "closed")."))
            }
            return
        }
        guard let session else {
            if !pendingStreams.contains(where: { $0 === stream }) { pendingStreams.append(stream) }
            return
        }
        let next = stream.outbox.pump()
        if !stream.state.headersSent {
            if isServer, stream.isWeb {
                if let head = next.httpHead { submitWebResponse(stream, head) }
            } else if isServer {
                if let headers = next.headers {
                    submitResponse(stream, metadata: headers)
                } else if next.hasData {
                    submitResponse(stream, metadata: [:])
                } else if next.end != nil, case .trailers(let status, let trailers)? = stream.outbox.takeEnd() {
                    submitTrailersOnly(stream, httpStatus: 200, status: status, trailers: trailers)
                }
            } else if let headers = next.headers {
                submitRequest(stream, metadata: headers)
            }
        } else if stream.dataDeferred, next.hasData || next.end != nil {
            stream.dataDeferred = false
            session.resumeData(stream: stream.id)
        }
        scheduleFlush()
    }

    func submitResponse(_ stream: HTTP2Stream, metadata: Metadata) {
        let block = HeaderBlock.response(encoding: stream.outbox.compression, acceptEncoding: acceptEncodingHeader, metadata: metadata)
        let result = session?.submitResponse(stream: stream.id, block, withBody: true) ?? 0
        stream.state.headersSubmitted()
        if result != 0 { resetStream(stream, reason: "submit_response failed: \(result)") }
    }

    /// A web response's HEADERS: its status and fields; the body follows from the outbox.
    func submitWebResponse(_ stream: HTTP2Stream, _ head: HTTPResponseHead) {
        var block = HeaderBlock()
        block.add(":status", String(head.status))
        for (name, value) in head.headers { block.add(name, value) }
        let result = session?.submitResponse(stream: stream.id, block, withBody: true) ?? 0
        stream.state.headersSubmitted()
        if result != 0 { resetStream(stream, reason: "submit_response failed: \(result)") }
    }

    func submitTrailersOnly(_ stream: HTTP2Stream, httpStatus: Int, status: Status, trailers: Metadata, extra: [String: String] = [:]) {
        let block = HeaderBlock.trailersOnly(httpStatus: httpStatus, status: status, trailers: trailers, extra: extra)
        let result = session?.submitResponse(stream: stream.id, block, withBody: false) ?? 0
        stream.state.trailersOnlySubmitted()
        if result != 0 { resetStream(stream, reason: "submit_response failed: \(result)") }
    }

    func submitRequest(_ stream: HTTP2Stream, metadata: Metadata) {
        guard case .client(let authority) = role, let session else { return }
        let block = HeaderBlock.request(
            path: stream.descriptor.path, authority: authority, secure: tls != nil, encoding: stream.outbox.compression,
            acceptEncoding: acceptEncodingHeader, timeout: stream.deadline.map { $0 - .now }, metadata: metadata)
        let id = session.submitRequest(block)
        stream.state.headersSubmitted()
        pendingStreams.removeAll { $0 === stream }
        if NGHTTP2Session.isStreamIDExhaustion(id), let onRefusedStream,
           stream.transparentRetries < 3, stream.outbox.rewindForRetry() {
            // Every stream id of this connection is used: nothing was sent, so the call goes
            // on a new connection; this one drains.
            stream.resetForRetry()
            beginGracefulShutdown()
            loop.execute { onRefusedStream(stream) }
            return
        }
        guard id > 0 else {
            stream.state.failedToStart()
            let error = RPCError(code: .unavailable, message: "Could not start the call on this connection: \(NGHTTP2Session.describe(id))).")
            stream.outbox.close(.fail(error))
            stream.clientInbox?.finish(error)
            return
        }
        stream.id = id
        streams[id] = stream
        if session.nextStreamID > Self.lastStreamIDBeforeDraining {
            // Few stream ids left (a busy connection reaches 2^31 in about a day): the calls
            // open here finish, new ones go on a new connection.
            beginGracefulShutdown()
        }
    }

    /// Client: past this stream id the connection drains and the next call opens a new
    /// one, so calls never meet `NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE` (2^31 − 1 is the last
    /// id; the headroom leaves room for the calls already queued).
    static let lastStreamIDBeforeDraining: UInt32 = UInt32(Int32.max) - (1 << 16)

    /// Resets a stream with RST_STREAM(CANCEL) and fails it locally.
    func resetStream(_ stream: HTTP2Stream, reason: String, code: StatusCode = .internal) {
        if let session, stream.id > 0, streams[stream.id] != nil {
            session.reset(stream: stream.id, .cancel)
        }
        let error = RPCError(code: code, message: reason)
        stream.outbox.close(.fail(error))
        if let inbox = stream.serverInbox {
            inbox.finish(error)
            stream.task?.cancel()
        }
        if let inbox = stream.clientInbox, stream.state.settle() {
            inbox.finish(error)
        }
        pendingStreams.removeAll { $0 === stream }
        scheduleFlush()
    }

    /// The data provider: reserves up to `buffer.count` bytes of the stream's outbox for the
    /// next DATA frame. A large frame is not copied (``sendData(_:header:length:)`` writes
    /// it from the application's buffers); a small one is copied into nghttp2's `buffer`,
    /// which costs less than a separate I/O vector.
    func readData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = streams[streamID] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let (count, end) = stream.outbox.reserve(upTo: buffer.count)
        if count >= OutboundQueue.referenceThreshold {
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue
        } else if count > 0 {
            var copied = 0
            let taken = stream.outbox.take(count, prefix: {}) { bytes, range in
                bytes.withUnsafeBytes { source in
                    buffer.baseAddress!.advanced(by: copied)
                        .copyMemory(from: source.baseAddress!.advanced(by: range.lowerBound), byteCount: range.count)
                }
                copied += range.count
            }
            guard taken else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        }
        if let end {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if case .trailers(let status, let trailers) = end {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                let block = HeaderBlock.trailers(status: status, trailers: trailers)
                session?.submitTrailer(stream: streamID, block)
                stream.state.trailersSubmitted()
            } else if isServer {
                // A web response: its body ends the stream.
                stream.state.trailersSubmitted()
            }
            return count
        }
        if count == 0 {
            stream.dataDeferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return count
    }

    /// The send-data callback: queues one DATA frame, its 9-byte `header` then `length`
    /// bytes taken from the stream's outbox (referenced, not copied, when large and not
    /// encrypted). Pauses `mem_send` once a write batch is full.
    func sendData(_ frame: nghttp2_frame, header: UnsafeRawBufferPointer, length: Int) -> Int32 {
        // No select-padding callback is set, so nghttp2 never pads a DATA frame.
        guard frame.data.padlen == 0, let stream = streams[frame.hd.stream_id] else {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        let taken = stream.outbox.take(length) {
            queueCopy(header)
        } slice: { bytes, range in
            if tls != nil { plaintextOut.append(contentsOf: bytes[range]) } else { outbound.append(bytes, range: range) }
        }
        // The outbox was closed after the frame was reserved: reset the stream.
        guard taken else { return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue }
        if outbound.count >= Self.writeBatchBytes || plaintextOut.count >= Self.writeBatchBytes {
            sendPaused = true
            return NGHTTP2_ERR_PAUSE.rawValue
        }
        return 0
    }
}
