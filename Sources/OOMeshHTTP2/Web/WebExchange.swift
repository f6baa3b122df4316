import OOMesh

/// Settings of the web protocols (Connect, gRPC-Web) on a server port; nil in
/// ``HTTP2ServerTransport/Configuration/web`` keeps the port gRPC-only (internal services).
public struct WebProtocolsConfiguration: Sendable, Hashable {
    /// Which browser origins may call, and the CORS headers they get. Default: none (a
    /// browser page on another origin cannot call until an operator names its origin;
    /// clients that are not browsers send no `Origin` and are not affected).
    public var cors: CORSPolicy = CORSPolicy()
    /// The longest query a Connect GET may carry (its message is in it). Default: 8 KiB, what
    /// common proxies and CDNs pass; larger messages go by POST.
    public var maxGetQueryBytes: Int = 8 * 1024

    /// The defaults: no browser origin allowed.
    public init(cors: CORSPolicy = CORSPolicy()) {
        self.cors = cors
    }
}

/// A request the transport did not read as gRPC: its head, as HTTP/2 or HTTP/1.1 carried it.
struct WebRequestHead: Sendable {
    var method: String
    /// The path without the query.
    var path: String
    /// What followed `?` in the target, if anything.
    var query: String?
    /// Header fields, names lower-case.
    var headers: [(name: String, value: String)]

    /// The first value of header `name` (lower-case).
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// Splits `target` (`/path?query`) and keeps `headers`.
    init(method: String, target: String, headers: [(name: String, value: String)]) {
        self.method = method
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = String(target[target.index(after: mark)...])
        } else {
            path = target
            query = nil
        }
        self.headers = headers
    }
}

/// What a web response writes next: the status line and headers (first, once), body bytes,
/// the end of the body. Produced by ``WebResponseEncoder``; written by a ``WebResponseSink``.
struct WebResponseChunk: Sendable {
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    var end = false

    static var none: WebResponseChunk { WebResponseChunk() }
    var isEmpty: Bool { head == nil && body.isEmpty && !end }
}

/// A response's status and header fields (names lower-case), before its body.
struct HTTPResponseHead: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
}

/// Where a web call's response goes: an HTTP/2 stream's outbox, or an HTTP/1.1 connection.
protocol WebResponseSink: Sendable {
    /// Queues `chunk` without suspending (so chunks from racing writers keep their order);
    /// returns whether the writer should wait for the queue to drain. Throws when the
    /// exchange is over (the client went away).
    func enqueue(_ chunk: WebResponseChunk) throws -> Bool
    /// Suspends until the queue has drained below its low-water mark.
    func waitForDrain() async throws
}
