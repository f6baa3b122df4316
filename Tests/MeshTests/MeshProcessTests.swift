import Foundation
import GatewayProtos
import MeshRuntime
import OOAuth
import OOMesh
import OOMeshHTTP2
import OOProcess
import SwiftProtobuf
import Testing

/// The mesh as `oo up` runs it: each service its own `oo serve` process (the built
/// `.build/debug/oo`), on loopback ports, with its data under one directory.
@Suite("The mesh as processes", .serialized, .timeLimit(.minutes(4)))
struct MeshProcessTests {
    static let executable = FileManager.default.currentDirectoryPath + "/.build/debug/oo"

    /// A launcher on a random block of ports, with data in a fresh directory.
    static func launcher() -> (MeshLauncher, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-up-\(UUID().uuidString)")
        var configuration = MeshLauncher.Configuration()
        configuration.executable = executable
        configuration.dataDirectory = directory.path
        configuration.layout = MeshLayout(basePort: Int.random(in: 20_000...40_000) / 10 * 10)
        return (MeshLauncher(configuration: configuration), directory)
    }

    static func secret(_ launcher: MeshLauncher) throws -> [UInt8] {
        Array(try String(contentsOfFile: launcher.jwtSecretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }

    @Test("killing and restarting the recommender mid-run loses no reaction the gateway acknowledged")
    func recommenderKilledAndRestarted() async throws {
        let (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        var running = try await launcher.start()
        do {
            let signer = try JWTSigner(hs256Secret: try Self.secret(launcher))
            let layout = launcher.configuration.layout
            let users = (0..<4).map { "restart-user-\($0)" }
            let tokens = try users.map { user -> Metadata in
                let token = try signer.sign(subject: user, issuer: "oo-dev", audience: "oo-gateway", expiresAt: Date().addingTimeInterval(600))
                return ["authorization": .string("Bearer \(token)")]
            }
            let transport = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: "gateway"))
            let acknowledged: [(user: Int, tip: String, reaction: Oo_Gateway_V1_Reaction)] = try await withGRPCClient(transport: transport) { client in
                let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
                for token in tokens { _ = try await gateway.importTasks(.with { $0.tasksJson = tasksJSON(40) }, metadata: token) }
                var acknowledged: [(Int, String, Oo_Gateway_V1_Reaction)] = []
                var failures = 0
                let options = CallOptions(timeout: .seconds(3))
                for round in 0..<30 {
                    if round == 12 {
                        // Kill -9 the recommender: no graceful anything.
                        let index = running.firstIndex { $0.service.name == "recommender" }!
                        running[index].process.signal(SIGKILL)
                        _ = await running[index].process.exitStatus()
                    }
                    if round == 16 {
                        let index = running.firstIndex { $0.service.name == "recommender" }!
                        running[index] = try await launcher.restart(running[index].service)
                    }
                    for (user, token) in tokens.enumerated() {
                        do {
                            let tip = try await gateway.getNextTip(.init(), metadata: token, options: options).tip
                            let reaction: Oo_Gateway_V1_Reaction = [.done, .snooze, .dismiss][(round + user) % 3]
                            let answer = try await gateway.react(.with {
                                $0.tipID = tip.tipID
                                $0.reaction = reaction
                            }, metadata: token, options: options)
                            if !answer.duplicate { acknowledged.append((user, tip.tipID, reaction)) }
                        } catch let error as RPCError {
                            #expect(error.code == .unavailable, "while the recommender is down calls fail UNAVAILABLE, got \(error)")
                            failures += 1
                        }
                    }
                }
                #expect(failures > 0, "some calls must have met the dead recommender")
                return acknowledged
            }
            #expect(acknowledged.count >= 60)
            // Every acknowledged reaction is in the (restarted) recommender's history.
            let check = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: "gateway"))
            try await withGRPCClient(transport: check) { client in
                let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
                for (user, token) in tokens.enumerated() {
                    var stored: [String: Oo_Gateway_V1_Reaction] = [:]
                    var before = ""
                    while true {
                        let page = try await gateway.listTips(.with {
                            $0.limit = 200
                            $0.beforeTipID = before
                        }, metadata: token)
                        for tip in page.tips { stored[tip.tipID] = tip.reaction }
                        guard let last = page.tips.last, page.tips.count == 200 else { break }
                        before = last.tipID
                    }
                    for entry in acknowledged where entry.user == user {
                        #expect(stored[entry.tip] == entry.reaction, "acknowledged reaction to \(entry.tip) lost")
                    }
                }
            }
        } catch {
            await MeshLauncher.stop(running, timeout: .seconds(10))
            throw error
        }
        await MeshLauncher.stop(running, timeout: .seconds(10))
        #expect(running.allSatisfy { $0.process.hasExited })
    }

    @Test("oo simulate on its own mesh: the bandit learns, nothing fails, the chart is written, nothing is left running")
    func simulate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-sim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Int.random(in: 20_000...40_000) / 10 * 10
        let result = try await ChildProcess.run(Self.executable, [
            "simulate", "--users", "8", "--days", "3", "--sessions-per-day", "4", "--data-dir", directory.path, "--base-port", "\(base)",
        ])
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        #expect(result.status == 0, "oo simulate failed:\n\(output)\n\(String(decoding: result.standardError, as: UTF8.self))")
        #expect(output.contains("failed: none"))
        #expect(output.contains("Latency per hop"))
        #expect(output.contains("gateway→ml-serving"))
        let svg = try String(contentsOfFile: directory.appendingPathComponent("learning-curve.svg").path, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))
        // The mesh is gone: the gateway's port refuses connections.
        let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: base)
        let refused = await code {
            try await withGRPCClient(transport: transport) { client in
                _ = try await Oo_Gateway_V1_Gateway_Client(wrapping: client).listTips(.init(), options: CallOptions(timeout: .seconds(2)))
            }
        }
        #expect(refused == .unavailable)
    }
}

