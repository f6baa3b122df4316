#if canImport(Glibc)
import Glibc
#endif

/// Bytes waiting for a socket, in order, written with one `sendmsg` (gather write) per call.
///
/// Small pieces (HTTP/2 frame headers, HEADERS, SETTINGS, short messages) are copied into
/// staging buffers; large message payloads are referenced where they are (the `[UInt8]`
/// the application wrote), so a large message goes from the application's buffer to the
/// kernel without another copy. The queue holds those arrays alive until they are written.
///
/// Loop-confined, like the connection that owns it.
struct OutboundQueue {
    /// Payload slices shorter than this are copied rather than referenced: a copy of a few
    /// hundred bytes costs less than an extra I/O vector.
    static let referenceThreshold = 2048

    /// The most I/O vectors handed to one `sendmsg`.
    static let maxVectorsPerWrite = 64

    /// A staging buffer this full gets no more bytes; the next copy starts a new one.
    static let maxStagingBytes = 64 * 1024

    private struct Segment {
        var bytes: [UInt8]
        /// The unwritten part is `bytes[start..<end]`.
        var start: Int
        var end: Int
        /// Copied bytes, owned by the queue: later copies may be appended to it.
        var isStaging: Bool
    }

    private var segments: [Segment] = []
    private var head = 0
    /// A written staging buffer kept for reuse, so steady traffic does not allocate one per
    /// flush; at most ``maxSpareBytes``, so a connection that goes idle after a burst does
    /// not keep a large buffer.
    private var spare: [UInt8] = []
    /// The largest staging buffer kept for reuse.
    static let maxSpareBytes = 16 * 1024
    /// Bytes queued and not yet written.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Bytes of memory the queued segments keep alive, written parts included: what the
    /// queue costs, as opposed to what it still has to write (`count`).
    var retainedBytes: Int {
        segments[head...].reduce(0) { $0 + ($1.isStaging ? $1.bytes.count : $1.end - $1.start) }
    }

    /// Drops everything queued (the connection has closed).
    mutating func removeAll() {
        segments = []
        head = 0
        spare = []
        count = 0
    }

    /// Copies `bytes` onto the end of the queue.
    mutating func append(copying bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        appendStaging { $0.append(contentsOf: bytes) }
    }

    /// Queues `bytes[range]`: referenced in place when it is large, copied when small.
    mutating func append(_ bytes: [UInt8], range: Range<Int>) {
        guard !range.isEmpty else { return }
        if range.count < Self.referenceThreshold {
            bytes.withUnsafeBytes { append(copying: UnsafeRawBufferPointer(rebasing: $0[range])) }
            return
        }
        count += range.count
        segments.append(Segment(bytes: bytes, start: range.lowerBound, end: range.upperBound, isStaging: false))
    }

    /// Lets `body` append to the staging buffer at the end of the queue (for producers that
    /// write into an array, such as the TLS engine's ciphertext).
    mutating func appendStaging(_ body: (inout [UInt8]) -> Void) {
        // A new buffer rather than the last one when that one was partly written (its
        // written bytes are only freed with it: appending to it forever under a slow
        // reader would keep everything ever sent) or is already a full batch.
        let fresh = segments[head...].last.map { !$0.isStaging || $0.start > 0 || $0.bytes.count >= Self.maxStagingBytes } ?? true
        if fresh {
            var staging = spare
            spare = []
            staging.removeAll(keepingCapacity: true)
            segments.append(Segment(bytes: staging, start: 0, end: 0, isStaging: true))
        }
        let last = segments.count - 1
        let before = segments[last].bytes.count
        body(&segments[last].bytes)
        let added = segments[last].bytes.count - before
        segments[last].end += added
        count += added
        if fresh, added == 0 {
            // Nothing was appended: keep the queue free of empty segments.
            release(at: last)
            segments.removeLast()
        }
    }

    /// The outcome of ``write(to:)``.
    enum WriteResult: Equatable {
        /// Everything queued was written.
        case done
        /// The socket's buffer is full; the rest waits for it to become writable.
        case wouldBlock
        /// The write failed with this `errno`.
        case failed(Int32)
    }

    /// Writes as much as the socket takes. `MSG_NOSIGNAL`: a peer that has gone must not
    /// kill the process with SIGPIPE.
    mutating func write(to fd: Int32) -> WriteResult {
        while count > 0 {
            let vectors = min(segments.count - head, Self.maxVectorsPerWrite)
            let written = withUnsafeTemporaryAllocation(of: iovec.self, capacity: vectors) { iov in
                gather(into: iov, index: 0) { vectors in
                    var message = msghdr()
                    message.msg_iov = vectors.baseAddress
                    message.msg_iovlen = vectors.count
                    return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
            if written < 0 {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
                return .failed(error)
            }
            consume(written)
        }
        return .done
    }

    /// Points `vectors[index...]` at the next segments, each inside its array's
    /// `withUnsafeBytes` (so the pointers stay valid), then runs `body` on all of them.
    private func gather(
        into vectors: UnsafeMutableBufferPointer<iovec>, index: Int, _ body: (UnsafeMutableBufferPointer<iovec>) -> Int
    ) -> Int {
        guard index < vectors.count else { return body(vectors) }
        let segment = segments[head + index]
        return segment.bytes.withUnsafeBytes { raw in
            vectors[index] = iovec(
                iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + segment.start),
                iov_len: segment.end - segment.start)
            return gather(into: vectors, index: index + 1, body)
        }
    }

    /// Drops the first `written` bytes.
    private mutating func consume(_ written: Int) {
        count -= written
        var left = written
        while left > 0 {
            let available = segments[head].end - segments[head].start
            if left < available {
                segments[head].start += left
                break
            }
            left -= available
            release(at: head)
            head += 1
        }
        if head == segments.count {
            segments.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32, head * 2 >= segments.count {
            segments.removeFirst(head)
            head = 0
        }
    }

    /// Frees a written segment's array, keeping a staging buffer's storage for reuse.
    private mutating func release(at index: Int) {
        var bytes = segments[index].bytes
        segments[index].bytes = []
        if segments[index].isStaging, bytes.capacity <= Self.maxSpareBytes, bytes.capacity > spare.capacity {
            bytes.removeAll(keepingCapacity: true)
            spare = bytes
        }
    }
}
