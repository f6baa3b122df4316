import Synchronization

/// Waits until `condition` holds, polling; false if it still does not after `timeout`.
///
/// Used where a test must see something happen on another task (a handler starting, a
/// suspended sender resuming) without hanging forever when it never does.
func eventually(
    within timeout: Duration = .seconds(10), _ condition: @Sendable () -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}

/// Holds true for the whole of `period`: a negative check ("the sender is still suspended").
func stays(for period: Duration = .milliseconds(150), _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + period
    while ContinuousClock.now < deadline {
        if !condition() { return false }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}

/// A value set once by another task and read by the test.
final class Box<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    init() {}

    var value: Value? { storage.withLock { $0 } }
    var isSet: Bool { value != nil }

    func set(_ value: Value) { storage.withLock { $0 = value } }
}

/// Runs `operation` in an unstructured task and records its outcome in a box, so a test can
/// wait for it with a timeout instead of hanging when it never finishes.
func started<Value: Sendable>(
    _ operation: @escaping @Sendable () async throws -> Value
) -> (task: Task<Void, Never>, outcome: Box<Result<Value, any Error>>) {
    let outcome = Box<Result<Value, any Error>>()
    let task = Task {
        do { outcome.set(.success(try await operation())) } catch { outcome.set(.failure(error)) }
    }
    return (task, outcome)
}
