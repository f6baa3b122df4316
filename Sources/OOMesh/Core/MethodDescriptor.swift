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
    public var service: String
    /// The method name as written in the `.proto` file.
    public var method: String
    /// The shape of the call.
    public var kind: RPCKind

    /// Creates a descriptor.
    public init(service: String, method: String, kind: RPCKind = .bidirectionalStreaming) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// `/package.Service/Method`.
    public var path: String { "/\(service)/\(method)" }

    /// Parses a `:path` such as `/grpc.testing.TestService/EmptyCall`; nil when malformed.
    public init?(path: String, kind: RPCKind = .bidirectionalStreaming) {
        guard path.first == "/" else { return nil }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(service: String(parts[0]), method: String(parts[1]), kind: kind)
    }

    public var description: String { path }
}
