import Foundation

/// Reading this process's resource use from /proc (Linux), for leak tests.
enum ProcessResources {
    /// The open file descriptors: the entries of /proc/self/fd, each with what it points
    /// at ("socket:[123]", "anon_inode:[eventpoll]", a path). The descriptor the listing
    /// itself uses is left out.
    static func openDescriptors() -> [Int32: String] {
        guard let directory = opendir("/proc/self/fd") else { return [:] }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var result: [Int32: String] = [:]
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name), fd != own else { continue }
            var buffer = [CChar](repeating: 0, count: 512)
            let count = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
            result[fd] = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        }
        return result
    }

    /// How many descriptors are open.
    static func openDescriptorCount() -> Int { openDescriptors().count }

    /// This process's open TCP sockets whose local or remote port is `port`: the server's
    /// listener and accepted connections, and clients connected to it. Exact, whatever else
    /// the process (other test suites) has open.
    static func socketsInvolving(port: Int) -> [String] {
        var inodes: [String: Int32] = [:]
        for (fd, target) in openDescriptors() where target.hasPrefix("socket:[") {
            inodes[String(target.dropFirst(8).dropLast())] = fd
        }
        var found: [String] = []
        for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, let fd = inodes[String(fields[9])] else { continue }
                let ports = [fields[1], fields[2]].compactMap { $0.split(separator: ":").last.flatMap { Int($0, radix: 16) } }
                if ports.contains(port) {
                    found.append("fd \(fd): \(fields[1]) -> \(fields[2]) state \(fields[3])")
                }
            }
        }
        return found
    }

    /// Resident set size (VmRSS from /proc/self/status), in bytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
}

/// Samples the resident set size in the background and keeps the peak.
final class ResidentPeakSampler: Sendable {
    private let task: Task<Int, Never>

    init(every interval: Duration = .milliseconds(25)) {
        task = Task {
            var peak = ProcessResources.residentBytes()
            while !Task.isCancelled {
                peak = max(peak, ProcessResources.residentBytes())
                try? await Task.sleep(for: interval)
            }
            return max(peak, ProcessResources.residentBytes())
        }
    }

    /// Stops sampling; the highest RSS seen.
    func stop() async -> Int {
        task.cancel()
        return await task.value
    }
}

/// Keeps tests that measure process-wide resources (descriptor counts, RSS) from running
/// alongside the other tests of this file set that open many sockets and allocate much.
///
/// Swift Testing runs suites in parallel; `.serialized` only orders tests inside one
/// suite. Measuring tests take the gate exclusively, busy ones (the raw-peer tests)
/// shared. Suites that do not use the gate still run concurrently, so the measuring tests
/// also use exact, port-scoped checks where they can.
actor ProcessResourceGate {
    static let shared = ProcessResourceGate()
    /// Whether the current task already holds the gate.
    @TaskLocal static var held = false

    private var sharedHolders = 0
    private var exclusiveHeld = false
    private var waiters: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    private func canEnter(exclusive: Bool) -> Bool {
        exclusive ? !exclusiveHeld && sharedHolders == 0 : !exclusiveHeld
    }

    private func enter(exclusive: Bool) {
        if exclusive { exclusiveHeld = true } else { sharedHolders += 1 }
    }

    func acquire(exclusive: Bool) async {
        if waiters.isEmpty, canEnter(exclusive: exclusive) {
            enter(exclusive: exclusive)
            return
        }
        await withCheckedContinuation { waiters.append((exclusive, $0)) }
    }

    func release(exclusive: Bool) {
        if exclusive { exclusiveHeld = false } else { sharedHolders -= 1 }
        while let first = waiters.first, canEnter(exclusive: first.exclusive) {
            waiters.removeFirst()
            enter(exclusive: first.exclusive)
            first.continuation.resume()
        }
    }
}

/// Runs `body` holding the gate (exclusively for measuring tests).
func withProcessResourceGate<Result: Sendable>(
    exclusive: Bool, _ body: () async throws -> Result
) async throws -> Result {
    // Nested use (a measuring test's own server and client) runs under the outer hold.
    if ProcessResourceGate.held { return try await body() }
    await ProcessResourceGate.shared.acquire(exclusive: exclusive)
    do {
        let result = try await ProcessResourceGate.$held.withValue(true) { try await body() }
        await ProcessResourceGate.shared.release(exclusive: exclusive)
        return result
    } catch {
        await ProcessResourceGate.shared.release(exclusive: exclusive)
        throw error
    }
}
