import Dispatch
import OOMesh
import Synchronization

/// How a ``LoadBalancedClientTransport`` picks the endpoint of each call.
public enum LoadBalancingPolicy: Sendable, Hashable {
    /// The first endpoint that is not failing; the others only when it fails.
    case pickFirst
    /// Each call to the next endpoint in turn, skipping those that are failing.
    case roundRobin
}

/// A client transport over every endpoint a target resolves to (``ResolverTarget``): one
/// ``HTTP2ClientTransport`` per endpoint, a call to the one the policy picks. Endpoints
/// whose last connection attempt failed (`transientFailure`) are skipped while others are
/// usable; a DNS target is resolved again every `reresolutionInterval` and soon after an
/// endpoint fails, so replicas that come and go are followed. Calls that fail on an
/// endpoint that died are retried elsewhere when the client's service config has a retry
/// policy for UNAVAILABLE (``ServiceConfiguration``).
public final class LoadBalancedClientTransport: ClientTransport {
    /// Settings; every default stated.
    public struct Configuration: Sendable, Hashable {
        /// Default round robin.
        public var policy: LoadBalancingPolicy = .roundRobin
        /// Each endpoint's transport settings (TLS, HTTP/2, backoff).
        public var endpoint: HTTP2ClientTransport.Configuration = .defaults
        /// How often a DNS target is resolved again. Default 30 s.
        public var reresolutionInterval: Duration = .seconds(30)
        /// The soonest a failing endpoint triggers another resolution. Default 2 s.
        public var minimumReresolutionInterval: Duration = .seconds(2)
        /// At most this many endpoints are used (the first ones resolved). Default 64.
        public var maxEndpoints = 64
        /// Client-side health checking: when set, each endpoint is asked
        /// `grpc.health.v1.Health/Check` for this service every `interval`, and endpoints
        /// answering NOT_SERVING (or SERVICE_UNKNOWN) are skipped while others are usable.
        /// A server without the health service (UNIMPLEMENTED) counts as healthy. Default nil.
        public var healthCheck: HealthCheck?

        /// What client-side health checking asks, and how often.
        public struct HealthCheck: Sendable, Hashable {
            /// The service name to ask about ("" for the server overall).
            public var serviceName: String
            /// Default 5 s.
            public var interval: Duration
            /// How long one check may take. Default 2 s.
            public var timeout: Duration

            public init(serviceName: String, interval: Duration = .seconds(5), timeout: Duration = .seconds(2)) {
                self.serviceName = serviceName
                self.interval = interval
                self.timeout = timeout
            }
        }

        public init() {}

        public static var defaults: Configuration { Configuration() }
    }

    /// One endpoint and its transport.
    private struct Subchannel: Sendable {
        let endpoint: ResolverTarget.Endpoint
        let transport: HTTP2ClientTransport
    }

    private struct State {
        var subchannels: [Subchannel] = []
        var next = 0
        var lastResolution = ContinuousClock.now
        var shuttingDown = false
        /// Why the last resolution failed, if it did.
        var resolutionError: String?
        /// Endpoints whose last health check said they are not serving.
        var unhealthy: Set<ResolverTarget.Endpoint> = []
        /// Transports removed by a resolution, or new ones, that `connect()` must run.
        var pendingRuns: [HTTP2ClientTransport] = []
        var runner: AsyncStream<HTTP2ClientTransport>.Continuation?
        /// The first resolution has finished (found endpoints or failed).
        var firstResolutionDone = false
        /// Calls waiting for it.
        var firstResolutionWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Where blocking name lookups run (off the loops and the cooperative pool).
    private static var resolverQueue: DispatchQueue { NameResolver.queue }

    public let target: ResolverTarget
    public let configuration: Configuration
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    /// A transport to `target` (a malformed target throws). A fixed list or a numeric
    /// address is used at once; a name is resolved in the background (never blocking the
    /// caller), and calls made meanwhile wait for that first answer. A name that does not
    /// resolve yet is not an error: calls fail with UNAVAILABLE saying why until a later
    /// resolution (periodic, or asked for by a failing call) finds endpoints.
    public init(target: String, configuration: Configuration = .defaults) throws {
        self.target = try ResolverTarget(target)
        self.configuration = configuration
        (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        if case .dns(let host, let port) = self.target.kind, Socket.numericAddress(host: host, port: port) == nil {
            Self.resolverQueue.async { [self] in resolve() }
        } else {
            resolve()
        }
    }

    /// Resolves the target and applies the result; a failure is remembered for the calls.
    /// Blocks for a name: only on ``resolverQueue`` then.
    private func resolve() {
        do {
            try apply(try target.resolve())
            state.withLock { $0.resolutionError = nil }
        } catch {
            state.withLock {
                $0.resolutionError = "\(error)"
                $0.lastResolution = .now
            }
        }
        let waiters = state.withLock { state in
            state.firstResolutionDone = true
            defer { state.firstResolutionWaiters = [] }
            return state.firstResolutionWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the first resolution has finished.
    private func firstResolution() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if !state.firstResolutionDone { state.firstResolutionWaiters.append(continuation) }
                return state.firstResolutionDone
            }
            if done { continuation.resume() }
        }
    }

