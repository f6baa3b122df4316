import CNGHTTP2
import OOMesh

/// Header fields laid out for nghttp2: one byte buffer holding every name and value, and
/// the `nghttp2_nv` array pointing into it. nghttp2 copies the fields during a submit
/// call, so the block need only live for the call.
struct HeaderBlock {
    private(set) var fields: [(name: String, value: String)] = []

    init() { fields.reserveCapacity(8) }

    mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Calls `body` with the `nghttp2_nv` array for the fields. The names, values and the
    /// array live in temporary (usually stack) storage: no heap allocation per block.
    func withNV<Result>(_ body: (UnsafePointer<nghttp2_nv>, Int) -> Result) -> Result {
        let byteCount = fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(byteCount, 1)) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(fields.count, 1)) { nv in
                var offset = 0
                for (index, field) in fields.enumerated() {
                    let name = storage.baseAddress! + offset
                    offset = storage[offset...].initialize(fromContentsOf: field.name.utf8)
                    let value = storage.baseAddress! + offset
                    offset = storage[offset...].initialize(fromContentsOf: field.value.utf8)
                    nv[index] = nghttp2_nv(
                        name: name, value: value,
                        namelen: field.name.utf8.count, valuelen: field.value.utf8.count,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
                }
                return body(nv.baseAddress!, fields.count)
            }
        }
    }
}

// MARK: gRPC's header blocks

extension HeaderBlock {
    /// A client's request HEADERS.
    static func request(
        path: String, authority: String, secure: Bool, encoding: CompressionAlgorithm, acceptEncoding: String,
        timeout: Duration?, metadata: Metadata
    ) -> HeaderBlock {
        var block = HeaderBlock()
        block.add(":method", "POST")
        block.add(":scheme", secure ? "https" : "http")
        block.add(":path", path)
        block.add(":authority", authority)
        block.add("content-type", "application/grpc")
        block.add("te", "trailers")
        block.add("user-agent", "oo-mesh/0.1")
        if encoding != .identity { block.add("grpc-encoding", encoding.name) }
        block.add("grpc-accept-encoding", acceptEncoding)
        if let timeout { block.add("grpc-timeout", HeaderCoding.formatTimeout(timeout)) }
        block.addMetadata(metadata)
        return block
    }

    /// A server's response HEADERS (the call goes on with messages and trailers).
    static func response(encoding: CompressionAlgorithm, acceptEncoding: String, metadata: Metadata) -> HeaderBlock {
        var block = HeaderBlock()
        block.add(":status", "200")
        block.add("content-type", "application/grpc")
        if encoding != .identity { block.add("grpc-encoding", encoding.name) }
        block.add("grpc-accept-encoding", acceptEncoding)
        block.addMetadata(metadata)
        return block
    }

    /// A Trailers-Only response: the status in the only HEADERS block.
    static func trailersOnly(httpStatus: Int, status: Status, trailers: Metadata, extra: [String: String] = [:]) -> HeaderBlock {
        var block = HeaderBlock()
        block.add(":status", String(httpStatus))
        block.add("content-type", "application/grpc")
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { block.add(name, value) }
        block.addStatus(status, trailers)
        return block
    }

    /// The trailers that end a response.
    static func trailers(status: Status, trailers: Metadata) -> HeaderBlock {
        var block = HeaderBlock()
        block.addStatus(status, trailers)
        return block
    }

    /// Adds the application's metadata; reserved names (pseudo-headers, `grpc-*` the
    /// transport owns, connection headers) are left out.
    mutating func addMetadata(_ metadata: Metadata) {
        for element in metadata where !HeaderCoding.isReserved(element.key) {
            add(element.key, HeaderCoding.headerValue(element.value))
        }
    }

    private mutating func addStatus(_ status: Status, _ trailers: Metadata) {
        add("grpc-status", String(status.code.rawValue))
        if !status.message.isEmpty { add("grpc-message", HeaderCoding.percentEncode(status.message)) }
        addMetadata(trailers)
    }
}
