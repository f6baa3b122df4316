import Foundation
import Synchronization

/// A tiny HTTP/1.1 server on POSIX sockets for webhook tests: it listens on 127.0.0.1,
/// reads each request (headers and a Content-Length body), records it, and answers with a
/// fixed status — or, `.silent`, accepts and never answers (to test timeouts). It runs on
/// a thread of its own; `stop()` ends it (also on release).
final class TestHTTPServer: Sendable {
    /// One request received.
    struct Request: Sendable {
        var method: String
        var path: String
        /// Header names lowercased.
        var headers: [String: String]
        var body: Data
    }

    enum Behavior: Sendable {
        case status(Int)
        case silent
        /// Answers `status` with `Location: location`.
        case redirect(Int, String)
        /// Answers 200 and then streams body bytes until the client hangs up (at most 256 MiB).
        case endlessBody
    }

    private struct State {
        var requests: [Request] = []
        var stopped = false
        var heldConnections: [Int32] = []
    }

    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let behavior: Behavior
    private let state = Mutex(State())
    /// Body bytes sent by `.endlessBody` before the client hung up.
    let bodyBytesSent = Mutex(0)

    /// Listens on `port` (0: any free port).
    init(port: Int = 0, behavior: Behavior = .status(204)) throws {
        self.behavior = behavior
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerFailure(description: "socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            let error = errno
            close(fd)
            throw ServerFailure(description: "cannot listen on 127.0.0.1:\(port): errno \(error)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    /// The requests received so far.
    var requests: [Request] { state.withLock { $0.requests } }

    /// The webhook URL for `path` on this server.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Stops accepting; the server's thread closes every connection within 50 ms. Returns
    /// at once (called from `defer` in async tests, on threads that must not sleep).
    func stop() {
        state.withLock { $0.stopped = true }
    }

    deinit { stop() }

    private func serve() {
        defer {
            let held = state.withLock { state -> [Int32] in
                defer { state.heldConnections = [] }
                return state.heldConnections
            }
            for fd in held { close(fd) }
            close(listener)
        }
        while !state.withLock({ $0.stopped }) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if case .silent = behavior {
                state.withLock { $0.heldConnections.append(connection) }
                continue
            }
            if let request = Self.read(connection) {
                state.withLock { $0.requests.append(request) }
            }
            switch behavior {
            case .status(let code):
                let response = "HTTP/1.1 \(code) Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = response.utf8CString.withUnsafeBufferPointer { send(connection, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
            case .redirect(let code, let location):
                let response = "HTTP/1.1 \(code) Moved\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = response.utf8CString.withUnsafeBufferPointer { send(connection, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
            case .endlessBody:
                var timeout = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                _ = head.utf8CString.withUnsafeBufferPointer { send(connection, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
                let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
                var sent = 0
                while sent < 256 << 20, !state.withLock({ $0.stopped }) {
                    let count = chunk.withUnsafeBufferPointer { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    guard count > 0 else { break }
                    sent += count
                }
                bodyBytesSent.withLock { $0 += sent }
            case .silent:
                break
            }
            close(connection)
        }
    }

    private static func read(_ fd: Int32) -> Request? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            headerEnd = buffer.range(of: separator)
        }
        guard let headerEnd else { return nil }
        let lines = String(decoding: buffer[..<headerEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        if headers["expect"]?.lowercased() == "100-continue" {
            let proceed = "HTTP/1.1 100 Continue\r\n\r\n"
            _ = proceed.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        }
        var body = Data(buffer[headerEnd.upperBound...])
        while body.count < length {
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            body.append(contentsOf: chunk[0..<count])
        }
        return Request(
            method: requestLine.first.map(String.init) ?? "", path: requestLine.dropFirst().first.map(String.init) ?? "",
            headers: headers, body: body)
    }
}

struct ServerFailure: Error, CustomStringConvertible {
    var description: String
}

/// A free loopback TCP port (bound and released).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
