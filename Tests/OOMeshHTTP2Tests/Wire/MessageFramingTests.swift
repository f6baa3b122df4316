import OOMesh
@testable import OOMeshHTTP2
import Testing

/// Feeds `bytes` to `deframer` in one call and returns the messages completed.
private func feed(_ deframer: inout MessageDeframer, _ bytes: some Collection<UInt8>) throws -> [[UInt8]] {
    var messages: [[UInt8]] = []
    try Array(bytes).withUnsafeBytes { buffer in
        try deframer.process(buffer) { message, _, _ in messages.append(message) }
    }
    return messages
}

/// Frames messages as a peer sends them.
private func framed(_ messages: [[UInt8]]) -> [UInt8] {
    messages.flatMap { MessageFraming.prefix(length: $0.count) + $0 }
}

/// Offsets in the framed stream at which a message ends (or nothing has started yet).
private func boundaries(_ messages: [[UInt8]]) -> Set<Int> {
    var offsets: Set<Int> = [0]
    var offset = 0
    for message in messages {
        offset += 5 + message.count
        offsets.insert(offset)
    }
    return offsets
}

@Suite("MessageFraming and MessageDeframer")
struct MessageFramingTests {
    /// Messages of assorted sizes, including empty ones back to back and at both ends.
    static let messages: [[UInt8]] = [
        [], [0x01], [], [], Array(0..<16), Array(repeating: 0xAB, count: 5), [0, 0, 0, 0, 0, 0], [],
        Array((0..<40).map { UInt8($0 * 7 % 256) }), [0xFF],
    ]

    @Test("the prefix is a zero flag and a big-endian length", arguments: [
        (0, [UInt8(0), 0, 0, 0, 0]), (1, [0, 0, 0, 0, 1]), (255, [0, 0, 0, 0, 255]), (256, [0, 0, 0, 1, 0]),
        (0x0102_0304, [0, 1, 2, 3, 4]), (Int(UInt32.max), [0, 255, 255, 255, 255]),
    ])
    func prefix(_ length: Int, _ expected: [UInt8]) {
        #expect(MessageFraming.prefix(length: length) == expected)
    }

    @Test("all messages in one buffer")
    func wholeBuffer() throws {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        #expect(try feed(&deframer, framed(Self.messages)) == Self.messages)
        #expect(!deframer.hasPartialMessage)
        #expect(deframer.bufferedBytes == 0)
    }

    @Test("one byte at a time gives the same messages; partial exactly between boundaries")
    func oneByteAtATime() throws {
        let stream = framed(Self.messages)
        let ends = boundaries(Self.messages)
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        #expect(!deframer.hasPartialMessage)
        var received: [[UInt8]] = []
        for (index, byte) in stream.enumerated() {
            received += try feed(&deframer, [byte])
            let offset = index + 1
            #expect(deframer.hasPartialMessage == !ends.contains(offset), "at offset \(offset)")
        }
        #expect(received == Self.messages)
    }

    @Test("split at every single point gives the same messages")
    func everySplitPoint() throws {
        let stream = framed(Self.messages)
        let ends = boundaries(Self.messages)
        for split in 0...stream.count {
            var deframer = MessageDeframer(maxMessageBytes: 1024)
            var received = try feed(&deframer, stream[..<split])
            #expect(deframer.hasPartialMessage == !ends.contains(split), "after \(split) bytes")
            received += try feed(&deframer, stream[split...])
            #expect(received == Self.messages, "split at \(split)")
            #expect(!deframer.hasPartialMessage)
        }
    }

    @Test("split at every pair of points gives the same messages")
    func everyPairOfSplitPoints() throws {
        let messages: [[UInt8]] = [[], [1, 2, 3], [], Array(0..<9), [42]]
        let stream = framed(messages)
        for first in 0...stream.count {
            for second in first...stream.count {
                var deframer = MessageDeframer(maxMessageBytes: 64)
                var received = try feed(&deframer, stream[..<first])
                received += try feed(&deframer, stream[first..<second])
                received += try feed(&deframer, stream[second...])
                #expect(received == messages, "split at \(first) and \(second)")
            }
        }
    }

    @Test("an empty input does nothing")
    func emptyInput() throws {
        var deframer = MessageDeframer(maxMessageBytes: 8)
        #expect(try feed(&deframer, []) == [])
        #expect(!deframer.hasPartialMessage)
        _ = try feed(&deframer, [0, 0, 0])
        #expect(try feed(&deframer, []) == [])
        #expect(deframer.hasPartialMessage)
        #expect(deframer.bufferedBytes == 3)
    }

