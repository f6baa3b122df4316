/// A type-erased, single-consumer asynchronous sequence whose iteration may throw an
/// ``RPCError``.
///
/// Transports hand out inbound parts this way. Sequences from transports are
/// *continuing*: a second iterator picks up where the first one stopped, so a server can
/// read the request metadata and hand the rest of the stream to a handler.
public struct RPCAsyncSequence<Element: Sendable>: AsyncSequence, Sendable {
    private let makeBase: @Sendable () -> any AsyncIteratorProtocol<Element, any Error>

    /// Wraps a sequence.
    public init<Base: AsyncSequence & Sendable>(wrapping base: Base) where Base.Element == Element {
        self.makeBase = { ErasedIterator(base: base.makeAsyncIterator()) }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: makeBase())
    }

    /// Iterates the wrapped sequence.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: any AsyncIteratorProtocol<Element, any Error>

        public mutating func next() async throws -> Element? {
            try await base.next()
        }
    }

    /// A sequence that ends at once.
    public static var empty: RPCAsyncSequence<Element> {
        RPCAsyncSequence(wrapping: [Element]().async)
    }
}

extension Array where Element: Sendable {
    /// The array as an asynchronous sequence (for tests and in-memory sources).
    var async: ArrayAsyncSequence<Element> { ArrayAsyncSequence(elements: self) }
}

/// An array, iterated asynchronously.
struct ArrayAsyncSequence<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(iterator: elements.makeIterator()) }

    struct AsyncIterator: AsyncIteratorProtocol {
        var iterator: IndexingIterator<[Element]>
        mutating func next() async throws -> Element? { iterator.next() }
    }
}

/// Any iterator, seen as one whose failures are `any Error`.
private struct ErasedIterator<Base: AsyncIteratorProtocol>: AsyncIteratorProtocol {
    var base: Base
    mutating func next() async throws -> Base.Element? { try await base.next() }
}
