import Testing

@testable import OOAuth

@Suite("base64url")
struct Base64URLTests {
    @Test("RFC 4648 test vectors, URL alphabet, no padding")
    func vectors() {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(Base64URL.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
    }

    @Test("Round-trips every length and byte")
    func roundTrip() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + length) }
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
        let all = (0...255).map(UInt8.init)
        #expect(Base64URL.decode(Array(Base64URL.encode(all).utf8)) == all)
    }

    @Test("Refuses padding, the standard alphabet, whitespace, bad lengths and non-canonical tails",
          arguments: ["Zg==", "Zm9v+A", "Zm9v/A", "Zm 9v", "Z", "Zm9vY", "Zh", "Zm9", "Zm8=", "Zm9vYh"])
    func refuses(_ text: String) {
        // "Zh" and "Zm9" decode to the same bytes as "Zg" and "Zm8" with nonzero unused bits.
        #expect(Base64URL.decode(Array(text.utf8)) == nil)
    }
}
