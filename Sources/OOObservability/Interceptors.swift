import Instrumentation
import Logging
import Metrics
import OOMesh
import Synchronization
import Tracing

extension RPCKind {
    /// grpc-prometheus's `grpc_type` label.
    var prometheusType: String {
        switch self {
        case .unary: "unary"
        case .clientStreaming: "client_stream"
        case .serverStreaming: "server_stream"
        case .bidirectionalStreaming: "bidi_stream"
        }
    }
}

/// The status code a handler's or call's outcome reports.
func statusCode(of error: (any Error)?) -> StatusCode {
    guard let error else { return .ok }
    if let rpc = error as? RPCError { return rpc.code }
    if let convertible = error as? any RPCErrorConvertible { return convertible.rpcErrorCode }
    return error is CancellationError ? .cancelled : .unknown
}

/// One method's metric handles on one side (`server` or `client`), made once and kept:
/// making a swift-metrics handle looks it up in the backend by name and labels, which cost
/// more per call than counting.
final class MethodMetrics: Sendable {
    let started: Counter
    let handling: Timer
    let received: Counter
    let sent: Counter
    private let side: String
    private let labels: [(String, String)]
    /// `grpc_<side>_handled_total` by status code (17 at most).
    private let handled = Mutex<[StatusCode: Counter]>([:])

    init(side: String, method: MethodDescriptor) {
        let labels = [("grpc_type", method.kind.prometheusType), ("grpc_service", method.service), ("grpc_method", method.method)]
        self.side = side
        self.labels = labels
        started = Counter(label: "grpc_\(side)_started_total", dimensions: labels)
        handling = Timer(label: "grpc_\(side)_handling_seconds", dimensions: labels)
        let (receivedName, sentName) = side == "server"
            ? ("grpc_server_msg_received_total", "grpc_server_msg_sent_total")
            : ("grpc_client_msg_received_total", "grpc_client_msg_sent_total")
        received = Counter(label: receivedName, dimensions: labels)
        sent = Counter(label: sentName, dimensions: labels)
    }

    func handled(_ code: StatusCode) -> Counter {
        handled.withLock { counters in
            if let counter = counters[code] { return counter }
            let counter = Counter(label: "grpc_\(side)_handled_total", dimensions: labels + [("grpc_code", "\(code)")])
            counters[code] = counter
            return counter
        }
    }
}

/// The ``MethodMetrics`` of every method an interceptor has seen, by method path. Bounded:
/// past `maxMethods` (more methods than any real service has) handles are made per call.
final class MethodMetricsTable: Sendable {
    static let maxMethods = 1_024
    private let side: String
    private let table = Mutex<[String: MethodMetrics]>([:])

    init(side: String) { self.side = side }

    func metrics(for method: MethodDescriptor) -> MethodMetrics {
        let path = method.path
        if let known = table.withLock({ $0[path] }) { return known }
        let made = MethodMetrics(side: side, method: method)
        return table.withLock { table in
            if let known = table[path] { return known }
            if table.count < Self.maxMethods { table[path] = made }
            return made
        }
    }
}

/// One call's `grpc_<side>_started_total` (counted at once), and its
/// `grpc_<side>_handling_seconds` and `grpc_<side>_handled_total` (when it finishes).
struct CallMetrics {
    let metrics: MethodMetrics
    let start = ContinuousClock.now

    init(_ metrics: MethodMetrics) {
        self.metrics = metrics
        metrics.started.increment()
    }

    func finish(_ failure: (any Error)?) {
        let elapsed = ContinuousClock.now - start
        metrics.handling.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        metrics.handled(statusCode(of: failure)).increment()
    }
}

/// Server metrics with grpc-prometheus's names, per method: `grpc_server_started_total`,
/// `grpc_server_handled_total` (with `grpc_code`), `grpc_server_msg_received_total`,
/// `grpc_server_msg_sent_total` and the `grpc_server_handling_seconds` histogram; labels
/// `grpc_type`, `grpc_service`, `grpc_method`. Through swift-metrics, so any backend works
/// (``PrometheusRegistry`` renders them). Create it after `MetricsSystem.bootstrap`: it keeps
/// the handles it makes.
public struct ServerMetricsInterceptor: ServerInterceptor {
    private let table = MethodMetricsTable(side: "server")

