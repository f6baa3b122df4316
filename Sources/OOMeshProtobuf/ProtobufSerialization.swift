public import OOMesh
public import SwiftProtobuf

/// Serializes swift-protobuf messages in the binary wire format.
public struct ProtobufSerializer<Message: SwiftProtobuf.Message>: MessageSerializer {
    /// Creates a serializer.
    public init() {}

    public func serialize(_ message: Message) throws -> [UInt8] {
        try message.serializedBytes()
    }
}

/// Parses swift-protobuf messages from the binary wire format.
///
/// Parsing rejects malformed input and unknown-field groups it cannot skip; unknown
/// fields are kept, so a newer peer's additions survive a round trip through older code.
public struct ProtobufDeserializer<Message: SwiftProtobuf.Message>: MessageDeserializer {
    /// Creates a deserializer.
    public init() {}

    public func deserialize(_ bytes: [UInt8]) throws -> Message {
        try Message(serializedBytes: bytes)
    }
}
