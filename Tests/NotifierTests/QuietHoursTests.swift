import Foundation
import Notifier
import Testing

/// The quiet-hours decision as a pure function: midnight wrap, daylight-saving changes in
/// both directions (Europe/Berlin and America/New_York, 2026), end and start times that a
/// change skips or repeats.
@Suite("Quiet hours")
struct QuietHoursTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var zone: String
        var start: String  // "HH:MM", local
        var end: String
        var at: String  // ISO 8601, UTC
        var expected: String?  // nil: send now; else the instant (UTC) it is deferred to
        var note: String

        var testDescription: String { "\(note): \(zone) \(start)–\(end) at \(at)" }
    }

    static func minute(_ hhmm: String) -> Int {
        let parts = hhmm.split(separator: ":").map { Int($0)! }
        return parts[0] * 60 + parts[1]
    }

    static let cases: [Case] = [
        // Midnight wrap, UTC.
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-01T21:59:59.999Z", expected: nil, note: "just before the window"),
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-01T22:00:00Z", expected: "2026-06-02T07:00:00Z", note: "at the start"),
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-01T23:30:00Z", expected: "2026-06-02T07:00:00Z", note: "evening, before midnight"),
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-02T00:00:00Z", expected: "2026-06-02T07:00:00Z", note: "at midnight"),
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-02T06:59:59.999Z", expected: "2026-06-02T07:00:00Z", note: "last millisecond"),
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-02T07:00:00Z", expected: nil, note: "at the end"),
        Case(zone: "UTC", start: "22:00", end: "07:00", at: "2026-06-02T12:00:00Z", expected: nil, note: "midday"),
        Case(zone: "UTC", start: "00:00", end: "06:00", at: "2026-06-02T00:00:00Z", expected: "2026-06-02T06:00:00Z", note: "a window starting at midnight"),
        Case(zone: "UTC", start: "20:00", end: "00:00", at: "2026-06-02T23:59:00Z", expected: "2026-06-03T00:00:00Z", note: "a window ending at midnight"),
        // Not wrapping.
        Case(zone: "UTC", start: "13:00", end: "14:00", at: "2026-06-02T12:59:00Z", expected: nil, note: "before a daytime window"),
        Case(zone: "UTC", start: "13:00", end: "14:00", at: "2026-06-02T13:30:00Z", expected: "2026-06-02T14:00:00Z", note: "inside a daytime window"),
        Case(zone: "UTC", start: "13:00", end: "14:00", at: "2026-06-02T14:00:00Z", expected: nil, note: "after a daytime window"),
        // No quiet hours.
        Case(zone: "Europe/Berlin", start: "10:00", end: "10:00", at: "2026-06-02T08:00:00Z", expected: nil, note: "start == end is none"),
        // A fixed offset that is not whole hours: India, +05:30.
        Case(zone: "Asia/Kolkata", start: "22:00", end: "07:00", at: "2026-06-01T17:00:00Z", expected: "2026-06-02T01:30:00Z", note: "half-hour offset"),

        // Berlin, spring forward 2026-03-29 at 01:00 UTC (02:00 CET → 03:00 CEST): the night is an hour shorter.
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-03-28T20:59:00Z", expected: nil, note: "Berlin spring: 21:59 CET"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-03-28T21:00:00Z", expected: "2026-03-29T05:00:00Z", note: "Berlin spring: 22:00 CET → 07:00 CEST"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-03-29T00:59:59Z", expected: "2026-03-29T05:00:00Z", note: "Berlin spring: just before the change"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-03-29T01:00:00Z", expected: "2026-03-29T05:00:00Z", note: "Berlin spring: at the change"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-03-29T05:00:00Z", expected: nil, note: "Berlin spring: 07:00 CEST"),
        // The end, 02:30, does not exist that night: the window ends when the clock jumps past it.
        Case(zone: "Europe/Berlin", start: "22:00", end: "02:30", at: "2026-03-29T00:30:00Z", expected: "2026-03-29T01:00:00Z", note: "Berlin spring: end in the skipped hour"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "02:30", at: "2026-03-29T01:00:00Z", expected: nil, note: "Berlin spring: 03:00 CEST is past a skipped end"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "02:30", at: "2026-03-30T00:15:00Z", expected: "2026-03-30T00:30:00Z", note: "Berlin: the next night ends at 02:30 CEST"),
        // The start, 02:15, does not exist: the window starts at the jump.
        Case(zone: "Europe/Berlin", start: "02:15", end: "06:00", at: "2026-03-29T00:59:00Z", expected: nil, note: "Berlin spring: before a skipped start"),
        Case(zone: "Europe/Berlin", start: "02:15", end: "06:00", at: "2026-03-29T01:00:00Z", expected: "2026-03-29T04:00:00Z", note: "Berlin spring: a skipped start begins at the jump"),
        // A window wholly in the skipped hour does not happen that night.
        Case(zone: "Europe/Berlin", start: "02:10", end: "02:50", at: "2026-03-29T01:00:00Z", expected: nil, note: "Berlin spring: window inside the skipped hour"),

        // Berlin, fall back 2026-10-25 at 01:00 UTC (03:00 CEST → 02:00 CET): the night is an hour longer.
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-10-24T19:59:00Z", expected: nil, note: "Berlin fall: 21:59 CEST"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-10-24T20:00:00Z", expected: "2026-10-25T06:00:00Z", note: "Berlin fall: 22:00 CEST → 07:00 CET"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-10-25T01:30:00Z", expected: "2026-10-25T06:00:00Z", note: "Berlin fall: in the repeated hour"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "07:00", at: "2026-10-25T06:00:00Z", expected: nil, note: "Berlin fall: 07:00 CET"),
        // The end, 02:30, happens twice: the window ends at the first and is not re-entered.
        Case(zone: "Europe/Berlin", start: "22:00", end: "02:30", at: "2026-10-25T00:10:00Z", expected: "2026-10-25T00:30:00Z", note: "Berlin fall: end at its first occurrence"),
        Case(zone: "Europe/Berlin", start: "22:00", end: "02:30", at: "2026-10-25T01:10:00Z", expected: nil, note: "Berlin fall: 02:10 CET, the second time round"),

        // New York, spring forward 2026-03-08 at 07:00 UTC (02:00 EST → 03:00 EDT).
        Case(zone: "America/New_York", start: "23:00", end: "06:00", at: "2026-03-08T04:00:00Z", expected: "2026-03-08T10:00:00Z", note: "New York spring: 23:00 EST → 06:00 EDT"),
        Case(zone: "America/New_York", start: "23:00", end: "06:00", at: "2026-03-08T09:59:00Z", expected: "2026-03-08T10:00:00Z", note: "New York spring: 05:59 EDT"),
        Case(zone: "America/New_York", start: "01:00", end: "02:30", at: "2026-03-08T06:30:00Z", expected: "2026-03-08T07:00:00Z", note: "New York spring: end in the skipped hour"),
        // New York, fall back 2026-11-01 at 06:00 UTC (02:00 EDT → 01:00 EST).
        Case(zone: "America/New_York", start: "23:00", end: "06:00", at: "2026-11-01T03:00:00Z", expected: "2026-11-01T11:00:00Z", note: "New York fall: 23:00 EDT → 06:00 EST"),
        Case(zone: "America/New_York", start: "01:00", end: "01:30", at: "2026-11-01T05:10:00Z", expected: "2026-11-01T05:30:00Z", note: "New York fall: first 01:10 EDT"),
        Case(zone: "America/New_York", start: "01:00", end: "01:30", at: "2026-11-01T06:10:00Z", expected: nil, note: "New York fall: 01:10 EST, the second time round"),
    ]

    @Test("decides send now or defer to the window's end", arguments: cases)
    func decision(_ example: Case) throws {
        let quiet = try QuietHours(timeZoneIdentifier: example.zone, startMinute: Self.minute(example.start), endMinute: Self.minute(example.end))
        let decision = quiet.decision(atUnixMilliseconds: unixMS(example.at))
        switch (decision, example.expected) {
        case (.sendNow, nil):
            break
        case (.deferUntil(let until), let expected?):
            #expect(isoUTC(until) == isoUTC(unixMS(expected)), "\(example.testDescription)")
        default:
            Issue.record("\(example.testDescription): got \(decision), expected \(example.expected.map { "defer until \($0)" } ?? "send now")")
        }
    }

    @Test("a deferred tip is always due later than it was, and sending at the due time is allowed")
    func deferredIsNeverDropped() throws {
        // Every 7 minutes across both Berlin changes: a deferral moves forward, and at the
        // deferred-to instant the tip is sent.
        for (start, end) in [(22 * 60, 7 * 60), (22 * 60, 150), (120, 180), (0, 1439)] {
            let quiet = try QuietHours(timeZoneIdentifier: "Europe/Berlin", startMinute: start, endMinute: end)
            for base in [unixMS("2026-03-28T12:00:00Z"), unixMS("2026-10-24T12:00:00Z")] {
                for step in 0..<(48 * 60 / 7) {
                    let at = base + Int64(step) * 7 * 60_000
                    guard case .deferUntil(let until) = quiet.decision(atUnixMilliseconds: at) else { continue }
                    #expect(until > at)
                    #expect(until - at <= 25 * 3_600_000)
                    #expect(quiet.decision(atUnixMilliseconds: until) == .sendNow, "\(start)–\(end) at \(isoUTC(at)) → \(isoUTC(until))")
                }
            }
        }
    }

    @Test("an unknown time zone is refused, naming it")
    func unknownTimeZone() {
        #expect(throws: QuietHoursError.self) { try QuietHours(timeZoneIdentifier: "Mars/Olympus_Mons", startMinute: 0, endMinute: 60) }
        do {
            _ = try QuietHours(timeZoneIdentifier: "Europe/berlin", startMinute: 0, endMinute: 60)
            Issue.record("a wrongly cased zone was accepted")
        } catch {
            #expect(error.message.contains("'Europe/berlin'"))
            #expect(error.message.contains("IANA"))
        }
    }

    @Test("minutes outside 0..<1440 are refused", arguments: [(-1, 0), (0, 1440), (1440, 0), (0, -30), (100_000, 5)])
    func minutesOutOfRange(_ minutes: (Int, Int)) {
        do {
            _ = try QuietHours(timeZoneIdentifier: "UTC", startMinute: minutes.0, endMinute: minutes.1)
            Issue.record("\(minutes) was accepted")
        } catch {
            #expect(error.message.contains("0..<1440"))
        }
    }

    @Test("an empty time zone means UTC")
    func emptyTimeZoneIsUTC() throws {
        let quiet = try QuietHours(timeZoneIdentifier: "", startMinute: 22 * 60, endMinute: 7 * 60)
        #expect(quiet.decision(atUnixMilliseconds: unixMS("2026-06-01T23:00:00Z")) == .deferUntil(unixMilliseconds: unixMS("2026-06-02T07:00:00Z")))
    }
}