    public init() {}

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        let metrics = table.metrics(for: context.descriptor)
        let call = CallMetrics(metrics)
        var failure: (any Error)?
        defer {
            call.finish(failure)
            metrics.received.increment(by: context.messagesReceived)
            metrics.sent.increment(by: context.messagesSent)
        }
        do {
            try await next(context)
        } catch {
            failure = error
            throw error
        }
    }
}

/// Client metrics with grpc-prometheus's names: `grpc_client_started_total`,
/// `grpc_client_handled_total` (with `grpc_code`), `grpc_client_msg_sent_total`,
/// `grpc_client_msg_received_total` and `grpc_client_handling_seconds`. Create it after
/// `MetricsSystem.bootstrap`: it keeps the handles it makes.
public struct ClientMetricsInterceptor: ClientInterceptor {
    private let table = MethodMetricsTable(side: "client")

    public init() {}

    public func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        let metrics = table.metrics(for: head.descriptor)
        let call = CallMetrics(metrics)
        var failure: (any Error)?
        defer {
            call.finish(failure)
            metrics.sent.increment(by: head.messages.sent)
            metrics.received.increment(by: head.messages.received)
        }
        do {
            return try await next(head)
        } catch {
            failure = error
            throw error
        }
    }
}

/// Reads `traceparent` from request metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? { carrier.firstString(forKey: key) }
}

/// Writes `traceparent` into request metadata.
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier.addString(value, forKey: key)
    }
}

/// Continues the caller's trace (W3C `traceparent`) or starts one, and runs the handler in
/// a server span named `service/method`: calls the handler makes carry the trace on (with
/// ``ClientTracingInterceptor``), and log lines carry its ids (``TraceMetadata``).
public struct ServerTracingInterceptor: ServerInterceptor {
    public init() {}

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        var traceContext = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(context.requestMetadata, into: &traceContext, using: MetadataExtractor())
        try await withSpan(context.descriptor.path, context: traceContext, ofKind: .server) { span in
            span.attributes["rpc.system"] = "grpc"
            span.attributes["rpc.service"] = context.descriptor.service
            span.attributes["rpc.method"] = context.descriptor.method
            do {
                try await next(context)
            } catch {
                span.attributes["rpc.grpc.status_code"] = statusCode(of: error).rawValue
                throw error
            }
        }
    }
}

/// Runs each call in a client span and sends the span's trace context as `traceparent`.
public struct ClientTracingInterceptor: ClientInterceptor {
    public init() {}

    public func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        try await withSpan(head.descriptor.path, ofKind: .client) { span in
            var head = head
            InstrumentationSystem.instrument.inject(span.context, into: &head.metadata, using: MetadataInjector())
            return try await next(head)
        }
    }
}

/// Logs each call a server handles once it ends: method, status code, duration and peer,
/// at info (debug for health checks and reflection), with the trace ids of the call.
public struct ServerCallLoggingInterceptor: ServerInterceptor {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        let start = ContinuousClock.now
        var failure: (any Error)?
        defer {
            let elapsed = ContinuousClock.now - start
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let code = statusCode(of: failure)
            let quiet = context.descriptor.service.hasPrefix("grpc.health.") || context.descriptor.service.hasPrefix("grpc.reflection.")
            var metadata: Logger.Metadata = [
                "rpc": "\(context.descriptor.path)", "grpc_code": "\(code)",
                "duration_ms": "\((milliseconds * 1000).rounded() / 1000)", "peer": "\(context.peer)",
            ]
            if let failure, code != .ok { metadata["error"] = "\((failure as? RPCError)?.message ?? "\(type(of: failure))")" }
            logger.log(level: quiet ? .debug : (code == .ok ? .info : .notice), "rpc finished", metadata: metadata)
        }
        do {
            try await next(context)
        } catch {
            failure = error
            throw error
        }
    }
}

/// swift-log metadata with the current span's `trace_id` and `span_id`, for every log line
/// written inside a traced call: `LoggingSystem.bootstrap(factory, metadataProvider: TraceMetadata.provider)`.
public enum TraceMetadata {
    public static let provider = Logger.MetadataProvider {
        guard let trace = InstrumentationContext.current?.traceContext else { return [:] }
        return ["trace_id": "\(trace.traceID)", "span_id": "\(trace.spanID)"]
    }
}
