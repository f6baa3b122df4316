@testable import OOMesh
import Testing

@Suite("StatusCode and Status")
struct StatusTests {
    /// Every code with the number and name the gRPC specification gives it.
    static let specification: [(Int, StatusCode, String)] = [
        (0, .ok, "OK"),
        (1, .cancelled, "CANCELLED"),
        (2, .unknown, "UNKNOWN"),
        (3, .invalidArgument, "INVALID_ARGUMENT"),
        (4, .deadlineExceeded, "DEADLINE_EXCEEDED"),
        (5, .notFound, "NOT_FOUND"),
        (6, .alreadyExists, "ALREADY_EXISTS"),
        (7, .permissionDenied, "PERMISSION_DENIED"),
        (8, .resourceExhausted, "RESOURCE_EXHAUSTED"),
        (9, .failedPrecondition, "FAILED_PRECONDITION"),
        (10, .aborted, "ABORTED"),
        (11, .outOfRange, "OUT_OF_RANGE"),
        (12, .unimplemented, "UNIMPLEMENTED"),
        (13, .internal, "INTERNAL"),
        (14, .unavailable, "UNAVAILABLE"),
        (15, .dataLoss, "DATA_LOSS"),
        (16, .unauthenticated, "UNAUTHENTICATED"),
    ]

    @Test("the specification lists every code exactly once")
    func specificationIsComplete() {
        #expect(Self.specification.count == StatusCode.allCases.count)
        #expect(Set(Self.specification.map(\.1)) == Set(StatusCode.allCases))
    }

    @Test("wire numbers map to their codes and back", arguments: specification)
    func wireMapping(_ number: Int, _ code: StatusCode, _ name: String) {
        #expect(StatusCode(wireValue: number) == code)
        #expect(code.rawValue == number)
    }

    @Test("descriptions are the upper-snake-case names", arguments: specification)
    func descriptions(_ number: Int, _ code: StatusCode, _ name: String) {
        #expect(code.description == name)
        #expect("\(code)" == name)
    }

    @Test("numbers outside 0...16 become UNKNOWN", arguments: [-1, 17, 18, 100, 255, 1 << 20, Int.max, Int.min])
    func unknownNumbers(_ number: Int) {
        #expect(StatusCode(wireValue: number) == .unknown)
    }

    @Test("Status description shows the code, and the message when there is one")
    func statusDescription() {
        #expect(Status(code: .notFound).description == "NOT_FOUND")
        #expect(Status(code: .notFound, message: "no such user").description == "NOT_FOUND: no such user")
        #expect(Status.ok.code == .ok)
        #expect(Status.ok.message.isEmpty)
    }
}
