#if canImport(Glibc)
import Glibc
#endif

/// Header names and values decoded recently on one connection, reused when the same bytes
/// arrive again. A connection's calls repeat most of their headers (`:path`,
/// `content-type`, `user-agent`, `grpc-accept-encoding`), and a Swift string longer than
/// 15 UTF-8 bytes is a heap allocation plus a validation pass; a hit costs a length check
/// and a `memcmp`.
///
/// Bounded: at most ``capacity`` strings of at most ``maxCachedBytes`` each, replaced in
/// turn, so a peer sending ever-new values costs at most a few KiB per connection.
/// Loop-confined, like its connection.
struct HeaderStringCache {
    /// How many strings are kept.
    static let capacity = 16
    /// Longer strings are decoded every time, not kept.
    static let maxCachedBytes = 256
    /// Strings this short are stored inline by Swift (no allocation): nothing to save.
    static let inlineBytes = 15

    private var entries: [String] = []
    private var nextVictim = 0

    /// The string for `bytes` (UTF-8; invalid sequences are repaired as
    /// `String(decoding:as:)` does).
    mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count > Self.inlineBytes, bytes.count <= Self.maxCachedBytes else {
            return String(decoding: bytes, as: UTF8.self)
        }
        for entry in entries where entry.utf8.count == bytes.count {
            let equal = entry.utf8.withContiguousStorageIfAvailable {
                memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            if equal == true { return entry }
        }
        let string = String(decoding: bytes, as: UTF8.self)
        if entries.count < Self.capacity {
            entries.append(string)
        } else {
            entries[nextVictim] = string
            nextVictim = (nextVictim + 1) % Self.capacity
        }
        return string
    }
}