    /// The endpoints in use now, in order.
    public var endpoints: [ResolverTarget.Endpoint] { state.withLock { $0.subchannels.map(\.endpoint) } }

    /// Each endpoint's connection state.
    public var connectionStates: [(endpoint: ResolverTarget.Endpoint, state: ConnectionState)] {
        state.withLock { $0.subchannels.map { ($0.endpoint, $0.transport.connectionState) } }
    }

    /// Replaces the endpoint list, keeping the transports of endpoints still present.
    private func apply(_ resolved: [ResolverTarget.Endpoint]) throws {
        let wanted = Array(resolved.prefix(configuration.maxEndpoints))
        guard !wanted.isEmpty else { return }  // keep the old list rather than none
        let existing = state.withLock { state in Dictionary(uniqueKeysWithValues: state.subchannels.map { ($0.endpoint, $0) }) }
        var fresh: [Subchannel] = []
        var started: [HTTP2ClientTransport] = []
        for endpoint in wanted {
            if let kept = existing[endpoint] {
                fresh.append(kept)
            } else {
                let transport = try HTTP2ClientTransport(host: endpoint.host, port: endpoint.port, configuration: configuration.endpoint)
                fresh.append(Subchannel(endpoint: endpoint, transport: transport))
                started.append(transport)
            }
        }
        let removed = existing.values.filter { !wanted.contains($0.endpoint) }.map(\.transport)
        let (runner, closed): (AsyncStream<HTTP2ClientTransport>.Continuation?, Bool) = state.withLock { state in
            // Shut down meanwhile: the new transports are not wanted.
            if state.shuttingDown { return (nil, true) }
            state.subchannels = fresh
            state.unhealthy.formIntersection(wanted)
            state.next = state.next % fresh.count
            state.lastResolution = .now
            if state.runner == nil { state.pendingRuns += started }
            return (state.runner, false)
        }
        if closed {
            for transport in started { transport.beginGracefulShutdown() }
            return
        }
        if let runner { for transport in started { runner.yield(transport) } }
        for transport in removed { transport.beginGracefulShutdown() }
    }

    public func connect() async throws {
        let (runs, runner) = AsyncStream<HTTP2ClientTransport>.makeStream()
        let pending: [HTTP2ClientTransport]? = state.withLock { state in
            guard state.runner == nil else { return nil }
            state.runner = runner
            defer { state.pendingRuns = [] }
            return state.pendingRuns
        }
        guard let pending else {
            throw RPCError(code: .failedPrecondition, message: "connect() runs once per transport; it is running already.")
        }
        for transport in pending { runner.yield(transport) }
        // Cancelled instead of shut down: shut down, so the endpoints' transports end.
        await withTaskCancellationHandler {
            await runAll(runs)
        } onCancel: {
            beginGracefulShutdown()
        }
    }

    /// Runs every endpoint's transport and, for a DNS target, the re-resolution.
    private func runAll(_ runs: AsyncStream<HTTP2ClientTransport>) async {
        await withTaskGroup(of: Void.self) { group in
            // Every endpoint's transport runs here, until it is shut down.
            group.addTask {
                await withTaskGroup(of: Void.self) { transports in
                    for await transport in runs {
                        transports.addTask { try? await transport.connect() }
                        if let check = self.configuration.healthCheck {
                            transports.addTask { [self] in await checkHealth(of: transport, check) }
                        }
                    }
                }
            }
            // Resolution again: periodically, and when an endpoint fails.
            if target.isDynamic {
                group.addTask { [self] in
                    while !Task.isCancelled && !state.withLock({ $0.shuttingDown }) {
                        try? await Task.sleep(for: configuration.reresolutionInterval)
                        wake.yield()
                    }
                }
                group.addTask { [self] in
                    for await _ in wakes {
                        if state.withLock({ $0.shuttingDown }) { break }
                        // getaddrinfo blocks (seconds, with a slow DNS server): not on the
                        // cooperative pool.
                        await withCheckedContinuation { continuation in
                            Self.resolverQueue.async {
                                self.resolve()
                                continuation.resume()
                            }
                        }
                    }
                }
            }
            await group.next()  // the transports' runner ends after shutdown
            group.cancelAll()
        }
    }

    public func beginGracefulShutdown() {
        let (subchannels, runner) = state.withLock { state in
            state.shuttingDown = true
            return (state.subchannels, state.runner)
        }
        for subchannel in subchannels { subchannel.transport.beginGracefulShutdown() }
        runner?.finish()
        wake.finish()
    }

