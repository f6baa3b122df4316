import Foundation

/// Random identifiers for records a service creates (tips, deliveries), drawn from the
/// system generator (`getrandom`, no file opened). Foundation's `UUID()` on Linux opens,
/// reads and closes `/dev/urandom` for every identifier: three system calls per tip.
public enum RandomIdentifier {
    /// A version 4 (random) UUID in lowercase, `xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx` with N
    /// one of 8, 9, a, b (RFC 9562 §5.4): the same form as `UUID().uuidString.lowercased()`.
    public static func uuidString() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (8 * index))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // the RFC's variant
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
