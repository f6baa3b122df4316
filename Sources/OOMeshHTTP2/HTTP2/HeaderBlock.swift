import CNGHTTP2

/// Header fields laid out for nghttp2: one byte buffer holding every name and value, and
/// the `nghttp2_nv` array pointing into it. nghttp2 copies the fields during a submit
/// call, so the block need only live for the call.
struct HeaderBlock {
    private(set) var fields: [(name: String, value: String)] = []

    init() { fields.reserveCapacity(8) }

    mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Calls `body` with the `nghttp2_nv` array for the fields.
    func withNV<Result>(_ body: (UnsafePointer<nghttp2_nv>, Int) -> Result) -> Result {
        var storage: [UInt8] = []
        storage.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count })
        var offsets: [(Int, Int, Int, Int)] = []
        offsets.reserveCapacity(fields.count)
        for field in fields {
            let nameStart = storage.count
            storage.append(contentsOf: field.name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: field.value.utf8)
            offsets.append((nameStart, valueStart - nameStart, valueStart, storage.count - valueStart))
        }
        return storage.withUnsafeMutableBufferPointer { bytes in
            // An empty storage buffer may have no base address; nghttp2 only reads `len` bytes.
            var placeholder: UInt8 = 0
            return withUnsafeMutablePointer(to: &placeholder) { fallback in
                let base = bytes.baseAddress ?? fallback
                let nv = offsets.map { offset in
                    nghttp2_nv(
                        name: base + offset.0, value: base + offset.2,
                        namelen: offset.1, valuelen: offset.3,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
                }
                return nv.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
            }
        }
    }
}
