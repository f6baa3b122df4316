@testable import OOMesh
import Testing

@Suite("Metadata")
struct MetadataTests {
    @Test("keys are lower-cased when added and when looked up", arguments: ["X-Request-ID", "x-request-id", "X-REQUEST-ID"])
    func lowerCasesKeys(_ key: String) {
        var metadata = Metadata()
        metadata.addString("42", forKey: key)
        metadata.add(.string("43"), forKey: key.uppercased())
        metadata.addBinary([1], forKey: key + "-BIN")
        #expect(metadata.map(\.key) == ["x-request-id", "x-request-id", "x-request-id-bin"])
        #expect(metadata["X-Request-Id"] == [.string("42"), .string("43")])
        #expect(metadata.firstString(forKey: "X-REQUEST-ID") == "42")
        #expect(metadata.firstBinary(forKey: "x-Request-Id-Bin") == [1])
    }

    @Test("several values for a key keep their order, interleaved with other keys")
    func multipleValuesInOrder() {
        var metadata = Metadata()
        metadata.addString("1", forKey: "k")
        metadata.addString("x", forKey: "other")
        metadata.addString("2", forKey: "k")
        metadata.addString("3", forKey: "K")
        #expect(metadata["k"] == [.string("1"), .string("2"), .string("3")])
        #expect(metadata.count == 4)
        #expect(metadata.map(\.key) == ["k", "other", "k", "k"])
        #expect(metadata.firstString(forKey: "k") == "1")
    }

    @Test("string and binary values are kept apart")
    func stringAndBinary() {
        var metadata = Metadata()
        metadata.addBinary([0xCA, 0xFE], forKey: "trace-bin")
        metadata.addString("text", forKey: "trace-bin")
        metadata.addBinary([0xBE, 0xEF], forKey: "trace-bin")
        #expect(metadata.firstBinary(forKey: "trace-bin") == [0xCA, 0xFE])
        #expect(metadata.firstString(forKey: "trace-bin") == "text")
        #expect(metadata["trace-bin"] == [.binary([0xCA, 0xFE]), .string("text"), .binary([0xBE, 0xEF])])
    }

    @Test("first lookups are nil for absent keys and for values of the other kind")
    func firstLookupsMiss() {
        var metadata: Metadata = ["only-text": "t"]
        metadata.addBinary([9], forKey: "only-bin")
        #expect(metadata.firstString(forKey: "missing") == nil)
        #expect(metadata.firstBinary(forKey: "missing") == nil)
        #expect(metadata.firstBinary(forKey: "only-text") == nil)
        #expect(metadata.firstString(forKey: "only-bin") == nil)
        #expect(metadata["missing"].isEmpty)
    }

    @Test("removeAll removes every value for the key, case-insensitively, and nothing else")
    func removeAll() {
        var metadata: Metadata = ["a": "1", "b": "2", "A": "3", "c": "4"]
        metadata.removeAll(forKey: "A")
        #expect(metadata.map(\.key) == ["b", "c"])
        #expect(metadata["a"].isEmpty)
        metadata.removeAll(forKey: "not-there")
        #expect(metadata.count == 2)
    }

    @Test("replaceOrAddString leaves exactly one value, at the end")
    func replaceOrAdd() {
        var metadata: Metadata = ["k": "1", "z": "z", "k": "2"]
        metadata.replaceOrAddString("3", forKey: "K")
        #expect(metadata["k"] == [.string("3")])
        #expect(metadata.map(\.key) == ["z", "k"])
        metadata.replaceOrAddString("new", forKey: "fresh")
        #expect(metadata.firstString(forKey: "fresh") == "new")
    }

    @Test("a dictionary literal keeps order, duplicates and lower-cases keys")
    func dictionaryLiteral() {
        let metadata: Metadata = ["Content-Language": "en", "x-tag": "a", "X-Tag": "b"]
        #expect(metadata.count == 3)
        #expect(metadata.map(\.key) == ["content-language", "x-tag", "x-tag"])
        #expect(metadata["x-tag"] == [.string("a"), .string("b")])
        let empty: Metadata = [:]
        #expect(empty.isEmpty)
        #expect(empty == Metadata())
    }

    @Test("add(contentsOf:) appends in order")
    func addContentsOf() {
        var first: Metadata = ["a": "1"]
        let second: Metadata = ["b": "2", "a": "3"]
        first.add(contentsOf: second)
        #expect(first.map(\.key) == ["a", "b", "a"])
        #expect(first["a"] == [.string("1"), .string("3")])
    }

    @Test("equality depends on order; description lists pairs and hides bytes")
    func equalityAndDescription() {
        let ab: Metadata = ["a": "1", "b": "2"]
        let ba: Metadata = ["b": "2", "a": "1"]
        #expect(ab != ba)
        #expect(ab == ["A": "1", "B": "2"])
        var metadata: Metadata = ["k": "v"]
        metadata.addBinary([1, 2, 3], forKey: "d-bin")
        #expect(metadata.description == "[k: v, d-bin: <3 bytes>]")
    }
}
