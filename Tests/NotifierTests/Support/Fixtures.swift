import Foundation
import Notifier
import NotifierProtos
import OOMesh
import Synchronization

/// A clock the test sets by hand.
final class ManualClock: NotifierClock {
    private let now: Mutex<Int64>

    init(_ unixMilliseconds: Int64) { now = Mutex(unixMilliseconds) }

    func nowUnixMilliseconds() -> Int64 { now.withLock { $0 } }

    func set(_ unixMilliseconds: Int64) { now.withLock { $0 = unixMilliseconds } }
}

/// A fresh directory under the system's temporary directory, removed when this is released.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("oo-notifier-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside it.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The instant `iso` ("2026-03-29T00:30:00Z", or with fractional seconds) in Unix milliseconds.
func unixMS(_ iso: String) -> Int64 {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = iso.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
    guard let date = formatter.date(from: iso) else { fatalError("bad test timestamp \(iso)") }
    return Int64((date.timeIntervalSince1970 * 1000).rounded())
}

/// The same instant back as ISO 8601 in UTC, for readable failures.
func isoUTC(_ unixMilliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000))
}

/// A server context for calling a handler directly.
func context(_ method: MethodDescriptor = Oo_Notifier_V1_Notifier.Method.Deliver.descriptor) -> ServerContext {
    ServerContext(descriptor: method, requestMetadata: [:], peer: "in-test", deadline: nil)
}

/// A configuration on `directory`'s database with a tiny backoff and dispatcher interval.
func testConfiguration(_ directory: TemporaryDirectory, database: String = "notifier.sqlite") -> NotifierConfiguration {
    var configuration = NotifierConfiguration()
    configuration.databasePath = directory.path(database)
    configuration.retryBackoff = RetryBackoff(initial: .milliseconds(50), maximum: .milliseconds(200), jitter: 0)
    configuration.dispatchInterval = .milliseconds(20)
    configuration.webhookTimeout = .seconds(2)
    // The tests' webhook servers listen on loopback, which webhooks may not reach by default.
    configuration.webhookAddresses.allowedNetworks = ["127.0.0.1/32", "::1/128"]
    return configuration
}

/// Waits until `condition` holds, checking every 20 ms, for at most `timeout`; returns
/// whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

extension NotifierService {
    /// Convenience calls with a test context.
    func deliver(user: String, tip: String, title: String = "A tip", at: Int64 = 0) async throws -> Oo_Notifier_V1_DeliverResponse {
        var request = Oo_Notifier_V1_DeliverRequest()
        request.userID = user
        request.tipID = tip
        request.title = title
        request.atUnixMs = at
        return try await deliver(request: request, context: context())
    }

    func set(user: String, _ build: (inout Oo_Notifier_V1_Preferences) -> Void) async throws -> Oo_Notifier_V1_Preferences {
        var request = Oo_Notifier_V1_SetPreferencesRequest()
        request.userID = user
        build(&request.preferences)
        return try await setPreferences(request: request, context: context(Oo_Notifier_V1_Notifier.Method.SetPreferences.descriptor))
    }

    func preferences(user: String) async throws -> Oo_Notifier_V1_Preferences {
        var request = Oo_Notifier_V1_GetPreferencesRequest()
        request.userID = user
        return try await getPreferences(request: request, context: context(Oo_Notifier_V1_Notifier.Method.GetPreferences.descriptor))
    }

    func deliveries(user: String, limit: Int32 = 0) async throws -> [Oo_Notifier_V1_Delivery] {
        var request = Oo_Notifier_V1_ListDeliveriesRequest()
        request.userID = user
        request.limit = limit
        return try await listDeliveries(request: request, context: context(Oo_Notifier_V1_Notifier.Method.ListDeliveries.descriptor)).deliveries
    }

    func deleteUser(_ user: String) async throws -> Int64 {
        var request = Oo_Notifier_V1_DeleteUserDataRequest()
        request.userID = user
        return try await deleteUserData(request: request, context: context(Oo_Notifier_V1_Notifier.Method.DeleteUserData.descriptor)).recordsDeleted
    }
}
