import Foundation
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends a delivery on its channels: the log channel writes a structured swift-log line,
/// the webhook channel POSTs a small JSON body (``WebhookPayload``) to the user's URL.
struct ChannelSender: Sendable {
    let logger: Logger
    let webhook: WebhookClient

    /// The outcome of one attempt: the channels that took it, and why the others failed.
    struct Outcome: Sendable {
        var sent: [String] = []
        var errors: [String] = []
    }

    /// Sends `record` on each of `channels` (those it has not gone out on yet).
    func send(_ record: DeliveryRecord, channels: [NotificationChannel], webhookURL: String) async -> Outcome {
        var outcome = Outcome()
        for channel in channels {
            do {
                switch channel {
                case .log:
                    logger.info(
                        "Notification",
                        metadata: [
                            "channel": "log", "delivery_id": "\(record.id)", "user_id": "\(record.userID)",
                            "tip_id": "\(record.tipID)", "title": "\(record.title)",
                            "deliver_at_unix_ms": "\(record.deliverAtUnixMS)",
                        ])
                case .webhook:
                    try await webhook.post(WebhookPayload(record), to: webhookURL)
                }
                outcome.sent.append(channel.rawValue)
            } catch {
                outcome.errors.append("\(channel.rawValue): \(error)")
            }
        }
        return outcome
    }
}

/// The JSON body a webhook receives (keys sorted):
/// `{"deliver_at_unix_ms":…,"delivery_id":"…","requested_unix_ms":…,"tip_id":"…","title":"…","user_id":"…"}`.
/// The delivery id is also sent as the `Idempotency-Key` header: a receiver can drop the
/// rare repeat (a send whose answer was lost is retried).
struct WebhookPayload: Codable, Sendable, Hashable {
    var deliveryID: String
    var userID: String
    var tipID: String
    var title: String
    var requestedUnixMS: Int64
    var deliverAtUnixMS: Int64

    enum CodingKeys: String, CodingKey {
        case deliveryID = "delivery_id"
        case userID = "user_id"
        case tipID = "tip_id"
        case title
        case requestedUnixMS = "requested_unix_ms"
        case deliverAtUnixMS = "deliver_at_unix_ms"
    }

    init(_ record: DeliveryRecord) {
        deliveryID = record.id
        userID = record.userID
        tipID = record.tipID
        title = record.title
        requestedUnixMS = record.requestedUnixMS
        deliverAtUnixMS = record.deliverAtUnixMS
    }
}

/// A webhook POST failed; `description` says how (HTTP status, timeout, connection error).
struct WebhookError: Error, CustomStringConvertible, Sendable {
    var description: String
}

/// HTTP POSTs to webhook URLs through FoundationNetworking's `URLSession` (libcurl on
/// Linux; verified here to POST, time out and cancel correctly), http and https. Each POST
/// is bounded by the timeout as a whole; a non-2xx answer is a failure.
final class WebhookClient: Sendable {
    // URLSession is thread-safe and Sendable; the other property is immutable.
    private let session: URLSession
    private let timeout: Duration

    init(timeout: Duration) {
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        let seconds = Double(timeout.wholeMilliseconds) / 1000
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    /// POSTs `payload` as JSON to `url`.
    /// - Throws: ``WebhookError`` on a bad URL, a connection error, the timeout, or an answer
    ///   other than 2xx.
    func post(_ payload: WebhookPayload, to url: String) async throws(WebhookError) {
        guard let target = URL(string: url), let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw WebhookError(description: "the webhook URL '\(url)' is not an http or https URL")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body: Data
        do { body = try encoder.encode(payload) } catch {
            throw WebhookError(description: "cannot encode the webhook body: \(error)")
        }
        var request = URLRequest(url: target, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: Double(timeout.wholeMilliseconds) / 1000)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("oo-notifier/1", forHTTPHeaderField: "User-Agent")
        request.setValue(payload.deliveryID, forHTTPHeaderField: "Idempotency-Key")
        let response: URLResponse
        do {
            (_, response) = try await session.data(for: request)
        } catch {
            throw WebhookError(description: Self.describe(error, url: url, timeout: timeout))
        }
        guard let http = response as? HTTPURLResponse else {
            throw WebhookError(description: "POST \(url) got no HTTP response")
        }
        guard (200..<300).contains(http.statusCode) else {
            throw WebhookError(description: "POST \(url) answered HTTP \(http.statusCode) (expected 2xx)")
        }
    }

    private static func describe(_ error: any Error, url: String, timeout: Duration) -> String {
        let nsError = error as NSError
        if nsError.domain == NSURLErrorDomain {
            switch nsError.code {
            case NSURLErrorTimedOut: return "POST \(url) timed out after \(timeout)"
            case NSURLErrorCancelled: return "POST \(url) was cancelled"
            default: break
            }
            let reason = (nsError.userInfo[NSLocalizedDescriptionKey] as? String) ?? "URL error \(nsError.code)"
            return "POST \(url) failed: \(reason)"
        }
        return "POST \(url) failed: \(error)"
    }
}
