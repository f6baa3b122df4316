/// Where a client sends its calls, in gRPC's target syntax
/// (https://github.com/grpc/grpc/blob/master/doc/naming.md):
///
/// - `host:port` or `dns:///host:port`: every address the name resolves to (A and AAAA,
///   through the system resolver), resolved again periodically and when a connection fails;
/// - `ipv4:10.0.0.1:50051,10.0.0.2:50051` and `ipv6:[::1]:50051,[::2]:50051`: fixed lists.
public struct ResolverTarget: Sendable, Hashable, CustomStringConvertible {
    /// One address to connect to.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    enum Kind: Sendable, Hashable {
        case dns(host: String, port: Int)
        case fixed([Endpoint])
    }

    let kind: Kind
    /// The target as written.
    public let description: String

    /// Parses `target`; errors say what is wrong with it.
    public init(_ target: String) throws(ResolverTargetError) {
        description = target
        func fail(_ why: String) -> ResolverTargetError { ResolverTargetError(message: "Target '\(target)': \(why)") }
        if target.hasPrefix("ipv4:") || target.hasPrefix("ipv6:") {
            let list = target.dropFirst(5).split(separator: ",").map(String.init)
            guard !list.isEmpty else { throw fail("the address list is empty.") }
            let six = target.hasPrefix("ipv6:")
            kind = .fixed(try list.map { entry throws(ResolverTargetError) in
                // IPv6 addresses need brackets before a port: "ipv6:::1" is ambiguous.
                if six && !entry.hasPrefix("[") { throw fail("'\(entry)': write IPv6 addresses as [address]:port.") }
                guard let endpoint = Self.hostPort(entry), endpoint.port > 0 else { throw fail("'\(entry)' is not address:port.") }
                return endpoint
            })
            return
        }
        var rest = Substring(target)
        if rest.hasPrefix("dns:///") {
            rest = rest.dropFirst("dns:///".count)
        } else if rest.hasPrefix("dns:") && !rest.hasPrefix("dns://") {
            rest = rest.dropFirst("dns:".count)
        } else if rest.hasPrefix("dns://") {
            throw fail("a DNS authority (dns://server/…) is not supported; use dns:///host:port.")
        } else if rest.contains("://") || rest.hasPrefix("unix:") {
            throw fail("unsupported scheme; use host:port, dns:///host:port, ipv4:… or ipv6:….")
        }
        guard let endpoint = Self.hostPort(String(rest)), endpoint.port > 0 else { throw fail("expected host:port.") }
        kind = .dns(host: endpoint.host, port: endpoint.port)
    }

    /// `host:port` or `[v6]:port`.
    static func hostPort(_ text: String) -> Endpoint? {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":"), let port = Int(after.dropFirst()), (1...65_535).contains(port) else { return nil }
            return Endpoint(host: host, port: port)
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port)
        else { return nil }
        let host = String(text[..<colon])
        return host.isEmpty ? nil : Endpoint(host: host, port: port)
    }

    /// Whether resolving again can give other endpoints.
    var isDynamic: Bool { if case .dns = kind { true } else { false } }

    /// The endpoints now, deduplicated, in the resolver's order.
    func resolve() throws -> [Endpoint] {
        switch kind {
        case .fixed(let endpoints):
            return endpoints
        case .dns(let host, let port):
            var seen: Set<Endpoint> = []
            return try Socket.resolve(host: host, port: port).compactMap { address in
                let endpoint = Endpoint(host: address.numericHost, port: port)
                return endpoint.host.isEmpty || !seen.insert(endpoint).inserted ? nil : endpoint
            }
        }
    }
}

/// A target that cannot be parsed.
public struct ResolverTargetError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
