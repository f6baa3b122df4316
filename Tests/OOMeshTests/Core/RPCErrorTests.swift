@testable import OOMesh
import Testing

/// A domain error that names its own status.
private struct QuotaExceeded: RPCErrorConvertible {
    var rpcErrorCode: StatusCode { .resourceExhausted }
    var rpcErrorMessage: String { "Quota of 10 calls per minute exceeded." }
    var rpcErrorMetadata: Metadata { ["retry-after-ms": "60000"] }
}

/// A convertible error that relies on the default (empty) metadata.
private struct NotThere: RPCErrorConvertible {
    var rpcErrorCode: StatusCode { .notFound }
    var rpcErrorMessage: String { "No such thing." }
}

/// An error whose text must not reach a caller.
private struct DatabaseError: Error, CustomStringConvertible {
    var description: String { "password=hunter2 at db.internal:5432" }
}

@Suite("RPCError")
struct RPCErrorTests {
    @Test("an RPCError converts to itself")
    func rpcErrorPassesThrough() {
        let original = RPCError(code: .aborted, message: "conflict", metadata: ["x-version": "7"], cause: DatabaseError())
        let converted = RPCError(converting: original)
        #expect(converted.code == .aborted)
        #expect(converted.message == "conflict")
        #expect(converted.metadata == ["x-version": "7"])
        #expect(converted.cause is DatabaseError)
    }

    @Test("an RPCError seen as any Error still converts to itself", arguments: StatusCode.allCases)
    func rpcErrorAsExistential(_ code: StatusCode) {
        let error: any Error = RPCError(code: code, message: "m-\(code.rawValue)")
        let converted = RPCError(converting: error)
        #expect(converted.code == code)
        #expect(converted.message == "m-\(code.rawValue)")
        #expect(converted.cause == nil)
    }

    @Test("an RPCErrorConvertible error reports its own code, message and metadata")
    func convertible() {
        let converted = RPCError(converting: QuotaExceeded())
        #expect(converted.code == .resourceExhausted)
        #expect(converted.message == "Quota of 10 calls per minute exceeded.")
        #expect(converted.metadata.firstString(forKey: "retry-after-ms") == "60000")
        #expect(converted.cause is QuotaExceeded)
    }

    @Test("RPCErrorConvertible metadata defaults to empty")
    func convertibleDefaultMetadata() {
        let converted = RPCError(converting: NotThere())
        #expect(converted.code == .notFound)
        #expect(converted.message == "No such thing.")
        #expect(converted.metadata.isEmpty)
    }

    @Test("CancellationError becomes CANCELLED")
    func cancellation() {
        let converted = RPCError(converting: CancellationError())
        #expect(converted.code == .cancelled)
        #expect(converted.cause is CancellationError)
    }

    @Test("any other error becomes UNKNOWN without leaking its text")
    func otherErrors() {
        let converted = RPCError(converting: DatabaseError())
        #expect(converted.code == .unknown)
        #expect(!converted.message.contains("hunter2"))
        #expect(!converted.message.isEmpty)
        #expect(converted.metadata.isEmpty)
        #expect(converted.cause is DatabaseError)
    }

    @Test("status and description reflect code, message and cause")
    func statusAndDescription() {
        let error = RPCError(status: Status(code: .unavailable, message: "try later"), metadata: ["a": "b"])
        #expect(error.status == Status(code: .unavailable, message: "try later"))
        #expect(error.metadata == ["a": "b"])
        #expect(error.description == "UNAVAILABLE: try later")
        let caused = RPCError(code: .internal, message: "boom", cause: DatabaseError())
        #expect(caused.description.hasPrefix("INTERNAL: boom (cause: "))
    }
}
