import Foundation
import GatewayProtos
import MeshRuntime
import OOMesh
import OOMeshHTTP2
import OOProcess
import Testing

/// compose.yaml, as `docker-compose config` resolves it (tools/setup installs docker-compose
/// 1.29; no Docker engine is needed to read the file): the same services, ports and
/// dependencies as `oo up`, as secure, and runnable. There is no engine here to run the
/// containers, so the last test runs what they would run (mesh-init's script, then each
/// service's command, environment and health check) as processes on loopback.
@Suite("compose.yaml", .serialized, .timeLimit(.minutes(3)))
struct ComposeTests {
    static let root = FileManager.default.currentDirectoryPath

    /// `docker-compose config`'s output as JSON objects (converted by the docker-compose
    /// environment's own PyYAML).
    static func resolved() async throws -> [String: Any] {
        let compose = root + "/.build/tools/docker-compose"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: compose) else {
            throw MeshError(message: "\(compose) is missing: run tools/setup, which installs docker-compose")
        }
        let python = URL(fileURLWithPath: target).deletingLastPathComponent().appendingPathComponent("python").path
        let script = """
            import json, subprocess, sys, yaml
            out = subprocess.run([sys.argv[1], "-f", "compose.yaml", "config"], check=True, capture_output=True).stdout
            print(json.dumps(yaml.safe_load(out)))
            """
        let result = try await ChildProcess.run(python, ["-c", script, compose], directory: root)
        guard result.status == 0 else {
            throw MeshError(message: "docker-compose config failed: \(String(decoding: result.standardError, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any] ?? [:]
    }

    static func services(_ config: [String: Any]) -> [String: [String: Any]] {
        (config["services"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] }
    }

    @Test("every service of `oo up` on its port, finding its dependencies by name; only the gateway published; TLS on every service, each with only its own key")
    func composeMatchesLayout() async throws {
        let services = Self.services(try await Self.resolved())
        let layout = MeshLayout()
        #expect(Set(services.keys) == Set(MeshLayout.services.map(\.name) + ["mesh-init"]))
        for service in MeshLayout.services {
            guard let block = services[service.name] else {
                Issue.record("compose.yaml has no service \(service.name)")
                continue
            }
            let command = block["command"] as? [String] ?? []
            let port = layout.port(of: service.name)
            #expect(Array(command.prefix(3)) == ["oo", "serve", service.name])
            #expect(command.contains("--port") && command[command.firstIndex(of: "--port")! + 1] == "\(port)")
            #expect(!command.contains("--insecure-plaintext"), "\(service.name) runs plaintext")
            let environment = block["environment"] as? [String: String] ?? [:]
            for dependency in service.dependencies {
                #expect(environment[MeshLayout.addressVariable(of: dependency)] == "\(dependency):\(layout.port(of: dependency))", "\(service.name) finds \(dependency)")
            }
            #expect(environment["OO_TLS_CERT"] == "/tls/tls.pem" && environment["OO_TLS_KEY"] == "/tls/tls.key" && environment["OO_TLS_CA"] == "/tls/ca.pem")
            #expect(environment["OO_INSECURE_PLAINTEXT"] == nil)
            // Client certificates: required everywhere but at the front door.
            #expect(environment["OO_TLS_CLIENT_AUTH"] == (service.name == "gateway" ? "optional" : nil))
            // Its own directory, read-only; never the whole set of keys.
            let volumes = block["volumes"] as? [String] ?? []
            #expect(volumes.contains { $0.hasSuffix("/oo-compose/\(service.name):/tls:ro") }, "\(service.name): \(volumes)")
            #expect(!volumes.contains { $0.contains("/oo-compose:") })
            let published = block["ports"] as? [[String: Any]] ?? []
            if service.name == "gateway" {
                #expect(published.count == 1 && published.first?["published"] as? Int == port && published.first?["target"] as? Int == port)
            } else {
                #expect(published.isEmpty, "\(service.name) publishes \(published)")
            }
            let dependsOn = block["depends_on"] as? [String: Any] ?? [:]
            #expect((dependsOn["mesh-init"] as? [String: Any])?["condition"] as? String == "service_completed_successfully")
            let health = (block["healthcheck"] as? [String: Any])?["test"] as? [String] ?? []
            #expect(health.contains("--cacert") && health.contains("--cert") && health.contains(service.grpcService))
        }
        #expect(Self.services(try await Self.resolved())["mesh-init"]?["ports"] == nil)
    }

    @Test("what the containers run, run as processes: mesh-init's credentials, each service's command, environment and health check; a plaintext client is refused, an app with the CA and a token is served")
    func composeRuns() async throws {
        let services = Self.services(try await Self.resolved())
        let executable = MeshProcessTests.executable
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-compose-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mesh = directory + "/mesh"
        // mesh-init's script, with its volume at `mesh` and this build's oo.
        let initCommand = services["mesh-init"]?["command"] as? [String] ?? []
        #expect(initCommand.count == 3 && initCommand[0] == "sh")
        let script = initCommand.last!.replacingOccurrences(of: "$$", with: "$")
            .replacingOccurrences(of: "/mesh", with: mesh).replacingOccurrences(of: "oo init", with: "\(executable) init")
        let initialized = try await ChildProcess.run("sh", ["-ec", script])
        #expect(initialized.status == 0, "mesh-init: \(String(decoding: initialized.standardError, as: UTF8.self))")
        for service in MeshLayout.services {
            for file in ["ca.pem", "tls.pem", "tls.key"] {
                #expect(FileManager.default.fileExists(atPath: "\(mesh)/\(service.name)/\(file)"), "\(service.name)/\(file)")
            }
            let mode = (try FileManager.default.attributesOfItem(atPath: "\(mesh)/\(service.name)/tls.key")[.posixPermissions] as? Int) ?? 0
            #expect(mode & 0o077 == 0, "\(service.name)'s key is readable by others: \(String(mode, radix: 8))")
            #expect(try String(contentsOfFile: "\(mesh)/\(service.name)/tls.pem", encoding: .utf8)
                == String(contentsOfFile: "\(mesh)/certs/\(service.name).pem", encoding: .utf8))
        }

        // The services on a random block of loopback ports: compose's ports and service names
        // mapped to them (the certificates name both `NAME` and `localhost`).
        let layout = MeshLayout(basePort: MeshProcessTests.basePort())
        let standard = MeshLayout()
        func mapped(_ value: String, _ name: String) -> String {
            var value = value
            for service in MeshLayout.services {
                value = value.replacingOccurrences(of: "\(service.name):\(standard.port(of: service.name))", with: "localhost:\(layout.port(of: service.name))")
                if value == "\(standard.port(of: service.name))" { value = "\(layout.port(of: service.name))" }
                value = value.replacingOccurrences(of: "127.0.0.1:\(standard.port(of: service.name))", with: "127.0.0.1:\(layout.port(of: service.name))")
            }
            if value.hasPrefix("/tls/") { value = "\(mesh)/\(name)/" + value.dropFirst(5) }
            if value == "/data" { value = "\(directory)/data-\(name)" }
            if value == "0.0.0.0" { value = "127.0.0.1" }
            return value
        }
        var running: [ChildProcess] = []
        func stopAll() async {
            for child in running { child.signal(SIGTERM) }
            for child in running where await child.exitStatus(within: .seconds(15)) == nil { child.signal(SIGKILL) }
        }
        do {
            for service in MeshLayout.services {
                let block = services[service.name] ?? [:]
                let command = (block["command"] as? [String] ?? []).map { mapped($0, service.name) }
                var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OO_") }
                for (key, value) in block["environment"] as? [String: String] ?? [:] { environment[key] = mapped(value, service.name) }
                let child = try ChildProcess(executable, Array(command.dropFirst()), output: .merged, environment: environment, lifeline: true)
                running.append(child)
                // Its health check, as the engine would run it, until it passes.
                let check = ((block["healthcheck"] as? [String: Any])?["test"] as? [String] ?? []).dropFirst().map { mapped($0, service.name) }
                let deadline = ContinuousClock.now + .seconds(30)
                var healthy = false
                while !healthy, ContinuousClock.now < deadline, !child.hasExited {
                    healthy = try await ChildProcess.run(executable, Array(check.dropFirst())).status == 0
                    if !healthy { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(healthy, "\(service.name) never passed its health check: \(String(decoding: child.standardOutput, as: UTF8.self).suffix(1500))")
                guard healthy else { break }
            }
            // An app: the mesh's CA, no certificate, a token from `oo token`.
            let minted = try await ChildProcess.run(executable, ["token", "--data-dir", mesh, "--subject", "compose-user"])
            let token = String(decoding: minted.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            var configuration = HTTP2ClientTransport.Configuration.defaults
            configuration.tls = ClientTLSConfiguration(trustRootsPath: "\(mesh)/certs/ca.pem")
            configuration.connectTimeout = .seconds(5)
            for (name, tls) in [("gateway", true), ("gateway", false), ("notifier", true)] {
                var clientConfiguration = configuration
                if !tls { clientConfiguration.tls = nil }
                let transport = try HTTP2ClientTransport(host: "127.0.0.1", port: layout.port(of: name), configuration: clientConfiguration)
                let outcome = await code {
                    try await withGRPCClient(transport: transport) { client in
                        _ = try await Oo_Gateway_V1_Gateway_Client(wrapping: client).listTips(
                            .init(), metadata: ["authorization": .string("Bearer \(token)")], options: CallOptions(timeout: .seconds(5)))
                    }
                }
                switch (name, tls) {
                case ("gateway", true): #expect(outcome == nil, "the gateway refused an app with the CA and a token: \(String(describing: outcome))")
                // Plaintext at a TLS port, and TLS without a certificate at an internal one: no handshake.
                default: #expect(outcome == .unavailable, "\(name) tls=\(tls): \(String(describing: outcome))")
                }
            }
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }
}
