/// Which web origins may call a port from a browser, and the CORS headers (Fetch standard,
/// "CORS protocol") that tell the browser so: preflights answered, the headers that gRPC-Web
/// and Connect clients send allowed, and the ones they read exposed. Pure: the transport asks
/// it and writes what it says.
///
/// Defaults to no origin at all: a browser on another origin cannot call the port until its
/// operator names it. Credentials are bearer tokens in `authorization`, never cookies, so
/// `Access-Control-Allow-Credentials` is not sent.
public struct CORSPolicy: Sendable, Hashable {
    /// Origins allowed, as the browser sends them (`https://app.example`, `http://localhost:8080`;
    /// compared case-insensitively); `*` allows any origin. Default: none.
    public var allowedOrigins: Set<String>
    /// How long a browser may keep a preflight's answer (`Access-Control-Max-Age`). Default 2 h.
    public var maxAgeSeconds: Int

    /// Request headers a browser may send: what gRPC-Web and Connect clients set.
    public static let allowedHeaders = [
        "authorization", "content-type", "connect-protocol-version", "connect-timeout-ms",
        "connect-content-encoding", "connect-accept-encoding", "grpc-timeout", "grpc-encoding",
        "grpc-accept-encoding", "x-grpc-web", "x-user-agent", "traceparent", "tracestate",
    ]
    /// Response headers a browser script may read: the status and encodings of each protocol.
    public static let exposedHeaders = [
        "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding",
        "connect-content-encoding", "connect-accept-encoding", "content-encoding",
    ]
    /// Methods the protocols use.
    public static let allowedMethods = ["POST", "GET"]

    /// A policy allowing `allowedOrigins` (none by default).
    public init(allowedOrigins: Set<String> = [], maxAgeSeconds: Int = 7_200) {
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Whether `origin` (the `Origin` request header) may call.
    public func allows(origin: String) -> Bool {
        allowedOrigins.contains("*") ? origin != "null" || allowedOrigins.contains("null") : allowedOrigins.contains(origin.lowercased())
    }

    /// What a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) gets.
    public enum Preflight: Sendable, Hashable {
        /// 204 No Content with these headers.
        case allowed(headers: [Header])
        /// 403 Forbidden with `reason` as its text body, and no CORS headers (the browser
        /// refuses the call).
        case refused(reason: String)
    }

    /// One response header.
    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The answer to a preflight from `origin` for `requestMethod` with `requestHeaders`
    /// (the comma-separated `Access-Control-Request-Headers`, or nil).
    public func preflight(origin: String, requestMethod: String, requestHeaders: String?) -> Preflight {
        guard allows(origin: origin) else {
            return .refused(reason: "Origin '\(origin.prefix(200))' is not allowed to call this server; its operator can allow it (--cors-origin).")
        }
        guard Self.allowedMethods.contains(requestMethod) else {
            return .refused(reason: "Method \(requestMethod.prefix(20)) is not used by gRPC-Web or Connect; use POST (or GET).")
        }
        let requested = (requestHeaders ?? "").split(separator: ",").map { $0.trimmingASCIISpaces().lowercased() }.filter { !$0.isEmpty }
        if let refused = requested.first(where: { !Self.allowedHeaders.contains($0) }) {
            return .refused(reason: "Request header '\(refused.prefix(100))' is not allowed; allowed: \(Self.allowedHeaders.joined(separator: ", ")).")
        }
        return .allowed(headers: [
            Header("access-control-allow-origin", origin),
            Header("access-control-allow-methods", Self.allowedMethods.joined(separator: ", ")),
            Header("access-control-allow-headers", Self.allowedHeaders.joined(separator: ", ")),
            Header("access-control-max-age", String(maxAgeSeconds)),
            Header("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ])
    }

    /// Headers for the response to an actual request from `origin` (nil: not a cross-origin
    /// browser request): none unless the origin is allowed.
    public func responseHeaders(origin: String?) -> [Header] {
        guard let origin, allows(origin: origin) else { return [] }
        return [
            Header("access-control-allow-origin", origin),
            Header("access-control-expose-headers", Self.exposedHeaders.joined(separator: ", ")),
            Header("vary", "Origin"),
        ]
    }
}
