import Foundation
import GatewayProtos
import OOAuth
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf

/// How a simulation runs. Every field has a documented default.
public struct SimulationConfiguration: Sendable, Hashable {
    /// Simulated users. Default 60.
    public var users = 60
    /// Simulated days. Default 21.
    public var days = 21
    /// Times a day each user asks for a tip (at random waking hours). Default 6.
    public var sessionsPerDay = 6
    /// Open tasks each user keeps (a done task is replaced by a new one). Default 30.
    public var tasksPerUser = 30
    /// Share of each user's open tasks they finish or drop outside oO each day (replaced by
    /// new ones), so the to-do list keeps changing as real ones do. Default 0.2.
    public var dailyChurn = 0.2
    /// Seed of every random choice. Default 7.
    public var seed: UInt64 = 7
    /// Users simulated at once. Default 8.
    public var concurrency = 8
    /// The first simulated day, midnight UTC. Default Monday 2026-12-07.
    public var start = Date(timeIntervalSince1970: 1_796_601_600)
    /// The token issuer and audience the gateway expects. Defaults `oo-dev`, `oo-gateway`.
    public var issuer = "oo-dev"
    public var audience = "oo-gateway"
    /// The deadline of each call. Default 10 s.
    public var callTimeout: Duration = .seconds(10)

    public init() {}
}

/// What a simulation measured.
public struct SimulationReport: Sendable {
    /// Per day: tips served and done, by the policy that served them.
    public var tips: [[String: Int]]
    public var done: [[String: Int]]
    /// Latency samples in microseconds by hop: `client→gateway` (GetNextTip as the
    /// simulated app saw it), `react` and the gateway's downstream hops from `oo-hop-us`.
    public var latencies: [String: [Int64]]
    /// Failed calls by method and status code, and the first message of each.
    public var failures: [String: Int]
    public var failureExamples: [String: String] = [:]
    public var calls: Int
    public var elapsed: Duration

    /// Done-rate per day of `policy` (nil on days it served nothing).
    public func doneRate(_ policy: String) -> [Double?] {
        zip(tips, done).map { tips, done in
            let shown = tips[policy] ?? 0
            return shown == 0 ? nil : Double(done[policy] ?? 0) / Double(shown)
        }
    }

    /// Done-rate of `policy` over days `range` (0-based).
    public func doneRate(_ policy: String, days range: Range<Int>) -> Double? {
        let shown = range.reduce(0) { $0 + (tips[$1][policy] ?? 0) }
        let doneCount = range.reduce(0) { $0 + (done[$1][policy] ?? 0) }
        return shown == 0 ? nil : Double(doneCount) / Double(shown)
    }

