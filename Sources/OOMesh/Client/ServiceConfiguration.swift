import Foundation
import Synchronization

/// A client's per-method settings, as gRPC's service config defines them
/// (https://github.com/grpc/grpc/blob/master/doc/service_config.md and gRFC A6): a default
/// timeout and a retry policy per service or method, and retry throttling for the client.
/// Read it from the standard JSON with ``init(json:)``:
///
/// ```json
/// {"methodConfig": [{"name": [{"service": "oo.ml.v1.ModelServing"}],
///                    "timeout": "2s",
///                    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
///                                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}],
///  "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}
/// ```
public struct ServiceConfiguration: Sendable, Hashable {
    /// Which calls a ``MethodConfiguration`` applies to.
    public struct Name: Sendable, Hashable {
        /// The fully qualified service; empty: every service (then `method` must be empty).
        public var service: String
        /// The method; empty: every method of `service`.
        public var method: String

        public init(service: String = "", method: String = "") {
            self.service = service
            self.method = method
        }
    }

    /// How to retry a failed call (gRFC A6). Only calls whose requests are all known before
    /// they start (unary, server streaming) are retried, and only while no response headers
    /// have arrived (a call is committed once the server has answered).
    public struct RetryPolicy: Sendable, Hashable {
        /// Attempts in all, the first included: 2 to 5 (more is capped at 5).
        public var maxAttempts: Int
        /// The delay before the first retry is random in [0, initialBackoff]; each next one's
        /// bound is multiplied by `backoffMultiplier`, up to `maxBackoff`.
        public var initialBackoff: Duration
        public var maxBackoff: Duration
        public var backoffMultiplier: Double
        /// The status codes worth another attempt, e.g. UNAVAILABLE.
        public var retryableStatusCodes: Set<StatusCode>

        public init(
            maxAttempts: Int, initialBackoff: Duration, maxBackoff: Duration, backoffMultiplier: Double,
            retryableStatusCodes: Set<StatusCode>
        ) {
            self.maxAttempts = min(maxAttempts, 5)
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.backoffMultiplier = backoffMultiplier
            self.retryableStatusCodes = retryableStatusCodes
        }
    }

    /// The settings of the calls `names` matches.
    public struct MethodConfiguration: Sendable, Hashable {
        public var names: [Name]
        /// The call's deadline when the caller sets none.
        public var timeout: Duration?
        public var retryPolicy: RetryPolicy?

        public init(names: [Name], timeout: Duration? = nil, retryPolicy: RetryPolicy? = nil) {
            self.names = names
            self.timeout = timeout
            self.retryPolicy = retryPolicy
        }
    }

    /// Retry throttling: the client holds `maxTokens` tokens; each failed attempt takes one,
    /// each success gives back `tokenRatio`; no retries while tokens are at most half.
    public struct RetryThrottling: Sendable, Hashable {
        public var maxTokens: Double
        public var tokenRatio: Double

        public init(maxTokens: Double, tokenRatio: Double) {
            self.maxTokens = maxTokens
            self.tokenRatio = tokenRatio
        }
    }

    public var methodConfigurations: [MethodConfiguration]
    public var retryThrottling: RetryThrottling?

    /// A configuration; the default has no method settings (no retries, no default timeout).
    public init(methodConfigurations: [MethodConfiguration] = [], retryThrottling: RetryThrottling? = nil) {
        self.methodConfigurations = methodConfigurations
        self.retryThrottling = retryThrottling
    }

    /// The settings for `descriptor`: the most specific match (service and method, then
    /// service, then the default `{}` entry).
    public func configuration(for descriptor: MethodDescriptor) -> MethodConfiguration? {
        let exact = Name(service: descriptor.service, method: descriptor.method)
        let service = Name(service: descriptor.service)
        return methodConfigurations.first { $0.names.contains(exact) }
            ?? methodConfigurations.first { $0.names.contains(service) }
            ?? methodConfigurations.first { $0.names.contains(Name()) }
    }

