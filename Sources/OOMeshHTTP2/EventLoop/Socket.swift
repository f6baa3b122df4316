#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import OOMesh

/// A failed socket call, with the call's name and `errno`.
public struct SocketError: Error, CustomStringConvertible {
    /// The system call that failed.
    public var call: String
    /// The `errno` it set.
    public var errno: Int32

    public var description: String {
        "\(call) failed: \(String(validatingCString: strerror(errno)) ?? "error") (errno \(errno))"
    }
}

/// Thin wrappers over BSD sockets: IPv4/IPv6 TCP, non-blocking, close-on-exec.
enum Socket {
    /// A resolved address.
    struct Address {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 { Int32(storage.ss_family) }

        /// The address as numeric text (`127.0.0.1`, `::1`).
        var numericHost: String {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            var copy = storage
            let status = withUnsafePointer(to: &copy) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
                }
            }
            guard status == 0 else { return "" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The address of a numeric host (`127.0.0.1`, `::1`), or nil for a name. Never
    /// blocks (no lookup), so event loops may call it.
    static func numericAddress(host: String, port: Int) -> Address? {
        try? resolve(host: host, port: port, numericOnly: true).first
    }

    /// Resolves a numeric or named host (`127.0.0.1`, `::1`, `localhost`).
    ///
    /// A name is looked up with `getaddrinfo`, which blocks (for seconds, with a slow DNS
    /// server): call it on ``NameResolver/queue``, never on an event loop or Swift's
    /// cooperative pool, unless `numericOnly`.
    static func resolve(host: String, port: Int, numericOnly: Bool = false) throws -> [Address] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        if numericOnly { hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw SocketError(call: "getaddrinfo(\(host))", errno: status == EAI_SYSTEM ? Glibc.errno : ENOENT)
        }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var address = Address()
            withUnsafeMutableBytes(of: &address.storage) { raw in
                raw.baseAddress!.copyMemory(from: info.pointee.ai_addr, byteCount: Int(info.pointee.ai_addrlen))
            }
            address.length = info.pointee.ai_addrlen
            addresses.append(address)
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Creates a non-blocking listening socket; returns it and the port it bound.
    static func listen(host: String, port: Int, backlog: Int32 = 1024) throws -> (fd: Int32, port: Int) {
        guard let address = try resolve(host: host, port: port).first else {
            throw SocketError(call: "resolve(\(host))", errno: ENOENT)
        }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = address.storage
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw SocketError(call: "bind(\(host):\(port))", errno: error)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = errno
            close(fd)
            throw SocketError(call: "listen", errno: error)
        }
        return (fd, localPort(fd))
    }

    /// Starts a non-blocking connect; the socket becomes writable when it completes.
    static func startConnect(to address: Address) throws -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", errno: errno) }
        var storage = address.storage
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, address.length) }
        }
        if result != 0, errno != EINPROGRESS {
            let error = errno
            close(fd)
            throw SocketError(call: "connect", errno: error)
        }
        setNoDelay(fd)
        return fd
    }

    /// The pending error of a socket (after a non-blocking connect), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return port(of: storage)
    }

    /// The peer's address as gRPC formats it: `ipv4:1.2.3.4:5678` or `ipv6:[::1]:5678`.
    static func peerDescription(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard result == 0 else { return "unknown" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if Int32(storage.ss_family) == AF_INET {
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
            return "ipv4:\(cString(text)):\(port(of: storage))"
        } else {
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
            return "ipv6:[\(cString(text))]:\(port(of: storage))"
        }
    }

    private static func cString(_ text: [CChar]) -> String {
        text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private static func port(of storage: sockaddr_storage) -> Int {
        if Int32(storage.ss_family) == AF_INET {
            let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            return Int(UInt16(bigEndian: address.sin_port))
        }
        let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
        return Int(UInt16(bigEndian: address.sin6_port))
    }
}

/// Where blocking name lookups (`getaddrinfo`) run: one serial queue, off the event loops
/// and off Swift's cooperative pool, so a slow DNS server delays only the lookups.
enum NameResolver {
    static let queue = DispatchQueue(label: "oo.mesh.resolver")
}
