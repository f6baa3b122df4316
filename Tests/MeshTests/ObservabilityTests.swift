import Foundation
import Logging
import Metrics
@testable import OOObservability
import OOProcess
import Synchronization
import Instrumentation
import Testing
import Tracing

@Suite("Observability pieces")
struct ObservabilityTests {
    @Test("traceparent: valid ones parse and print back; malformed ones start a new trace")
    func traceparent() throws {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let context = try #require(TraceContext(traceparent: header))
        #expect(context.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && context.spanID == "00f067aa0ba902b7" && context.sampled)
        #expect(context.traceparent == header)
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // v00 with more
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e473\u{FF41}-00f067aa0ba902b7-01",  // a fullwidth letter
        ] {
            #expect(TraceContext(traceparent: bad) == nil, "\(bad)")
        }
    }

    @Test("the Prometheus registry renders counters, gauges and histograms in the text format")
    func prometheus() {
        let registry = PrometheusRegistry(buckets: [0.01, 0.1])
        registry.makeCounter(label: "calls_total", dimensions: [("method", "A\"b")]).increment(by: 3)
        registry.makeRecorder(label: "queue", dimensions: [], aggregate: false).record(Int64(7))
        let timer = registry.makeTimer(label: "latency_seconds", dimensions: [("m", "x")])
        timer.recordNanoseconds(5_000_000)  // 5 ms
        timer.recordNanoseconds(50_000_000)  // 50 ms
        timer.recordNanoseconds(2_000_000_000)  // 2 s
        let text = registry.render()
        #expect(text.contains("# TYPE calls_total counter\ncalls_total{method=\"A\\\"b\"} 3\n"))
        #expect(text.contains("# TYPE queue gauge\nqueue 7\n"))
        #expect(text.contains("latency_seconds_bucket{m=\"x\",le=\"0.01\"} 1\n"))
        #expect(text.contains("latency_seconds_bucket{m=\"x\",le=\"0.1\"} 2\n"))
        #expect(text.contains("latency_seconds_bucket{m=\"x\",le=\"+Inf\"} 3\n"))
        #expect(text.contains("latency_seconds_count{m=\"x\"} 3\n"))
        // Bounded: series past the limit are dropped and counted.
        let small = PrometheusRegistry(maxSeries: 2)
        for index in 0..<5 { small.makeCounter(label: "c", dimensions: [("i", "\(index)")]).increment(by: 1) }
        #expect(small.render().contains("oo_metrics_dropped_series_total 3"))
        // One family per name, even when two kinds share it.
        let clash = PrometheusRegistry()
        clash.makeCounter(label: "same", dimensions: []).increment(by: 1)
        clash.makeRecorder(label: "same", dimensions: [], aggregate: false).record(Int64(2))
        #expect(clash.render().components(separatedBy: "# TYPE same ").count == 2)
    }

    @Test("metric and label names: valid ones kept as they are (the fast path), others mapped to valid ones", arguments: [
        ("grpc_server_handled_total", "grpc_server_handled_total"), ("a:b_c9", "a:b_c9"), ("9lives", "_9lives"), ("", "_"),
        ("grpc.method", "grpc_method"), ("naïve", "na_ve"), ("with space", "with_space"), ("Ünïcode", "_n_code"),
    ])
    func metricNames(_ name: String, _ expected: String) {
        #expect(PrometheusRegistry.sanitize(name) == expected)
    }

    @Test("trace and span ids: lowercase hex of the asked length, never all zeros, different every time")
    func traceIDs() {
        var seen = Set<String>()
        for _ in 0..<500 {
            for bytes in [16, 8, 3] {
                let id = TraceContext.randomHex(bytes: bytes)
                #expect(id.count == bytes * 2 && id.allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
                #expect(id.contains { $0 != "0" })
                if bytes == 16 { seen.insert(id) }
            }
        }
        #expect(seen.count == 500)
    }

    @Test("a log line's time is what Date.formatted(.iso8601) writes, for the current second and far from it", arguments: [
        0, 59, 951_782_400, 1_796_665_565, 4_102_444_799, 253_402_300_799,
    ])
    func logTimestamp(second: Int) {
        #expect(LogTimestamp.text(second: second) == Date(timeIntervalSince1970: Double(second)).formatted(.iso8601))
        // Asked again for the same second: the kept text.
        #expect(LogTimestamp.text(second: second) == Date(timeIntervalSince1970: Double(second)).formatted(.iso8601))
        let now = Date()
        let text = LogTimestamp.now()
        #expect([now, now.addingTimeInterval(1)].map { $0.formatted(.iso8601) }.contains(text), "\(text)")
    }

    @Test("the rotating log file never grows past its limit and keeps one old file")
    func rotation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("service.log").path
        let sink = try RotatingFileLogHandler.Sink(path: path, maxBytes: 8_192)
        let logger = Logger(label: "test") { RotatingFileLogHandler(label: $0, sink: sink) }
        for index in 0..<1_000 { logger.info("line \(index) with some padding to fill the file faster")}
        await sink.flush(timeout: .seconds(10))
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        let old = try FileManager.default.attributesOfItem(atPath: path + ".1")[.size] as? Int ?? 0
        #expect(size <= 8_192 && old <= 8_192 && old > 4_096)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("line 999"))
        #expect(!FileManager.default.fileExists(atPath: path + ".2"))
    }

    /// The output is a pipe nobody reads (a stuck terminal or disk): logging goes on without
    /// waiting, the lines past the queue's limit are dropped and counted, and once the pipe
    /// is read again the lines queued and a note of how many were dropped come out.
    @Test("logging never waits for a stuck output: lines past the queue limit are dropped and counted")
    func stuckOutput() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var limits = RotatingFileLogHandler.Sink.Limits()
        limits.maxQueuedLines = 100
        let sink = RotatingFileLogHandler.Sink(fileDescriptor: fds[1], limits: limits)
        let logger = Logger(label: "test") { RotatingFileLogHandler(label: $0, sink: sink) }
        // A pipe holds 64 KiB: about 600 of these lines, then write(2) blocks the writer.
        let clock = ContinuousClock()
        let started = clock.now
        for index in 0..<5_000 { logger.info("line \(index) \(String(repeating: "x", count: 64))") }
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(5), "logging took \(elapsed): it waited for the output")
        let dropped = sink.droppedLines
        #expect(dropped > 0 && dropped <= 5_000 - 100, "\(dropped) dropped")
        // Read the pipe until the note of the dropped lines arrives (bounded).
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let flags = fcntl(fds[0], F_GETFL)
        _ = fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)
        let deadline = clock.now + .seconds(10)
        while !text.contains("logging dropped"), clock.now < deadline {
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 { text += String(decoding: buffer[0..<count], as: UTF8.self) } else { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(text.contains("line 0 "))
        #expect(text.contains("oo: logging dropped"), "no note of the dropped lines")
        // The descriptors close (defer) only once the writer is idle: closed under a
        // writer, the number could be reused by another test's socket or file.
        async let flushed: Void = sink.flush(timeout: .seconds(10))
        let drainDeadline = clock.now + .seconds(10)
        while clock.now < drainDeadline, read(fds[0], &buffer, buffer.count) > 0 || sink.pendingLines > 0 {
            try await Task.sleep(for: .milliseconds(1))
        }
        await flushed
        #expect(sink.pendingLines == 0)
    }

    /// GET `path` on 127.0.0.1:`port` (python's urllib): the status and the body.
    private func get(port: Int, path: String) async throws -> (status: Int, body: String) {
        let script = """
            import sys, urllib.request, urllib.error
            try:
                answer = urllib.request.urlopen('http://127.0.0.1:\(port)\(path)', timeout=10)
                sys.stdout.write('%d %s' % (answer.status, answer.read().decode()))
            except urllib.error.HTTPError as error:
                sys.stdout.write('%d %s' % (error.code, error.read().decode()))
            """
        let child = try ChildProcess("python3", ["-c", script])
        guard await child.exitStatus(within: .seconds(30)) == 0 else {
            child.signal(SIGKILL)
            throw MeshTestFailure(String(decoding: child.standardError, as: UTF8.self))
        }
        let text = String(decoding: child.standardOutput, as: UTF8.self)
        let space = text.firstIndex(of: " ") ?? text.endIndex
        return (Int(text[..<space]) ?? -1, String(text[space...].dropFirst()))
    }

    @Test("the admin port answers /healthz while up, /readyz by the service's readiness (503 with the reason), 404 for the rest")
    func probes() async throws {
        let ready = Mutex(false)
        let admin = try AdminServer(host: "127.0.0.1", port: 0, registry: PrometheusRegistry()) {
            ready.withLock { $0 } ? (true, "SERVING") : (false, "NOT_SERVING: the model's schema is refused")
        }
        defer { admin.stop() }
        #expect(try await get(port: admin.port, path: "/healthz") == (200, "ok\n"))
        #expect(try await get(port: admin.port, path: "/readyz") == (503, "NOT_SERVING: the model's schema is refused\n"))
        ready.withLock { $0 = true }
        #expect(try await get(port: admin.port, path: "/readyz?verbose") == (200, "SERVING\n"))
        #expect(try await get(port: admin.port, path: "/debug/vars").status == 404)
        #expect(try await get(port: admin.port, path: "/metrics").status == 200)
    }

    @Test("an output whose reader has gone fails its writes; the process is not killed by SIGPIPE")
    func brokenPipe() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[1]) }
        close(fds[0])
        let sink = RotatingFileLogHandler.Sink(fileDescriptor: fds[1])
        let logger = Logger(label: "test") { RotatingFileLogHandler(label: $0, sink: sink) }
        for index in 0..<10 { logger.info("line \(index)") }
        await sink.flush(timeout: .seconds(10))
        // Still here (a SIGPIPE would have ended the test process), and every line was
        // handled: written lines count even when the write failed.
        #expect(sink.pendingLines == 0)
    }
}

@Suite("Trace context propagation")
struct TracePropagationTests {
    /// Metadata as a plain dictionary, for the extractor and injector.
    struct Extract: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }
    struct Inject: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }

    @Test("a child span keeps the caller's trace id and tracestate, with a new span id and the caller's as parent")
    func childSpan() {
        let tracer = MeshTracer { _ in }
        var context = InstrumentationContext.topLevel
        let incoming = ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "vendor=abc"]
        tracer.extract(incoming, into: &context, using: Extract())
        let span = tracer.startSpan("/svc/Method", context: context, ofKind: .server, at: DefaultTracerClock.now, function: #function, file: #fileID, line: #line)
        let trace = span.context.traceContext
        #expect(trace?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace?.parentSpanID == "00f067aa0ba902b7" && trace?.spanID != "00f067aa0ba902b7")
        var outgoing: [String: String] = [:]
        tracer.inject(span.context, into: &outgoing, using: Inject())
        #expect(outgoing["traceparent"]?.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-") == true)
        #expect(outgoing["tracestate"] == "vendor=abc")
        span.end()
    }
}

/// A test's helper failed (not the code under test).
struct MeshTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
