import OOMesh

/// Inbound flow control: applies what the ``InboundCredit`` ledger decides (credit owed by
/// taken messages, advances for waiting readers) to nghttp2's windows.
extension HTTP2Connection {
    // MARK: Flow control

    func applyCredits() {
        guard let session, !pendingCredits.isEmpty else { return }
        for (streamID, bytes) in pendingCredits where bytes > 0 {
            creditTotals.creditedBytes += bytes
            if streamID == 0 || streams[streamID] == nil || !session.consume(stream: streamID, bytes: bytes) {
                session.consumeConnection(bytes: bytes)
            }
        }
        pendingCredits.removeAll(keepingCapacity: true)
        scheduleFlush()
    }

    /// The application took messages from `stream`: return their bytes to the peer's window
    /// and release their advances.
    func returnCredit(_ stream: HTTP2Stream) {
        guard !isClosed else { return }
        let debt = stream.serverInbox?.takeCredit() ?? stream.clientInbox?.takeCredit() ?? .init(owed: 0, advance: 0)
        if debt.owed > 0 { pendingCredits.append((stream.state.closed ? 0 : stream.id, debt.owed)) }
        releaseAdvance(debt.advance)
        applyCredits()
    }

    /// A reader started waiting on `stream` while bytes of its next message are held:
    /// credit them early, as far as the budget allows, so a message larger than the
    /// window can complete.
    func readerWaiting(_ stream: HTTP2Stream) {
        guard !isClosed, !stream.state.closed else { return }
        let grant = advance(stream)
        if grant > 0 {
            pendingCredits.append((stream.id, grant))
            applyCredits()
        }
    }

    /// Advances `stream`'s held bytes for its waiting reader; remembers it when the budget
    /// fell short. Returns the bytes to credit.
    func advance(_ stream: HTTP2Stream) -> Int {
        let grant = inboundCredit.readerWaiting(on: &stream.credit)
        if inboundCredit.wantsAdvance(stream.credit) {
            starvedStreams.insert(stream.id)
        } else if !starvedStreams.isEmpty {
            starvedStreams.remove(stream.id)
        }
        return grant
    }

    /// Frees `bytes` of the advance budget, and gives them to streams that were short.
    func releaseAdvance(_ bytes: Int) {
        guard bytes > 0 else { return }
        inboundCredit.released(bytes)
        for id in starvedStreams {
            guard inboundCredit.advancedBytes < inboundCredit.advanceBudgetBytes else { break }
            guard let stream = streams[id], let waiting = stream.serverInbox?.isReaderWaiting ?? stream.clientInbox?.isReaderWaiting,
                  waiting else {
                if streams[id] == nil { starvedStreams.remove(id) }
                continue
            }
            let grant = advance(stream)
            if grant > 0 { pendingCredits.append((id, grant)) }
        }
    }

    /// `stream` takes no more DATA: its held bytes go back to the connection window now and
    /// its advance is released; later DATA is credited and dropped as it arrives.
    func killInbound(_ stream: HTTP2Stream) {
        let held = inboundCredit.kill(&stream.credit)
        stream.deframer.discardPartialMessage()
        starvedStreams.remove(stream.id)
        if held > 0 { pendingCredits.append((0, held)) }
    }
}
