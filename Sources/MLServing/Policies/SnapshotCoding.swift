/// The fixed part of every policy snapshot.
///
/// Layout (little-endian): magic "OOBP", format version (u16, 1), kind (u8), parameter
/// (f64 bit pattern: α, v, ε or 0), dimension (u32), maxArms (u32), updateCount (i64); then
/// the random state (4 × u64) for exploring kinds; then the arms.
struct SnapshotHeader {
    static let magic: [UInt8] = Array("OOBP".utf8)
    static let version: UInt16 = 1
    static let linUCB: UInt8 = 1
    static let thompson: UInt8 = 2
    static let epsilonGreedy: UInt8 = 3
    static let random: UInt8 = 4

    var kind: UInt8
    var parameter: Double
    var dimension: Int
    var maxArms: Int
    var updateCount: Int64
}

/// Appends snapshot fields.
struct SnapshotWriter {
    private(set) var bytes: [UInt8] = []

    init(header: SnapshotHeader, random: SeededRandom? = nil) {
        bytes += SnapshotHeader.magic
        u16(SnapshotHeader.version)
        bytes.append(header.kind)
        f64(header.parameter)
        u32(UInt32(header.dimension))
        u32(UInt32(header.maxArms))
        u64(UInt64(bitPattern: header.updateCount))
        if let random { for word in random.state { u64(word) } }
    }

    mutating func u16(_ value: UInt16) { for shift in stride(from: 0, to: 16, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt16(shift))) } }
    mutating func u32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
    mutating func u64(_ value: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
    mutating func f64(_ value: Double) { u64(value.bitPattern) }
    mutating func doubles(_ values: [Double]) { for value in values { f64(value) } }
    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(utf8.count))
        bytes += utf8
    }
}

/// Reads snapshot fields, refusing to read past the end or to allocate more than the bytes
/// could hold.
struct SnapshotReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func header() throws(PolicyError) -> SnapshotHeader {
        guard try take(4).elementsEqual(SnapshotHeader.magic) else { throw .corruptSnapshot("it does not start with the policy magic 'OOBP'.") }
        let version = try u16()
        guard version == SnapshotHeader.version else {
            throw .corruptSnapshot("format version \(version) is not the supported \(SnapshotHeader.version).")
        }
        let kind = try u8()
        let parameter = try f64()
        let dimension = Int(try u32())
        let maxArms = Int(try u32())
        let updateCount = Int64(bitPattern: try u64())
        guard (1...4096).contains(dimension) else { throw .corruptSnapshot("dimension \(dimension) is outside 1...4096.") }
        guard (1...1_000_000).contains(maxArms) else { throw .corruptSnapshot("maxArms \(maxArms) is outside 1...1,000,000.") }
        guard updateCount >= 0 else { throw .corruptSnapshot("the update count is negative.") }
        return SnapshotHeader(kind: kind, parameter: parameter, dimension: dimension, maxArms: maxArms, updateCount: updateCount)
    }

    mutating func random() throws(PolicyError) -> SeededRandom {
        let words = [try u64(), try u64(), try u64(), try u64()]
        guard let random = SeededRandom(state: words) else { throw .corruptSnapshot("the random state is all zero.") }
        return random
    }

    mutating func u8() throws(PolicyError) -> UInt8 {
        let byte = try take(1)
        return byte[byte.startIndex]
    }

    mutating func u16() throws(PolicyError) -> UInt16 {
        try take(2).reversed().reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func u32() throws(PolicyError) -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() throws(PolicyError) -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func f64() throws(PolicyError) -> Double { Double(bitPattern: try u64()) }

    mutating func doubles(_ count: Int) throws(PolicyError) -> [Double] {
        guard count <= remaining / 8 else { throw .corruptSnapshot("truncated: \(count) numbers announced, \(remaining) bytes left.") }
        var values = [Double]()
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try f64()) }
        return values
    }

    mutating func string() throws(PolicyError) -> String {
        let count = Int(try u32())
        let utf8 = try take(count)
        guard let string = String(validating: utf8, as: UTF8.self) else { throw .corruptSnapshot("an arm name is not UTF-8.") }
        return string
    }

    private mutating func take(_ count: Int) throws(PolicyError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw .corruptSnapshot("truncated at byte \(offset) (\(count) more bytes needed, \(remaining) left).")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }
}
