import Foundation
import Logging
import Synchronization
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
/// Linux), http and https only. Each POST is bounded by the timeout as a whole (enforced
/// here, not only by libcurl, whose timer has whole-second resolution); a non-2xx answer
/// is a failure.
///
/// Hardening against a hostile receiver (see ``NotifierService`` on SSRF):
/// - a redirect is followed only when it keeps the method and body (307, 308) and stays on
///   the same scheme, host and port; any other redirect is refused and the 3xx is the
///   answer (a failure, retried), so a webhook cannot bounce the POST to another host or
///   have it silently turned into a body-less GET that "succeeds";
/// - the answer's body is never kept (the delegate counts and drops it); past
///   `maxResponseBytes` the transfer is cancelled. On swift-corelibs-foundation that
///   cancel is best effort (libcurl may go on reading, into the void, until the timeout).
final class WebhookClient: Sendable {
    // URLSession is thread-safe and Sendable; the other properties are immutable.
    private let session: URLSession
    private let delegate: WebhookSessionDelegate
    private let timeout: Duration
    private let addresses: WebhookAddressCheck

    init(timeout: Duration, maxResponseBytes: Int = 64 << 10, addresses: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.timeout = timeout
        self.addresses = WebhookAddressCheck(policy: addresses)
        let configuration = URLSessionConfiguration.ephemeral
        // libcurl's own timers are a backstop (whole seconds, rounded up); `post` enforces
        // the exact timeout.
        let seconds = (Double(timeout.wholeMilliseconds) / 1000).rounded(.up) + 1
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        delegate = WebhookSessionDelegate(maxResponseBytes: maxResponseBytes)
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    /// POSTs `payload` as JSON to `url`.
    /// - Throws: ``WebhookError`` on a bad URL, a connection error, the timeout, a refused
    ///   redirect, or an answer other than 2xx.
    func post(_ payload: WebhookPayload, to url: String) async throws(WebhookError) {
        guard let target = URL(string: url), let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = target.host, !host.isEmpty
        else {
            throw WebhookError(description: "the webhook URL '\(url)' is not an http or https URL with a host")
        }
        // Again at delivery: the name may resolve somewhere else now (DNS rebinding).
        do { try await addresses.check(url) } catch { throw WebhookError(description: "not POSTed to \(url): \(error.description)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body: Data
        do { body = try encoder.encode(payload) } catch {
            throw WebhookError(description: "cannot encode the webhook body: \(error)")
        }
        var request = URLRequest(
            url: target, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: session.configuration.timeoutIntervalForRequest)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("oo-notifier/1", forHTTPHeaderField: "User-Agent")
        request.setValue(payload.deliveryID, forHTTPHeaderField: "Idempotency-Key")
        let outcome: WebhookSessionDelegate.Outcome
        do {
            outcome = try await withThrowingTaskGroup(of: WebhookSessionDelegate.Outcome?.self) { group in
                group.addTask { [session, delegate, request] in try await delegate.perform(request, on: session) }
                group.addTask { [timeout] in
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let outcome = first else {
                    throw WebhookError(description: "POST \(url) timed out after \(timeout)")
                }
                return outcome
            }
        } catch let error as WebhookError {
            throw error
        } catch {
            throw WebhookError(description: Self.describe(error, url: url, timeout: timeout))
        }
        if let refused = outcome.refusedRedirect {
            throw WebhookError(description: "POST \(url) answered HTTP \(outcome.statusCode) redirecting to \(refused), which is not followed (only 307/308 to the same scheme, host and port are)")
        }
        guard (200..<300).contains(outcome.statusCode) else {
            throw WebhookError(description: "POST \(url) answered HTTP \(outcome.statusCode) (expected 2xx)")
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
        if error is CancellationError { return "POST \(url) was cancelled" }
        return "POST \(url) failed: \(error)"
    }
}

/// The webhook session's delegate: runs one data task per POST and reports its status
/// through a continuation; refuses redirects that leave the origin or change the method;
/// stops reading an answer's body past `maxResponseBytes`.
final class WebhookSessionDelegate: NSObject, URLSessionDataDelegate, Sendable {
    /// What a finished POST got.
    struct Outcome: Sendable {
        var statusCode: Int
        /// The Location of a redirect that was refused, if one was.
        var refusedRedirect: String?
    }

    private struct TaskState {
        var continuation: CheckedContinuation<Outcome, any Error>
        var statusCode: Int?
        var refusedRedirect: String?
        var bodyBytes = 0
        var truncated = false
    }

    private let maxResponseBytes: Int
    private let tasks = Mutex<[Int: TaskState]>([:])

    init(maxResponseBytes: Int) {
        self.maxResponseBytes = maxResponseBytes
    }

    /// Runs `request` on `session` and returns once it completes; cancelling the calling
    /// task cancels the transfer.
    func perform(_ request: URLRequest, on session: URLSession) async throws -> Outcome {
        try Task.checkCancellation()
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
                tasks.withLock { $0[task.taskIdentifier] = TaskState(continuation: continuation) }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        let original = task.originalRequest?.url
        let target = request.url
        let sameOrigin =
            original != nil && target != nil && original?.scheme?.lowercased() == target?.scheme?.lowercased()
            && original?.host?.lowercased() == target?.host?.lowercased() && Self.port(original) == Self.port(target)
        if sameOrigin, response.statusCode == 307 || response.statusCode == 308, request.httpMethod == "POST" {
            completionHandler(request)
            return
        }
        tasks.withLock { $0[task.taskIdentifier]?.refusedRedirect = target?.absoluteString ?? "(no location)" }
        completionHandler(nil)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        if let http = response as? HTTPURLResponse {
            tasks.withLock { $0[dataTask.taskIdentifier]?.statusCode = http.statusCode }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let tooMuch = tasks.withLock { tasks -> Bool in
            guard var state = tasks[dataTask.taskIdentifier] else { return false }
            if state.statusCode == nil, let http = dataTask.response as? HTTPURLResponse { state.statusCode = http.statusCode }
            state.bodyBytes += data.count
            if state.bodyBytes > maxResponseBytes { state.truncated = true }
            tasks[dataTask.taskIdentifier] = state
            return state.truncated
        }
        if tooMuch { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let state = tasks.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        let status = state.statusCode ?? (task.response as? HTTPURLResponse)?.statusCode
        // A body cut short by us still has its status: the receiver answered.
        if let error, !(state.truncated && status != nil) {
            state.continuation.resume(throwing: error)
            return
        }
        guard let status else {
            state.continuation.resume(throwing: WebhookError(description: "got no HTTP response"))
            return
        }
        state.continuation.resume(returning: Outcome(statusCode: status, refusedRedirect: state.refusedRedirect))
    }

    private static func port(_ url: URL?) -> Int? {
        guard let url else { return nil }
        if let port = url.port { return port }
        switch url.scheme?.lowercased() {
        case "http": return 80
        case "https": return 443
        default: return nil
        }
    }
}
