import Instrumentation
import Logging
import Synchronization
import Tracing

/// A W3C trace context (https://www.w3.org/TR/trace-context/): the trace a call belongs to,
/// the span that made it, and whether the trace is sampled. Carried between services in the
/// `traceparent` metadata.
public struct TraceContext: Sendable, Hashable {
    /// 32 lowercase hex digits, not all zero.
    public var traceID: String
    /// 16 lowercase hex digits, not all zero.
    public var spanID: String
    /// The span that started this one, when there is one.
    public var parentSpanID: String?
    public var sampled: Bool
    /// The caller's `tracestate` (vendor data), passed on unchanged as the specification
    /// asks of a participant that adds no entry of its own; at most 512 bytes kept.
    public var traceState: String?

    public init(traceID: String, spanID: String, parentSpanID: String? = nil, sampled: Bool = true, traceState: String? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.sampled = sampled
        self.traceState = traceState
    }

    /// `00-<trace id>-<span id>-<flags>`.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    /// Parses a `traceparent` value; nil when it is malformed (then a new trace starts).
    public init?(traceparent: String) {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff",
              Self.isHex(parts[0]), Self.isHex(parts[1], count: 32), Self.isHex(parts[2], count: 16), Self.isHex(parts[3], count: 2),
              parts[0] != "00" || parts.count == 4
        else { return nil }
        guard parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }) else { return nil }
        self.traceID = String(parts[1])
        self.spanID = String(parts[2])
        self.parentSpanID = nil
        self.sampled = (UInt8(parts[3], radix: 16) ?? 0) & 1 == 1
    }

    private static func isHex(_ text: Substring, count: Int? = nil) -> Bool {
        (count == nil || text.utf8.count == count!) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// `bytes` random bytes as lowercase hex.
    static func randomHex(bytes: Int) -> String {
        // Eight random bytes per draw from the system generator (one getrandom each, not
        // one per byte), written as lowercase hex; all zeros is invalid, so drawn again.
        var generator = SystemRandomNumberGenerator()
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(bytes * 2)
        repeat {
            hex.removeAll(keepingCapacity: true)
            var nonZero = false
            var left = bytes
            while left > 0 {
                var word = generator.next()
                for _ in 0..<min(8, left) {
                    let byte = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    nonZero = nonZero || byte != 0
                    hex.append(digits[Int(byte >> 4)])
                    hex.append(digits[Int(byte & 0xF)])
                }
                left -= 8
            }
            if nonZero { break }
        } while true
        return String(decoding: hex, as: UTF8.self)
    }
}

extension String {
    /// Two lowercase hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

extension InstrumentationContext {
    /// The trace context of the current span, as ``MeshTracer`` stores it.
    public var traceContext: TraceContext? {
        get { self[TraceContextKey.self] }
        set { self[TraceContextKey.self] = newValue }
    }
}

private struct TraceContextKey: InstrumentationContextKey {
    typealias Value = TraceContext
}

/// A finished span, as ``MeshTracer`` reports it.
public struct FinishedSpan: Sendable {
    public var operationName: String
    public var kind: SpanKind
    public var context: TraceContext
    public var durationNanoseconds: UInt64
    public var status: SpanStatus?
    public var attributes: SpanAttributes
    public var errors: [String]
}

/// A tracer for swift-distributed-tracing that speaks W3C trace context: it continues the
/// trace of an incoming `traceparent` (a new span id, the caller's as parent), starts new
/// traces otherwise, injects `traceparent` into outgoing calls, and reports each finished
/// span to `onEnd` (by default a debug log line with its ids and duration). Bootstrap it once
/// per process: `InstrumentationSystem.bootstrap(MeshTracer())`.
public struct MeshTracer: Tracer {
    public typealias Span = MeshSpan

    private let onEnd: @Sendable (FinishedSpan) -> Void

    /// A tracer reporting finished spans to `onEnd`.
    public init(onEnd: @escaping @Sendable (FinishedSpan) -> Void) {
        self.onEnd = onEnd
    }

    /// A tracer logging finished spans at debug level to `logger`.
    public init(logger: Logger = Logger(label: "oo.tracing")) {
        self.onEnd = { span in
            logger.debug("span \(span.operationName)", metadata: [
                "trace_id": "\(span.context.traceID)", "span_id": "\(span.context.spanID)",
                "parent_span_id": "\(span.context.parentSpanID ?? "-")", "kind": "\(span.kind)",
                "duration_ms": "\(Double(span.durationNanoseconds) / 1e6)",
            ])
        }
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> MeshSpan {
        var context = context()
        let parent = context.traceContext
        let trace = TraceContext(
            traceID: parent?.traceID ?? TraceContext.randomHex(bytes: 16), spanID: TraceContext.randomHex(bytes: 8),
            parentSpanID: parent?.spanID, sampled: parent?.sampled ?? true, traceState: parent?.traceState)
        context.traceContext = trace
        return MeshSpan(operationName: operationName, context: context, kind: kind, start: instant().nanosecondsSinceEpoch, onEnd: onEnd)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        if let header = extractor.extract(key: "traceparent", from: carrier), var trace = TraceContext(traceparent: header) {
            // tracestate only means something with a valid traceparent; oversized or
            // non-printable values are dropped rather than passed on.
            if let state = extractor.extract(key: "tracestate", from: carrier), state.utf8.count <= 512,
               state.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) {
                trace.traceState = state
            }
            context.traceContext = trace
        }
    }

    public func inject<Carrier, Inject>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        if let trace = context.traceContext {
            injector.inject(trace.traceparent, forKey: "traceparent", into: &carrier)
            if let state = trace.traceState { injector.inject(state, forKey: "tracestate", into: &carrier) }
        }
    }
}

/// A span of ``MeshTracer``.
public final class MeshSpan: Tracing.Span {
    public let context: InstrumentationContext
    public let kind: SpanKind
    private let start: UInt64
    private let onEnd: @Sendable (FinishedSpan) -> Void

    private struct State {
        var operationName: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var errors: [String] = []
        var recording = true
    }
    private let state: Mutex<State>

    init(operationName: String, context: InstrumentationContext, kind: SpanKind, start: UInt64, onEnd: @escaping @Sendable (FinishedSpan) -> Void) {
        self.context = context
        self.kind = kind
        self.start = start
        self.onEnd = onEnd
        self.state = Mutex(State(operationName: operationName))
    }

    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set { state.withLock { if $0.recording { $0.operationName = newValue } } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { if $0.recording { $0.attributes = newValue } } }
    }

    public var isRecording: Bool { state.withLock { $0.recording } }

    public func setStatus(_ status: SpanStatus) { state.withLock { if $0.recording { $0.status = status } } }

    public func addEvent(_ event: SpanEvent) {}

    public func addLink(_ link: SpanLink) {}

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        state.withLock { if $0.recording && $0.errors.count < 16 { $0.errors.append("\(error)") } }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let finished: FinishedSpan? = state.withLock { state in
            guard state.recording, let trace = context.traceContext else { return nil }
            state.recording = false
            let end = instant().nanosecondsSinceEpoch
            return FinishedSpan(
                operationName: state.operationName, kind: kind, context: trace, durationNanoseconds: end > start ? end - start : 0,
                status: state.status, attributes: state.attributes, errors: state.errors)
        }
        if let finished { onEnd(finished) }
    }
}
