#if canImport(Glibc)
import Glibc
#endif
import OOMesh

/// The I/O driver: socket readiness, the TLS pump (handshake, decrypt, encrypt) and the
/// write path (nghttp2's frames gathered into one write per loop iteration).
extension HTTP2Connection {
    // MARK: Socket events

    func handleReadable() {
        guard !isClosed, !connecting else { return }
        if management.wantsReceiveTimes { management.received(now: .now) }
        let buffer = loop.readBuffer
        for _ in 0..<8 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                if tls != nil {
                    receiveCiphertext(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                } else {
                    receive(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                if isClosed { return }
                if count < buffer.count { break }
            } else if count == 0 {
                close(reason: "the peer closed the connection")
                return
            } else {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { break }
                close(reason: String(describing: SocketError(call: "read", errno: error)))
                return
            }
        }
        scheduleFlush()
    }

    func handleWritable() {
        guard !isClosed else { return }
        if connecting {
            let error = Socket.pendingError(fd)
            connecting = false
            loop.setWritableInterest(fd, false)
            if error != 0 {
                connectError = String(describing: SocketError(call: "connect", errno: error))
                close(reason: connectError!)
                return
            }
            socketReady()
            return
        }
        writeBlocked = false
        loop.setWritableInterest(fd, false)
        flush()
    }

    /// Ends the connection because of a TLS failure, telling `onTLSFailure` why.
    func failTLS(_ reason: String) {
        onTLSFailure?(reason)
        close(reason: reason)
    }

    /// TLS: hands socket bytes to OpenSSL, then the plaintext it yields to nghttp2. The
    /// ciphertext is copied into OpenSSL's input buffer first, so the loop's read buffer is
    /// free to receive the plaintext.
    func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else { return }
        tls.feed(bytes)
        if !tls.handshakeDone {
            advanceHandshake()
            guard tls.handshakeDone, !isClosed else { return }
        }
        let buffer = loop.readBuffer
        while !isClosed {
            switch tls.read(into: buffer) {
            case .bytes(let count):
                receive(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            case .needMoreInput:
                // OpenSSL may have queued a reply of its own (a TLS 1.3 key update).
                outbound.appendStaging { tls.drain(into: &$0) }
                return
            case .closed:
                close(reason: "the peer closed the TLS session")
                return
            case .failed(let reason):
                return failTLS(reason)
            }
        }
    }

    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let session else { return }
        let failure = session.receive(bytes)
        applyCredits()
        if let reason = failure {
            // A protocol violation: nghttp2 has queued a GOAWAY where it could; send it, then close.
            flush()
            close(reason: "HTTP/2 protocol error: \(reason)")
        }
    }

    // MARK: Writing

    func scheduleFlush() {
        guard !flushScheduled, !isClosed else { return }
        flushScheduled = true
        loop.flushAtEndOfIteration(self)
    }

    func flushAtEndOfIteration() {
        flushScheduled = false
        flush()
    }

    /// Pulls every frame nghttp2 has ready and writes them, coalesced.
    func flush() {
        guard !isClosed, !writeBlocked else { return }
        guard let session else {
            // Before HTTP/2 starts (a TLS handshake): only handshake bytes to send.
            if !outbound.isEmpty { _ = writeOut() }
            return
        }
        while true {
            let frames: UnsafeRawBufferPointer
            switch session.nextOutboundBytes() {
            case .success(let bytes): frames = bytes
            case .failure(let error): return close(reason: "HTTP/2 error: \(error)")
            }
            let count = frames.count
            if count > 0 { queueCopy(frames) }
            if tls != nil, plaintextOut.count >= Self.writeBatchBytes {
                guard encryptPlaintext() else { return }
            }
            if outbound.count >= Self.writeBatchBytes {
                guard writeOut() else { return }
            }
            if count == 0 {
                // A pause means the send-data callback found the batch full, not that
                // nghttp2 has nothing more.
                guard sendPaused else { break }
                sendPaused = false
            }
        }
        applyCredits()
        if tls != nil, !plaintextOut.isEmpty {
            guard encryptPlaintext() else { return }
        }
        if !outbound.isEmpty {
            guard writeOut() else { return }
        }
        if let reason = closeAfterFlush {
            return close(reason: reason)
        }
        if session.isFinished {
            close(reason: draining ? "the connection was shut down" : "the session ended")
        }
    }

    /// Queues bytes for the peer, copied: into the TLS plaintext batch, or the outbound queue.
    func queueCopy(_ bytes: UnsafeRawBufferPointer) {
        if tls != nil { plaintextOut.append(contentsOf: bytes) } else { outbound.append(copying: bytes) }
    }

    /// Bytes gathered before a write (and, with TLS, before encrypting): large enough for
    /// few system calls and full TLS records, small enough to bound what one connection
    /// holds beyond its streams' outboxes.
    static let writeBatchBytes = 64 * 1024

    /// TLS: encrypts `plaintextOut` into `outbound`. False when the connection closed.
    func encryptPlaintext() -> Bool {
        guard let tls else { return true }
        let failure = plaintextOut.withUnsafeBytes { tls.write($0) }
        plaintextOut.removeAll(keepingCapacity: plaintextOut.capacity <= OutboundQueue.maxSpareBytes)
        outbound.appendStaging { tls.drain(into: &$0) }
        if let failure {
            failTLS(failure)
            return false
        }
        return true
    }

    /// Writes `outbound`; false when the socket would block (the rest waits for EPOLLOUT)
    /// or the connection closed.
    func writeOut() -> Bool {
        switch outbound.write(to: fd) {
        case .done:
            return true
        case .wouldBlock:
            writeBlocked = true
            loop.setWritableInterest(fd, true)
            return false
        case .failed(let error):
            let reason = String(describing: SocketError(call: "write", errno: error))
            if connecting {
                connectError = reason
            } else {
                close(reason: reason)
            }
            return false
        }
    }
}
