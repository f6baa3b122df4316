#if canImport(Glibc)
import Glibc
#endif
import CMeshLinux
import Foundation
import Synchronization

/// A child process started with `posix_spawn`, whose exit is learned by a thread blocked in
/// `waitpid` on its pid, and whose output is read to EOF on threads of its own.
///
/// Why not `Foundation.Process`: on Linux it learns of exits from SIGCHLD, and with many
/// children starting and ending at once an exit can go unnoticed (`terminationHandler` never
/// runs, `isRunning` stays true, `waitUntilExit` never returns). Its pipes are also
/// inheritable, so a sibling started at the same moment can hold another child's output open.
/// Here the pipes are close-on-exec and every child has its own waiter, so neither can happen.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t

    private struct State {
        var standardOutput = Data()
        var standardError = Data()
        var openStreams: Int
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
        /// The write end of the child's stdin pipe (-1: none, or closed).
        var lifeline: Int32 = -1
    }
    private let state: Mutex<State>

    /// How a child's output is captured.
    public enum OutputMode: Sendable {
        /// stdout and stderr into one buffer (``standardOutput``), in the order written.
        case merged
        /// Into two buffers.
        case separate
        /// Both appended to the file at this path (created if missing), not kept in memory:
        /// for long-running children whose logs would otherwise grow without bound.
        case file(String)
    }

    /// Starts `executable` (looked up in `PATH`) with `arguments`, in `directory` (default:
    /// ours), with stdin from /dev/null and stdout/stderr captured.
    ///
    /// - Parameters:
    ///   - environment: the child's environment; nil: ours.
    ///   - lifeline: give the child a pipe as stdin whose write end only this object holds:
    ///     the child sees EOF on stdin when ``closeLifeline()`` is called or this process
    ///     exits in any way (even `kill -9`), and can stop then instead of living on as an
    ///     orphan.
    public init(
        _ executable: String, _ arguments: [String], directory: String? = nil, output: OutputMode = .separate,
        environment: [String: String]? = nil, lifeline: Bool = false
    ) throws(ChildProcessError) {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if lifeline {
            guard oo_pipe_cloexec(&inPipe) == 0 else { throw ChildProcessError(message: "pipe2 failed: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        let captured: Int
        switch output {
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            captured = 0
        case .merged, .separate:
            guard oo_pipe_cloexec(&outPipe) == 0 else { throw ChildProcessError(message: "pipe2 failed: errno \(errno)") }
            if case .separate = output {
                guard oo_pipe_cloexec(&errPipe) == 0 else {
                    close(outPipe[0]); close(outPipe[1])
                    throw ChildProcessError(message: "pipe2 failed: errno \(errno)")
                }
            }
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1] >= 0 ? errPipe[1] : outPipe[1], 2)
            captured = errPipe[1] >= 0 ? 2 : 1
        }

        // `env` finds the program in PATH and, with -C, changes the directory first.
        var argv = ["env"]
        if let directory { argv += ["-C", directory] }
        argv += [executable] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        // Its own process group, so a signal reaches whatever it starts too (a wrapper
        // script's interpreter, say), not only the process we spawned.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // Default dispositions and an empty mask: a child must not inherit our ignored
        // SIGPIPE, or a SIGTERM a server of ours ignores while it shuts down.
        var defaults = sigset_t(), empty = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let result: Int32
        if let environment {
            var cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for entry in cEnvironment { free(entry) } }
            result = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, &cArguments, &cEnvironment)
        } else {
            result = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, &cArguments, environ)
        }
        for fd in [outPipe[1], errPipe[1], inPipe[0]] where fd >= 0 { close(fd) }
        guard result == 0 else {
            for fd in [outPipe[0], errPipe[0], inPipe[1]] where fd >= 0 { close(fd) }
            throw ChildProcessError(message: "Could not start \(executable): \(String(cString: strerror(result))).")
        }
        self.pid = pid
        self.state = Mutex(State(openStreams: captured, lifeline: inPipe[1]))
        if outPipe[0] >= 0 { Self.startReader(fd: outPipe[0], process: self, isError: false) }
        if errPipe[0] >= 0 { Self.startReader(fd: errPipe[0], process: self, isError: true) }
        Self.startWaiter(process: self)
    }

    /// Runs a program to completion and returns what it did.
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil, output: OutputMode = .separate
    ) async throws(ChildProcessError) -> (status: Int32, standardOutput: Data, standardError: Data) {
        let child = try ChildProcess(executable, arguments, directory: directory, output: output)
        let status = await child.exitStatus()
        return (status, child.standardOutput, child.standardError)
    }

    /// What it wrote to stdout (and stderr, when merged) so far.
    public var standardOutput: Data { state.withLock { $0.standardOutput } }
    /// What it wrote to stderr so far (empty when merged).
    public var standardError: Data { state.withLock { $0.standardError } }

    /// True once it has exited and its output has been read to the end.
    public var hasExited: Bool { state.withLock { $0.status != nil && $0.openStreams == 0 } }

    /// Sends `signal` (SIGTERM, SIGKILL, …) to its process group (it and what it started),
    /// unless it has exited and its output is closed (then nothing of it is left).
    public func signal(_ signal: Int32) {
        guard !hasExited, pid > 0 else { return }
        kill(-pid, signal)
    }

    /// Closes the child's stdin lifeline (see `init`): the child reads EOF.
    public func closeLifeline() {
        let fd = state.withLock { state -> Int32 in
            defer { state.lifeline = -1 }
            return state.lifeline
        }
        if fd >= 0 { close(fd) }
    }

    deinit {
        let fd = state.withLock { $0.lifeline }
        if fd >= 0 { close(fd) }
    }

    /// Waits at most `timeout` for the exit: its status, or nil when it is still running.
    public func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = state.withLock({ $0.openStreams == 0 ? $0.status : nil }) { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return state.withLock { $0.openStreams == 0 ? $0.status : nil }
    }

    /// Waits for the exit and the end of its output: the exit status, or 128 + the signal
    /// that ended it.
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Int32? in
                if let status = state.status, state.openStreams == 0 { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    private func finishIfDone(_ update: (inout State) -> Void) {
        let (waiters, status) = state.withLock { state -> ([CheckedContinuation<Int32, Never>], Int32?) in
            update(&state)
            guard let status = state.status, state.openStreams == 0 else { return ([], nil) }
            defer { state.waiters = [] }
            return (state.waiters, status)
        }
        if let status { for waiter in waiters { waiter.resume(returning: status) } }
    }

    private static func startReader(fd: Int32, process: ChildProcess, isError: Bool) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let chunk = Data(buffer[0..<count])
                    process.state.withLock { state in
                        if isError { state.standardError.append(chunk) } else { state.standardOutput.append(chunk) }
                    }
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(fd)
            process.finishIfDone { $0.openStreams -= 1 }
        }
    }

    private static func startWaiter(process: ChildProcess) {
        let pid = process.pid
        Thread.detachNewThread {
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
            // Exit code, or 128 + signal (as a shell reports it); -1 if the pid was reaped elsewhere.
            let code: Int32 = result < 0 ? -1 : (status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F))
            process.finishIfDone { $0.status = code }
            // Something it started (and that left its group) may keep the output open: give
            // the readers two seconds to reach EOF, then report the exit anyway.
            for _ in 0..<40 where process.state.withLock({ $0.openStreams > 0 }) { usleep(50_000) }
            process.finishIfDone { $0.openStreams = 0 }
        }
    }
}

/// A child process that could not be started.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var message: String
    public var description: String { message }

    /// Creates an error saying `message`.
    public init(message: String) { self.message = message }
}
