/// Something that accepts elements, suspending while the other side is not ready for more.
public protocol RPCWriterProtocol<Element>: Sendable {
    /// The element type.
    associatedtype Element: Sendable
    /// Writes one element. Suspends while the transport's buffer for this stream is full
    /// (backpressure); throws an ``RPCError`` when the stream was reset or cancelled.
    /// A client's writes after the server has already sent its status are discarded: the
    /// status tells the outcome of the call.
    func write(_ element: Element) async throws
    /// Writes several elements; transports may batch them into one flush.
    func write(contentsOf elements: [Element]) async throws
    /// Writes one message; `compress: false` sends it uncompressed even when the call
    /// compresses messages. Writers without per-message compression ignore the choice.
    func write(_ element: Element, compress: Bool) async throws
}

extension RPCWriterProtocol {
    public func write(contentsOf elements: [Element]) async throws {
        for element in elements { try await write(element) }
    }

    public func write(_ element: Element, compress: Bool) async throws {
        try await write(element)
    }
}

/// A writer that can also end its stream.
public protocol ClosableRPCWriterProtocol<Element>: RPCWriterProtocol {
    /// Ends the stream normally (HTTP/2: END_STREAM).
    func finish() async
    /// Ends the stream abnormally (HTTP/2: RST_STREAM with CANCEL).
    func finish(throwing error: any Error) async
}

/// A type-erased writer of messages, as handed to request producers and response handlers.
public struct RPCWriter<Element: Sendable>: RPCWriterProtocol {
    private let base: any RPCWriterProtocol<Element>

    /// Wraps a writer.
    public init(wrapping base: some RPCWriterProtocol<Element>) {
        self.base = base
    }

    public func write(_ element: Element) async throws {
        try await base.write(element)
    }

    public func write(contentsOf elements: [Element]) async throws {
        try await base.write(contentsOf: elements)
    }

    public func write(_ element: Element, compress: Bool) async throws {
        try await base.write(element, compress: compress)
    }
}

/// A type-erased closable writer, as transports hand out for the outbound side of a stream.
public struct ClosableRPCWriter<Element: Sendable>: ClosableRPCWriterProtocol {
    private let base: any ClosableRPCWriterProtocol<Element>

    /// Wraps a writer.
    public init(wrapping base: some ClosableRPCWriterProtocol<Element>) {
        self.base = base
    }

    public func write(_ element: Element) async throws { try await base.write(element) }
    public func write(contentsOf elements: [Element]) async throws { try await base.write(contentsOf: elements) }
    public func finish() async { await base.finish() }
    public func finish(throwing error: any Error) async { await base.finish(throwing: error) }
}

/// Serializes messages into a writer of parts.
struct SerializingWriter<Message: Sendable, Part: Sendable>: RPCWriterProtocol {
    let base: ClosableRPCWriter<Part>
    let serializer: any MessageSerializer<Message>
    let wrap: @Sendable ([UInt8], MessageFlags) -> Part

    func write(_ message: Message) async throws {
        try await base.write(wrap(serialize(message), []))
    }

    func write(_ message: Message, compress: Bool) async throws {
        try await base.write(wrap(serialize(message), compress ? [] : .skipCompression))
    }

    func write(contentsOf messages: [Message]) async throws {
        try await base.write(contentsOf: messages.map { wrap(try serialize($0), []) })
    }

    private func serialize(_ message: Message) throws -> [UInt8] {
        do {
            return try serializer.serialize(message)
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .internal, message: "Failed to serialize \(Message.self): \(error)", cause: error)
        }
    }
}
