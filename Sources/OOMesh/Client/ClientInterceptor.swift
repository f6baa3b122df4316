import Synchronization

/// What a client interceptor sees of a call before it starts, and may change.
public struct ClientCallHead: Sendable {
    /// The method being called.
    public var descriptor: MethodDescriptor
    /// The request metadata to send.
    public var metadata: Metadata
    /// The call's options (timeout and limits).
    public var options: CallOptions
    /// Messages sent and received so far, all attempts together (for metrics
    /// interceptors, read once `next` returns or throws).
    public let messages: MessageCounts

    /// Creates a call head.
    public init(descriptor: MethodDescriptor, metadata: Metadata, options: CallOptions, messages: MessageCounts = MessageCounts()) {
        self.descriptor = descriptor
        self.metadata = metadata
        self.options = options
        self.messages = messages
    }
}

/// Runs around every call a client makes: to add credentials, log, measure or retry.
///
/// Call `next` to continue to the next interceptor and finally the transport; it returns
/// what the call returns and throws the call's ``RPCError``.
public protocol ClientInterceptor: Sendable {
    /// Intercepts one call.
    func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result
}

/// A client interceptor applied only to the calls of some services or methods. Make one
/// with ``ClientInterceptor/scoped(services:methods:)``.
public struct ScopedClientInterceptor: ClientInterceptor {
    let base: any ClientInterceptor
    let services: Set<String>
    let methods: Set<String>

    public func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        if services.contains(head.descriptor.service) || methods.contains(head.descriptor.path) {
            return try await base.intercept(head, next: next)
        }
        return try await next(head)
    }
}

extension ClientInterceptor {
    /// This interceptor, run only for the calls of `services` and of `methods`.
    public func scoped(services: Set<String> = [], methods: [MethodDescriptor] = []) -> ScopedClientInterceptor {
        ScopedClientInterceptor(base: self, services: services, methods: Set(methods.map(\.path)))
    }
}

/// Messages a client call has sent and received.
public final class MessageCounts: Sendable {
    private let sentCount = Atomic<Int>(0)
    private let receivedCount = Atomic<Int>(0)

    public init() {}

    public var sent: Int { sentCount.load(ordering: .relaxed) }
    public var received: Int { receivedCount.load(ordering: .relaxed) }

    func noteSent(_ count: Int) { sentCount.add(count, ordering: .relaxed) }
    func noteReceived() { receivedCount.add(1, ordering: .relaxed) }
}

/// Counts the request messages written through it.
struct CountingWriter: ClosableRPCWriterProtocol {
    let base: ClosableRPCWriter<RPCRequestPart>
    let counts: MessageCounts

    func write(_ element: RPCRequestPart) async throws {
        try await base.write(element)
        if case .message = element { counts.noteSent(1) }
    }

    func write(contentsOf elements: [RPCRequestPart]) async throws {
        try await base.write(contentsOf: elements)
        counts.noteSent(elements.reduce(0) { if case .message = $1 { $0 + 1 } else { $0 } })
    }

    func finish() async { await base.finish() }
    func finish(throwing error: any Error) async { await base.finish(throwing: error) }
}

/// Counts the response messages read through it.
struct CountingSequence: AsyncSequence, Sendable {
    typealias Element = RPCResponsePart
    let base: RPCAsyncSequence<RPCResponsePart>
    let counts: MessageCounts

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), counts: counts) }

    struct Iterator: AsyncIteratorProtocol {
        var base: RPCAsyncSequence<RPCResponsePart>.AsyncIterator
        let counts: MessageCounts

        mutating func next() async throws -> RPCResponsePart? {
            let part = try await base.next()
            if case .message = part { counts.noteReceived() }
            return part
        }
    }
}
