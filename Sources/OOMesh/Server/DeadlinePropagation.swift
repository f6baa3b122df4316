extension ServerContext {
    /// Call options for a call this handler makes on its caller's behalf: its timeout is the
    /// caller's remaining time less `margin` (time to answer the caller after the inner call
    /// returns), and at most `limit`. So a fan-out never outlives the call that caused it.
    ///
    /// Throws DEADLINE_EXCEEDED when less than `margin` is left.
    public func callOptions(limit: Duration, margin: Duration = .milliseconds(20)) throws -> CallOptions {
        guard let remaining = remainingTime else { return CallOptions(timeout: limit) }
        let budget = remaining - margin
        guard budget > .zero else {
            throw RPCError(code: .deadlineExceeded, message: "The caller's deadline leaves no time for \(descriptor.method)'s downstream calls.")
        }
        return CallOptions(timeout: min(budget, limit))
    }
}
