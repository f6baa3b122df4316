/// The four shapes an RPC can take.
public enum RPCKind: Sendable, Hashable {
    /// One request, one response.
    case unary
    /// A stream of requests, one response.
    case clientStreaming
    /// One request, a stream of responses.
    case serverStreaming
    /// Streams both ways.
    case bidirectionalStreaming
}

/// What calling a method does besides answering, as its `.proto` declares with
/// `option idempotency_level`.
public enum Idempotency: Sendable, Hashable {
    /// Not declared: the call may change state.
    case unknown
    /// `IDEMPOTENT`: calling it twice has the effect of calling it once.
    case idempotent
    /// `NO_SIDE_EFFECTS`: it only reads, so it may be called with HTTP GET (Connect) and
    /// cached.
    case noSideEffects
}

/// Names a service, e.g. `grpc.testing.TestService`.
public struct ServiceDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The fully qualified name: proto package, a dot, the service name.
    public var fullyQualifiedService: String

    /// Creates a descriptor.
    public init(fullyQualifiedService: String) {
        self.fullyQualifiedService = fullyQualifiedService
    }

    public var description: String { fullyQualifiedService }
}

/// Names one method of a service; its `path` is what HTTP/2 carries as `:path`.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The fully qualified service name.
    public var service: String { didSet { path = Self.path(service, method) } }
    /// The method name as written in the `.proto` file.
    public var method: String { didSet { path = Self.path(service, method) } }
    /// The shape of the call.
    public var kind: RPCKind
    /// What calling it does besides answering (from `idempotency_level`).
    public var idempotency: Idempotency
    /// `/package.Service/Method`: built once, not on every call that sends or routes it.
    public private(set) var path: String

    /// Creates a descriptor.
    public init(service: String, method: String, kind: RPCKind = .bidirectionalStreaming, idempotency: Idempotency = .unknown) {
        self.service = service
        self.method = method
        self.kind = kind
        self.idempotency = idempotency
        self.path = Self.path(service, method)
    }

    private static func path(_ service: String, _ method: String) -> String { "/\(service)/\(method)" }

    /// Parses a `:path` such as `/grpc.testing.TestService/EmptyCall`; nil when malformed.
    public init?(path: String, kind: RPCKind = .bidirectionalStreaming) {
        // Scans the UTF-8 bytes: no array of parts, no Character breaking.
        let utf8 = path.utf8
        let slash = UInt8(ascii: "/")
        guard utf8.first == slash else { return nil }
        let serviceStart = utf8.index(after: utf8.startIndex)
        guard let separator = utf8[serviceStart...].firstIndex(of: slash) else { return nil }
        let methodStart = utf8.index(after: separator)
        guard separator > serviceStart, methodStart < utf8.endIndex,
              !utf8[methodStart...].contains(slash) else { return nil }
        self.service = String(path[serviceStart..<separator])
        self.method = String(path[methodStart...])
        self.kind = kind
        self.idempotency = .unknown
        self.path = path
    }

    public var description: String { path }

    /// Equal when they name the same method with the same shape; idempotency is a fact about
    /// the method, not part of its name (a descriptor parsed from `:path` does not know it).
    public static func == (lhs: MethodDescriptor, rhs: MethodDescriptor) -> Bool {
        lhs.path == rhs.path && lhs.kind == rhs.kind
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(path)
        hasher.combine(kind)
    }
}