/// `oo up`'s services and ports are those compose.yaml runs.
@Suite("compose.yaml")
struct ComposeTests {
    @Test("compose.yaml names every service of `oo up`, on the same port, with its dependencies' addresses")
    func composeMatchesLayout() throws {
        let compose = try String(contentsOfFile: FileManager.default.currentDirectoryPath + "/compose.yaml", encoding: .utf8)
        let lines = compose.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let layout = MeshLayout()
        var declared: [String] = []
        for service in MeshLayout.services {
            guard let start = lines.firstIndex(of: "  \(service.name):") else {
                Issue.record("compose.yaml has no service \(service.name)")
                continue
            }
            declared.append(service.name)
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("  ") && !$0.hasPrefix("   ") && !$0.isEmpty } ?? lines.endIndex
            let block = lines[start..<end].joined(separator: "\n")
            let port = layout.port(of: service.name)
            #expect(block.contains(#""serve", "\#(service.name)""#), "\(service.name) runs oo serve \(service.name)")
            #expect(block.contains(#""--port", "\#(port)""#), "\(service.name) listens on \(port)")
            #expect(block.contains(#"ports: ["\#(port):\#(port)"]"#), "\(service.name) publishes \(port)")
            for dependency in service.dependencies {
                let variable = MeshLayout.addressVariable(of: dependency)
                #expect(block.contains("\(variable): \(dependency):\(layout.port(of: dependency))"), "\(service.name) finds \(dependency)")
            }
        }
        #expect(declared.count == MeshLayout.services.count)
        // No service in compose.yaml that `oo up` does not start.
        let serviceLines = lines.drop { $0 != "services:" }.prefix { $0 != "secrets:" }
        let names = serviceLines.filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") && $0.hasSuffix(":") }
            .map { $0.trimmingCharacters(in: .whitespaces).dropLast() }
        #expect(Set(names.map(String.init)) == Set(MeshLayout.services.map(\.name)))
    }
}
