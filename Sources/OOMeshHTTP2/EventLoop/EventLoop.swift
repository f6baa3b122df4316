import OOMesh
#if canImport(Glibc)
import Glibc
#endif
import CMeshLinux
import Synchronization

/// Something the event loop tells about readiness of its file descriptor. Called on the
/// loop's thread only.
protocol EventHandler: AnyObject {
    /// The descriptor is readable (or has hung up).
    func handleReadable()
    /// The descriptor is writable.
    func handleWritable()
    /// The end of the loop iteration in which it called
    /// ``EventLoop/flushAtEndOfIteration(_:)``: write what the iteration produced.
    func flushAtEndOfIteration()
}

extension EventHandler {
    /// Handlers that never ask for a flush (a listening socket) need no hook.
    func flushAtEndOfIteration() {}
}

/// One thread running an epoll loop: it watches sockets, runs timers, runs jobs other
/// threads hand it, and runs Swift tasks that prefer it as their executor.
///
/// Everything a connection owns is touched on its loop's thread only; other threads reach
/// it through ``execute(_:)``. Request handlers run as tasks with this loop as their
/// executor preference, so a handler that does not suspend elsewhere answers without a
/// single thread hop. At the end of every iteration the loop calls the flush hooks that
/// asked for it, so all the frames produced in one iteration leave in one write per
/// connection.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `wakePending` are behind `queue`'s Mutex; every other
    // stored property is either immutable or touched only on the loop's own thread
    // (registrations, timers, flush list), which `assertInLoop()` checks in debug builds.

    private enum Job {
        case closure(@Sendable () -> Void)
        case task(UnownedJob)
    }

    private struct Queue {
        var jobs: [Job] = []
        var wakePending = false
        var stopping = false
        /// The loop's thread has ended: nothing drains `jobs` any more.
        var stopped = false
        /// Called on the loop's thread as its last act (see ``EventLoop/stop(then:)``).
        var onStopped: [@Sendable () -> Void] = []
    }

    let name: String
    private let epollFD: Int32
    private let wakeFD: Int32
    private let queue = Mutex(Queue())
    private let threadID = Atomic<UInt>(0)

    // Loop-thread state.
    private var handlers: [Int32: any EventHandler] = [:]
    private var timers = TimerHeap()
    private var flushList: [any EventHandler] = []
    /// Empty arrays with capacity, swapped with `flushList` and `queue.jobs` while those
    /// are run, so a busy loop does not allocate a new array per iteration.
    private var spareFlushList: [any EventHandler] = []
    private var spareJobs: [Job] = []
    /// A scratch buffer for socket reads, shared by every connection on this loop (reads
    /// are synchronous on the loop thread), so idle connections hold no read buffer.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Stall accounting (see ``LoopStallWatchdog``); nil: not watched.
    let stallCounters: LoopStallCounters?

    init(name: String, stallCounters: LoopStallCounters? = nil) {
        self.name = name
        self.stallCounters = stallCounters
        epollFD = oo_epoll_create()
        precondition(epollFD >= 0, "epoll_create1 failed: errno \(errno)")
        wakeFD = oo_eventfd()
        precondition(wakeFD >= 0, "eventfd failed: errno \(errno)")
        readBuffer = .allocate(byteCount: 256 * 1024, alignment: 16)
        oo_epoll_ctl(epollFD, 1, wakeFD, UInt32(OO_EVENT_IN))
    }

    deinit {
        close(epollFD)
        close(wakeFD)
        readBuffer.deallocate()
    }

    /// Starts the loop's thread. The thread is detached: nobody joins it (a join would
    /// block whoever calls it, and on Swift's cooperative pool that starves every task);
    /// ``stop(then:)`` and ``stopped()`` say when it has ended. The thread keeps the loop
    /// alive until then.
    func start() {
        startDetachedThread { self.run() }
    }

    /// Asks the loop to stop after the jobs already queued; returns at once. `then` runs
    /// on the loop's thread as its last act (at once, on the caller's thread, when the
    /// loop has already ended). Safe from any thread, the loop's own included.
    func stop(then: (@Sendable () -> Void)? = nil) {
        let (wake, runNow) = queue.withLock { queue -> (Bool, Bool) in
            if queue.stopped { return (false, true) }
            if let then { queue.onStopped.append(then) }
            queue.stopping = true
            defer { queue.wakePending = true }
            return (!queue.wakePending, false)
        }
        if runNow { then?() }
        if wake, !inEventLoop { signalWake() }
    }

    /// Stops the loop and returns once its thread has finished its last job; suspends the
    /// caller, blocks no thread.
    func stopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            stop { continuation.resume() }
        }
    }

    /// True on the loop's thread.
    var inEventLoop: Bool {
        threadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "not on event loop \(name)", file: file, line: line)
    }

    /// Runs `job` on the loop's thread, soon.
    func execute(_ job: @escaping @Sendable () -> Void) {
        enqueue(.closure(job))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.task(UnownedJob(job)))
    }

    private func enqueue(_ job: Job) {
        let (wake, stopped) = queue.withLock { queue -> (Bool, Bool) in
            if queue.stopped { return (false, true) }
            queue.jobs.append(job)
            if queue.wakePending { return (false, false) }
            queue.wakePending = true
            return (true, false)
        }
        if stopped { return Self.runElsewhere(job) }
        if wake, !inEventLoop { signalWake() }
    }

    /// A job that arrives after the loop has ended. A task (say, a handler still unwinding
    /// after its server shut down, which prefers this loop as its executor) runs on the
    /// global executor rather than stay suspended forever; a closure was for the loop's
    /// connections, which are gone, and is dropped.
    private static func runElsewhere(_ job: Job) {
        if case .task(let task) = job {
            globalConcurrentExecutor.enqueue(ExecutorJob(task))
        }
    }

    private func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Loop-thread API

    /// Watches `fd` for readability (always) and writability (when `writable`).
    func register(_ fd: Int32, handler: any EventHandler, writable: Bool = false) {
        assertInLoop()
        handlers[fd] = handler
        oo_epoll_ctl(epollFD, 1, fd, Self.interest(writable: writable))
    }

    /// Changes whether `fd` is watched for writability.
    func setWritableInterest(_ fd: Int32, _ writable: Bool) {
        assertInLoop()
        oo_epoll_ctl(epollFD, 3, fd, Self.interest(writable: writable))
    }

    /// Stops or resumes watching a registered `fd` for readability (a listener backing off).
    func setReadableInterest(_ fd: Int32, _ readable: Bool) {
        assertInLoop()
        oo_epoll_ctl(epollFD, 3, fd, readable ? Self.interest(writable: false) : 0)
    }

    /// Whether `fd` is registered right now with `handler` (and not closed and reused).
    func isWatching(_ fd: Int32, by handler: any EventHandler) -> Bool {
        assertInLoop()
        return handlers[fd].map { $0 === handler } ?? false
    }

    private static func interest(writable: Bool) -> UInt32 {
        UInt32(OO_EVENT_IN | OO_EVENT_RDHUP | (writable ? OO_EVENT_OUT : 0))
    }

    /// Stops watching `fd` (the caller closes it).
    func deregister(_ fd: Int32) {
        assertInLoop()
        handlers[fd] = nil
        oo_epoll_ctl(epollFD, 2, fd, 0)
    }

    /// Runs `action` on the loop at `deadline` unless cancelled first.
    @discardableResult
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping () -> Void) -> LoopTimer {
        assertInLoop()
        let timer = LoopTimer(deadline: deadline, action: action)
        timers.push(timer)
        return timer
    }

    /// Calls `handler.flushAtEndOfIteration()` at the end of this loop iteration, after all
    /// reads and jobs (once per call: the handler keeps itself from asking twice).
    func flushAtEndOfIteration(_ handler: any EventHandler) {
        flushList.append(handler)
    }

    // MARK: The loop

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        // Named for `top -H`, debuggers and the stall reports (Linux allows 15 bytes).
        oo_set_thread_name(name)
        if let stallCounters { LoopStallWatchdog.shared.watch(self, stallCounters) }
        let stallThreshold = stallCounters?.thresholdNanoseconds ?? .max
        var events = [oo_event](repeating: oo_event(), count: 128)
        while true {
            let timeout = nextTimeoutMilliseconds()
            let count = events.withUnsafeMutableBufferPointer { buffer in
                oo_epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout)
            }
            // Stall accounting: from here to the end of the iteration the loop is busy.
            var busySince: Int64 = 0
            if let stallCounters {
                busySince = monotonicNanoseconds()
                stallCounters.busySince.store(busySince, ordering: .relaxed)
            }
            defer {
                if let stallCounters {
                    stallCounters.busySince.store(0, ordering: .relaxed)
                    let busy = monotonicNanoseconds() - busySince
                    if busy >= stallThreshold { stallCounters.recordEnded(loop: name, nanoseconds: busy) }
                }
            }
            if count > 0 {
                for index in 0..<Int(count) {
                    let event = events[index]
                    let fd = event.fd
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = read(wakeFD, &value, 8)
                        continue
                    }
                    if event.events & UInt32(OO_EVENT_IN | OO_EVENT_HUP | OO_EVENT_ERR | OO_EVENT_RDHUP) != 0 {
                        handlers[fd]?.handleReadable()
                    }
                    if event.events & UInt32(OO_EVENT_OUT) != 0 {
                        handlers[fd]?.handleWritable()
                    }
                }
            }
            runDueTimers()
            if runJobs() { break }
            runFlushes()
        }
        // Drain anything queued during shutdown so no task is left suspended forever; from
        // now on `enqueue` hands tasks to the global executor.
        _ = runJobs()
        runFlushes()
        let (late, onStopped) = queue.withLock { queue -> ([Job], [@Sendable () -> Void]) in
            queue.stopped = true
            defer { queue.jobs = []; queue.onStopped = [] }
            return (queue.jobs, queue.onStopped)
        }
        for job in late { Self.runElsewhere(job) }
        // Drop what still refers back to this loop (handlers of connections that were
        // never closed, timers' actions), so the loop and its descriptors are released.
        handlers.removeAll()
        timers = TimerHeap()
        flushList.removeAll()
        spareFlushList.removeAll()
        for action in onStopped { action() }
    }

    private func nextTimeoutMilliseconds() -> Int32 {
        let pending = queue.withLock { queue -> Bool in
            // `stopping` counts as work: `stop` does not signal the eventfd when a
            // wake-up is already marked pending, and that wake-up may have been consumed by
            // the iteration that is just ending.
            if queue.jobs.isEmpty, !queue.stopping {
                queue.wakePending = false
                return false
            }
            return true
        }
        if pending || !flushList.isEmpty { return 0 }
        guard let next = timers.peek() else { return -1 }
        let remaining = next.deadline - .now
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    private func runDueTimers() {
        let now = ContinuousClock.now
        while let timer = timers.peek(), timer.deadline <= now {
            _ = timers.pop()
            timer.action?()
        }
    }

    /// Runs queued jobs; true when the loop should stop.
    private func runJobs() -> Bool {
        // A few rounds, so a task resumed by a job runs in this iteration, but I/O is not starved.
        for _ in 0..<4 {
            // Take the queued jobs by swapping in the spare (empty) array.
            let stopping = queue.withLock { queue -> Bool in
                swap(&queue.jobs, &spareJobs)
                return queue.stopping
            }
            if spareJobs.isEmpty { return stopping }
            for job in spareJobs {
                switch job {
                case .closure(let closure): closure()
                case .task(let task): task.runSynchronously(on: asUnownedTaskExecutor())
                }
            }
            spareJobs.removeAll(keepingCapacity: spareJobs.capacity <= 4096)
        }
        return false
    }

    private func runFlushes() {
        while !flushList.isEmpty {
            swap(&flushList, &spareFlushList)
            for handler in spareFlushList { handler.flushAtEndOfIteration() }
            spareFlushList.removeAll(keepingCapacity: spareFlushList.capacity <= 4096)
        }
    }
}

