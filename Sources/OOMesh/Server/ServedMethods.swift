/// One method a server hosts, as a transport that speaks more than gRPC sees it: its shape,
/// whether it is free of side effects (so Connect may call it with GET), and how to read and
/// write its messages as JSON.
public struct ServedMethod: Sendable {
    /// The method, with its kind and idempotency as generated from its `.proto`.
    public var descriptor: MethodDescriptor
    /// Its request type's JSON mapping; nil when its deserializer has none (JSON refused).
    public var requestJSON: (any JSONTranscoder)?
    /// Its response type's JSON mapping; nil when its serializer has none.
    public var responseJSON: (any JSONTranscoder)?

    /// A method entry.
    public init(descriptor: MethodDescriptor, requestJSON: (any JSONTranscoder)?, responseJSON: (any JSONTranscoder)?) {
        self.descriptor = descriptor
        self.requestJSON = requestJSON
        self.responseJSON = responseJSON
    }
}

/// The methods a server hosts, by `:path`; a snapshot the server gives its transport once.
public struct ServedMethods: Sendable {
    private let byPath: [String: ServedMethod]

    /// A table of `methods` by path.
    public init(_ methods: [String: ServedMethod]) {
        self.byPath = methods
    }

    /// No methods.
    public static var none: ServedMethods { ServedMethods([:]) }

    /// The method at `path` (`/package.Service/Method`), or nil.
    public subscript(path: String) -> ServedMethod? { byPath[path] }
}

extension ServerTransport {
    /// Default for transports that speak only gRPC: `methods` are not needed.
    public func listen(
        streamHandler: @escaping @Sendable (RPCStream<RPCRequestPart, RPCResponsePart>, ServerStreamContext) async -> Void,
        methods: ServedMethods
    ) async throws {
        try await listen(streamHandler: streamHandler)
    }
}