    @Test("a message exactly at the limit is accepted", arguments: [0, 1, 100])
    func atLimit(_ limit: Int) throws {
        let message = [UInt8](repeating: 7, count: limit)
        var deframer = MessageDeframer(maxMessageBytes: limit)
        #expect(try feed(&deframer, framed([message])) == [message])
    }

    @Test("a length over the limit is RESOURCE_EXHAUSTED as soon as the prefix is complete",
          arguments: [(0, 1), (10, 11), (10, Int(UInt32.max)), (4 << 20, (4 << 20) + 1)])
    func overLimit(_ limit: Int, _ length: Int) throws {
        let prefix = MessageFraming.prefix(length: length)
        // Whole prefix at once (and some of the body): nothing buffered, nothing delivered.
        var deframer = MessageDeframer(maxMessageBytes: limit)
        var delivered = 0
        let error = #expect(throws: RPCError.self) {
            try (prefix + [1, 2, 3]).withUnsafeBytes { try deframer.process($0) { _, _, _ in delivered += 1 } }
        }
        #expect(error?.code == .resourceExhausted)
        #expect(delivered == 0)
        #expect(deframer.bufferedBytes == 0, "bytes of an oversized message were buffered")

        // Byte by byte: the fifth byte of the prefix throws.
        var slow = MessageDeframer(maxMessageBytes: limit)
        for byte in prefix.dropLast() { #expect(try feed(&slow, [byte]) == []) }
        let slowError = #expect(throws: RPCError.self) { try feed(&slow, [prefix.last!]) }
        #expect(slowError?.code == .resourceExhausted)
    }

    @Test("an oversized message after good ones: the good ones are delivered first")
    func overLimitAfterGoodMessages() throws {
        var deframer = MessageDeframer(maxMessageBytes: 4)
        var delivered: [[UInt8]] = []
        let stream = framed([[1], [2, 3]]) + MessageFraming.prefix(length: 5) + [1, 2, 3, 4, 5]
        let error = #expect(throws: RPCError.self) {
            try stream.withUnsafeBytes { try deframer.process($0) { message, _, _ in delivered.append(message) } }
        }
        #expect(error?.code == .resourceExhausted)
        #expect(delivered == [[1], [2, 3]])
    }

    @Test("the compressed flag without a declared encoding is INTERNAL")
    func compressedWithoutEncoding() throws {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        let error = #expect(throws: RPCError.self) { try feed(&deframer, [1, 0, 0, 0, 2, 0xAA, 0xBB]) }
        #expect(error?.code == .internal)

        var slow = MessageDeframer(maxMessageBytes: 1024)
        for byte in [UInt8(1), 0, 0, 0] { _ = try feed(&slow, [byte]) }
        let slowError = #expect(throws: RPCError.self) { try feed(&slow, [2]) }
        #expect(slowError?.code == .internal)
    }

    @Test("a compressed message is decompressed with the declared encoding", arguments: [CompressionAlgorithm.gzip, .deflate])
    func compressedWithEncoding(_ algorithm: CompressionAlgorithm) throws {
        let message = Array(repeating: UInt8(ascii: "a"), count: 10_000)
        let compressed = try #require(MessageCompression.compress(message, with: algorithm))
        #expect(compressed.count < 200)
        var deframer = MessageDeframer(maxMessageBytes: 1 << 20)
        deframer.encoding = algorithm
        var wireLengths: [Int] = []
        var messages: [[UInt8]] = []
        var compressedFlags: [Bool] = []
        try (MessageFraming.prefix(length: compressed.count, compressed: true) + compressed + framed([[1, 2]])).withUnsafeBytes {
            try deframer.process($0) { message, wireLength, wasCompressed in
                messages.append(message)
                wireLengths.append(wireLength)
                compressedFlags.append(wasCompressed)
            }
        }
        #expect(messages == [message, [1, 2]])
        // Each message reports how it travelled: the handler can tell (expect_compressed).
        #expect(compressedFlags == [true, false])
        // Flow control counts what crossed the wire, not what it decompressed to.
        #expect(wireLengths == [compressed.count, 2])
    }

    @Test("a message that decompresses past the limit is RESOURCE_EXHAUSTED (a decompression bomb)",
          arguments: [CompressionAlgorithm.gzip, .deflate])
    func decompressionBomb(_ algorithm: CompressionAlgorithm) throws {
        let bomb = try #require(MessageCompression.compress([UInt8](repeating: 0, count: 16 << 20), with: algorithm))
        #expect(bomb.count < 64 << 10)
        var deframer = MessageDeframer(maxMessageBytes: 1 << 20)
        deframer.encoding = algorithm
        let error = #expect(throws: RPCError.self) {
            try feed(&deframer, MessageFraming.prefix(length: bomb.count, compressed: true) + bomb)
        }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message.contains("1048576") == true)
    }

    @Test("corrupt and truncated compressed data is INTERNAL", arguments: [CompressionAlgorithm.gzip, .deflate])
    func corruptCompressedData(_ algorithm: CompressionAlgorithm) throws {
        let good = try #require(MessageCompression.compress(Array(repeating: 7, count: 1000), with: algorithm))
        for bad in [Array(good.prefix(good.count / 2)), [0xDE, 0xAD, 0xBE, 0xEF], []] {
            var deframer = MessageDeframer(maxMessageBytes: 1 << 20)
            deframer.encoding = algorithm
            let error = #expect(throws: RPCError.self) {
                try feed(&deframer, MessageFraming.prefix(length: bad.count, compressed: true) + bad)
            }
            #expect(error?.code == .internal, "\(bad.count) bytes")
        }
    }

    @Test("compression that would not shrink a message is skipped")
    func incompressible() {
        #expect(MessageCompression.compress([], with: .gzip) == nil)
        #expect(MessageCompression.compress([1, 2, 3], with: .gzip) == nil)
        #expect(MessageCompression.compress(Array(repeating: 1, count: 100), with: .identity) == nil)
    }

    @Test("a flag other than 0 or 1 is INTERNAL, encoding or not",
          arguments: [UInt8(2), 3, 0x80, 0xFF], [nil, CompressionAlgorithm.gzip])
    func invalidFlag(_ flag: UInt8, _ encoding: CompressionAlgorithm?) throws {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        deframer.encoding = encoding
        let error = #expect(throws: RPCError.self) { try feed(&deframer, [flag, 0, 0, 0, 0]) }
        #expect(error?.code == .internal)
    }
}

