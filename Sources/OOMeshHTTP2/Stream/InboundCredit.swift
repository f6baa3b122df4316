/// The inbound flow-control ledger of one connection: what every received DATA byte owes,
/// and when it goes back to the peer. Pure: counts only, no bytes, no I/O; the connection
/// applies what it returns with `nghttp2_session_consume`.
///
/// Flow control is the memory bound, so the accounting is exact, as in grpc-go: a received
/// byte is *held* (owed to the stream and connection windows) until the application takes
/// the message it belongs to. A message larger than the window could then never complete,
/// so while a reader is waiting on the very message being assembled, its bytes are
/// credited as they arrive (an *advance*), up to ``advanceBudgetBytes`` for the whole
/// connection. What one connection can make us hold is therefore at most its connection
/// window plus the budget, however the peer cuts its frames and whether or not anyone
/// reads.
///
/// Every byte is in exactly one place: held by the stream (`Stream.held`, not yet part of
/// a delivered message), owed by a delivered message (returned when it is taken), advanced
/// (already credited; the advance is *released*, not credited again, when the message is
/// taken), or credited back at once (dropped).
struct InboundCredit: Sendable, Hashable {
    /// One stream's share.
    struct Stream: Sendable, Hashable {
        /// Received bytes not yet owed by a delivered message and not credited: the
        /// message being assembled (its prefix included), less what was advanced for it.
        fileprivate(set) var held = 0
        /// Bytes credited early for the message being assembled.
        fileprivate(set) var advanced = 0
        /// The stream can take no more messages (a framing error, or its inbound side
        /// ended): every later byte is credited at once and dropped.
        fileprivate(set) var dead = false

        init() {}
    }

    /// What a completed message carries into the inbox.
    struct MessageDebt: Sendable, Hashable {
        /// Bytes to return to the peer when the application takes the message.
        var owed: Int
        /// Bytes credited early for it, released from the budget when it is taken.
        var advance: Int
    }

    /// The most bytes credited ahead of the application, across the connection's streams.
    let advanceBudgetBytes: Int
    /// Advances outstanding now (credited, the message not yet taken).
    private(set) var advancedBytes = 0

    init(advanceBudgetBytes: Int) {
        self.advanceBudgetBytes = max(0, advanceBudgetBytes)
    }

    /// `count` bytes of DATA arrived for `stream`. Returns the bytes to credit at once at
    /// connection level: all of them when the stream is dead, else none (they are held).
    func received(_ count: Int, on stream: inout Stream) -> Int {
        if stream.dead { return count }
        stream.held += count
        return 0
    }

    /// A message of `wireBytes` (prefix included) completed on `stream`: its debt, to be
    /// paid when the application takes it.
    func completed(wireBytes: Int, on stream: inout Stream) -> MessageDebt {
        let owed = max(0, wireBytes - stream.advanced)
        let debt = MessageDebt(owed: owed, advance: stream.advanced)
        stream.held -= owed
        stream.advanced = 0
        return debt
    }

    /// A reader is waiting on `stream` for the message being assembled: credits its held
    /// bytes early, as far as the budget allows. Returns the bytes to credit now; fewer
    /// than held means the budget is spent (ask again after ``released(_:)``).
    mutating func readerWaiting(on stream: inout Stream) -> Int {
        guard !stream.dead, stream.held > 0 else { return 0 }
        let grant = min(stream.held, advanceBudgetBytes - advancedBytes)
        guard grant > 0 else { return 0 }
        stream.held -= grant
        stream.advanced += grant
        advancedBytes += grant
        return grant
    }

    /// Whether `stream` holds bytes that a waiting reader would want advanced.
    func wantsAdvance(_ stream: Stream) -> Bool { !stream.dead && stream.held > 0 }

    /// A message's advance is over (the message was taken, or dropped): frees the budget.
    mutating func released(_ advance: Int) {
        advancedBytes = max(0, advancedBytes - advance)
    }

    /// `stream` takes no more messages (framing error, end, reset, close). Returns the
    /// held bytes, to credit at once at connection level; its advance is released.
    mutating func kill(_ stream: inout Stream) -> Int {
        let held = stream.held
        released(stream.advanced)
        stream.held = 0
        stream.advanced = 0
        stream.dead = true
        return held
    }
}
