/// Why JSON could not be turned into a message, or a message's bytes into JSON.
///
/// `path` names where, in JSON terms: `preferences.quietStartMinute`, `items[2].name`,
/// `labels["k"]` (empty for the top level); `description` reads
/// `preferences.quietStartMinute: expected an integer, got "x"`.
public struct TranscodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is: a JSON path into the message.
    public var path: String
    /// What is wrong, and what was expected.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Why reflection, or resolving a method or symbol through it, failed.
public struct ReflectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// The server does not know the symbol, file or service (its `error_response`, or the
        /// pool lacks it after loading).
        case notFound
        /// The server's answer did not follow the reflection protocol.
        case invalidResponse
        /// A method name was malformed (`oo call` wants `SERVICE/METHOD` or `SERVICE.METHOD`).
        case invalidArgument
    }

    /// What went wrong.
    public var code: Code
    /// The details, actionable.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
