import OOMesh

/// gRPC's length-prefixed message framing: a 1-byte compressed flag, a 4-byte big-endian
/// length, then the message.
enum MessageFraming {
    /// The 5-byte prefix for a message of `length` bytes (as sent: compressed or not).
    static func prefix(length: Int, compressed: Bool = false) -> [UInt8] {
        let length = UInt32(truncatingIfNeeded: length)
        return [compressed ? 1 : 0, UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
    }
}

/// Reassembles messages from DATA frame payloads split at arbitrary points.
///
/// The length is checked against the limit from the prefix, before any of the message
/// is buffered, so a peer cannot make us hold more than `maxMessageBytes` per stream. The
/// buffer grows as bytes arrive (never sized from the declared length, which costs a peer
/// five bytes), and at most doubles, capped at the declared length.
/// Compressed messages are decompressed with the same limit on their decompressed size,
/// here or (with `defersDecompression`) by whoever reads them (``InboundMessageDecoder``).
struct MessageDeframer {
    /// The largest message accepted, compressed or decompressed.
    let maxMessageBytes: Int
    /// The `grpc-encoding` the peer declared for the stream; nil when it declared none
    /// (then the compressed flag is an error).
    var encoding: CompressionAlgorithm?
    private var compressed = false

    private var header: [UInt8] = []
    private var body: [UInt8] = []
    private var expected: Int?
    /// Hand compressed messages on as they arrived, for the reader to decompress: the
    /// event loop that frames them does not inflate, and a queued message holds only
    /// its wire bytes.
    let defersDecompression: Bool

    init(maxMessageBytes: Int, defersDecompression: Bool = false) {
        self.maxMessageBytes = maxMessageBytes
        self.defersDecompression = defersDecompression
    }

    /// True when a message has started but not finished: the stream must not end here.
    var hasPartialMessage: Bool { !header.isEmpty || expected != nil }

    /// Bytes of a partial message held right now.
    var bufferedBytes: Int { header.count + body.count }

    /// Feeds bytes; calls `onMessage` for every message they complete, with the message
    /// (decompressed, unless `defersDecompression`), the bytes it took on the wire (for
    /// flow control) and whether it arrived compressed.
    mutating func process(
        _ bytes: UnsafeRawBufferPointer, onMessage: (_ message: [UInt8], _ wireLength: Int, _ compressed: Bool) -> Void
    ) throws(RPCError) {
        var index = 0
        let count = bytes.count
        while index < count {
            if let length = expected {
                let take = min(length - body.count, count - index)
                let needed = body.count + take
                if needed > body.capacity {
                    body.reserveCapacity(min(length, max(needed, 2 * body.capacity)))
                }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)]))
                index += take
                if body.count == length {
                    let message = try decoded(body)
                    body = []
                    expected = nil
                    onMessage(message, length, compressed)
                }
                continue
            }
            // Fast path: a whole header is available.
            if header.isEmpty, count - index >= 5 {
                try startMessage(bytes[index], bytes[index + 1], bytes[index + 2], bytes[index + 3], bytes[index + 4])
                index += 5
            } else {
                header.append(bytes[index])
                index += 1
                if header.count == 5 {
                    try startMessage(header[0], header[1], header[2], header[3], header[4])
                    header.removeAll(keepingCapacity: true)
                }
            }
            if expected == 0 {
                expected = nil
                onMessage(try decoded([]), 0, compressed)
            }
        }
    }

    private mutating func startMessage(_ flag: UInt8, _ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) throws(RPCError) {
        let length = Int(b0) << 24 | Int(b1) << 16 | Int(b2) << 8 | Int(b3)
        switch flag {
        case 0:
            compressed = false
        case 1 where encoding == nil || encoding == .identity:
            throw RPCError(code: .internal, message: "A message has the compressed flag set, but no grpc-encoding was declared for the stream.")
        case 1:
            compressed = true
        default:
            throw RPCError(code: .internal, message: "Invalid message prefix: compressed flag is \(flag), expected 0 or 1.")
        }
        guard length <= maxMessageBytes else {
            throw RPCError(code: .resourceExhausted, message: "A message of \(length) bytes exceeds the limit of \(maxMessageBytes) bytes.")
        }
        expected = length
    }

    /// Forgets the message being assembled and frees its bytes (the stream is dead).
    mutating func discardPartialMessage() {
        header = []
        body = []
        expected = nil
    }

    private func decoded(_ body: [UInt8]) throws(RPCError) -> [UInt8] {
        guard compressed, !defersDecompression, let encoding else { return body }
        return try MessageCompression.decompress(body, with: encoding, limit: maxMessageBytes)
    }
}

extension MessageFlags {
    /// Transport-internal: the bytes are still gzip-compressed; the inbox's reader
    /// decompresses them (and clears this) before the application sees the message.
    static let pendingGzip = MessageFlags(rawValue: 1 << 6)
    /// Transport-internal: the same, for deflate.
    static let pendingDeflate = MessageFlags(rawValue: 1 << 7)
    /// Either of them.
    static let pending: MessageFlags = [.pendingGzip, .pendingDeflate]

    /// The flags of a received message: compressed messages whose decompression was
    /// deferred carry their encoding.
    static func received(compressed: Bool, deferredWith encoding: CompressionAlgorithm?) -> MessageFlags {
        guard compressed else { return [] }
        switch encoding {
        case .gzip?: return [.compressed, .pendingGzip]
        case .deflate?: return [.compressed, .pendingDeflate]
        default: return .compressed
        }
    }
}

/// Decompresses a received message for its reader, bounded by the receive limit, off the
/// event loop when it is large enough to matter.
struct InboundMessageDecoder: Sendable {
    /// The largest decompressed message accepted.
    let limit: Int

    /// Compressed messages smaller than this are inflated on the reader's thread (at most
    /// about a millisecond even at zlib's largest ratio); larger ones on Swift's global
    /// pool, so a handler running on its event loop does not stall the loop inflating.
    static let inlineBytes = 1024

    /// The message as the application sees it: decompressed, internal flags cleared.
    func decode(_ bytes: [UInt8], _ flags: MessageFlags) async throws(RPCError) -> ([UInt8], MessageFlags) {
        let algorithm: CompressionAlgorithm
        if flags.contains(.pendingGzip) {
            algorithm = .gzip
        } else if flags.contains(.pendingDeflate) {
            algorithm = .deflate
        } else {
            return (bytes, flags)
        }
        let visible = flags.subtracting(.pending)
        if bytes.count < Self.inlineBytes {
            return (try MessageCompression.decompress(bytes, with: algorithm, limit: limit), visible)
        }
        let limit = self.limit
        let result: Result<[UInt8], RPCError> = await withTaskExecutorPreference(globalConcurrentExecutor) {
            Result { () throws(RPCError) in try MessageCompression.decompress(bytes, with: algorithm, limit: limit) }
        }
        return (try result.get(), visible)
    }
}