/// Deferred decompression: the deframer (on the event loop) hands compressed messages on as
/// they came, and the reader's decoder inflates them, bounded, off the loop when large.
@Suite("Deferred decompression")
struct DeferredDecompressionTests {
    @Test("a deferring deframer queues the wire bytes; the decoder gives the application the message",
          arguments: [CompressionAlgorithm.gzip, .deflate])
    func deferred(algorithm: CompressionAlgorithm) async throws {
        // Large (decoded on the pool) and small (inline).
        for size in [1 << 20, 300] {
            let original = (0..<size).map { UInt8(truncatingIfNeeded: $0 / 7) }
            let compressed = try #require(MessageCompression.compress(original, with: algorithm))
            var deframer = MessageDeframer(maxMessageBytes: 4 << 20, defersDecompression: true)
            deframer.encoding = algorithm
            var received: [([UInt8], Int, Bool)] = []
            try (MessageFraming.prefix(length: compressed.count, compressed: true) + compressed).withUnsafeBytes { buffer in
                try deframer.process(buffer) { received.append(($0, $1, $2)) }
            }
            #expect(received.count == 1)
            // What waits in the inbox is what came on the wire, not the inflated message.
            #expect(received[0].0 == compressed)
            #expect(received[0].1 == compressed.count)
            let flags = MessageFlags.received(compressed: true, deferredWith: algorithm)
            #expect(flags.contains(.compressed) && !flags.isDisjoint(with: .pending))
            let (message, visible) = try await InboundMessageDecoder(limit: 4 << 20).decode(received[0].0, flags)
            #expect(message == original)
            // The application sees "arrived compressed", never the transport's own bits.
            #expect(visible == .compressed)
        }
    }

    @Test("the decoder refuses a bomb with RESOURCE_EXHAUSTED, and corrupt data with INTERNAL")
    func bounded() async throws {
        let bomb = try #require(MessageCompression.compress([UInt8](repeating: 0, count: 16 << 20), with: .gzip))
        let flags = MessageFlags.received(compressed: true, deferredWith: .gzip)
        let decoder = InboundMessageDecoder(limit: 4 << 20)
        await #expect(throws: RPCError.self) { _ = try await decoder.decode(bomb, flags) }
        do {
            _ = try await decoder.decode(bomb, flags)
        } catch {
            #expect(error.code == .resourceExhausted)
            #expect(error.message.contains("more than the limit of 4194304 bytes"))
        }
        do {
            _ = try await decoder.decode([UInt8](repeating: 0x55, count: 2000), flags)
            Issue.record("corrupt gzip was accepted")
        } catch {
            #expect(error.code == .internal)
        }
        // Uncompressed messages pass through untouched.
        let plain = try await decoder.decode([1, 2, 3], [])
        #expect(plain.0 == [1, 2, 3] && plain.1 == [])
    }
}
