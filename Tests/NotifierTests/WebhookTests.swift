import Foundation
import Notifier
import NotifierProtos
import Testing

/// The webhook channel against a real HTTP server on loopback: the POST and its JSON body,
/// failures (nothing listening, an error status, no answer) answered QUEUED, and retries
/// that deliver once the server is up.
@Suite("Webhook channel", .timeLimit(.minutes(1)))
struct WebhookTests {
    @Test("a delivery POSTs a JSON body to the user's webhook")
    func postsJSON() async throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        _ = try await notifier.set(user: "ada") { $0.channels = ["log", "webhook"]; $0.webhookURL = server.url("/hooks/ada?x=1") }
        // Near the 1 KiB limit, so the body is over 1 KiB (libcurl may ask `Expect: 100-continue`).
        let title = "Drink water 💧 \"now\" / \(String(repeating: "…", count: 320))"
        let at = unixMS("2026-06-01T12:00:00Z")
        let response = try await notifier.deliver(user: "ada", tip: "tip-7", title: title, at: at)
        #expect(response.status == .sent)

        #expect(title.utf8.count <= 1024)
        let requests = server.requests
        try #require(requests.count == 1)
        let request = requests[0]
        #expect(request.method == "POST")
        #expect(request.path == "/hooks/ada?x=1")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["idempotency-key"] == response.deliveryID)
        #expect(request.body.count > 1024)
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["delivery_id"] as? String == response.deliveryID)
        #expect(body["user_id"] as? String == "ada")
        #expect(body["tip_id"] as? String == "tip-7")
        #expect(body["title"] as? String == title)
        #expect((body["requested_unix_ms"] as? NSNumber)?.int64Value == at)
        #expect((body["deliver_at_unix_ms"] as? NSNumber)?.int64Value == at)
        #expect(Set(body.keys) == ["delivery_id", "user_id", "tip_id", "title", "requested_unix_ms", "deliver_at_unix_ms"])
    }

    @Test("a failed webhook is QUEUED, retried with backoff, and sent once the server is up")
    func retriesUntilSent() async throws {
        let port = freeLoopbackPort()
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        _ = try await notifier.set(user: "ada") { $0.channels = ["log", "webhook"]; $0.webhookURL = "http://127.0.0.1:\(port)/hook" }

        let response = try await notifier.deliver(user: "ada", tip: "tip-1")
        #expect(response.status == .queued)
        let queued = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(queued.status == .queued)
        #expect(queued.attempts == 1)
        #expect(queued.sentUnixMs == 0)
        #expect(queued.lastError.contains("webhook: POST http://127.0.0.1:\(port)/hook failed"), "\(queued.lastError)")

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await notifier.dispatcher.run() }
            // Let it fail a few more times against the closed port, then start the server.
            let failedAgain = try await eventually { try await notifier.deliveries(user: "ada").first!.attempts >= 3 }
            #expect(failedAgain)
            #expect(try await notifier.deliveries(user: "ada").first?.status == .queued)
            let server = try TestHTTPServer(port: port)
            defer { server.stop() }
            let sent = try await eventually { try await notifier.deliveries(user: "ada").first?.status == .sent }
            #expect(sent)
            group.cancelAll()
            try await group.waitForAll()
            // Exactly one POST reached the server, for this delivery.
            #expect(server.requests.count == 1)
            #expect(server.requests.first?.headers["idempotency-key"] == response.deliveryID)
        }
        let delivery = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(delivery.attempts >= 4)
        #expect(delivery.sentUnixMs > 0)
        #expect(delivery.lastError.contains("failed"))  // the last failure stays on record
    }

    @Test("an error status is a failure, QUEUED with the status in last_error")
    func errorStatus() async throws {
        let server = try TestHTTPServer(behavior: .status(503))
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = server.url() }
        #expect(try await notifier.deliver(user: "ada", tip: "t").status == .queued)
        let delivery = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(delivery.lastError.contains("answered HTTP 503"), "\(delivery.lastError)")
        #expect(server.requests.count == 1)
    }

    @Test("a webhook that never answers fails after the timeout")
    func timeout() async throws {
        let server = try TestHTTPServer(behavior: .silent)
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.webhookTimeout = .milliseconds(300)
        let notifier = try NotifierService(configuration: configuration)
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = server.url() }
        let started = ContinuousClock.now
        #expect(try await notifier.deliver(user: "ada", tip: "t").status == .queued)
        #expect(ContinuousClock.now - started < .seconds(5))
        let delivery = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(delivery.lastError.contains("timed out"), "\(delivery.lastError)")
    }
}
