import CNGHTTP2

/// The C callbacks nghttp2 calls during `mem_recv`/`mem_send`. Each is a trampoline: it
/// finds the connection through the session's user-data pointer and forwards to it. No
/// I/O happens inside them.
enum NGHTTP2Callbacks {
    /// A fresh callbacks object with every trampoline set; the caller deletes it after
    /// creating the session (nghttp2 copies it).
    static func make() -> OpaquePointer {
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "nghttp2_session_callbacks_new failed")
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            owningConnection(userData).onBeginHeaders(frame!.pointee)
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            owningConnection(userData).onHeader(
                frame!.pointee,
                name: UnsafeBufferPointer(start: name, count: nameLength),
                value: UnsafeBufferPointer(start: value, count: valueLength))
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            owningConnection(userData).onFrameReceived(frame!.pointee)
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            owningConnection(userData).onFrameSent(frame!.pointee)
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            owningConnection(userData).onDataChunk(streamID: streamID, UnsafeRawBufferPointer(start: data, count: length))
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, userData in
            owningConnection(userData).onStreamClosed(streamID: streamID, errorCode: errorCode)
        }
        nghttp2_session_callbacks_set_send_data_callback(callbacks) { _, frame, header, length, _, userData in
            owningConnection(userData).sendData(frame!.pointee, header: UnsafeRawBufferPointer(start: header, count: 9), length: length)
        }
        return callbacks!
    }

    /// The read callback of every data provider: takes queued bytes from the stream's
    /// outbox, large frames without copying (`NGHTTP2_DATA_FLAG_NO_COPY`: the send-data
    /// callback writes them).
    static let readData: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, userData in
        owningConnection(userData).readData(
            streamID: streamID, into: UnsafeMutableRawBufferPointer(start: buffer, count: length), flags: flags!)
    }

}

/// The connection a session belongs to, from the user-data pointer it was created with.
private func owningConnection(_ userData: UnsafeMutableRawPointer?) -> HTTP2Connection {
    Unmanaged<HTTP2Connection>.fromOpaque(userData!).takeUnretainedValue()
}
