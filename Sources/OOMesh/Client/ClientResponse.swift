/// The response to a call with a single response message (unary, client streaming).
public struct ClientResponse<Message: Sendable>: Sendable {
    /// The response headers' custom metadata.
    public var metadata: Metadata
    /// The response message.
    public var message: Message
    /// The metadata the server sent with its OK status.
    public var trailingMetadata: Metadata
    /// Whether the response message arrived compressed on the wire.
    public var messageWasCompressed: Bool

    /// Creates a response.
    public init(metadata: Metadata, message: Message, trailingMetadata: Metadata, messageWasCompressed: Bool = false) {
        self.metadata = metadata
        self.message = message
        self.trailingMetadata = trailingMetadata
        self.messageWasCompressed = messageWasCompressed
    }
}

/// A response message together with how it travelled.
public struct ReceivedMessage<Message: Sendable>: Sendable {
    /// The message.
    public var message: Message
    /// Whether it arrived compressed on the wire.
    public var wasCompressed: Bool
}

/// The response to a call with a stream of response messages (server and bidirectional
/// streaming), handed to the caller's `onResponse` closure once the response headers have
/// arrived.
///
/// Read `messages` for the messages alone, `receivedMessages` for the messages with how
/// they travelled, or `bodyParts` to also see the trailing metadata. Each throws an ``RPCError`` when the call ends with a non-OK status.
public struct StreamingClientResponse<Message: Sendable>: Sendable {
    /// One element of the response body.
    public enum BodyPart: Sendable {
        /// A response message.
        case message(Message)
        /// The trailing metadata sent with the OK status; always the last part.
        case trailingMetadata(Metadata)
    }

    /// The response headers' custom metadata (empty for a Trailers-Only response).
    public var metadata: Metadata
    /// The messages and, last, the trailing metadata.
    public var bodyParts: BodyParts
    /// The messages only.
    public var messages: Messages { Messages(bodyParts: bodyParts) }
    /// The messages, each with whether it arrived compressed.
    public var receivedMessages: ReceivedMessages { ReceivedMessages(bodyParts: bodyParts) }

    /// The response body as parts.
    public struct BodyParts: AsyncSequence, Sendable {
        let parts: RPCAsyncSequence<RPCResponsePart>
        let trailersOnly: (Status, Metadata)?
        let deserializer: any MessageDeserializer<Message>

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(parts: parts.makeAsyncIterator(), pendingStatus: trailersOnly, deserializer: deserializer)
        }

        /// Reads and parses response parts.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var parts: RPCAsyncSequence<RPCResponsePart>.AsyncIterator
            var pendingStatus: (Status, Metadata)?
            let deserializer: any MessageDeserializer<Message>
            var finished = false

            public mutating func next() async throws -> BodyPart? {
                try await nextWithFlags()?.part
            }

            mutating func nextWithFlags() async throws -> (part: BodyPart, flags: MessageFlags)? {
                if finished { return nil }
                if let (status, trailers) = pendingStatus {
                    finished = true
                    return (try Self.end(status, trailers), [])
                }
                guard let part = try await parts.next() else {
                    finished = true
                    throw RPCError(code: .internal, message: "The server closed the stream without sending a status.")
                }
                switch part {
                case .message(let bytes, let flags):
                    return (.message(try deserializer.deserializeResponse(bytes)), flags)
                case .status(let status, let trailers):
                    finished = true
                    return (try Self.end(status, trailers), [])
                case .metadata:
                    finished = true
                    throw RPCError(code: .internal, message: "The server sent response headers twice.")
                }
            }

            private static func end(_ status: Status, _ trailers: Metadata) throws -> BodyPart {
                guard status.code == .ok else { throw RPCError(status: status, metadata: trailers) }
                return .trailingMetadata(trailers)
            }
        }
    }

    /// The response messages.
    public struct Messages: AsyncSequence, Sendable {
        let bodyParts: BodyParts

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: bodyParts.makeAsyncIterator()) }

        /// Yields messages, skipping the trailing metadata.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: BodyParts.AsyncIterator

            public mutating func next() async throws -> Message? {
                while let part = try await base.next() {
                    if case .message(let message) = part { return message }
                }
                return nil
            }
        }
    }

    /// The response messages with how they travelled.
    public struct ReceivedMessages: AsyncSequence, Sendable {
        let bodyParts: BodyParts

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: bodyParts.makeAsyncIterator()) }

        /// Yields messages and their flags, skipping the trailing metadata.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: BodyParts.AsyncIterator

            public mutating func next() async throws -> ReceivedMessage<Message>? {
                while let (part, flags) = try await base.nextWithFlags() {
                    if case .message(let message) = part {
                        return ReceivedMessage(message: message, wasCompressed: flags.contains(.compressed))
                    }
                }
                return nil
            }
        }
    }

    /// Waits for the response head; a Trailers-Only response with a non-OK status throws.
    static func read(
        from inbound: RPCAsyncSequence<RPCResponsePart>, deserializer: any MessageDeserializer<Message>
    ) async throws -> StreamingClientResponse {
        var iterator = inbound.makeAsyncIterator()
        switch try await iterator.next() {
        case .metadata(let metadata):
            return StreamingClientResponse(
                metadata: metadata, bodyParts: BodyParts(parts: inbound, trailersOnly: nil, deserializer: deserializer))
        case .status(let status, let trailers):
            guard status.code == .ok else { throw RPCError(status: status, metadata: trailers) }
            return StreamingClientResponse(
                metadata: [:], bodyParts: BodyParts(parts: inbound, trailersOnly: (status, trailers), deserializer: deserializer))
        case .message:
            throw RPCError(code: .internal, message: "The server sent a message before response headers.")
        case nil:
            throw RPCError(code: .internal, message: "The server closed the stream without sending a status.")
        }
    }
}

extension ClientResponse {
    /// Reads a single-message response: headers, exactly one message, an OK status.
    /// `commit` is marked when response headers arrive (the call can no longer be retried).
    static func read(
        from inbound: RPCAsyncSequence<RPCResponsePart>, deserializer: any MessageDeserializer<Message>, commit: AttemptCommit? = nil
    ) async throws -> ClientResponse {
        var iterator = inbound.makeAsyncIterator()
        var metadata = Metadata()
        var message: Message?
        var compressed = false
        while let part = try await iterator.next() {
            switch part {
            case .metadata(let headers):
                commit?.commit()
                metadata = headers
            case .message(let bytes, let flags):
                guard message == nil else {
                    throw RPCError(code: .internal, message: "The server sent more than one response message to a call that expects one.")
                }
                message = try deserializer.deserializeResponse(bytes)
                compressed = flags.contains(.compressed)
            case .status(let status, let trailers):
                guard status.code == .ok else { throw RPCError(status: status, metadata: trailers) }
                guard let message else {
                    throw RPCError(code: .internal, message: "The server ended the call with OK but sent no response message.", metadata: trailers)
                }
                return ClientResponse(
                    metadata: metadata, message: message, trailingMetadata: trailers, messageWasCompressed: compressed)
            }
        }
        throw RPCError(code: .internal, message: "The server closed the stream without sending a status.")
    }
}
