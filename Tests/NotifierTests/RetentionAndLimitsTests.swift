import Foundation
import Notifier
import NotifierProtos
import OOMesh
import OOStorage
import Synchronization
import Testing

/// The bounds on what the notifier keeps and accepts: retention of the delivery log, the
/// per-user cap on pending deliveries, `at_unix_ms`'s range, and a hostile webhook
/// (redirects elsewhere, an endless answer).
@Suite("Notifier retention and limits", .timeLimit(.minutes(1)))
struct RetentionAndLimitsTests {
    /// Rows in the deliveries table, read through a second connection (WAL).
    func deliveryRows(_ path: String) throws -> Int {
        let database = try SQLiteDatabase(path: path)
        return Int(try database.query("SELECT COUNT(*) FROM deliveries").first?.first?.integer ?? -1)
    }

    @Test("old sent deliveries are pruned in batches; pending ones and ones inside the retention are kept")
    func retention() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.deliveryRetention = .seconds(30 * 86_400)
        configuration.dedupeWindow = .seconds(3600)
        configuration.retentionBatchSize = 2
        let day: Int64 = 86_400_000
        let start = unixMS("2026-01-01T12:00:00Z")
        let clock = ManualClock(start)
        let notifier = try NotifierService(configuration: configuration, clock: clock)
        // Five sent deliveries on day 0, one on day 20.
        for index in 0..<5 { #expect(try await notifier.deliver(user: "ada", tip: "old-\(index)", at: start).status == .sent) }
        clock.set(start + 20 * day)
        #expect(try await notifier.deliver(user: "ada", tip: "recent", at: start + 20 * day).status == .sent)
        // A delivery that keeps failing (nobody listens): pending, never pruned.
        _ = try await notifier.set(user: "bob") { $0.channels = ["webhook"]; $0.webhookURL = "http://127.0.0.1:\(freeLoopbackPort())/hook" }
        clock.set(start)
        #expect(try await notifier.deliver(user: "bob", tip: "stuck", at: start).status == .queued)
        // A deferred one (quiet hours all but one minute of the day), requested on day 0.
        _ = try await notifier.set(user: "cy") { $0.quietStartMinute = 0; $0.quietEndMinute = 1439 }
        #expect(try await notifier.deliver(user: "cy", tip: "night", at: start).status == .deferred)
        #expect(try deliveryRows(configuration.databasePath) == 8)

        // Day 29: nothing is older than 30 days yet.
        clock.set(start + 29 * day)
        #expect(await notifier.dispatcher.pruneOnce() == 0)
        // Day 31: the five day-0 sends go, two per batch; the rest stay.
        clock.set(start + 31 * day)
        #expect(await notifier.dispatcher.pruneOnce() == 2)
        #expect(await notifier.dispatcher.pruneOnce() == 2)
        #expect(await notifier.dispatcher.pruneOnce() == 1)
        #expect(await notifier.dispatcher.pruneOnce() == 0)
        #expect(try await notifier.deliveries(user: "ada").map(\.tipID) == ["recent"])
        #expect(try await notifier.deliveries(user: "bob").map(\.status) == [.queued])
        #expect(try await notifier.deliveries(user: "cy").map(\.status) == [.deferred])
        #expect(try deliveryRows(configuration.databasePath) == 3)
    }

    @Test("the retention is never shorter than the dedupe window, and run() prunes by itself")
    func retentionCoversDedupeWindow() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.deliveryRetention = .zero
        configuration.dedupeWindow = .seconds(3600)
        configuration.retentionInterval = .milliseconds(20)
        #expect(configuration.effectiveDeliveryRetention == .seconds(3600))
        let start = unixMS("2026-06-01T12:00:00Z")
        let clock = ManualClock(start)
        let notifier = try NotifierService(configuration: configuration, clock: clock)
        let first = try await notifier.deliver(user: "ada", tip: "t", at: start)
        clock.set(start + 59 * 60_000)
        #expect(await notifier.dispatcher.pruneOnce() == 0)
        // Still a duplicate: the row inside the dedupe window was kept.
        #expect(try await notifier.deliver(user: "ada", tip: "t").deliveryID == first.deliveryID)

