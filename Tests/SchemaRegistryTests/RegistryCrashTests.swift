import Foundation
import OOMesh
import OOMeshHTTP2
import OOProcess
import RegistryProtos
import SwiftProtobuf
import Synchronization
import Testing

/// The registry as its own process (`oo serve registry`), killed with SIGKILL in the middle
/// of a registration load: every registration it acknowledged is there after a restart.
@Suite("Schema registry durability", .serialized, .timeLimit(.minutes(3)))
struct RegistryCrashTests {
    @Test("no acknowledged registration is lost when the registry is killed with SIGKILL mid-load")
    func survivesSIGKILL() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-registry-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("registry.sqlite").path

        let port = freeLoopbackPort()
        let first = try await RegistryProcess.start(port: port, database: database)
        let acknowledged = Acknowledged()
        // 8 writers, each registering growing versions of its own subject until the kill.
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        do {
                            let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: port)
                            try await withGRPCClient(transport: transport) { client in
                                let registry = Oo_Registry_V1_SchemaRegistry_Client(wrapping: client)
                                for count in 1...10_000 {
                                    let names = (0..<count).map { "feature_\($0)" }
                                    let response = try await registry.register(.with {
                                        $0.subject = "writer-\(writer)"
                                        $0.fileDescriptorSet = features(names)
                                    }, options: CallOptions(timeout: .seconds(10)))
                                    acknowledged.add(subject: "writer-\(writer)", version: Int(response.version), id: response.schemaID)
                                }
                            }
                        } catch {
                            // The kill: calls in flight fail; they were never acknowledged.
                        }
                    }
                }
            }
        }
        // Kill once a good number of registrations were acknowledged (bounded in time).
        let deadline = ContinuousClock.now + .seconds(30)
        while acknowledged.count < 200, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await first.kill()
        await writers.value
        let before = acknowledged.all
        #expect(before.count >= 200, "only \(before.count) registrations were acknowledged before the kill")
        print("RegistryCrashTests: \(before.count) registrations acknowledged before SIGKILL")

        let second = try await RegistryProcess.start(port: port, database: database)
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: port)
        try await withGRPCClient(transport: transport) { client in
            let registry = Oo_Registry_V1_SchemaRegistry_Client(wrapping: client)
            for writer in 0..<8 {
                let subject = "writer-\(writer)"
                let stored = try await registry.listVersions(.with { $0.subject = subject }).versions
                let storedByVersion = Dictionary(uniqueKeysWithValues: stored.map { (Int($0.version), $0.schemaID) })
                for entry in before where entry.subject == subject {
                    #expect(storedByVersion[entry.version] == entry.id, "\(subject) v\(entry.version) was acknowledged but is not stored")
                }
                // Versions are dense: 1...n, with no gap a half-written registration would leave.
                #expect(stored.map { Int($0.version) } == Array(1..<(stored.count + 1)))
            }
            // The restarted registry still accepts registrations.
            let next = try await registry.register(.with { $0.subject = "after-restart"; $0.fileDescriptorSet = features(["x"]) })
            #expect(next.version == 1)
        }
        await second.kill()
    }
}

/// Registrations the registry acknowledged.
final class Acknowledged: Sendable {
    struct Entry: Sendable, Hashable {
        var subject: String
        var version: Int
        var id: String
    }
    private let entries = Mutex<[Entry]>([])
    func add(subject: String, version: Int, id: String) { entries.withLock { $0.append(Entry(subject: subject, version: version, id: id)) } }
    var count: Int { entries.withLock { $0.count } }
    var all: [Entry] { entries.withLock { $0 } }
}

/// `oo serve registry` as a child process.
final class RegistryProcess: Sendable {
    let child: ChildProcess

    private init(child: ChildProcess) { self.child = child }

    static func start(port: Int, database: String) async throws -> RegistryProcess {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let registry = RegistryProcess(child: try ChildProcess(
            root.appendingPathComponent(".build/debug/oo").path,
            ["serve", "registry", "--port", String(port), "--database", database, "--insecure-plaintext"], output: .merged))
        // Ready when it accepts a connection (bounded).
        let deadline = ContinuousClock.now + .seconds(20)
        while !canConnect(port: port) {
            guard !registry.child.hasExited, ContinuousClock.now < deadline else {
                await registry.kill()
                throw RegistryStartFailure(port: port, output: String(decoding: registry.child.standardOutput, as: UTF8.self))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return registry
    }

    /// SIGKILL: no chance to flush or shut down. Returns once it has exited.
    func kill() async {
        child.signal(SIGKILL)
        _ = await child.exitStatus()
    }

    deinit { child.signal(SIGKILL) }
}

struct RegistryStartFailure: Error, CustomStringConvertible {
    let port: Int
    let output: String
    var description: String { "oo serve registry did not start listening on port \(port): \(output)" }
}

/// A free loopback TCP port (bound and released).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on the loopback `port`.
func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
