import Foundation
import OOMesh
import Testing

@Suite("Random identifiers")
struct RandomIdentifierTests {
    @Test("a random identifier is a lowercase version-4 UUID, as Foundation parses and prints it, different every time")
    func versionFourUUIDs() throws {
        var seen = Set<String>()
        var variants = Set<Character>()
        for _ in 0..<2_000 {
            let id = RandomIdentifier.uuidString()
            let parsed = try #require(UUID(uuidString: id), "\(id)")
            #expect(parsed.uuidString.lowercased() == id)
            let characters = Array(id)
            #expect(characters.count == 36 && [8, 13, 18, 23].allSatisfy { characters[$0] == "-" }, "\(id)")
            #expect(characters[14] == "4", "version nibble of \(id)")
            variants.insert(characters[19])
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) }, "\(id)")
            seen.insert(id)
        }
        #expect(variants.isSubset(of: ["8", "9", "a", "b"]) && variants.count == 4, "\(variants)")
        #expect(seen.count == 2_000)
    }
}
