/// Turns a message into the bytes of one gRPC message.
public protocol MessageSerializer<Message>: Sendable {
    /// The message type.
    associatedtype Message
    /// Serializes a message. Throws an ``RPCError`` (usually `INTERNAL`) on failure.
    func serialize(_ message: Message) throws -> [UInt8]
}

/// Turns the bytes of one gRPC message into a message.
public protocol MessageDeserializer<Message>: Sendable {
    /// The message type.
    associatedtype Message
    /// Parses a message. Throws an ``RPCError`` (usually `INTERNAL`) when the bytes are not one.
    func deserialize(_ bytes: [UInt8]) throws -> Message
}
