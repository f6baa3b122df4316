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

/// Translates one message type between protobuf's binary wire format and its JSON mapping
/// (https://protobuf.dev/programming-guides/json/), for protocols that carry JSON (Connect).
/// Generated code's serializers and deserializers conform; a server reads JSON requests
/// into wire bytes before its handlers run and writes their wire bytes out as JSON.
public protocol JSONTranscoder: Sendable {
    /// The wire bytes of the message `json` describes. Throws when `json` is not JSON, or
    /// names a field the message does not have.
    func binary(fromJSON json: [UInt8]) throws -> [UInt8]
    /// The JSON text of the message in `binary`.
    func json(fromBinary binary: [UInt8]) throws -> [UInt8]
}
