/// A gRPC message encoding (`grpc-encoding`): how message bytes are compressed on the wire.
public enum CompressionAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// No compression.
    case identity
    /// gzip (RFC 1952).
    case gzip
    /// zlib-wrapped deflate (RFC 1950), which gRPC calls "deflate".
    case deflate

    /// The name used in `grpc-encoding` and `grpc-accept-encoding`.
    public var name: String { rawValue }
}
