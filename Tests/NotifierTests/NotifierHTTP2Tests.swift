import Foundation
import Notifier
import NotifierProtos
import OOMesh
import OOMeshHTTP2
import Testing

/// The notifier served over the real HTTP/2 transport, with its dispatcher beside it as
/// `oo serve notifier` runs them, called through the generated client.
@Suite("Notifier over HTTP/2", .timeLimit(.minutes(1)))
struct NotifierHTTP2Tests {
    @Test("every method over gRPC on HTTP/2, errors with their status codes")
    func overHTTP2() async throws {
        let directory = try TemporaryDirectory()
        let webhook = try TestHTTPServer()
        defer { webhook.stop() }
        let notifier = try NotifierService(configuration: testConfiguration(directory))
        let transport = try HTTP2ServerTransport(host: "127.0.0.1", port: 0)
        let server = GRPCServer(transport: transport, services: [notifier])
        let options = CallOptions(timeout: .seconds(10))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            try await server.waitUntilListening()
            group.addTask { await notifier.dispatcher.run() }
            try await withGRPCClient(transport: try HTTP2ClientTransport(host: "127.0.0.1", port: transport.port)) { grpc in
                let client = Oo_Notifier_V1_Notifier_Client(wrapping: grpc)

                var preferences = Oo_Notifier_V1_SetPreferencesRequest()
                preferences.userID = "ada"
                preferences.preferences.timezone = "America/New_York"
                preferences.preferences.quietStartMinute = 22 * 60
                preferences.preferences.quietEndMinute = 7 * 60
                preferences.preferences.channels = ["log", "webhook"]
                preferences.preferences.webhookURL = webhook.url()
                _ = try await client.setPreferences(preferences, options: options)

                var get = Oo_Notifier_V1_GetPreferencesRequest()
                get.userID = "ada"
                #expect(try await client.getPreferences(get, options: options).timezone == "America/New_York")

                // Noon in New York: sent on both channels.
                var deliver = Oo_Notifier_V1_DeliverRequest()
                deliver.userID = "ada"
                deliver.tipID = "tip-1"
                deliver.title = "Stretch"
                deliver.atUnixMs = unixMS("2026-06-01T16:00:00Z")
                let sent = try await client.deliver(deliver, options: options)
                #expect(sent.status == .sent)
                #expect(webhook.requests.count == 1)
                // Again: a duplicate.
                let duplicate = try await client.deliver(deliver, options: options)
                #expect(duplicate.status == .duplicate)
                #expect(duplicate.deliveryID == sent.deliveryID)
                // 23:00 in New York: deferred to 07:00 EDT.
                deliver.tipID = "tip-2"
                deliver.atUnixMs = unixMS("2026-06-02T03:00:00Z")
                let deferred = try await client.deliver(deliver, options: options)
                #expect(deferred.status == .deferred)
                #expect(deferred.deliverAtUnixMs == unixMS("2026-06-02T11:00:00Z"))

                var list = Oo_Notifier_V1_ListDeliveriesRequest()
                list.userID = "ada"
                let deliveries = try await client.listDeliveries(list, options: options).deliveries
                #expect(deliveries.map(\.tipID) == ["tip-2", "tip-1"])
                #expect(deliveries.map(\.status) == [.deferred, .sent])

                // Bad input is INVALID_ARGUMENT on the wire, with the message.
                preferences.preferences.timezone = "Nowhere/Special"
                do {
                    _ = try await client.setPreferences(preferences, options: options)
                    Issue.record("an unknown time zone was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                    #expect(error.message.contains("'Nowhere/Special' is not a known IANA time zone"))
                }
                deliver.title = String(repeating: "x", count: 2000)
                do {
                    _ = try await client.deliver(deliver, options: options)
                    Issue.record("a 2000-byte title was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                }

                var delete = Oo_Notifier_V1_DeleteUserDataRequest()
                delete.userID = "ada"
                #expect(try await client.deleteUserData(delete, options: options).recordsDeleted == 3)
                #expect(try await client.listDeliveries(list, options: options).deliveries.isEmpty)
            }
            server.beginGracefulShutdown()
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