    public func withStream<Result: Sendable>(
        descriptor: MethodDescriptor, options: CallOptions,
        _ body: (RPCStream<RPCResponsePart, RPCRequestPart>) async throws -> Result
    ) async throws -> Result {
        if !state.withLock({ $0.firstResolutionDone }) { await firstResolution() }
        let transport = try pick()
        return try await transport.withStream(descriptor: descriptor, options: options, body)
    }

    /// Asks `transport`'s endpoint for its health every `check.interval` until the transport
    /// shuts down, and records the endpoints that say they are not serving.
    private func checkHealth(of transport: HTTP2ClientTransport, _ check: Configuration.HealthCheck) async {
        let endpoint = ResolverTarget.Endpoint(host: transport.host, port: transport.port)
        let descriptor = MethodDescriptor(service: "grpc.health.v1.Health", method: "Check", kind: .unary)
        // HealthCheckRequest { string service = 1; }
        let name = Array(check.serviceName.utf8)
        var request: [UInt8] = name.isEmpty ? [] : [0x0A]
        if !name.isEmpty {
            var length = name.count
            while length >= 0x80 {
                request.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            request.append(UInt8(length))
            request += name
        }
        let interval = max(check.interval, .milliseconds(100))
        var timeouts = 0
        while !Task.isCancelled, transport.connectionState != .shutdown,
              state.withLock({ !$0.shuttingDown && $0.subchannels.contains { $0.transport === transport } }) {
            var serving: Bool?
            do {
                serving = try await transport.withStream(descriptor: descriptor, options: CallOptions(timeout: check.timeout)) { stream in
                    try await stream.outbound.write(.metadata([:]))
                    try await stream.outbound.write(.message(request, []))
                    await stream.outbound.finish()
                    var status: Int?
                    for try await part in stream.inbound {
                        switch part {
                        case .message(let bytes, _):
                            // HealthCheckResponse { ServingStatus status = 1; }: SERVING is 1.
                            status = bytes.count >= 2 && bytes[0] == 0x08 ? Int(bytes[1]) : 0
                        case .status(let code, _):
                            if code.code == .unimplemented { return true }
                            if code.code == .notFound { return false }
                            guard code.code == .ok else { return nil }
                        case .metadata:
                            break
                        }
                    }
                    return status.map { $0 == 1 }
                }
                timeouts = 0  // it answered
            } catch let error as RPCError where error.code == .deadlineExceeded {
                // Accepts connections but does not answer: three in a row and it is out.
                timeouts += 1
                serving = timeouts >= 3 ? false : nil
            } catch {
                serving = nil  // unreachable: the connection state says so already
            }
            state.withLock { state in
                // Only for the endpoint's current transport (a removed one must not speak).
                guard state.subchannels.contains(where: { $0.transport === transport }) else { return }
                if serving == false { state.unhealthy.insert(endpoint) } else if serving == true { state.unhealthy.remove(endpoint) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// The endpoint for the next call under the policy, skipping failing ones while another
    /// is usable; a failing one asks for an early resolution.
    private func pick() throws -> HTTP2ClientTransport {
        let (picked, anyFailing, resolveSoon) = state.withLock { state -> (HTTP2ClientTransport?, Bool, Bool) in
            let count = state.subchannels.count
            guard !state.shuttingDown else { return (nil, false, false) }
            guard count > 0 else {
                return (nil, true, ContinuousClock.now - state.lastResolution > configuration.minimumReresolutionInterval)
            }
            let connections = state.subchannels.map(\.transport.connectionState)
            let healthy = state.subchannels.map { !state.unhealthy.contains($0.endpoint) }
            let usable = { (index: Int) -> Bool in
                healthy[index] && connections[index] != .transientFailure && connections[index] != .shutdown
            }
            let failing = (0..<count).contains { !usable($0) }
            let soon = failing && ContinuousClock.now - state.lastResolution > configuration.minimumReresolutionInterval
            switch configuration.policy {
            case .pickFirst:
                let index = (0..<count).first(where: usable) ?? 0
                return (state.subchannels[index].transport, failing, soon)
            case .roundRobin:
                for offset in 0..<count {
                    let index = (state.next + offset) % count
                    if usable(index) {
                        state.next = (index + 1) % count
                        return (state.subchannels[index].transport, failing, soon)
                    }
                }
                // Every endpoint is failing: try the next anyway (it fails fast or reconnects).
                let index = state.next % count
                state.next = (index + 1) % count
                return (state.subchannels[index].transport, failing, soon)
            }
        }
        if anyFailing && resolveSoon { wake.yield() }
        guard let picked else {
            let why = state.withLock { $0.shuttingDown ? "the client is shutting down" : ($0.resolutionError ?? "it resolved to no address") }
            throw RPCError(code: .unavailable, message: "No endpoint for \(target): \(why).")
        }
        return picked
    }
}
