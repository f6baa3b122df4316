import Foundation
import Notifier
import NotifierProtos
import OOMesh
import Testing

/// Webhooks may not reach the notifier's own network (SSRF): addresses judged as a table,
/// URLs refused at SetPreferences, and again at delivery.
@Suite("Webhook addresses", .timeLimit(.minutes(1)))
struct WebhookAddressTests {
    @Test("internal addresses are refused, public ones allowed, the allow-list opens networks", arguments: [
        ("127.0.0.1", false), ("127.9.9.9", false), ("10.1.2.3", false), ("172.16.0.1", false), ("172.31.255.255", false),
        ("192.168.1.1", false), ("169.254.169.254", false), ("100.64.0.1", false), ("0.0.0.0", false), ("224.0.0.1", false),
        ("255.255.255.255", false), ("::1", false), ("::", false), ("fe80::1", false), ("fc00::1", false), ("fd12:3456::1", false),
        ("::ffff:127.0.0.1", false), ("::ffff:169.254.169.254", false), ("ff02::1", false), ("64:ff9b::a00:1", false),
        ("8.8.8.8", true), ("93.184.216.34", true), ("172.32.0.1", true), ("2606:4700::1111", true), ("::ffff:8.8.8.8", true),
    ])
    func addresses(address: String, allowed: Bool) {
        let refusal = WebhookAddressPolicy().refusal(of: address)
        #expect((refusal == nil) == allowed, "\(address): \(refusal ?? "allowed")")
    }

    @Test("an allow-list entry opens exactly its network; a malformed one is a configuration error")
    func allowList() throws {
        let policy = WebhookAddressPolicy(allowedNetworks: ["10.1.0.0/16", "::1/128"])
        #expect(policy.refusal(of: "10.1.200.3") == nil)
        #expect(policy.refusal(of: "10.2.0.1") != nil)
        #expect(policy.refusal(of: "::1") == nil)
        #expect(policy.refusal(of: "127.0.0.1") != nil)
        #expect(throws: WebhookAddressError.self) { try WebhookAddressPolicy(allowedNetworks: ["10.0.0.0/33"]).validate() }
        #expect(throws: WebhookAddressError.self) { try WebhookAddressPolicy(allowedNetworks: ["intranet"]).validate() }
    }

    @Test("SetPreferences refuses a webhook on loopback, a metadata address or a name resolving inside, saying which address and why")
    func refusedAtSetPreferences() async throws {
        let directory = try TemporaryDirectory()
        var configuration = testConfiguration(directory)
        configuration.webhookAddresses = WebhookAddressPolicy()  // the default: nothing internal
        let notifier = try NotifierService(configuration: configuration)
        for url in ["http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data", "https://10.0.0.5/x",
                    "http://[::1]:9/x", "http://localhost:9/x"] {
            do {
                _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = url }
                Issue.record("\(url) was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument, "\(url): \(error)")
                #expect(error.message.contains("which webhooks may not reach"), "\(url): \(error.message)")
            }
        }
        // A public address is fine (no DNS needed for a literal).
        _ = try await notifier.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = "https://93.184.216.34/hooks/ada" }
    }

    @Test("a stored webhook whose address is no longer allowed is not POSTed at delivery; the delivery is QUEUED saying why")
    func refusedAtDelivery() async throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        // Set while loopback was allowed ...
        do {
            let open = try NotifierService(configuration: testConfiguration(directory))
            _ = try await open.set(user: "ada") { $0.channels = ["webhook"]; $0.webhookURL = server.url("/hooks/ada") }
        }
        // ... delivered by a notifier that does not allow it (as a name that now resolves
        // inside would be: the check runs again before every POST).
        var closed = testConfiguration(directory)
        closed.webhookAddresses = WebhookAddressPolicy()
        let notifier = try NotifierService(configuration: closed)
        #expect(try await notifier.deliver(user: "ada", tip: "t").status == .queued)
        let delivery = try #require(try await notifier.deliveries(user: "ada").first)
        #expect(delivery.lastError.contains("not POSTed") && delivery.lastError.contains("loopback"), "\(delivery.lastError)")
        #expect(server.requests.isEmpty)
    }
}