    /// The `q`-th percentile (0-100) of a hop's latencies, in milliseconds.
    public func percentile(_ hop: String, _ q: Double) -> Double? {
        guard let samples = latencies[hop], !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let index = min(sorted.count - 1, max(0, Int((q / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[index]) / 1000
    }

    /// The policies that served tips.
    public var policies: [String] { Set(tips.flatMap(\.keys)).sorted() }
}

/// Simulated users living through days of tips against a running gateway, over real gRPC:
/// they import tasks, set their timezone, ask for tips at random waking hours, and do,
/// snooze or dismiss each according to hidden preferences. The recommender's learning shows
/// as a rising done-rate of the bandit's tips against the random control cohort's.
public struct Simulator: Sendable {
    public let configuration: SimulationConfiguration
    private let host: String
    private let port: Int
    private let signer: JWTSigner
    private let tls: ClientTLSConfiguration?

    /// A simulator calling the gateway at `host:port` (over TLS when `tls` is given),
    /// minting tokens with `jwtSecret`.
    public init(configuration: SimulationConfiguration, host: String, port: Int, tls: ClientTLSConfiguration? = nil, jwtSecret: [UInt8]) throws {
        self.configuration = configuration
        self.host = host
        self.port = port
        self.tls = tls
        self.signer = try JWTSigner(hs256Secret: jwtSecret)
    }

    /// Runs the simulation; `progress` gets a line per simulated day.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> SimulationReport {
        var random = SeededGenerator(seed: configuration.seed)
        var users = SimulatedWorld.makeUsers(count: configuration.users, tasksEach: configuration.tasksPerUser, using: &random)
        let started = ContinuousClock.now
        var report = SimulationReport(tips: [], done: [], latencies: [:], failures: [:], calls: 0, elapsed: .zero)
        var transportConfiguration = HTTP2ClientTransport.Configuration.defaults
        transportConfiguration.tls = tls
        let transport = try HTTP2ClientTransport(host: host, port: port, configuration: transportConfiguration)
        try await withGRPCClient(transport: transport) { client in
            let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
            // Day 0: every user sets up.
            try await forEachUser(&users) { user, _, log in
                try await setUp(&user, gateway: gateway, log: &log)
            } merge: { report.merge($0) }
            for day in 0..<configuration.days {
                var dayLog = UserLog()
                let seeds = (0..<users.count).map { _ in random.next() }
                try await forEachUser(&users) { user, index, log in
                    var userRandom = SeededGenerator(seed: seeds[index])
                    try await live(day: day, user: &user, gateway: gateway, random: &userRandom, log: &log)
                } merge: { dayLog.merge($0) }
                report.tips.append(dayLog.tips)
                report.done.append(dayLog.done)
                report.merge(dayLog)
                let rates = dayLog.tips.keys.sorted().map { policy in
                    String(format: "%@ %.1f%% of %d", policy, 100 * Double(dayLog.done[policy] ?? 0) / Double(max(1, dayLog.tips[policy] ?? 0)), dayLog.tips[policy] ?? 0)
                }
                progress("day \(day + 1)/\(configuration.days): " + rates.joined(separator: ", ") + (dayLog.failures.isEmpty ? "" : ", failures \(dayLog.failures)"))
            }
        }
        report.elapsed = ContinuousClock.now - started
        return report
    }

    /// What one user's calls produced.
    struct UserLog: Sendable {
        var tips: [String: Int] = [:]
        var done: [String: Int] = [:]
        var latencies: [String: [Int64]] = [:]
        var failures: [String: Int] = [:]
        var failureExamples: [String: String] = [:]
        var calls = 0

        mutating func merge(_ other: UserLog) {
            failureExamples.merge(other.failureExamples) { first, _ in first }
            tips.merge(other.tips, uniquingKeysWith: +)
            done.merge(other.done, uniquingKeysWith: +)
            latencies.merge(other.latencies, uniquingKeysWith: +)
            failures.merge(other.failures, uniquingKeysWith: +)
            calls += other.calls
        }
    }

    /// Runs `body` for every user, `concurrency` at a time, and merges their logs.
    private func forEachUser(
        _ users: inout [SimulatedWorld.User],
        _ body: @escaping @Sendable (inout SimulatedWorld.User, Int, inout UserLog) async throws -> Void,
        merge: (UserLog) -> Void
    ) async throws {
        let snapshot = users
        try await withThrowingTaskGroup(of: (Int, SimulatedWorld.User, UserLog).self) { group in
            var next = 0
            func launch() {
                guard next < snapshot.count else { return }
                let index = next
                var user = snapshot[index]
                next += 1
                group.addTask {
                    var log = UserLog()
                    try await body(&user, index, &log)
                    return (index, user, log)
                }
            }
            for _ in 0..<max(1, configuration.concurrency) { launch() }
            while let (index, user, log) = try await group.next() {
                users[index] = user
                merge(log)
                launch()
            }
        }
    }

    private func metadata(for user: SimulatedWorld.User) throws -> Metadata {
        let token = try signer.sign(
            subject: user.id, issuer: configuration.issuer, audience: configuration.audience,
            expiresAt: Date().addingTimeInterval(3600), issuedAt: Date())
        return ["authorization": .string("Bearer \(token)")]
    }

    private func setUp(_ user: inout SimulatedWorld.User, gateway: Oo_Gateway_V1_Gateway_Client, log: inout UserLog) async throws {
        let metadata = try metadata(for: user)
        let options = CallOptions(timeout: configuration.callTimeout)
        let timeZone = user.timeZone
        try await record(&log, "setup") {
            _ = try await gateway.updatePreferences(.with {
                $0.preferences = .with {
                    $0.timezone = timeZone
                    $0.quietStartMinute = 23 * 60
                    $0.quietEndMinute = 7 * 60
                    $0.channels = ["log"]
                }
            }, metadata: metadata, options: options)
        }
        let json = SimulatedWorld.todoistJSON(Array(user.tasks.values).sorted { $0.id < $1.id })
        try await record(&log, "setup") {
            _ = try await gateway.importTasks(.with { $0.tasksJson = json }, metadata: metadata, options: options)
        }
    }

    /// One simulated day of one user.
    private func live(
        day: Int, user: inout SimulatedWorld.User, gateway: Oo_Gateway_V1_Gateway_Client, random: inout SeededGenerator,
        log: inout UserLog
    ) async throws {
        let metadata = try metadata(for: user)
        let options = CallOptions(timeout: configuration.callTimeout)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: user.timeZone) ?? TimeZone(identifier: "UTC")!
        let dayStart = calendar.startOfDay(for: configuration.start.addingTimeInterval(Double(day) * 86_400 + 43_200))
        // Overnight, some tasks are finished or dropped elsewhere and new ones arrive.
        let churned = user.tasks.values.sorted { $0.id < $1.id }.filter { _ in Double.random(in: 0..<1, using: &random) < configuration.dailyChurn }
        if !churned.isEmpty {
            var fresh: [SimulatedWorld.Task] = []
            for task in churned {
                user.tasks[task.id] = nil
                fresh.append(SimulatedWorld.addTask(to: &user, using: &random))
            }
            let json = SimulatedWorld.todoistJSON(fresh, checked: churned)
            _ = try await record(&log, "ImportTasks") {
                try await gateway.importTasks(.with { $0.tasksJson = json }, metadata: metadata, options: options)
            }
        }
        let minutes = (0..<configuration.sessionsPerDay).map { _ in Int.random(in: (7 * 60)..<(22 * 60), using: &random) }.sorted()
        for minute in minutes {
            let at = dayStart.addingTimeInterval(Double(minute) * 60)
            let atMS = Int64(at.timeIntervalSince1970 * 1000)
            let hour = calendar.component(.hour, from: at)
            let started = ContinuousClock.now
            guard let (response, trailers) = try await record(&log, "GetNextTip", {
                try await gateway.getNextTip(.with { $0.atUnixMs = atMS }, metadata: metadata, options: options) {
                    ($0.message, $0.trailingMetadata)
                }
            }) else { continue }
            log.latencies["client→gateway", default: []].append(Self.microseconds(ContinuousClock.now - started))
            for hop in (trailers.firstString(forKey: "oo-hop-us") ?? "").split(separator: ",") {
                let parts = hop.split(separator: "=")
                if parts.count == 2, let value = Int64(parts[1]) { log.latencies["gateway→\(parts[0])", default: []].append(value) }
            }
            let tip = response.tip
            guard let task = user.tasks[tip.taskID] else { continue }
            let doneIt = Double.random(in: 0..<1, using: &random) < user.doneProbability(task, hour: hour)
            let reaction: Oo_Gateway_V1_Reaction = doneIt ? .done : (Bool.random(using: &random) ? .snooze : .dismiss)
            let reactStarted = ContinuousClock.now
            let reacted = try await record(&log, "React") {
                try await gateway.react(.with {
                    $0.tipID = tip.tipID
                    $0.reaction = reaction
                    $0.atUnixMs = atMS + 60_000
                }, metadata: metadata, options: options)
            }
            guard reacted != nil else { continue }
            log.latencies["client→gateway React", default: []].append(Self.microseconds(ContinuousClock.now - reactStarted))
            log.tips[tip.policy, default: 0] += 1
            if doneIt {
                log.done[tip.policy, default: 0] += 1
                user.tasks[task.id] = nil
                let fresh = SimulatedWorld.addTask(to: &user, recurring: task, using: &random)
                let json = SimulatedWorld.todoistJSON([fresh])
                _ = try await record(&log, "ImportTasks") {
                    try await gateway.importTasks(.with { $0.tasksJson = json }, metadata: metadata, options: options)
                }
            }
        }
    }

    /// Runs one call, counting it; an RPC failure is counted by its code and gives nil.
    @discardableResult
    private func record<Value: Sendable>(_ log: inout UserLog, _ method: String, _ body: () async throws -> Value) async throws -> Value? {
        log.calls += 1
        do {
            return try await body()
        } catch let error as RPCError {
            log.failures["\(method) \(error.code)", default: 0] += 1
            if log.failureExamples["\(method) \(error.code)"] == nil {
                log.failureExamples["\(method) \(error.code)"] = error.message
            }
            return nil
        }
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}

extension SimulationReport {
    mutating func merge(_ log: Simulator.UserLog) {
        latencies.merge(log.latencies, uniquingKeysWith: +)
        failures.merge(log.failures, uniquingKeysWith: +)
        failureExamples.merge(log.failureExamples) { first, _ in first }
        calls += log.calls
    }
}
