import Foundation

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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    process.currentDirectoryURL = repositoryRoot
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let collector = OutputCollector(pipe: pipe)
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        process.terminationHandler = { _ in continuation.resume() }
        do { try process.run() } catch { continuation.resume(throwing: error) }
        let pid = process.processIdentifier
        Task {
            try? await Task.sleep(for: timeout)
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
    return ProcessResult(status: process.terminationStatus, output: collector.finish())
}

/// A long-running child process (a peer server), stopped with `stop()`.
final class BackgroundProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is configured before it starts and only signalled after.
    let process = Process()
    private let collector: OutputCollector

    /// Starts `executable` and waits until it prints a line containing `readyMarker`.
    init(_ executable: String, _ arguments: [String], readyMarker: String, timeout: Duration = .seconds(60)) async throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        process.currentDirectoryURL = repositoryRoot
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        collector = OutputCollector(pipe: pipe)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while !collector.snapshot().contains(readyMarker) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                stop()
                throw ProcessFailure(description: "\(executable) did not become ready: \(collector.snapshot())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    var output: String { collector.snapshot() }

    /// Sends SIGTERM, then SIGKILL if the process is still running after two seconds.
    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for _ in 0..<40 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        for _ in 0..<40 where process.isRunning { usleep(50_000) }
    }

    deinit { stop() }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
}

/// Collects a pipe's output on a background queue.
private final class OutputCollector: @unchecked Sendable {
    // @unchecked Sendable: `data` is guarded by `lock`.
    private let lock = NSLock()
    private var data = Data()
    private let handle: FileHandle

    init(pipe: Pipe) {
        handle = pipe.fileHandleForReading
        handle.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.lock()
            self.data.append(chunk)
            self.lock.unlock()
        }
    }

    func snapshot() -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    func finish() -> String {
        handle.readabilityHandler = nil
        let rest = handle.readDataToEndOfFile()
        lock.lock()
        data.append(rest)
        lock.unlock()
        return snapshot()
    }
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
