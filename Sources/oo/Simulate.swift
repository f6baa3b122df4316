import ArgumentParser
import Foundation
import MeshRuntime
import OOMesh
import OOMeshHTTP2
import OOProcess

/// `oo simulate`: the main job. Simulated users live through days of tips via the gateway
/// over real RPC; at the end it prints the learning curve (done-rate per day of the active
/// policy against the random control cohort), per-hop latency percentiles, and writes the
/// curve as an SVG.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate users living with oO's tips; print the learning curve and latencies, write the curve as SVG.",
        discussion: """
            Without --gateway it starts its own mesh (as `oo up` does, with half of the users in \
            the random control cohort) under --data-dir and stops it at the end.
            """)

    @Option(help: "Simulated users.") var users = SimulationConfiguration().users
    @Option(help: "Simulated days.") var days = SimulationConfiguration().days
    @Option(name: .customLong("sessions-per-day"), help: "Tips each user asks for per day.") var sessionsPerDay = 6
    @Option(name: .customLong("tasks-per-user"), help: "Open tasks each user keeps.") var tasksPerUser = 30
    @Option(help: "Seed of the simulated world.") var seed: UInt64 = 7
    @Option(help: "Users simulated at once.") var concurrency = 8
    @Option(name: .customLong("data-dir"), help: "Where the mesh keeps its data and logs, and the chart goes.") var dataDirectory = "oo-simulation"
    @Flag(help: "Delete --data-dir first (only one oo simulate made), so the run starts from nothing.") var reset = false
    @Option(name: .customLong("base-port"), help: "The port of the mesh's gateway (the others follow it).") var basePort = 50061
    @Option(help: "Use the gateway already running at host:port (started with --simulation-clock) instead of starting a mesh.") var gateway: String?
    @Option(name: .customLong("jwt-secret-file"), help: "With --gateway: the gateway's HS256 secret file.") var jwtSecretFile: String?
    @Option(help: "Where to write the learning curve (default: <data-dir>/learning-curve.svg).") var chart: String?
    @Flag(name: .customLong("insecure-plaintext"), help: "Run the mesh plaintext h2c instead of mutual TLS (to compare their cost).")
    var insecurePlaintext = false
    @OptionGroup(title: "TLS to the gateway given with --gateway") var tls: ClientTLSOptions

    func validate() throws {
        guard users > 0, days > 0, sessionsPerDay > 0, tasksPerUser > 0, concurrency > 0 else {
            throw ValidationError("--users, --days, --sessions-per-day, --tasks-per-user and --concurrency must be positive.")
        }
        guard users <= 10_000, days <= 365, sessionsPerDay <= 48 else {
            throw ValidationError("At most 10,000 users, 365 days and 48 sessions a day.")
        }
        if gateway != nil && jwtSecretFile == nil {
            throw ValidationError("--gateway needs --jwt-secret-file (the secret the gateway verifies tokens with).")
        }
    }

    func run() async throws {
        try prepareDataDirectory()
        var simulation = SimulationConfiguration()
        simulation.users = users
        simulation.days = days
        simulation.sessionsPerDay = sessionsPerDay
        simulation.tasksPerUser = tasksPerUser
        simulation.seed = seed
        simulation.concurrency = concurrency

        let report: SimulationReport
        var processes: [(name: String, before: ProcessUsage, after: ProcessUsage)] = []
        if let gateway {
            let (host, port) = try parseAddress(gateway, for: "gateway")
            let secret = try String(contentsOfFile: jwtSecretFile!, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            report = try await Simulator(
                configuration: simulation, host: host, port: port, tls: try tls.configuration(), jwtSecret: Array(secret.utf8)
            ).run { print("oo simulate: \($0)") }
        } else {
            var mesh = meshConfiguration(dataDirectory: dataDirectory, basePort: basePort, controlShare: 0.5, insecurePlaintext: insecurePlaintext)
            // The simulated users live through days in minutes: the gateway takes their clock.
            mesh.extraArguments["gateway", default: []].append("--simulation-clock")
            // A simulated user lives a day in milliseconds: a per-user limit meant for people
            // calling in real time would refuse most of their calls.
            mesh.extraArguments["gateway", default: []] += ["--rate-limit", "1000000", "--rate-burst", "1000000"]
            let launcher = MeshLauncher(configuration: mesh)
            // Interrupted: exit at once; the services see their stdin lifeline close and stop.
            let signals = TerminationSignals { _ in
                print("oo simulate: interrupted; the mesh stops on its own")
                Foundation.exit(130)
            }
            defer { signals.cancel() }
            print("oo simulate: starting the mesh under \(dataDirectory)")
            let running = try await launcher.start { print("oo simulate: \($0)") }
            do {
                let secret = try String(contentsOfFile: launcher.jwtSecretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let layout = launcher.configuration.layout
                print("oo simulate: \(users) users, \(days) days, \(sessionsPerDay) tips a day each")
                let before = running.map { ProcessUsage.of(pid: $0.process.pid) }
                report = try await Simulator(
                    configuration: simulation, host: layout.host, port: layout.port(of: "gateway"), tls: launcher.operatorTLS,
                    jwtSecret: Array(secret.utf8)
                ).run { print("oo simulate: \($0)") }
                let after = running.map { ProcessUsage.of(pid: $0.process.pid) }
                processes = zip(running, zip(before, after)).compactMap { entry, usage in
                    guard let start = usage.0, let end = usage.1 else { return nil }
                    return (entry.service.name, start, end)
                }
            } catch {
                await MeshLauncher.stop(running, timeout: launcher.configuration.stopTimeout)
                throw error
            }
            await MeshLauncher.stop(running, timeout: launcher.configuration.stopTimeout)
            print("oo simulate: the mesh is stopped")
        }
        try printReport(report, processes: processes)
    }

    /// The marker file that makes a directory one `oo simulate` made (and may delete).
    static let marker = ".oo-simulation"

    /// A fresh data directory: a run on another run's data would start with a trained
    /// bandit and a history of tips. `--reset` deletes only a directory `oo simulate` made.
    private func prepareDataDirectory() throws {
        let manager = FileManager.default
        let contents = (try? manager.contentsOfDirectory(atPath: dataDirectory)) ?? []
        if gateway == nil && !contents.isEmpty {
            guard contents.contains(Self.marker) else {
                throw ValidationError("--data-dir \(dataDirectory) is not empty and was not made by oo simulate; pick another directory.")
            }
            guard reset else {
                throw ValidationError("--data-dir \(dataDirectory) holds an earlier run; add --reset to start over, or pick another directory.")
            }
            try manager.removeItem(atPath: dataDirectory)
        }
        try manager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        _ = manager.createFile(atPath: dataDirectory + "/" + Self.marker, contents: Data())
    }

    private func printReport(_ report: SimulationReport, processes: [(name: String, before: ProcessUsage, after: ProcessUsage)]) throws {
        let active = report.policies.filter { $0 != "random" }
        print("")
        print("Learning curve: done-rate of tips per day, by the policy that served them")
        let header = ["day"] + report.policies
        print(header.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
        for day in 0..<report.tips.count {
            let cells = report.policies.map { policy -> String in
                let shown = report.tips[day][policy] ?? 0
                guard shown > 0 else { return "-" }
                return String(format: "%5.1f%% (%d)", 100 * Double(report.done[day][policy] ?? 0) / Double(shown), shown)
            }
            print((["\(day + 1)"] + cells).map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
        }
        let window = min(3, max(1, report.tips.count / 3))
        let first = 0..<window
        let last = (report.tips.count - window)..<report.tips.count
        print("")
        for policy in report.policies {
            let early = report.doneRate(policy, days: first).map { String(format: "%.1f%%", 100 * $0) } ?? "-"
            let late = report.doneRate(policy, days: last).map { String(format: "%.1f%%", 100 * $0) } ?? "-"
            print("\(policy): first \(window) days \(early), last \(window) days \(late)")
        }
        if let policy = active.first, let mine = report.doneRate(policy, days: last), let control = report.doneRate("random", days: last) {
            print(String(format: "%@ vs random over the last %d days: %.1f%% vs %.1f%% done (%.2fx)", policy, window, 100 * mine, 100 * control, mine / max(control, 1e-9)))
        }
        print("")
        print("Latency per hop (ms)          p50      p90      p99    samples")
        for hop in report.latencies.keys.sorted() {
            let cells = [50.0, 90, 99].map { report.percentile(hop, $0).map { String(format: "%8.2f", $0) } ?? "       -" }
            print(hop.padding(toLength: 28, withPad: " ", startingAt: 0) + cells.joined(separator: " ") + String(format: "  %8d", report.latencies[hop]?.count ?? 0))
        }
        print("")
        let seconds = Double(report.elapsed.components.seconds) + Double(report.elapsed.components.attoseconds) / 1e18
        print(String(format: "%d calls in %.1f s (%.0f calls/s); failed: %@", report.calls, seconds, Double(report.calls) / max(seconds, 0.001),
                     report.failures.isEmpty ? "none" : report.failures.map { "\($0.key) ×\($0.value)" }.sorted().joined(separator: ", ")))
        for (failure, message) in report.failureExamples.sorted(by: { $0.key < $1.key }) {
            print("  \(failure), e.g.: \(message)")
        }
        if !processes.isEmpty {
            // Where the load's time went: CPU of each service while the users ran (of the
            // machine's cores × the run's length), its memory, and its context switches.
            print("")
            print("Processes during the load     CPU s   CPU %   RSS MiB   peak MiB   switches/call")
            for (name, before, after) in processes {
                let cpu = after.cpuSeconds - before.cpuSeconds
                print(name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(
                    format: "%7.1f  %6.1f  %8.1f  %9.1f  %14.1f", cpu, 100 * cpu / max(seconds, 0.001),
                    Double(after.residentBytes) / 1_048_576, Double(after.peakResidentBytes) / 1_048_576,
                    Double(after.contextSwitches - before.contextSwitches) / Double(max(report.calls, 1))))
            }
        }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
        let series = report.policies.enumerated().map { index, policy in
            LearningCurveChart.Series(
                label: policy == "random" ? "random (control cohort)" : "\(policy) (active policy)", values: report.doneRate(policy),
                color: policy == "random" ? "#7f7f7f" : colors[index % colors.count])
        }
        let path = chart ?? "\(dataDirectory)/learning-curve.svg"
        let svg = LearningCurveChart.svg(
            title: "oO tips: done-rate per day (\(users) simulated users, \(sessionsPerDay) tips a day)", series: series, days: report.tips.count)
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
        print("The learning curve is in \(path)")
        let failed = report.failures.values.reduce(0, +)
        if failed * 20 > report.calls {
            throw SettingsError(message: "More than 5% of the simulation's calls failed; see the service logs under \(dataDirectory)/logs.")
        }
    }
}
