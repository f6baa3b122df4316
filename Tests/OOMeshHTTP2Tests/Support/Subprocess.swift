import Foundation
import OOProcess

/// What a child process did.
struct ProcessResult: Sendable {
    var status: Int32
    var output: String
}

/// The repository's root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a program to completion (killing it after `timeout`), capturing stdout and stderr together.
func runProcess(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ProcessResult {
    let child = try ChildProcess(executable, arguments, directory: repositoryRoot.path, output: .merged)
    let watchdog = Task {
        try await Task.sleep(for: timeout)
        child.signal(SIGKILL)
    }
    let status = await child.exitStatus()
    watchdog.cancel()
    return ProcessResult(status: status, output: String(decoding: child.standardOutput, as: UTF8.self))
}

/// A long-running child process (a peer server), stopped with `stop()`.
final class BackgroundProcess: Sendable {
    let child: ChildProcess

    /// Starts `executable` and waits until it prints a line containing `readyMarker`.
    init(_ executable: String, _ arguments: [String], readyMarker: String, timeout: Duration = .seconds(60)) async throws {
        child = try ChildProcess(executable, arguments, directory: repositoryRoot.path, output: .merged)
        let deadline = ContinuousClock.now + timeout
        while !output.contains(readyMarker) {
            guard !child.hasExited, ContinuousClock.now < deadline else {
                stop()
                throw ProcessFailure(description: "\(executable) did not become ready: \(output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// What it has printed so far (stdout and stderr).
    var output: String { String(decoding: child.standardOutput, as: UTF8.self) }

    /// Whether it is still running.
    var isRunning: Bool { !child.hasExited }

    /// Sends `signal`.
    func signal(_ signal: Int32) { child.signal(signal) }

    /// Sends SIGTERM, and SIGKILL two seconds later if the process is still running.
    /// Returns at once: it is called from `defer` in async tests, on Swift's cooperative
    /// threads, which must never sleep.
    func stop() {
        guard !child.hasExited else { return }
        child.signal(SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { [child] in
            if !child.hasExited { child.signal(SIGKILL) }
        }
    }

    deinit { stop() }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
}

/// Finds a free loopback port by binding port 0 and closing.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
