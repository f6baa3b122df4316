import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which addresses a webhook may be POSTed to: not loopback, private, link-local (cloud
/// metadata endpoints live there), carrier-grade NAT, multicast, unspecified or reserved
/// ones — the notifier's own network — unless an operator's allow-list names them. Pure:
/// addresses in, a verdict out; ``WebhookAddressCheck`` resolves names and applies it.
public struct WebhookAddressPolicy: Sendable, Hashable {
    /// Networks webhooks may reach even though they are internal, as CIDRs
    /// (`127.0.0.1/32`, `10.1.0.0/16`, `fd00::/8`). Default: none.
    public var allowedNetworks: [String]

    public init(allowedNetworks: [String] = []) {
        self.allowedNetworks = allowedNetworks
    }

    /// Why `address` (an IPv4 or IPv6 literal) may not be a webhook's, or nil when it may.
    public func refusal(of address: String) -> String? {
        guard let bytes = Self.bytes(of: address) else { return "'\(address)' is not an IP address" }
        if allowedNetworks.contains(where: { Self.network($0).map { Self.contains($0, bytes) } ?? false }) { return nil }
        let v4: [UInt8]? = bytes.count == 4 ? bytes
            : (bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF ? Array(bytes[12...]) : nil)
        if let v4 {
            switch (v4[0], v4[1]) {
            case (0, _): return "\(address) is an unspecified (0.0.0.0/8) address"
            case (127, _): return "\(address) is a loopback address"
            case (10, _), (172, 16...31), (192, 168): return "\(address) is a private address"
            case (169, 254): return "\(address) is a link-local address (where cloud metadata endpoints are)"
            case (100, 64...127): return "\(address) is a carrier-grade NAT address"
            case (224...239, _): return "\(address) is a multicast address"
            case (240...255, _): return "\(address) is a reserved or broadcast address"
            case (192, 0) where v4[2] == 0: return "\(address) is an IETF protocol address"
            default: return nil
            }
        }
        if bytes.allSatisfy({ $0 == 0 }) { return "\(address) is the unspecified address" }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return "\(address) is the loopback address" }
        if bytes[0] & 0xFE == 0xFC { return "\(address) is a unique local (private) address" }
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return "\(address) is a link-local address" }
        if bytes[0] == 0xFF { return "\(address) is a multicast address" }
        if bytes[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][...] { return "\(address) is an IPv4-compatible address" }
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B { return "\(address) is a NAT64 address" }
        return nil
    }

    /// Checks the allow-list's syntax; the message names the entry.
    public func validate() throws(WebhookAddressError) {
        for entry in allowedNetworks where Self.network(entry) == nil {
            throw WebhookAddressError(description: "webhook allow-list entry '\(entry)' is not a CIDR such as 127.0.0.1/32 or fd00::/8")
        }
    }

    static func bytes(of address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func network(_ cidr: String) -> (bytes: [UInt8], prefix: Int)? {
        let parts = cidr.split(separator: "/", maxSplits: 1)
        guard let bytes = bytes(of: String(parts[0])) else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let prefix, (0...(bytes.count * 8)).contains(prefix) else { return nil }
        return (bytes, prefix)
    }

    static func contains(_ network: (bytes: [UInt8], prefix: Int), _ address: [UInt8]) -> Bool {
        guard network.bytes.count == address.count else { return false }
        var left = network.prefix
        for index in 0..<address.count where left > 0 {
            let bits = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if network.bytes[index] & mask != address[index] & mask { return false }
            left -= bits
        }
        return true
    }
}

/// A webhook URL that may not be used; the message says which address and why.
public struct WebhookAddressError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// Not a verdict on the URL: too many lookups were already running; try again later.
    public var busy = false
}

/// Resolves a webhook URL's host and checks every address it has against the policy, off
/// Swift's cooperative threads (getaddrinfo blocks). Done when the URL is set and again
/// before each POST, so a name that later resolves somewhere internal (DNS rebinding) is
/// caught at delivery; the POST itself resolves once more (URLSession cannot be handed the
/// checked address), a window an egress policy closes.
struct WebhookAddressCheck: Sendable {
    let policy: WebhookAddressPolicy

    private static let queue = DispatchQueue(label: "oo.notifier.webhook-resolver", attributes: .concurrent)
    /// Lookups running at once, at most ``maxLookups``: getaddrinfo blocks a thread for as
    /// long as the resolver takes (seconds for a name whose servers do not answer), so a
    /// flood of URLs with such names must not pile up threads and queued work.
    private static let lookups = Atomic<Int>(0)
    static let maxLookups = 16

    func check(_ url: String) async throws(WebhookAddressError) {
        guard let host = URL(string: url)?.host, !host.isEmpty else {
            throw WebhookAddressError(description: "'\(url)' has no host")
        }
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses: [String]
        if WebhookAddressPolicy.bytes(of: literal) != nil {
            addresses = [literal]
        } else {
            guard Self.lookups.add(1, ordering: .relaxed).newValue <= Self.maxLookups else {
                Self.lookups.subtract(1, ordering: .relaxed)
                throw WebhookAddressError(description: "too many webhook host lookups are running (\(Self.maxLookups)); try again", busy: true)
            }
            addresses = await withCheckedContinuation { continuation in
                Self.queue.async {
                    let found = Self.resolve(literal)
                    Self.lookups.subtract(1, ordering: .relaxed)
                    continuation.resume(returning: found)
                }
            }
            guard !addresses.isEmpty else { throw WebhookAddressError(description: "the host '\(host)' does not resolve") }
        }
        for address in addresses {
            if let refusal = policy.refusal(of: address) {
                throw WebhookAddressError(description: "the host '\(host)' resolves to \(address), which webhooks may not reach: \(refusal)")
            }
        }
    }

    private static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &info) == 0, let first = info else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next, addresses.count < 64 {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            if entry.pointee.ai_family == AF_INET {
                entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                }
            } else if entry.pointee.ai_family == AF_INET6 {
                entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                }
            }
            let string = String(cString: text)
            if !string.isEmpty, !addresses.contains(string) { addresses.append(string) }
            next = entry.pointee.ai_next
        }
        return addresses
    }
}
