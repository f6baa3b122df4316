import CMeshLinux
import Logging
import OOMesh
@testable import OOMeshHTTP2
import Synchronization
import Testing

/// Handlers on the loop or off it, and the loop-stall watchdog that tells them apart.
@Suite("Loop isolation", .serialized, .timeLimit(.minutes(2)))
struct LoopIsolationTests {
    /// A handler that computes for `busy` without suspending: on the loop (the default)
    /// it stalls the loop, which the watchdog reports while it lasts and counts when it
    /// ends; with `.concurrentPool` it runs on Swift's pool and the loop stays free. The
    /// margins are wide (a 250 ms threshold, 1 s of work, a stall of 800 ms told apart)
    /// so a loaded machine's scheduling noise cannot turn one case into the other.
    @Test("a computing handler stalls its loop unless its service runs off the loop; the watchdog says so",
          arguments: [HandlerExecution.transport, .concurrentPool])
    func computingHandler(execution: HandlerExecution) async throws {
        let logs = RecordedLogs()
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.eventLoopThreads = 1
        configuration.loopStallThreshold = .milliseconds(250)
        let service = BusyService(busy: .seconds(1), execution: execution)
        try await withProcessResourceGate(exclusive: false) {
            let transport = try HTTP2ServerTransport(
                host: "127.0.0.1", port: 0, configuration: configuration,
                logger: Logger(label: "test") { _ in RecordingLogHandler(logs: logs) })
            let server = GRPCServer(transport: transport, services: [service])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                try await server.waitUntilListening()
                defer { server.beginGracefulShutdown() }
                try await withHTTP2Client(port: transport.port) { client in
                    let reply = try await client.unary(
                        request: [], descriptor: BusyService.method, serializer: Bytes(), deserializer: Bytes()
                    ) { try $0.message }
                    #expect(String(decoding: reply, as: UTF8.self).hasPrefix(execution == .transport ? "oo-server-0" : "not a loop"),
                            "ran on \(String(decoding: reply, as: UTF8.self))")
                }
                // The loop counts a stall when its iteration ends, after the flush that sent
                // the reply: the reply can be read before the count is in. Wait for it
                // (bounded); reading at once made this test fail on a loaded machine.
                var stalls = transport.loopStalls
                let settle = ContinuousClock.now + .seconds(5)
                while execution == .transport, stalls.count == 0, ContinuousClock.now < settle {
                    try await Task.sleep(for: .milliseconds(10))
                    stalls = transport.loopStalls
                }
                switch execution {
                case .transport:
                    #expect(stalls.count >= 1)
                    #expect(stalls.longest >= .milliseconds(800), "\(stalls)")
                    // The watchdog spoke while the stall lasted; the loop when it ended
                    // (one line per loop per 10 s: the ongoing report is the one logged).
                    #expect(logs.lines.contains { $0.contains("event loop oo-server-0 has been stalled for") && $0.contains("and still is") },
                            "\(logs.lines)")
                case .concurrentPool:
                    #expect(stalls.longest < .milliseconds(800), "\(stalls)")
                }
            }
        }
    }

    @Test("a stall report says which loop, how long, and whether it is over")
    func stallDescription() {
        #expect(LoopStall(loop: "oo-server-1", duration: .milliseconds(612), ended: true).description
                == "event loop oo-server-1 was stalled for 612 ms: every connection on it waited")
        #expect(LoopStall(loop: "oo-server-0", duration: .milliseconds(300), ended: false).description
                == "event loop oo-server-0 has been stalled for 300 ms and still is")
    }
}

/// One unary method that computes (spins on the clock, never suspending) for `busy`, then
/// answers with the name of the thread it ran on.
private struct BusyService: RPCService {
    static let method = MethodDescriptor(service: "isolation.v1.Busy", method: "Compute", kind: .unary)
    let busy: Duration
    let execution: HandlerExecution

    var handlerExecution: HandlerExecution { execution }

    func registerMethods(with router: inout RPCRouter) {
        router.registerUnary(Self.method, deserializer: Bytes(), serializer: Bytes()) { [busy] _, _ in
            let end = ContinuousClock.now + busy
            var spins = 0
            while ContinuousClock.now < end { spins &+= 1 }
            var name = [CChar](repeating: 0, count: 16)
            oo_thread_name(&name)
            let thread = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return Array((thread.hasPrefix("oo-server") ? thread : "not a loop (\(thread))").utf8)
        }
    }
}

private struct Bytes: MessageSerializer, MessageDeserializer {
    func serialize(_ message: [UInt8]) throws -> [UInt8] { message }
    func deserialize(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}