    /// Reads gRPC's service config JSON; every problem is an error naming the field.
    public init(json: String) throws(ServiceConfigurationError) {
        func fail(_ message: String) -> ServiceConfigurationError { ServiceConfigurationError(message: message) }
        guard let data = json.data(using: .utf8), let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("The service config is not a JSON object.")
        }
        var methods: [MethodConfiguration] = []
        for (index, entry) in ((root["methodConfig"] as? [Any]) ?? []).enumerated() {
            let path = "methodConfig[\(index)]"
            guard let entry = entry as? [String: Any] else { throw fail("\(path) is not an object.") }
            var names: [Name] = []
            for name in (entry["name"] as? [Any]) ?? [] {
                guard let name = name as? [String: Any] else { throw fail("\(path).name entries must be objects.") }
                let service = name["service"] as? String ?? ""
                let method = name["method"] as? String ?? ""
                if service.isEmpty && !method.isEmpty { throw fail("\(path).name: a method needs its service.") }
                names.append(Name(service: service, method: method))
            }
            var configuration = MethodConfiguration(names: names)
            if let timeout = entry["timeout"] {
                configuration.timeout = try Self.duration(timeout, "\(path).timeout")
            }
            if let retry = entry["retryPolicy"] {
                guard let retry = retry as? [String: Any] else { throw fail("\(path).retryPolicy is not an object.") }
                guard let attempts = (retry["maxAttempts"] as? NSNumber)?.intValue, attempts >= 2 else {
                    throw fail("\(path).retryPolicy.maxAttempts must be an integer of at least 2.")
                }
                let initial = try Self.duration(retry["initialBackoff"] as Any, "\(path).retryPolicy.initialBackoff")
                let maximum = try Self.duration(retry["maxBackoff"] as Any, "\(path).retryPolicy.maxBackoff")
                guard initial > .zero, maximum > .zero else { throw fail("\(path).retryPolicy: backoffs must be above 0.") }
                guard let multiplier = (retry["backoffMultiplier"] as? NSNumber)?.doubleValue, multiplier > 0, multiplier <= 1_000 else {
                    throw fail("\(path).retryPolicy.backoffMultiplier must be a number above 0 and at most 1000.")
                }
                guard let codes = retry["retryableStatusCodes"] as? [Any], !codes.isEmpty else {
                    throw fail("\(path).retryPolicy.retryableStatusCodes must list at least one code.")
                }
                let parsed = try codes.map { code throws(ServiceConfigurationError) -> StatusCode in
                    if let name = code as? String, let status = StatusCode.allCases.first(where: { $0.description == name.uppercased() }) {
                        return status
                    }
                    if let number = code as? NSNumber, let status = StatusCode(rawValue: number.intValue) { return status }
                    throw fail("\(path).retryPolicy.retryableStatusCodes: unknown status code \(code).")
                }
                configuration.retryPolicy = RetryPolicy(
                    maxAttempts: attempts, initialBackoff: initial, maxBackoff: maximum, backoffMultiplier: multiplier,
                    retryableStatusCodes: Set(parsed))
            }
            methods.append(configuration)
        }
        self.methodConfigurations = methods
        if let throttling = root["retryThrottling"] {
            guard let throttling = throttling as? [String: Any],
                  let tokens = (throttling["maxTokens"] as? NSNumber)?.doubleValue, tokens > 0, tokens <= 1000,
                  let ratio = (throttling["tokenRatio"] as? NSNumber)?.doubleValue, ratio > 0
            else {
                throw fail("retryThrottling needs maxTokens (0 to 1000) and tokenRatio (above 0).")
            }
            self.retryThrottling = RetryThrottling(maxTokens: tokens, tokenRatio: ratio)
        } else {
            self.retryThrottling = nil
        }
    }

    /// A protobuf JSON duration: digits, an optional fraction of up to 9 digits, "s" ("1.5s"),
    /// above zero and at most 315,576,000,000 s (protobuf's limit).
    private static func duration(_ value: Any, _ path: String) throws(ServiceConfigurationError) -> Duration {
        let fail = ServiceConfigurationError(message: "\(path) must be a positive duration such as \"1.5s\".")
        guard let text = value as? String, text.hasSuffix("s") else { throw fail }
        let parts = text.dropLast().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 12, whole.allSatisfy(\.isASCII), let seconds = Int64(whole),
              seconds <= 315_576_000_000
        else { throw fail }
        var nanoseconds: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(fraction) else {
                throw fail
            }
            nanoseconds = value * Int64([1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000][9 - fraction.count])
        }
        let duration = Duration.seconds(seconds) + .nanoseconds(nanoseconds)
        guard duration > .zero else { throw fail }
        return duration
    }
}

/// A service config that could not be read; the message names the field.
public struct ServiceConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// The client's retry tokens (gRFC A6 throttling).
final class RetryThrottle: Sendable {
    private let tokens: Mutex<Double>
    private let settings: ServiceConfiguration.RetryThrottling

    init(_ settings: ServiceConfiguration.RetryThrottling) {
        self.settings = settings
        self.tokens = Mutex(settings.maxTokens)
    }

    /// A successful call gives back `tokenRatio`.
    func recordSuccess() {
        tokens.withLock { $0 = min(settings.maxTokens, $0 + settings.tokenRatio) }
    }

    /// A failed attempt takes a token; whether a retry is still allowed.
    func recordFailure() -> Bool {
        tokens.withLock { tokens in
            tokens = max(0, tokens - 1)
            return tokens > settings.maxTokens / 2
        }
    }
}
