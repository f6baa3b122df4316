import Instrumentation
import Logging
import Metrics
import OOMesh
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

/// One call's `grpc_<side>_started_total` (counted at once), and its
/// `grpc_<side>_handling_seconds` and `grpc_<side>_handled_total` (when it finishes).
struct CallMetrics {
    let side: String
    let labels: [(String, String)]
    let start = ContinuousClock.now

    init(side: String, labels: [(String, String)]) {
        self.side = side
        self.labels = labels
        Counter(label: "grpc_\(side)_started_total", dimensions: labels).increment()
    }

    func finish(_ failure: (any Error)?) {
        let elapsed = ContinuousClock.now - start
        Timer(label: "grpc_\(side)_handling_seconds", dimensions: labels).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        Counter(label: "grpc_\(side)_handled_total", dimensions: labels + [("grpc_code", "\(statusCode(of: failure))")]).increment()
    }
}

/// Server metrics with grpc-prometheus's names, per method: `grpc_server_started_total`,
/// `grpc_server_handled_total` (with `grpc_code`), `grpc_server_msg_received_total`,
/// `grpc_server_msg_sent_total` and the `grpc_server_handling_seconds` histogram; labels
/// `grpc_type`, `grpc_service`, `grpc_method`. Through swift-metrics, so any backend works
/// (``PrometheusRegistry`` renders them).
public struct ServerMetricsInterceptor: ServerInterceptor {
    public init() {}

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        let method = context.descriptor
        let labels = [("grpc_type", method.kind.prometheusType), ("grpc_service", method.service), ("grpc_method", method.method)]
        let call = CallMetrics(side: "server", labels: labels)
        var failure: (any Error)?
        defer {
            call.finish(failure)
            Counter(label: "grpc_server_msg_received_total", dimensions: labels).increment(by: context.messagesReceived)
            Counter(label: "grpc_server_msg_sent_total", dimensions: labels).increment(by: context.messagesSent)
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
/// `grpc_client_msg_received_total` and `grpc_client_handling_seconds`.
public struct ClientMetricsInterceptor: ClientInterceptor {
    public init() {}

    public func intercept<Result: Sendable>(
        _ head: ClientCallHead, next: (ClientCallHead) async throws -> Result
    ) async throws -> Result {
        let method = head.descriptor
        let labels = [("grpc_type", method.kind.prometheusType), ("grpc_service", method.service), ("grpc_method", method.method)]
        let call = CallMetrics(side: "client", labels: labels)
        var failure: (any Error)?
        defer {
            call.finish(failure)
            Counter(label: "grpc_client_msg_sent_total", dimensions: labels).increment(by: head.messages.sent)
            Counter(label: "grpc_client_msg_received_total", dimensions: labels).increment(by: head.messages.received)
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
