/// The generator's neutral view of a `.proto` file: only what the stubs need, already
/// named the Swift way. Built from descriptors by ``ModelBuilder``, rendered by
/// ``SwiftRenderer``.
public struct FileModel: Sendable, Hashable {
    /// The file's path as protoc knows it, e.g. `grpc/testing/test.proto`.
    public var protoPath: String
    /// The services, in declaration order.
    public var services: [ServiceModel]

    public init(protoPath: String, services: [ServiceModel]) {
        self.protoPath = protoPath
        self.services = services
    }

    /// Where the generated Swift goes, relative to the output directory: the proto path
    /// with `.proto` replaced by `.grpc.swift`.
    public var outputPath: String {
        let stem = protoPath.hasSuffix(".proto") ? String(protoPath.dropLast(".proto".count)) : protoPath
        return stem + ".grpc.swift"
    }
}

/// One `service`.
public struct ServiceModel: Sendable, Hashable {
    /// The name as written in the `.proto` file, e.g. `Greeter`.
    public var name: String
    /// Package, a dot, the name, e.g. `oo.example.v1.Greeter` (just the name without a
    /// package).
    public var fullyQualifiedName: String
    /// The Swift namespace: the file's Swift type prefix plus the name, e.g.
    /// `Oo_Example_V1_Greeter`. The protocol and client are named after it.
    public var swiftNamespace: String
    /// The leading comment, one element a line, without the `//` markers.
    public var documentation: [String]
    /// The methods, in declaration order.
    public var methods: [MethodModel]

    public init(
        name: String, fullyQualifiedName: String, swiftNamespace: String, documentation: [String],
        methods: [MethodModel]
    ) {
        self.name = name
        self.fullyQualifiedName = fullyQualifiedName
        self.swiftNamespace = swiftNamespace
        self.documentation = documentation
        self.methods = methods
    }
}

/// One `rpc`.
public struct MethodModel: Sendable, Hashable {
    /// The four shapes a call can take; the names match the runtime's `RPCKind` cases.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case unary
        case clientStreaming
        case serverStreaming
        case bidirectionalStreaming

        /// The shape of an rpc with the given `stream` markers.
        public init(clientStreaming: Bool, serverStreaming: Bool) {
            switch (clientStreaming, serverStreaming) {
            case (false, false): self = .unary
            case (true, false): self = .clientStreaming
            case (false, true): self = .serverStreaming
            case (true, true): self = .bidirectionalStreaming
            }
        }

        /// Whether the client sends a stream of requests.
        public var streamsRequests: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
        /// Whether the server sends a stream of responses.
        public var streamsResponses: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
    }

    /// `option idempotency_level`; the names match the runtime's `Idempotency` cases.
    public enum Idempotency: String, Sendable, Hashable {
        case unknown
        case idempotent
        case noSideEffects
    }

    /// The name as written in the `.proto` file (and sent on the wire), e.g. `SayHello`.
    public var name: String
    /// The name of the nested descriptor enum, `name` escaped where Swift needs it.
    public var swiftTypeName: String
    /// The Swift function name: `name` in lowerCamelCase, backticked when it is a
    /// keyword, e.g. `sayHello`, `` `import` ``.
    public var swiftName: String
    /// The shape of the call.
    public var kind: Kind
    /// The Swift type of the request message, e.g. `Oo_Example_V1_HelloRequest`.
    public var inputType: String
    /// The Swift type of the response message.
    public var outputType: String
    /// The leading comment, one element a line, without the `//` markers.
    public var documentation: [String]
    /// What calling it does besides answering.
    public var idempotency: Idempotency

    public init(
        name: String, swiftTypeName: String, swiftName: String, kind: Kind, inputType: String, outputType: String,
        documentation: [String], idempotency: Idempotency = .unknown
    ) {
        self.idempotency = idempotency
        self.name = name
        self.swiftTypeName = swiftTypeName
        self.swiftName = swiftName
        self.kind = kind
        self.inputType = inputType
        self.outputType = outputType
        self.documentation = documentation
    }
}
