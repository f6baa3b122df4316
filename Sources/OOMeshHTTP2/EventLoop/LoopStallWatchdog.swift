#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One event-loop stall: an iteration that kept the loop from its sockets and timers for
/// longer than the threshold (a handler computing or blocking on the loop, a huge message
/// compressed there). Every call on that loop, and every deadline timer, waited as long.
public struct LoopStall: Sendable, Hashable, CustomStringConvertible {
    /// The loop's thread name, such as `oo-server-1`.
    public var loop: String
    /// How long the loop has been (or was) busy in that iteration.
    public var duration: Duration
    /// False when the watchdog saw the stall while it still lasted; true when the
    /// iteration ended (`duration` is then the whole stall).
    public var ended: Bool

    public var description: String {
        let milliseconds = Int((duration / .milliseconds(1)).rounded())
        return ended
            ? "event loop \(loop) was stalled for \(milliseconds) ms: every connection on it waited"
            : "event loop \(loop) has been stalled for \(milliseconds) ms and still is"
    }
}

/// What a loop counts of its stalls, read from any thread.
final class LoopStallCounters: Sendable {
    let threshold: Duration
    let report: @Sendable (LoopStall) -> Void
    private let count = Atomic<Int>(0)
    private let longestNanoseconds = Atomic<Int64>(0)
    /// When the loop's current iteration began (monotonic ns); 0 while it waits in epoll.
    let busySince = Atomic<Int64>(0)
    /// The iteration the watchdog already reported as ongoing (its `busySince`).
    let reportedSince = Atomic<Int64>(0)

    init(threshold: Duration, report: @escaping @Sendable (LoopStall) -> Void) {
        self.threshold = threshold
        self.report = report
    }

    var stalls: Int { count.load(ordering: .relaxed) }
    var longest: Duration { .nanoseconds(longestNanoseconds.load(ordering: .relaxed)) }

    var thresholdNanoseconds: Int64 {
        let (seconds, attoseconds) = threshold.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The loop thread: an iteration of `nanoseconds` ended over the threshold.
    func recordEnded(loop: String, nanoseconds: Int64) {
        count.add(1, ordering: .relaxed)
        var longest = longestNanoseconds.load(ordering: .relaxed)
        while nanoseconds > longest {
            let (exchanged, original) = longestNanoseconds.compareExchange(
                expected: longest, desired: nanoseconds, ordering: .relaxed)
            if exchanged { break }
            longest = original
        }
        report(LoopStall(loop: loop, duration: .nanoseconds(nanoseconds), ended: true))
    }
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC), cheap enough for every loop iteration.
@inline(__always)
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// One thread for the whole process that looks at every watched loop a few times per
/// threshold and reports a loop stuck in one iteration while it is still stuck (a loop
/// cannot report its own stall until the stall ends, and a handler that never yields
/// never ends it). It sleeps on its own thread, never on a loop or Swift's pool.
final class LoopStallWatchdog: Sendable {
    static let shared = LoopStallWatchdog()

    private struct Watched {
        weak var loop: EventLoop?
        let counters: LoopStallCounters
    }

    private let watched = Mutex<[Watched]>([])
    private let started = Atomic<Bool>(false)
    /// How often the thread looks.
    static let period: Duration = .milliseconds(50)

    func watch(_ loop: EventLoop, _ counters: LoopStallCounters) {
        watched.withLock { list in
            list.removeAll { $0.loop == nil }
            list.append(Watched(loop: loop, counters: counters))
        }
        if started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            startDetachedThread { self.run() }
        }
    }

    private func run() {
        let (seconds, attoseconds) = Self.period.components
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        while true {
            nanosleep(&pause, nil)
            let now = monotonicNanoseconds()
            let list = watched.withLock { list in
                list.removeAll { $0.loop == nil }
                return list
            }
            for entry in list {
                guard let loop = entry.loop else { continue }
                let since = entry.counters.busySince.load(ordering: .relaxed)
                guard since != 0, now - since >= entry.counters.thresholdNanoseconds,
                      entry.counters.reportedSince.exchange(since, ordering: .relaxed) != since else { continue }
                entry.counters.report(LoopStall(loop: loop.name, duration: .nanoseconds(now - since), ended: false))
            }
        }
    }
}
