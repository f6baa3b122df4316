/// Key-value pairs sent with a call: request headers, response headers and trailers.
///
/// Keys are lower-case ASCII. A key ending in `-bin` carries bytes (sent base64-encoded
/// on the wire); every other key carries a printable ASCII string. A key may appear more
/// than once; order is kept.
///
/// ```swift
/// var metadata: Metadata = ["x-request-id": "42"]
/// metadata.addBinary([0xCA, 0xFE], forKey: "trace-bin")
/// ```
public struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// A metadata value: text, or bytes for keys ending in `-bin`.
    public enum Value: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        case string(String)
        case binary([UInt8])

        public init(stringLiteral value: String) { self = .string(value) }

        public var description: String {
            switch self {
            case .string(let string): string
            case .binary(let bytes): "<\(bytes.count) bytes>"
            }
        }
    }

    /// One key and its value.
    public struct Element: Sendable, Hashable {
        public var key: String
        public var value: Value
    }

    private var elements: [Element]

    /// Creates empty metadata.
    public init() { elements = [] }

    public init(dictionaryLiteral pairs: (String, Value)...) {
        elements = pairs.map { Element(key: $0.0.lowercased(), value: $0.1) }
    }

    /// The number of key-value pairs.
    public var count: Int { elements.count }
    /// True when there are no pairs.
    public var isEmpty: Bool { elements.isEmpty }

    /// Appends a text value. The key is lower-cased.
    public mutating func addString(_ value: String, forKey key: String) {
        elements.append(Element(key: key.lowercased(), value: .string(value)))
    }

    /// Appends a binary value. The key is lower-cased and should end in `-bin`.
    public mutating func addBinary(_ value: [UInt8], forKey key: String) {
        elements.append(Element(key: key.lowercased(), value: .binary(value)))
    }

    /// Appends a value of either kind.
    public mutating func add(_ value: Value, forKey key: String) {
        elements.append(Element(key: key.lowercased(), value: value))
    }

    /// Appends every pair of another metadata.
    public mutating func add(contentsOf other: Metadata) {
        elements.append(contentsOf: other.elements)
    }

    /// Removes every value for a key.
    public mutating func removeAll(forKey key: String) {
        let key = key.lowercased()
        elements.removeAll { $0.key == key }
    }

    /// Replaces every value for a key with one text value.
    public mutating func replaceOrAddString(_ value: String, forKey key: String) {
        removeAll(forKey: key)
        addString(value, forKey: key)
    }

    /// All values for a key, in order.
    public subscript(key: String) -> [Value] {
        let key = key.lowercased()
        return elements.compactMap { $0.key == key ? $0.value : nil }
    }

    /// The first text value for a key.
    public func firstString(forKey key: String) -> String? {
        for case .string(let value) in self[key] { return value }
        return nil
    }

    /// The first binary value for a key.
    public func firstBinary(forKey key: String) -> [UInt8]? {
        for case .binary(let value) in self[key] { return value }
        return nil
    }

    public func makeIterator() -> IndexingIterator<[Element]> { elements.makeIterator() }

    public var description: String {
        "[" + elements.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }
}