/// A timer scheduled on an event loop; cancel it to keep it from firing.
final class LoopTimer {
    let deadline: ContinuousClock.Instant
    /// What to run; released on cancel, so a cancelled timer waiting in the heap for its
    /// deadline holds nothing it captured (a stream, a connection).
    private(set) var action: (() -> Void)?
    var cancelled: Bool { action == nil }

    init(deadline: ContinuousClock.Instant, action: @escaping () -> Void) {
        self.deadline = deadline
        self.action = action
    }

    func cancel() { action = nil }
}

/// A binary min-heap of timers by deadline.
struct TimerHeap {
    private var items: [LoopTimer] = []

    func peek() -> LoopTimer? { items.first }

    /// How many timers the heap holds, cancelled ones included.
    var count: Int { items.count }

    mutating func push(_ timer: LoopTimer) {
        // Cancelled timers leave the heap only when they come due. Calls with long
        // deadlines that finish early would pile them up, so whenever the heap doubles
        // past 1,024 entries it is rebuilt without them: amortized O(1) per push.
        if items.count >= 1024, items.count & (items.count - 1) == 0 {
            let live = items.filter { !$0.cancelled }
            items = []
            for item in live { insert(item) }
        }
        insert(timer)
    }

    private mutating func insert(_ timer: LoopTimer) {
        items.append(timer)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> LoopTimer? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left].deadline < items[smallest].deadline { smallest = left }
            if right < items.count, items[right].deadline < items[smallest].deadline { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// A fixed set of event loops; connections are spread across them round-robin.
final class EventLoopGroup: Sendable {
    let loops: [EventLoop]
    private let nextIndex = Atomic<Int>(0)

    init(count: Int, name: String, stallCounters: (Int) -> LoopStallCounters? = { _ in nil }) {
        loops = (0..<max(1, count)).map { EventLoop(name: "\(name)-\($0)", stallCounters: stallCounters($0)) }
        for loop in loops { loop.start() }
    }

    /// The next loop, round-robin.
    func next() -> EventLoop {
        loops[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop and returns once their threads have ended (blocking none).
    func shutdown() async {
        for loop in loops { await loop.stopped() }
    }
}

/// Runs `body` on a new detached thread (nobody joins it); what `body` captures lives
/// until it returns.
func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
    final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    let box = Unmanaged.passRetained(Body(body))
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
        return nil
    }, box.toOpaque())
    precondition(result == 0, "pthread_create failed: \(result)")
    pthread_detach(thread)
}
