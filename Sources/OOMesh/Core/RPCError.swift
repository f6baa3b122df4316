/// The error every RPC fails with: a status code, a message, the trailing metadata the
/// peer sent (or that a handler wants to send), and the underlying cause if there is one.
///
/// Handlers throw it to choose the status their caller sees; clients catch it to learn
/// why a call failed. Any other error thrown by a handler reaches the caller as `UNKNOWN`,
/// unless it conforms to ``RPCErrorConvertible``.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    /// The status code.
    public var code: StatusCode
    /// A message saying what went wrong.
    public var message: String
    /// Trailing metadata: received from the server on a client, sent with the status on a server.
    public var metadata: Metadata
    /// The lower-level error that caused this one, if any (a socket error, an nghttp2 error…).
    public var cause: (any Error)?

    /// Creates an error.
    public init(code: StatusCode, message: String, metadata: Metadata = [:], cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.cause = cause
    }

    /// Creates an error from a non-OK status.
    public init(status: Status, metadata: Metadata = [:]) {
        self.init(code: status.code, message: status.message, metadata: metadata)
    }

    /// The status this error is sent as.
    public var status: Status { Status(code: code, message: message) }

    public var description: String {
        var text = "\(code): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}

/// An error type that knows which gRPC status it should be reported as.
///
/// Conform a domain error to it and throw it from a handler: the caller sees the status
/// this returns instead of `UNKNOWN`.
public protocol RPCErrorConvertible: Error {
    /// The status code to report.
    var rpcErrorCode: StatusCode { get }
    /// The message to report.
    var rpcErrorMessage: String { get }
    /// Trailing metadata to send with the status.
    var rpcErrorMetadata: Metadata { get }
}

extension RPCErrorConvertible {
    public var rpcErrorMetadata: Metadata { [:] }
}

extension RPCError {
    /// Converts any error into the `RPCError` a peer should see.
    ///
    /// `RPCError` passes through, `RPCErrorConvertible` is asked, Swift's
    /// `CancellationError` becomes `CANCELLED`, anything else `UNKNOWN` with a generic
    /// message (the error's text may hold details a caller must not see).
    public init(converting error: any Error) {
        switch error {
        case let error as RPCError:
            self = error
        case let error as any RPCErrorConvertible:
            self.init(code: error.rpcErrorCode, message: error.rpcErrorMessage,
                      metadata: error.rpcErrorMetadata, cause: error)
        case is CancellationError:
            self.init(code: .cancelled, message: "The call was cancelled.", cause: error)
        default:
            self.init(code: .unknown, message: "Service method threw an unknown error.", cause: error)
        }
    }
}
