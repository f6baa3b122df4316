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

extension ProtobufSerializer: JSONTranscoder {
    public func binary(fromJSON json: [UInt8]) throws -> [UInt8] { try ProtobufJSON<Message>.binary(fromJSON: json) }
    public func json(fromBinary binary: [UInt8]) throws -> [UInt8] { try ProtobufJSON<Message>.json(fromBinary: binary) }
}

extension ProtobufDeserializer: JSONTranscoder {
    public func binary(fromJSON json: [UInt8]) throws -> [UInt8] { try ProtobufJSON<Message>.binary(fromJSON: json) }
    public func json(fromBinary binary: [UInt8]) throws -> [UInt8] { try ProtobufJSON<Message>.json(fromBinary: binary) }
}

/// swift-protobuf's JSON mapping for `Message`: unknown JSON fields are refused (a client
/// naming a field this server does not know gets INVALID_ARGUMENT rather than silence);
/// output has lowerCamelCase names and omits default values, as Connect's servers do.
private enum ProtobufJSON<Message: SwiftProtobuf.Message> {
    static func binary(fromJSON json: [UInt8]) throws -> [UInt8] {
        try Message(jsonUTF8Bytes: json).serializedBytes()
    }

    static func json(fromBinary binary: [UInt8]) throws -> [UInt8] {
        try Message(serializedBytes: binary).jsonUTF8Bytes()
    }
}
