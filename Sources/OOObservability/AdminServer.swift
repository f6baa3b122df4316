#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The admin endpoint: plain HTTP/1.1 on its own port, `GET /metrics` answering
/// ``PrometheusRegistry/render()`` in Prometheus's text format (what Prometheus scrapes;
/// it does not scrape h2c), `GET /healthz` (200 while the process answers: liveness) and
/// `GET /readyz` (200 while the service is SERVING, 503 with the reason otherwise:
/// readiness) for probes that cannot speak gRPC over TLS (Kubernetes' built-in gRPC probe
/// cannot), anything else 404. Nothing else is exposed. One request per connection, served one at a
/// time on a thread of its own, with a 2 s read timeout and requests of at most 8 KiB, so a
/// slow or hostile client cannot hold memory or the thread for long.
public final class AdminServer: Sendable {
    /// The port it listens on (the one asked for, or the one the system picked for 0).
    public let port: Int
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)

    /// Whether the service is ready, and why not: what `/readyz` answers.
    public typealias Readiness = @Sendable () -> (ready: Bool, detail: String)

    /// Listens on `host:port` and serves `registry` (and `readiness` on `/readyz`; default:
    /// always ready) until ``stop()``.
    public init(host: String, port: Int, registry: PrometheusRegistry, readiness: @escaping Readiness = { (true, "SERVING") }) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else {
            throw AdminServerError(message: "Cannot resolve the admin address \(host):\(port).")
        }
        defer { freeaddrinfo(first) }
        let socketFD = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw AdminServerError(message: "socket() failed: errno \(errno).") }
        var one: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socketFD, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0, listen(socketFD, 16) == 0 else {
            let code = errno
            close(socketFD)
            throw AdminServerError(message: "Cannot listen on the admin port \(host):\(port): \(String(cString: strerror(code))).")
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        let boundPort = withUnsafePointer(to: &address) { pointer -> Int in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        self.fd = socketFD
        self.port = boundPort
        Thread.detachNewThread { [self, socketFD] in
            while !self.stopped.load(ordering: .relaxed) {
                let client = accept(socketFD, nil, nil)
                if client < 0 {
                    if self.stopped.load(ordering: .relaxed) { break }
                    // Out of descriptors or memory, an aborted handshake: wait a little and
                    // go on; metrics matter most when the process is under pressure.
                    if errno != EINTR { usleep(100_000) }
                    continue
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                Self.serve(client, registry, readiness)
                close(client)
            }
            // Closed here, not in stop(): the number must not be reused while accept runs.
            close(socketFD)
        }
    }

    /// Stops accepting connections (the listening socket closes once the thread sees it).
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Serves one request within 2 s in all, however slowly the client reads or writes.
    private static func serve(_ client: Int32, _ registry: PrometheusRegistry, _ readiness: Readiness) {
        let deadline = ContinuousClock.now + .seconds(2)
        /// Waits until `client` is ready for `events`, within the deadline.
        func ready(_ events: Int16) -> Bool {
            let left = deadline - .now
            guard left > .zero else { return false }
            var poller = pollfd(fd: client, events: events, revents: 0)
            let milliseconds = Int32(min(2_000, max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            return poll(&poller, 1, milliseconds) == 1
        }
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while request.count < 8192, ready(Int16(POLLIN)) {
            let count = read(client, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            request += buffer[0..<count]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let (status, type, body): (String, String, String)
        let path = parts.count >= 2 && parts[0] == "GET" ? parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) : nil
        switch path {
        case "/metrics":
            (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", registry.render())
        case "/healthz":
            (status, type, body) = ("200 OK", "text/plain; charset=utf-8", "ok\n")
        case "/readyz":
            let (ready, detail) = readiness()
            (status, type, body) = (ready ? "200 OK" : "503 Service Unavailable", "text/plain; charset=utf-8", detail + "\n")
        default:
            (status, type, body) = ("404 Not Found", "text/plain; charset=utf-8", "Only GET /metrics, /healthz and /readyz are served here.\n")
        }
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        let out = Array(head.utf8) + bytes
        var offset = 0
        while offset < out.count, ready(Int16(POLLOUT)) {
            // MSG_NOSIGNAL: a client gone away must not kill the process with SIGPIPE.
            let written = out[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break }
            offset += written
        }
    }
}

/// The admin endpoint could not start.
public struct AdminServerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
