import Foundation

/// A process's CPU time and memory, read from /proc: what `oo simulate` reports per service
/// so a load run shows where the time went.
public struct ProcessUsage: Sendable, Hashable {
    /// User plus system CPU time so far, in seconds.
    public var cpuSeconds: Double
    /// Resident memory now, in bytes.
    public var residentBytes: Int
    /// The most resident memory it has had, in bytes (VmHWM).
    public var peakResidentBytes: Int
    /// Voluntary plus involuntary context switches so far, of every thread.
    public var contextSwitches: Int

    /// The usage of process `pid` now; nil when it cannot be read (it has exited).
    public static func of(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3; utime and
        // stime are fields 14 and 15, in clock ticks.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func kilobytes(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        var switches = 0
        if let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            for task in tasks {
                guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
                    switches += Int(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "0") ?? 0
                }
            }
        }
        return ProcessUsage(
            cpuSeconds: (user + system) / ticks, residentBytes: kilobytes("VmRSS") * 1024,
            peakResidentBytes: kilobytes("VmHWM") * 1024, contextSwitches: switches)
    }
}