        clock.set(start + 2 * 3_600_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await notifier.dispatcher.run() }
            let pruned = try await eventually(timeout: .seconds(10)) { try await notifier.deliveries(user: "ada").isEmpty }
            #expect(pruned)
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("a user with too many pending deliveries gets RESOURCE_EXHAUSTED and nothing is recorded")
    func pendingCap() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.maxPendingDeliveriesPerUser = 3
        let clock = ManualClock(unixMS("2026-06-01T12:00:00Z"))
        let notifier = try NotifierService(configuration: configuration, clock: clock)
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = "http://127.0.0.1:\(freeLoopbackPort())/hook" }
        for index in 0..<3 { #expect(try await notifier.deliver(user: "ada", tip: "t\(index)").status == .queued) }
        let error = await #expect(throws: RPCError.self) { try await notifier.deliver(user: "ada", tip: "t3") }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message.contains("at most 3 may wait") == true, "\(error?.message ?? "")")
        #expect(try await notifier.deliveries(user: "ada").count == 3)
        // A duplicate is still answered as one; other users are unaffected.
        #expect(try await notifier.deliver(user: "ada", tip: "t0").status == .duplicate)
        #expect(try await notifier.deliver(user: "bob", tip: "t3").status == .sent)
    }

    @Test("at_unix_ms past year 9999 is INVALID_ARGUMENT, not a crash")
    func hugeAtUnixMS() async throws {
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        _ = try await notifier.set(user: "ada") {
            $0.timezone = "Pacific/Kiritimati"
            $0.quietStartMinute = 13 * 60
            $0.quietEndMinute = 15 * 60
        }
        for at in [Int64.max, Int64.max - 1, 253_402_300_800_000] {
            let error = await #expect(throws: RPCError.self) { try await notifier.deliver(user: "ada", tip: "t", at: at) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("DeliverRequest.at_unix_ms") == true)
        }
        // The last accepted instant works (23:59 UTC is 13:59 in Kiritimati, in the 13:00–15:00 quiet hours).
        let response = try await notifier.deliver(user: "ada", tip: "t", at: 253_402_300_799_999)
        #expect(response.status == .deferred)
    }

    @Test(
        "a redirect to another origin, or one that would turn the POST into a GET, is not followed",
        arguments: [(302, true), (307, true), (303, false)])
    func redirectsRefused(status: Int, otherOrigin: Bool) async throws {
        let target = try TestHTTPServer()
        defer { target.stop() }
        let location = otherOrigin ? target.url("/elsewhere") : "/same-origin-but-get"
        let server = try TestHTTPServer(behavior: .redirect(status, location))
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = server.url() }
        #expect(try await notifier.deliver(user: "ada", tip: "t").status == .queued)
        let delivery = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(delivery.lastError.contains("answered HTTP \(status) redirecting to"), "\(delivery.lastError)")
        #expect(delivery.lastError.contains("not followed"))
        #expect(server.requests.count == 1)
        #expect(target.requests.isEmpty)
    }

    @Test("an endless answer body is not buffered and does not hold the POST past its timeout; the status still counts")
    func endlessBody() async throws {
        let server = try TestHTTPServer(behavior: .endlessBody)
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.maxWebhookResponseBytes = 64 << 10
        configuration.webhookTimeout = .seconds(5)
        let notifier = try NotifierService(configuration: configuration)
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = server.url() }
        let started = ContinuousClock.now
        #expect(try await notifier.deliver(user: "ada", tip: "t").status == .sent)
        #expect(ContinuousClock.now - started < .seconds(4))
        server.stop()
        // The body is counted and dropped by the delegate, never kept. How soon libcurl
        // actually stops reading after the cancel varies (on loopback it may read all
        // 256 MiB), so the bytes sent are not asserted; the POST stays bounded in time.
    }
}