@Suite("Retry backoff")
struct RetryBackoffTests {
    @Test("doubles from the initial wait up to the maximum")
    func exponential() {
        let backoff = RetryBackoff(initial: .seconds(1), maximum: .seconds(300), jitter: 0)
        let waits = (1...12).map { backoff.delayMilliseconds(afterFailedAttempts: $0, random: 0.5) }
        #expect(waits == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000])
        #expect(backoff.delayMilliseconds(afterFailedAttempts: 10_000) == 300_000)
    }

    @Test("jitter takes off at most its fraction")
    func jitter() {
        let backoff = RetryBackoff.defaults
        #expect(backoff.delayMilliseconds(afterFailedAttempts: 3, random: 0) == 4_000)
        #expect(backoff.delayMilliseconds(afterFailedAttempts: 3, random: 0.5) == 3_600)
        for _ in 0..<100 {
            let wait = backoff.delayMilliseconds(afterFailedAttempts: 20)
            #expect((240_000...300_000).contains(wait))
        }
    }

    @Test("configuration bounds are checked")
    func configurationBounds() {
        #expect(throws: Never.self) { try NotifierConfiguration.defaults.validate() }
        var configuration = NotifierConfiguration()
        configuration.retryBackoff = RetryBackoff(initial: .seconds(10), maximum: .seconds(1))
        #expect(throws: NotifierConfigurationError.self) { try configuration.validate() }
        configuration = NotifierConfiguration()
        configuration.defaultDeliveriesListed = 600
        #expect(throws: NotifierConfigurationError.self) { try configuration.validate() }
    }
}
