import CoreMetrics
import Synchronization

/// A swift-metrics backend that keeps every metric in memory and renders them in
/// Prometheus's text exposition format (version 0.0.4): counters as counters, recorders
/// as gauges (the last value), timers as histograms in seconds. Bootstrap it once per
/// process (`MetricsSystem.bootstrap(registry)`) and serve ``render()`` at `/metrics`
/// (``AdminServer``).
///
/// Bounded: at most `maxSeries` label combinations; metrics beyond that are dropped and
/// counted in `oo_metrics_dropped_series_total`.
public final class PrometheusRegistry: MetricsFactory, Sendable {
    /// A metric's family name and labels.
    struct Key: Hashable, Sendable {
        var name: String
        var labels: [Label]
    }

    struct Label: Hashable, Sendable {
        var name: String
        var value: String
    }

    enum Kind: Sendable { case counter, gauge, histogram }

    private struct State {
        var counters: [Key: PrometheusCounter] = [:]
        var gauges: [Key: PrometheusGauge] = [:]
        var histograms: [Key: PrometheusHistogram] = [:]
        var dropped = 0
    }

    private let state = Mutex(State())
    /// The upper bounds of the timers' histogram buckets, in seconds.
    public let buckets: [Double]
    public let maxSeries: Int

    /// A registry; timers go into `buckets` (seconds; default 5 ms to 10 s, gRPC's usual).
    public init(
        buckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], maxSeries: Int = 10_000
    ) {
        self.buckets = buckets.sorted()
        self.maxSeries = maxSeries
    }

    static func key(_ label: String, _ dimensions: [(String, String)]) -> Key {
        Key(name: sanitize(label), labels: dimensions.map { Label(name: sanitize($0.0), value: $0.1) })
    }

    /// A valid Prometheus metric or label name.
    static func sanitize(_ name: String) -> String {
        // Fast path, taken by every name we make (once per call per metric): already valid
        // ASCII, returned as it is, without looking at Unicode properties.
        var valid = !name.isEmpty
        for (index, byte) in name.utf8.enumerated() where valid {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"): break
            case UInt8(ascii: "0")...UInt8(ascii: "9"): valid = index > 0
            default: valid = false
            }
        }
        if valid { return name }
        let mapped = name.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" ? ($0.isASCII ? $0 : "_") : "_" }
        let text = String(mapped)
        return text.first?.isNumber == true ? "_" + text : (text.isEmpty ? "_" : text)
    }

    private func series<Handler: Sendable>(_ path: WritableKeyPath<State, [Key: Handler]>, _ key: Key, make: () -> Handler, dummy: () -> Handler) -> Handler {
        state.withLock { state in
            if let existing = state[keyPath: path][key] { return existing }
            let count = state.counters.count + state.gauges.count + state.histograms.count
            guard count < maxSeries else {
                state.dropped += 1
                return dummy()
            }
            let handler = make()
            state[keyPath: path][key] = handler
            return handler
        }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        series(\.counters, Self.key(label, dimensions), make: { PrometheusCounter() }, dummy: { PrometheusCounter() })
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        series(\.gauges, Self.key(label, dimensions), make: { PrometheusGauge() }, dummy: { PrometheusGauge() })
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        series(\.histograms, Self.key(label, dimensions), make: { PrometheusHistogram(buckets: buckets) }, dummy: { PrometheusHistogram(buckets: []) })
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    /// Every metric in Prometheus text format, families sorted by name.
    public func render() -> String {
        let (counters, gauges, histograms, dropped) = state.withLock { ($0.counters, $0.gauges, $0.histograms, $0.dropped) }
        var out = ""
        func labels(_ labels: [Label], extra: Label? = nil) -> String {
            let all = labels + (extra.map { [$0] } ?? [])
            guard !all.isEmpty else { return "" }
            return "{" + all.map { "\($0.name)=\"\(escape($0.value))\"" }.joined(separator: ",") + "}"
        }
        func families<Value>(_ entries: [Key: Value]) -> [(String, [(Key, Value)])] {
            Dictionary(grouping: entries.map { ($0.key, $0.value) }, by: { $0.0.name })
                .map { ($0.key, $0.value.sorted { "\($0.0.labels.map(\.value))" < "\($1.0.labels.map(\.value))" }) }
                .sorted { $0.0 < $1.0 }
        }
        // A name used by two kinds is written once (Prometheus rejects a scrape that repeats
        // a family): counters win, then gauges.
        var emitted: Set<String> = []
        for (name, series) in families(counters) where emitted.insert(name).inserted {
            out += "# TYPE \(name) counter\n"
            for (key, counter) in series { out += "\(name)\(labels(key.labels)) \(counter.value)\n" }
        }
        for (name, series) in families(gauges) where emitted.insert(name).inserted {
            out += "# TYPE \(name) gauge\n"
            for (key, gauge) in series { out += "\(name)\(labels(key.labels)) \(format(gauge.value))\n" }
        }
        for (name, series) in families(histograms) where emitted.insert(name).inserted {
            out += "# TYPE \(name) histogram\n"
            for (key, histogram) in series {
                let snapshot = histogram.snapshot()
                var cumulative: UInt64 = 0
                for (bound, count) in zip(histogram.buckets, snapshot.counts) {
                    cumulative += count
                    out += "\(name)_bucket\(labels(key.labels, extra: Label(name: "le", value: format(bound)))) \(cumulative)\n"
                }
                out += "\(name)_bucket\(labels(key.labels, extra: Label(name: "le", value: "+Inf"))) \(snapshot.total)\n"
                out += "\(name)_sum\(labels(key.labels)) \(format(snapshot.sum))\n"
                out += "\(name)_count\(labels(key.labels)) \(snapshot.total)\n"
            }
        }
        out += "# TYPE oo_metrics_dropped_series_total counter\noo_metrics_dropped_series_total \(dropped)\n"
        return out
    }

    private func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }

    private func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

final class PrometheusCounter: CounterHandler, Sendable {
    private let storage = Atomic<Int64>(0)
    var value: Int64 { storage.load(ordering: .relaxed) }
    func increment(by amount: Int64) { storage.add(max(0, amount), ordering: .relaxed) }
    func reset() { storage.store(0, ordering: .relaxed) }
}

final class PrometheusGauge: RecorderHandler, Sendable {
    private let storage = Mutex(0.0)
    var value: Double { storage.withLock { $0 } }
    func record(_ value: Int64) { storage.withLock { $0 = Double(value) } }
    func record(_ value: Double) { storage.withLock { $0 = value } }
}

final class PrometheusHistogram: TimerHandler, Sendable {
    let buckets: [Double]
    private struct State {
        var counts: [UInt64]
        var total: UInt64 = 0
        var sum = 0.0
    }
    private let state: Mutex<State>

    init(buckets: [Double]) {
        self.buckets = buckets
        self.state = Mutex(State(counts: Array(repeating: 0, count: buckets.count)))
    }

    func recordNanoseconds(_ duration: Int64) {
        let seconds = Double(max(0, duration)) / 1e9
        let index = buckets.firstIndex { seconds <= $0 }
        state.withLock { state in
            if let index { state.counts[index] += 1 }
            state.total += 1
            state.sum += seconds
        }
    }

    func snapshot() -> (counts: [UInt64], total: UInt64, sum: Double) {
        state.withLock { ($0.counts, $0.total, $0.sum) }
    }
}
