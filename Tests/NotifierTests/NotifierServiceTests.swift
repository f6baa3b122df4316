import Foundation
import Notifier
import NotifierProtos
import OOMesh
import Testing

/// The service called directly: preferences, validation, dedupe, quiet hours with the
/// dispatcher, the delivery log across restarts, deleting a user's data.
@Suite("Notifier service", .timeLimit(.minutes(1)))
struct NotifierServiceTests {
    @Test("preferences default to UTC, no quiet hours, the log channel")
    func defaultPreferences() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let preferences = try await notifier.preferences(user: "never-set")
        #expect(preferences.timezone == "UTC")
        #expect(preferences.quietStartMinute == 0 && preferences.quietEndMinute == 0)
        #expect(preferences.channels == ["log"])
        #expect(preferences.webhookURL.isEmpty)
    }

    @Test("preferences are stored as set, normalized")
    func setAndGetPreferences() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let answered = try await notifier.set(user: "ada") {
            $0.timezone = "Europe/Berlin"
            $0.quietStartMinute = 22 * 60
            $0.quietEndMinute = 7 * 60
            $0.channels = ["webhook", "log", "webhook"]
            $0.webhookURL = "https://93.184.216.34/hooks/oo"  // a public address; names would need DNS, which the check resolves
        }
        #expect(answered.channels == ["webhook", "log"])
        #expect(try await notifier.preferences(user: "ada") == answered)
        // Replaced wholesale; empty values mean the defaults.
        let replaced = try await notifier.set(user: "ada") { _ in }
        #expect(replaced.timezone == "UTC")
        #expect(replaced.channels == ["log"])
        #expect(try await notifier.preferences(user: "ada") == replaced)
    }

    struct BadPreferences: Sendable, CustomTestStringConvertible {
        var name: String
        var user = "ada"
        var timezone = "UTC"
        var start: Int32 = 0
        var end: Int32 = 0
        var channels: [String] = []
        var url = ""
        var message: String
        var testDescription: String { name }
    }

    @Test(
        "bad preferences are INVALID_ARGUMENT, saying what is wrong",
        arguments: [
            BadPreferences(name: "unknown time zone", timezone: "Mars/Olympus_Mons", message: "'Mars/Olympus_Mons' is not a known IANA time zone"),
            BadPreferences(name: "start minute 1440", start: 1440, message: "quiet_start_minute must be a minute of the day in 0..<1440"),
            BadPreferences(name: "negative end minute", end: -5, message: "quiet_end_minute must be a minute of the day in 0..<1440"),
            BadPreferences(name: "unknown channel", channels: ["log", "sms"], message: "channels[1] is 'sms', which is not a channel"),
            BadPreferences(name: "webhook without URL", channels: ["webhook"], message: "webhook_url is required"),
            BadPreferences(name: "ftp URL", url: "ftp://example.com/x", message: "is not an http:// or https:// URL"),
            BadPreferences(name: "not a URL", channels: ["webhook"], url: "example.com/hook", message: "is not an http:// or https:// URL"),
            BadPreferences(name: "URL without host", channels: ["webhook"], url: "http:///hook", message: "is not an http:// or https:// URL"),
            BadPreferences(name: "empty user", user: "", message: "SetPreferencesRequest.user_id must not be empty"),
        ])
    func badPreferences(_ example: BadPreferences) async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let error = await #expect(throws: RPCError.self) {
            try await notifier.set(user: example.user) {
                $0.timezone = example.timezone
                $0.quietStartMinute = example.start
                $0.quietEndMinute = example.end
                $0.channels = example.channels
                $0.webhookURL = example.url
            }
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(example.message) == true, "\(error?.message ?? "")")
        // Nothing was stored.
        if !example.user.isEmpty { #expect(try await notifier.preferences(user: example.user).timezone == "UTC") }
    }

    @Test("bad Deliver and ListDeliveries requests are INVALID_ARGUMENT")
    func badRequests() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let cases: [(String, () async throws -> Void)] = [
            ("DeliverRequest.user_id must not be empty", { _ = try await notifier.deliver(user: "", tip: "t") }),
            ("DeliverRequest.tip_id must not be empty", { _ = try await notifier.deliver(user: "u", tip: "") }),
            ("DeliverRequest.title is 1025 bytes; at most 1024", { _ = try await notifier.deliver(user: "u", tip: "t", title: String(repeating: "x", count: 1025)) }),
            ("DeliverRequest.user_id is 257 bytes", { _ = try await notifier.deliver(user: String(repeating: "u", count: 257), tip: "t") }),
            ("DeliverRequest.at_unix_ms must be milliseconds", { _ = try await notifier.deliver(user: "u", tip: "t", at: -1) }),
            ("ListDeliveriesRequest.limit must not be negative", { _ = try await notifier.deliveries(user: "u", limit: -1) }),
            ("ListDeliveriesRequest.user_id must not be empty", { _ = try await notifier.deliveries(user: "") }),
            ("DeleteUserDataRequest.user_id must not be empty", { _ = try await notifier.deleteUser("") }),
        ]
        for (message, call) in cases {
            let error = await #expect(throws: RPCError.self) { try await call() }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "") should say \(message)")
        }
        // A title of exactly 1 KiB (multi-byte characters count as bytes) is fine.
        let title = String(repeating: "é", count: 512)
        #expect(try await notifier.deliver(user: "u", tip: "t", title: title).status == .sent)
        #expect(try await notifier.deliveries(user: "u").count == 1)
    }

    @Test("a tip outside quiet hours is sent at once and logged")
    func sendsNow() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory), clock: ManualClock(unixMS("2026-06-01T12:00:00Z")))
        let at = unixMS("2026-06-01T12:00:00Z")
        let response = try await notifier.deliver(user: "ada", tip: "tip-1", at: at)
        #expect(response.status == .sent)
        #expect(response.deliverAtUnixMs == at)
        let log = try await notifier.deliveries(user: "ada")
        #expect(log.count == 1)
        #expect(log.first?.deliveryID == response.deliveryID)
        #expect(log.first?.status == .sent)
        #expect(log.first?.requestedUnixMs == at)
        #expect(log.first?.sentUnixMs == at)
        #expect(log.first?.attempts == 1)
        #expect(log.first?.lastError == "")
        // at_unix_ms 0 is the clock's now.
        let now = try await notifier.deliver(user: "ada", tip: "tip-2")
        #expect(now.deliverAtUnixMs == unixMS("2026-06-01T12:00:00Z"))
    }

    @Test("the same tip to the same user within the window is sent once, also after a restart")
    func dedupe() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.dedupeWindow = .seconds(3600)
        let start = unixMS("2026-06-01T12:00:00Z")
        var notifier = try NotifierService(configuration: configuration)
        let first = try await notifier.deliver(user: "ada", tip: "tip-1", at: start)
        #expect(first.status == .sent)

        let second = try await notifier.deliver(user: "ada", tip: "tip-1", at: start + 59 * 60_000)
        #expect(second.status == .duplicate)
        #expect(second.deliveryID == first.deliveryID)
        #expect(second.deliverAtUnixMs == first.deliverAtUnixMs)
        // Another user, or another tip, is not a duplicate.
        #expect(try await notifier.deliver(user: "bob", tip: "tip-1", at: start).status == .sent)
        #expect(try await notifier.deliver(user: "ada", tip: "tip-2", at: start).status == .sent)

        // Reopen the database: the dedupe state is durable.
        notifier = try NotifierService(configuration: configuration)
        let afterRestart = try await notifier.deliver(user: "ada", tip: "tip-1", at: start + 30 * 60_000)
        #expect(afterRestart.status == .duplicate)
        #expect(afterRestart.deliveryID == first.deliveryID)

        // Once the window has passed, the tip goes out again, as a new delivery.
        let later = try await notifier.deliver(user: "ada", tip: "tip-1", at: start + 60 * 60_000)
        #expect(later.status == .sent)
        #expect(later.deliveryID != first.deliveryID)
        #expect(try await notifier.deliveries(user: "ada").filter { $0.tipID == "tip-1" }.count == 2)
    }

    @Test("concurrent Delivers of one tip record it once")
    func concurrentDedupe() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let at = unixMS("2026-06-01T12:00:00Z")
        let responses = try await withThrowingTaskGroup(of: Oo_Notifier_V1_DeliverResponse.self) { group in
            for _ in 0..<16 { group.addTask { try await notifier.deliver(user: "ada", tip: "same", at: at) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(responses.filter { $0.status == .sent }.count == 1)
        #expect(responses.filter { $0.status == .duplicate }.count == 15)
        #expect(Set(responses.map(\.deliveryID)).count == 1)
        #expect(try await notifier.deliveries(user: "ada").count == 1)
    }

    @Test("a tip in quiet hours is deferred to the window's end and sent then by the dispatcher")
    func deferredUntilQuietHoursEnd() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualClock(unixMS("2026-03-28T22:30:00Z"))
        let notifier = try NotifierService(configuration: testConfiguration(directory), clock: clock)
        _ = try await notifier.set(user: "ada") {
            $0.timezone = "Europe/Berlin"
            $0.quietStartMinute = 22 * 60
            $0.quietEndMinute = 7 * 60
        }
        // 23:30 CET the night the clocks go forward: deferred to 07:00 CEST (05:00 UTC).
        let response = try await notifier.deliver(user: "ada", tip: "night", at: unixMS("2026-03-28T22:30:00Z"))
        #expect(response.status == .deferred)
        #expect(isoUTC(response.deliverAtUnixMs) == isoUTC(unixMS("2026-03-29T05:00:00Z")))
        #expect(try await notifier.deliveries(user: "ada").first?.status == .deferred)

        // Not yet due.
        clock.set(unixMS("2026-03-29T04:59:59Z"))
        #expect(await notifier.dispatcher.runOnce() == 0)
        #expect(try await notifier.deliveries(user: "ada").first?.status == .deferred)

        // Due: sent.
        clock.set(unixMS("2026-03-29T05:00:01Z"))
        #expect(await notifier.dispatcher.runOnce() == 1)
        let sent = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(sent.deliveryID == response.deliveryID)
        #expect(sent.status == .sent)
        #expect(sent.sentUnixMs == unixMS("2026-03-29T05:00:01Z"))
        #expect(sent.deliverAtUnixMs == unixMS("2026-03-29T05:00:00Z"))
        #expect(sent.attempts == 1)
        // Nothing left to do.
        #expect(await notifier.dispatcher.runOnce() == 0)
        // A duplicate of a deferred tip reports the deferred delivery.
        let again = try await notifier.deliver(user: "ada", tip: "night", at: unixMS("2026-03-29T06:00:00Z"))
        #expect(again.status == .duplicate)
        #expect(again.deliveryID == response.deliveryID)
    }

    @Test("the delivery log and pending deliveries survive a restart")
    func persistence() async throws {
        let directory = try TemporaryDirectory()
        let configuration = testConfiguration(directory)
        let clock = ManualClock(unixMS("2026-06-01T23:00:00Z"))
        var ids: [String] = []
        do {
            let notifier = try NotifierService(configuration: configuration, clock: clock)
            _ = try await notifier.set(user: "ada") { $0.quietStartMinute = 23 * 60; $0.quietEndMinute = 6 * 60 }
            for (index, at) in ["2026-06-01T20:00:00Z", "2026-06-01T21:00:00Z", "2026-06-01T23:30:00Z"].enumerated() {
                ids.append(try await notifier.deliver(user: "ada", tip: "tip-\(index)", at: unixMS(at)).deliveryID)
            }
        }
        let notifier = try NotifierService(configuration: configuration, clock: clock)
        let log = try await notifier.deliveries(user: "ada")
        #expect(log.map(\.deliveryID) == ids.reversed())  // newest first
        #expect(log.map(\.status) == [.deferred, .sent, .sent])
        #expect(try await notifier.preferences(user: "ada").quietStartMinute == 23 * 60)
        // The restarted process's dispatcher sends the deferred one when due.
        clock.set(unixMS("2026-06-02T06:00:00Z"))
        #expect(await notifier.dispatcher.runOnce() == 1)
        #expect(try await notifier.deliveries(user: "ada").first?.status == .sent)
    }

    @Test("ListDeliveries is newest first and bounded")
    func listBounds() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.defaultDeliveriesListed = 3
        configuration.maxDeliveriesListed = 4
        let notifier = try NotifierService(configuration: configuration)
        let base = unixMS("2026-06-01T12:00:00Z")
        for index in 0..<6 { _ = try await notifier.deliver(user: "ada", tip: "tip-\(index)", at: base + Int64(index) * 1000) }
        #expect(try await notifier.deliveries(user: "ada").map(\.tipID) == ["tip-5", "tip-4", "tip-3"])
        #expect(try await notifier.deliveries(user: "ada", limit: 2).map(\.tipID) == ["tip-5", "tip-4"])
        #expect(try await notifier.deliveries(user: "ada", limit: 500).count == 4)
        #expect(try await notifier.deliveries(user: "nobody").isEmpty)
    }

    @Test("DeleteUserData erases preferences and deliveries, and pending retries stop")
    func deleteUserData() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualClock(unixMS("2026-06-01T12:00:00Z"))
        let notifier = try NotifierService(configuration: testConfiguration(directory), clock: clock)
        // A webhook nobody listens on: the delivery is QUEUED for retry.
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = "http://127.0.0.1:\(freeLoopbackPort())/hook" }
        #expect(try await notifier.deliver(user: "ada", tip: "a", at: unixMS("2026-06-01T12:00:00Z")).status == .queued)
        _ = try await notifier.deliver(user: "bob", tip: "a", at: unixMS("2026-06-01T12:00:00Z"))

        #expect(try await notifier.deleteUser("ada") == 2)  // the preferences and one delivery
        #expect(try await notifier.deliveries(user: "ada").isEmpty)
        #expect(try await notifier.preferences(user: "ada").channels == ["log"])
        clock.set(unixMS("2026-06-01T13:00:00Z"))
        #expect(await notifier.dispatcher.runOnce() == 0)  // the retry is gone
        // Others are untouched; deleting again deletes nothing.
        #expect(try await notifier.deliveries(user: "bob").count == 1)
        #expect(try await notifier.deleteUser("ada") == 0)
        // The user can start over: the dedupe state went with the deliveries.
        #expect(try await notifier.deliver(user: "ada", tip: "a", at: unixMS("2026-06-01T13:00:00Z")).status == .sent)
    }

    @Test("enqueue_only: recorded and answered QUEUED without sending; the dispatcher, woken, sends it long before its interval; quiet hours still defer")
    func enqueueOnly() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        // Only the wake-up can send it in time: the interval alone would take a minute.
        configuration.dispatchInterval = .seconds(60)
        let notifier = try NotifierService(configuration: configuration)
        let dispatcher = Task { await notifier.dispatcher.run() }
        defer { dispatcher.cancel() }
        try await Task.sleep(for: .milliseconds(50))  // the dispatcher's first tick found nothing and sleeps
        var request = Oo_Notifier_V1_DeliverRequest()
        request.userID = "ada"
        request.tipID = "tip-1"
        request.title = "A tip"
        request.enqueueOnly = true
        let response = try await notifier.deliver(request: request, context: context())
        #expect(response.status == .queued)
        #expect(try await eventually(timeout: .seconds(10)) { try await notifier.deliveries(user: "ada").first?.status == .sent })
        // Inside quiet hours it is deferred, as without enqueue_only.
        _ = try await notifier.set(user: "bob") {
            $0.timezone = "UTC"
            $0.quietStartMinute = 0
            $0.quietEndMinute = 1439
        }
        request.userID = "bob"
        request.atUnixMs = unixMS("2026-06-01T12:00:00Z")
        #expect(try await notifier.deliver(request: request, context: context()).status == .deferred)
    }

    @Test("the dispatcher's run() stops when its task is cancelled")
    func dispatcherStopsOnCancellation() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let started = ContinuousClock.now
        let task = Task { await notifier.dispatcher.run() }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await task.value
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("a bad configuration is refused when the service is created")
    func badConfiguration() throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.dispatchBatchSize = 0
        #expect(throws: NotifierConfigurationError.self) { try NotifierService(configuration: configuration) }
    }
}
