import Foundation

/// A user's quiet hours: a window of local wall-clock time, in their time zone, in which
/// tips are not sent. A tip due inside the window is deferred to the window's end, never
/// dropped.
///
/// The window runs from `startMinute` to `endMinute` (minutes after local midnight,
/// `0..<1440`); `start == end` means no quiet hours, and `start > end` wraps midnight
/// (22:00–07:00 is the night from one evening to the next morning).
///
/// Each night's window is a pair of instants, computed from the time zone's real UTC
/// offsets (Foundation's `TimeZone`, so daylight-saving changes are right):
/// - it starts at the first instant the local clock reads `start` or later on that day,
///   and ends at the first instant it reads `end` or later on the day the window ends;
/// - so an end time that does not exist that day (skipped by a spring-forward change, e.g.
///   02:30 in Berlin on 2026-03-29) ends the window at the change itself (the clock jumps
///   from 02:00 to 03:00, past the end), and one that happens twice (a fall-back change)
///   ends it at its first occurrence; the window is never re-entered in the repeated hour.
///
/// ```swift
/// let quiet = try QuietHours(timeZoneIdentifier: "Europe/Berlin", startMinute: 22 * 60, endMinute: 7 * 60)
/// switch quiet.decision(atUnixMilliseconds: now) {
/// case .sendNow: …
/// case .deferUntil(let unixMilliseconds): …
/// }
/// ```
public struct QuietHours: Sendable, Hashable {
    /// The time zone the window is in.
    public let timeZone: TimeZone
    /// The window's start, in minutes after local midnight (0..<1440).
    public let startMinute: Int
    /// The window's end, in minutes after local midnight (0..<1440).
    public let endMinute: Int

    /// Minutes in a day: the bound on ``startMinute`` and ``endMinute``.
    public static let minutesPerDay = 1440

    /// No quiet hours, in UTC.
    public static let none = QuietHours(checkedTimeZone: TimeZone(secondsFromGMT: 0)!, startMinute: 0, endMinute: 0)

    /// Quiet hours in `timeZone` from `startMinute` to `endMinute`.
    /// - Throws: ``QuietHoursError`` when a minute is outside `0..<1440`.
    public init(timeZone: TimeZone, startMinute: Int, endMinute: Int) throws(QuietHoursError) {
        for (name, minute) in [("quiet_start_minute", startMinute), ("quiet_end_minute", endMinute)] {
            guard (0..<Self.minutesPerDay).contains(minute) else {
                throw QuietHoursError(
                    message: "\(name) must be a minute of the day in 0..<1440 (e.g. 1320 for 22:00), not \(minute).")
            }
        }
        self.init(checkedTimeZone: timeZone, startMinute: startMinute, endMinute: endMinute)
    }

    /// Quiet hours in the IANA time zone `timeZoneIdentifier` (e.g. "Europe/Berlin"; the
    /// empty string means UTC).
    /// - Throws: ``QuietHoursError`` when the time zone is unknown or a minute is outside
    ///   `0..<1440`.
    public init(timeZoneIdentifier: String, startMinute: Int, endMinute: Int) throws(QuietHoursError) {
        try self.init(timeZone: try Self.timeZone(identifier: timeZoneIdentifier), startMinute: startMinute, endMinute: endMinute)
    }

    private init(checkedTimeZone: TimeZone, startMinute: Int, endMinute: Int) {
        self.timeZone = checkedTimeZone
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// The time zone named `identifier` (an IANA name such as "America/New_York"; the empty
    /// string means UTC).
    /// - Throws: ``QuietHoursError`` when Foundation does not know the name.
    public static func timeZone(identifier: String) throws(QuietHoursError) -> TimeZone {
        if identifier.isEmpty { return TimeZone(secondsFromGMT: 0)! }
        guard let zone = TimeZone(identifier: identifier) else {
            throw QuietHoursError(
                message: "timezone '\(identifier)' is not a known IANA time zone; use a name like 'Europe/Berlin', 'America/New_York' or 'UTC' (names are case-sensitive).")
        }
        return zone
    }

    /// Whether there are no quiet hours (start == end).
    public var isEmpty: Bool { startMinute == endMinute }

    /// What to do with a tip at a given instant.
    public enum Decision: Sendable, Hashable {
        /// Outside quiet hours: send it.
        case sendNow
        /// Inside quiet hours: send it at this instant (milliseconds since the Unix epoch),
        /// the end of the window.
        case deferUntil(unixMilliseconds: Int64)
    }

    /// Whether a tip at `unixMilliseconds` (since the Unix epoch) is sent now or deferred to
    /// the end of the quiet window it falls in.
    public func decision(atUnixMilliseconds unixMilliseconds: Int64) -> Decision {
        guard !isEmpty else { return .sendNow }
        let second = Self.floorDivide(unixMilliseconds, 1000)
        let today = Self.floorDivide(wallClock(second), Self.secondsPerDay)
        // The windows that can contain the instant: the one starting the local day before
        // (wrapping into today), today's, and — only around odd offset changes — tomorrow's.
        for day in (today - 1)...(today + 1) {
            let start = firstInstant(localSecond: day * Self.secondsPerDay + Int64(startMinute) * 60)
            let endDay = startMinute < endMinute ? day : day + 1
            let end = firstInstant(localSecond: endDay * Self.secondsPerDay + Int64(endMinute) * 60)
            if start * 1000 <= unixMilliseconds && unixMilliseconds < end * 1000 {
                return .deferUntil(unixMilliseconds: end * 1000)
            }
        }
        return .sendNow
    }

    // MARK: - Local time arithmetic
    //
    // "Local seconds" count seconds since 1970-01-01 00:00 *on the local wall clock*:
    // an instant `u` (Unix seconds) reads `u + offset(u)` locally.

    private static let secondsPerDay: Int64 = 86_400

    /// The zone's UTC offset at Unix second `second`.
    private func offset(_ second: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(second))))
    }

    /// What the local clock reads at Unix second `second`, in local seconds.
    private func wallClock(_ second: Int64) -> Int64 { second + offset(second) }

    /// The first instant (Unix seconds) at which the local clock reads `localSecond` or later.
    ///
    /// Any instant reading `localSecond` lies within 14 hours before and 12 hours after it
    /// (the range of real UTC offsets), so the offsets in force around then are sampled;
    /// each gives a candidate, and the earliest that really reads `localSecond` wins (two
    /// do in a repeated hour). None does when the time was skipped: then it is the moment
    /// the clock jumped past it, found by bisection.
    private func firstInstant(localSecond: Int64) -> Int64 {
        var offsets: Set<Int64> = []
        var probe = localSecond - 15 * 3600
        while probe <= localSecond + 15 * 3600 {
            offsets.insert(offset(probe))
            probe += 1800
        }
        let exact = offsets.map { localSecond - $0 }.filter { wallClock($0) == localSecond }
        if let earliest = exact.min() { return earliest }
        // Skipped: before the change the clock reads less, after it more.
        guard var low = offsets.max().map({ localSecond - $0 }), var high = offsets.min().map({ localSecond - $0 }),
            low < high
        else { return localSecond - offset(localSecond) }
        // Invariant: wallClock(low) < localSecond <= wallClock(high).
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if wallClock(middle) >= localSecond { high = middle } else { low = middle }
        }
        return high
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// Quiet hours (or the time zone they are in) are invalid; `message` says which value and
/// what is allowed.
public struct QuietHoursError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What is wrong.
    public var message: String
    public var description: String { message }

    /// An error saying `message`.
    public init(message: String) { self.message = message }
}
