@testable import OOMeshHTTP2
import Testing

/// Header strings repeated on a connection are decoded once and shared.
@Suite("Header string cache")
struct HeaderStringCacheTests {
    @Test("the same bytes give an equal string; different bytes of the same length do not")
    func reuse() {
        var cache = HeaderStringCache()
        let path = Array("/bench.v1.Echo/Unary".utf8)
        let other = Array("/bench.v1.Echo/Unarz".utf8)
        let first = path.withUnsafeBufferPointer { cache.string($0) }
        let second = path.withUnsafeBufferPointer { cache.string($0) }
        let third = other.withUnsafeBufferPointer { cache.string($0) }
        #expect(first == "/bench.v1.Echo/Unary")
        #expect(second == first)
        #expect(third == "/bench.v1.Echo/Unarz")
    }

    @Test("invalid UTF-8 is repaired, as without the cache, and a full cache still answers correctly")
    func repairAndEviction() {
        var cache = HeaderStringCache()
        let invalid: [UInt8] = Array("value-with-bad-byte-".utf8) + [0xFF]
        let repaired = invalid.withUnsafeBufferPointer { cache.string($0) }
        #expect(repaired == String(decoding: invalid, as: UTF8.self))
        #expect(invalid.withUnsafeBufferPointer { cache.string($0) } == repaired)
        // Twice the capacity of distinct long values, then the first again.
        for index in 0..<(2 * HeaderStringCache.capacity) {
            let bytes = Array("a-long-header-value-\(index)".utf8)
            #expect(bytes.withUnsafeBufferPointer { cache.string($0) } == "a-long-header-value-\(index)")
        }
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: HeaderStringCache.maxCachedBytes + 1)
        #expect(long.withUnsafeBufferPointer { cache.string($0) } == String(repeating: "x", count: long.count))
        #expect(Array("a-long-header-value-0".utf8).withUnsafeBufferPointer { cache.string($0) } == "a-long-header-value-0")
    }
}
