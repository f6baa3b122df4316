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

    /// Calls `body` with the `nghttp2_nv` array for the fields. The names, values and the
    /// array live in temporary (usually stack) storage: no heap allocation per block.
    func withNV<Result>(_ body: (UnsafePointer<nghttp2_nv>, Int) -> Result) -> Result {
        let byteCount = fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(byteCount, 1)) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(fields.count, 1)) { nv in
                var offset = 0
                for (index, field) in fields.enumerated() {
                    let name = storage.baseAddress! + offset
                    offset = storage[offset...].initialize(fromContentsOf: field.name.utf8)
                    let value = storage.baseAddress! + offset
                    offset = storage[offset...].initialize(fromContentsOf: field.value.utf8)
                    nv[index] = nghttp2_nv(
                        name: name, value: value,
                        namelen: field.name.utf8.count, valuelen: field.value.utf8.count,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
                }
                return body(nv.baseAddress!, fields.count)
            }
        }
    }
}
