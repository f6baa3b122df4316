import CNGHTTP2

/// One connection's nghttp2 session, sans-I/O: bytes in (``receive(_:)``), frames out
/// (``nextOutboundBytes()``), and the submits the connection makes. With the C trampolines
/// in ``NGHTTP2Callbacks``, the only code that calls nghttp2; the connection drives it and
/// never names an `nghttp2_` function.
///
/// A value wrapping nghttp2's pointer, for speed (no indirection, inlined in release
/// builds); the owning connection deletes it once with ``delete()``. Loop-confined, like
/// its connection.
struct NGHTTP2Session {
    private let raw: OpaquePointer

    /// The settings we announce at start.
    struct Settings {
        var maxConcurrentStreams: Int
        var initialStreamWindowBytes: Int
        var connectionWindowBytes: Int
        var maxHeaderListBytes: Int
        /// Client: announce SETTINGS_ENABLE_PUSH 0 (we never accept pushes).
        var disablePush: Bool
    }

    /// HTTP/2 error codes we send (RFC 9113 §7).
    enum ErrorCode: UInt32 {
        case noError = 0x0
        case refusedStream = 0x7
        case cancel = 0x8
        case enhanceYourCalm = 0xB
    }

    /// Starts a session for `connection` (the callbacks' user data), with automatic
    /// WINDOW_UPDATEs off: credit is returned with ``consume(stream:bytes:)`` as the
    /// application takes messages (``InboundCredit``). Queues our SETTINGS and the
    /// connection window.
    init(server: Bool, connection: UnsafeMutableRawPointer, settings: Settings, firstClientStreamID: Int32? = nil) {
        let callbacks = NGHTTP2Callbacks.make()
        defer { nghttp2_session_callbacks_del(callbacks) }
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        var session: OpaquePointer?
        let result = server
            ? nghttp2_session_server_new2(&session, callbacks, connection, option)
            : nghttp2_session_client_new2(&session, callbacks, connection, option)
        precondition(result == 0 && session != nil, "nghttp2 session creation failed: \(result)")
        raw = session!
        if !server, let firstClientStreamID {
            nghttp2_session_set_next_stream_id(raw, firstClientStreamID)
        }
        var entries = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(settings.maxConcurrentStreams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(settings.initialStreamWindowBytes)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(settings.maxHeaderListBytes)),
        ]
        if settings.disablePush {
            entries.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0))
        }
        nghttp2_submit_settings(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), entries, entries.count)
        nghttp2_session_set_local_window_size(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(settings.connectionWindowBytes))
    }

    /// Frees the session. Call once; the value must not be used afterwards.
    func delete() {
        nghttp2_session_del(raw)
    }

    // MARK: Bytes in and out

    /// Feeds received bytes; the callbacks run inside. Returns nghttp2's description of a
    /// protocol violation (it has queued a GOAWAY where it could), nil when all is well.
    func receive(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress else { return nil }
        let result = nghttp2_session_mem_recv(raw, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        return result < 0 ? Self.describe(Int32(result)) : nil
    }

    /// The next serialized frames (empty when nghttp2 has nothing ready, or paused), valid
    /// until the next call; the send-data callback runs inside.
    func nextOutboundBytes() -> Result<UnsafeRawBufferPointer, SessionError> {
        var data: UnsafePointer<UInt8>?
        let count = nghttp2_session_mem_send(raw, &data)
        if count < 0 { return .failure(SessionError(description: Self.describe(Int32(count)))) }
        return .success(UnsafeRawBufferPointer(start: data, count: count))
    }

    /// Neither side has anything left to say: the session is over (both GOAWAYs, or a
    /// fatal error).
    var isFinished: Bool {
        nghttp2_session_want_read(raw) == 0 && nghttp2_session_want_write(raw) == 0
    }

    // MARK: Streams

    /// The data provider of every stream with a body: ``NGHTTP2Callbacks/readData``.
    private static var dataProvider: nghttp2_data_provider {
        nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: NGHTTP2Callbacks.readData)
    }

    /// Client: submits a request with a body to come. Returns the new stream id, or an
    /// nghttp2 error (negative).
    func submitRequest(_ block: HeaderBlock) -> Int32 {
        var provider = Self.dataProvider
        return block.withNV { nghttp2_submit_request(raw, nil, $0, $1, &provider, nil) }
    }

    /// Server: submits response headers, with a body to come (`withBody`) or ending the
    /// stream (Trailers-Only). Returns 0 or an nghttp2 error.
    func submitResponse(stream: Int32, _ block: HeaderBlock, withBody: Bool) -> Int32 {
        if withBody {
            var provider = Self.dataProvider
            return block.withNV { nghttp2_submit_response(raw, stream, $0, $1, &provider) }
        }
        return block.withNV { nghttp2_submit_response(raw, stream, $0, $1, nil) }
    }

    /// Submits trailers after the body (from within the data provider, at its end).
    func submitTrailer(stream: Int32, _ block: HeaderBlock) {
        _ = block.withNV { nghttp2_submit_trailer(raw, stream, $0, $1) }
    }

    /// RST_STREAM with `code`.
    func reset(stream: Int32, _ code: ErrorCode) {
        nghttp2_submit_rst_stream(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code.rawValue)
    }

    /// The stream's data provider has bytes again after it deferred.
    func resumeData(stream: Int32) {
        nghttp2_session_resume_data(raw, stream)
    }

    /// The id the next request will get.
    var nextStreamID: UInt32 {
        nghttp2_session_get_next_stream_id(raw)
    }

    // MARK: Flow control

    /// Returns `bytes` to the stream's and the connection's windows. False when nghttp2
    /// refused (the stream is gone): credit the connection with ``consumeConnection(bytes:)``.
    func consume(stream: Int32, bytes: Int) -> Bool {
        nghttp2_session_consume(raw, stream, bytes) == 0
    }

    /// Returns `bytes` to the connection window only.
    func consumeConnection(bytes: Int) {
        nghttp2_session_consume_connection(raw, bytes)
    }

    // MARK: Connection

    /// PING with our eight bytes of opaque data.
    func ping(opaque: [UInt8]) {
        precondition(opaque.count == 8, "PING opaque data is 8 bytes")
        nghttp2_submit_ping(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), opaque)
    }

    /// Server: the first GOAWAY of a graceful shutdown (the largest stream id, RFC 9113 §6.8).
    func submitShutdownNotice() {
        nghttp2_submit_shutdown_notice(raw)
    }

    /// GOAWAY naming the last stream the peer opened that we processed.
    func submitGoaway(_ code: ErrorCode, debug: String = "") {
        let bytes = Array(debug.utf8)
        nghttp2_submit_goaway(
            raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(raw),
            code.rawValue, bytes, bytes.count)
    }

    /// nghttp2's text for an error code.
    static func describe(_ code: Int32) -> String {
        String(cString: nghttp2_strerror(code))
    }

    /// The id space of this connection is used up (`NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE`).
    static func isStreamIDExhaustion(_ code: Int32) -> Bool {
        code == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE.rawValue
    }

    /// A fatal session error, as nghttp2 describes it.
    struct SessionError: Error, CustomStringConvertible {
        let description: String
    }
}
