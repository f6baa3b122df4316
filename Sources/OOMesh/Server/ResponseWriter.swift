import Synchronization

/// Writes the response messages of a server- or bidirectional-streaming call.
///
/// The first write sends the context's response metadata as headers first. Writes
/// suspend while the client is not reading (HTTP/2 flow control), so a handler can
/// stream any amount of data in bounded memory.
public struct ResponseWriter<Message: Sendable>: RPCWriterProtocol {
    let outbound: ClosableRPCWriter<RPCResponsePart>
    let serializer: any MessageSerializer<Message>
    let head: ResponseHead

    public func write(_ message: Message) async throws {
        try await write(contentsOf: [message], flags: [])
    }

    /// Writes one message; `compress: false` sends it uncompressed even when the call
    /// compresses responses (``ServerContext/responseEncoding``).
    public func write(_ message: Message, compress: Bool) async throws {
        try await write(contentsOf: [message], flags: compress ? [] : .skipCompression)
    }

    public func write(contentsOf messages: [Message]) async throws {
        try await write(contentsOf: messages, flags: [])
    }

    private func write(contentsOf messages: [Message], flags: MessageFlags) async throws {
        var parts: [RPCResponsePart] = []
        parts.reserveCapacity(messages.count + 1)
        if let metadata = head.takeIfUnsent(forMessages: true) { parts.append(.metadata(metadata)) }
        for message in messages {
            do {
                parts.append(.message(try serializer.serialize(message), flags))
            } catch {
                throw RPCError(code: .internal, message: "Failed to serialize \(Message.self): \(error)", cause: error)
            }
        }
        try await outbound.write(contentsOf: parts)
        head.noteSent(messages.count)
    }
}

/// Tracks whether response headers went out yet, so they are sent exactly once.
final class ResponseHead: Sendable {
    private let context: ServerContext
    private let sent = Mutex(false)

    init(context: ServerContext) { self.context = context }

    /// Counts response messages sent, on the context (for metrics).
    func noteSent(_ count: Int) { context.noteResponseMessages(count) }

    /// The response metadata, the first time only. When messages follow, it carries the
    /// handler's choice of response encoding for the transport.
    func takeIfUnsent(forMessages: Bool) -> Metadata? {
        let first = sent.withLock { sent in
            defer { sent = true }
            return !sent
        }
        guard first else { return nil }
        let head = context.responseHead()
        var metadata = head.metadata
        if forMessages, let encoding = head.encoding {
            metadata.replaceOrAddString(encoding.name, forKey: Metadata.responseEncodingKey)
        }
        return metadata
    }
}
