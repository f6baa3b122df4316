/// The request messages of a client- or bidirectional-streaming call, as a handler reads them.
///
/// Iteration ends when the client finishes sending and throws an ``RPCError`` when the
/// stream fails (for example `INTERNAL` for a message that does not parse).
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    let parts: RPCAsyncSequence<RPCRequestPart>
    let deserializer: any MessageDeserializer<Message>
    /// Told about each message's flags (``ServerContext/requestMessageWasCompressed``).
    let context: ServerContext?

    init(parts: RPCAsyncSequence<RPCRequestPart>, deserializer: any MessageDeserializer<Message>, context: ServerContext?) {
        self.parts = parts
        self.deserializer = deserializer
        self.context = context
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(parts: parts.makeAsyncIterator(), deserializer: deserializer, context: context)
    }

    /// Reads and parses request messages.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var parts: RPCAsyncSequence<RPCRequestPart>.AsyncIterator
        let deserializer: any MessageDeserializer<Message>
        let context: ServerContext?

        public mutating func next() async throws -> Message? {
            while let part = try await parts.next() {
                switch part {
                case .message(let bytes, let flags):
                    context?.noteRequestMessage(flags)
                    return try deserializer.deserializeRequest(bytes)
                case .metadata:
                    throw RPCError(code: .internal, message: "Received request metadata in the middle of the request stream.")
                }
            }
            return nil
        }
    }
}

extension MessageDeserializer {
    /// Deserializes, reporting a failure as the `INTERNAL` status gRPC servers use.
    func deserializeRequest(_ bytes: [UInt8]) throws -> Message {
        do {
            return try deserialize(bytes)
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .internal, message: "Failed to parse the request as \(Message.self): \(error)", cause: error)
        }
    }

    /// Deserializes, reporting a failure as the `INTERNAL` status gRPC clients use.
    func deserializeResponse(_ bytes: [UInt8]) throws -> Message {
        do {
            return try deserialize(bytes)
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .internal, message: "Failed to parse the response as \(Message.self): \(error)", cause: error)
        }
    }
}
