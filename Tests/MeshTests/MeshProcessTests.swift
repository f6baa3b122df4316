import Foundation
import GatewayProtos
import HealthProtos
import MLProtos
import RecommenderProtos
import MeshRuntime
import OOAuth
import OOMesh
import OOMeshHTTP2
import OOProcess
import SwiftProtobuf
import Synchronization
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
        configuration.layout = MeshLayout(basePort: Self.basePort())
        return (MeshLauncher(configuration: configuration), directory)
    }

    /// A block of five ports below Linux's ephemeral range (32768-60999), so port-0 binds
    /// elsewhere in the tests cannot take them; the launcher refuses a taken one.
    static func basePort() -> Int { Int.random(in: 12_000...30_000) / 10 * 10 }

    /// Starts `launcher`'s mesh, runs `body` with its processes, and stops them whether
    /// `body` returns or throws.
    static func withRunningMesh<Result>(
        _ launcher: MeshLauncher, _ body: ([MeshLauncher.Running]) async throws -> Result
    ) async throws -> Result {
        let running = try await launcher.start()
        do {
            let result = try await body(running)
            await MeshLauncher.stop(running, timeout: .seconds(10))
            return result
        } catch {
            await MeshLauncher.stop(running, timeout: .seconds(10))
            throw error
        }
    }

    static func secret(_ launcher: MeshLauncher) throws -> [UInt8] {
        Array(try String(contentsOfFile: launcher.jwtSecretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }

    @Test("killing the recommender with SIGKILL under load (16 users at once) loses no reaction the gateway acknowledged")
    func recommenderKilledAndRestarted() async throws {
        let (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let started = try await launcher.start()
        struct Acknowledged: Sendable { var user: Int; var tip: String; var reaction: Oo_Gateway_V1_Reaction }
        /// What the users and the killer share.
        final class Shared: Sendable {
            let running: Mutex<[MeshLauncher.Running]>
            let acknowledged = Mutex<[Acknowledged]>([])
            let failures = Mutex(0)
            init(_ running: [MeshLauncher.Running]) { self.running = Mutex(running) }
        }
        let shared = Shared(started)
        do {
            let signer = try JWTSigner(hs256Secret: try Self.secret(launcher))
            let layout = launcher.configuration.layout
            let users = (0..<16).map { "restart-user-\($0)" }
            let tokens = try users.map { user -> Metadata in
                let token = try signer.sign(subject: user, issuer: "oo-dev", audience: "oo-gateway", expiresAt: Date().addingTimeInterval(600))
                return ["authorization": .string("Bearer \(token)")]
            }
            let transport = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: "gateway"), configuration: launcher.clientConfiguration)
            try await withGRPCClient(transport: transport) { client in
                let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
                for token in tokens { _ = try await gateway.importTasks(.with { $0.tasksJson = tasksJSON(40) }, metadata: token) }
                let options = CallOptions(timeout: .seconds(3))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Every user at once, tip then reaction, for a bounded number of rounds.
                    for (user, token) in tokens.enumerated() {
                        group.addTask {
                            // 25 acknowledged rounds each (a user has 40 tasks; each reaction
                            // takes one out of the candidates), failures not counted, bounded
                            // by a deadline.
                            var round = 0
                            let deadline = ContinuousClock.now + .seconds(60)
                            while round < 25, ContinuousClock.now < deadline {
                                do {
                                    let tip = try await gateway.getNextTip(.init(), metadata: token, options: options).tip
                                    let reaction: Oo_Gateway_V1_Reaction = [.done, .snooze, .dismiss][(round + user) % 3]
                                    let answer = try await gateway.react(.with {
                                        $0.tipID = tip.tipID
                                        $0.reaction = reaction
                                    }, metadata: token, options: options)
                                    if !answer.duplicate { shared.acknowledged.withLock { $0.append(.init(user: user, tip: tip.tipID, reaction: reaction)) } }
                                    round += 1
                                } catch let error as RPCError {
                                    #expect(error.code == .unavailable, "while the recommender is down calls fail UNAVAILABLE, got \(error)")
                                    shared.failures.withLock { $0 += 1 }
                                    try await Task.sleep(for: .milliseconds(50))
                                }
                            }
                        }
                    }
                    // Mid-load: kill -9 the recommender (no graceful anything), then start it again.
                    group.addTask {
                        let deadline = ContinuousClock.now + .seconds(30)
                        while shared.acknowledged.withLock({ $0.count }) < 100, ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        let victim = shared.running.withLock { $0.first { $0.service.name == "recommender" }! }
                        victim.process.signal(SIGKILL)
                        _ = await victim.process.exitStatus()
                        try await Task.sleep(for: .milliseconds(300))
                        let restarted = try await launcher.restart(victim.service)
                        shared.running.withLock { entries in
                            entries[entries.firstIndex { $0.service.name == "recommender" }!] = restarted
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let acknowledgedNow = shared.acknowledged.withLock { $0 }
            #expect(shared.failures.withLock { $0 } > 0, "some calls must have met the dead recommender")
            #expect(acknowledgedNow.count >= 200, "only \(acknowledgedNow.count) reactions acknowledged")
            // Every acknowledged reaction is in the (restarted) recommender's history.
            let check = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: "gateway"), configuration: launcher.clientConfiguration)
            try await withGRPCClient(transport: check) { client in
                let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
                // The gateway may still be backing off from the dead recommender: wait (bounded)
                // until it reaches the new one.
                let reachable = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < reachable {
                    if (try? await gateway.listTips(.init(), metadata: tokens[0], options: CallOptions(timeout: .seconds(2)))) != nil { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
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
                    for entry in acknowledgedNow where entry.user == user {
                        #expect(stored[entry.tip] == entry.reaction, "acknowledged reaction to \(entry.tip) lost")
                    }
                }
            }
        } catch {
            await MeshLauncher.stop(shared.running.withLock { $0 }, timeout: .seconds(10))
            throw error
        }
        let final = shared.running.withLock { $0 }
        await MeshLauncher.stop(final, timeout: .seconds(10))
        #expect(final.allSatisfy { $0.process.hasExited })
    }

    @Test("oo simulate on its own mesh: tips served by both policies, nothing fails, the chart is written, nothing is left running")
    func simulate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-sim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Self.basePort()
        let child = try ChildProcess(Self.executable, [
            "simulate", "--users", "8", "--days", "3", "--sessions-per-day", "4", "--data-dir", directory.path, "--base-port", "\(base)",
        ])
        guard let status = await child.exitStatus(within: .seconds(120)) else {
            child.signal(SIGKILL)
            Issue.record("oo simulate did not finish within 120 s:\n\(String(decoding: child.standardOutput, as: UTF8.self))")
            return
        }
        let output = String(decoding: child.standardOutput, as: UTF8.self)
        #expect(status == 0, "oo simulate failed:\n\(output)\n\(String(decoding: child.standardError, as: UTF8.self))")
        #expect(output.contains("linucb") && output.contains("random"))
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

extension MeshProcessTests {
    @Test("oo up: Ctrl-C stops every service; a second oo up on the same ports is refused while the first runs")
    func upAndInterrupt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-up-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Self.basePort()
        let up = try ChildProcess(Self.executable, ["up", "--data-dir", directory.path, "--base-port", "\(base)"])
        let deadline = ContinuousClock.now + .seconds(60)
        while !String(decoding: up.standardOutput, as: UTF8.self).contains("the mesh is up"), ContinuousClock.now < deadline, !up.hasExited {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(String(decoding: up.standardOutput, as: UTF8.self).contains("the mesh is up"))
        // A second mesh on the same ports is refused, naming the port.
        let second = try await ChildProcess.run(Self.executable, ["up", "--data-dir", directory.path + "-2", "--base-port", "\(base)"])
        #expect(second.status != 0)
        #expect(String(decoding: second.standardError, as: UTF8.self).contains("in use"))
        try? FileManager.default.removeItem(atPath: directory.path + "-2")

        up.signal(SIGINT)
        let status = await up.exitStatus(within: .seconds(60))
        #expect(status == 0, "oo up did not stop cleanly: \(String(decoding: up.standardOutput, as: UTF8.self))")
        // Every port is free again.
        for offset in 0..<5 {
            #expect((try? HTTP2ServerTransport(host: "127.0.0.1", port: base + offset))?.beginGracefulShutdown() != nil, "port \(base + offset) still taken")
        }
    }
}

extension MeshProcessTests {
    /// Runs tools/interop/reflection_client.py (grpcio's reflection client) and parses its
    /// one line of JSON.
    /// grpcurl's TLS flags for `launcher`'s mesh: its CA and the operator's certificate.
    static func operatorFlags(_ launcher: MeshLauncher) -> [String] {
        let certs = launcher.certificates
        return ["--cacert", certs.caCertificatePath,
                "--cert", certs.certificatePath(MeshLauncher.operatorName), "--key", certs.keyPath(MeshLauncher.operatorName)]
    }

    /// Runs the grpcio reflection client; with `expectFailure`, a non-zero exit gives
    /// `["failed": true]` instead of throwing.
    static func reflectionClient(_ arguments: [String], tls: [String] = [], expectFailure: Bool = false) async throws -> [String: Any] {
        let script = FileManager.default.currentDirectoryPath + "/tools/interop/reflection_client.py"
        let child = try ChildProcess("python3", [script] + tls + arguments)
        let status = await child.exitStatus(within: .seconds(60))
        if expectFailure, let status, status != 0 { return ["failed": true] }
        guard status == 0 else {
            child.signal(SIGKILL)
            throw MeshError(message: "reflection_client \(arguments) failed: \(String(decoding: child.standardError, as: UTF8.self))")
        }
        let object = try JSONSerialization.jsonObject(with: child.standardOutput)
        return object as? [String: Any] ?? [:]
    }

    /// A health check of `service` in `launcher`'s mesh with `tls` (nil: plaintext): nil when
    /// it answered, else the status code of the failure.
    static func healthCheck(_ launcher: MeshLauncher, _ service: MeshLayout.Service, tls: ClientTLSConfiguration?) async throws -> StatusCode? {
        var configuration = HTTP2ClientTransport.Configuration.defaults
        configuration.tls = tls
        configuration.connectTimeout = .seconds(5)
        let layout = launcher.configuration.layout
        let transport = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: service.name), configuration: configuration)
        return await code {
            try await withGRPCClient(transport: transport) { client in
                _ = try await Grpc_Health_V1_Health_Client(wrapping: client).check(.init(), options: CallOptions(timeout: .seconds(5)))
            }
        }
    }

    @Test("secure by default: every service serves TLS only; internal ones require a client certificate of the mesh's CA; the gateway does not")
    func secureByDefault() async throws {
        let (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withRunningMesh(launcher) { running in
            let certs = launcher.certificates
            let serverOnly = ClientTLSConfiguration(trustRootsPath: certs.caCertificatePath)
            for service in MeshLayout.services {
                // Plaintext h2c: the TLS server does not speak it.
                #expect(try await Self.healthCheck(launcher, service, tls: nil) == .unavailable, "\(service.name) answered plaintext")
                // The operator's certificate: answered everywhere.
                #expect(try await Self.healthCheck(launcher, service, tls: launcher.operatorTLS) == nil, "\(service.name) refused the operator")
                // TLS without a certificate: internal services refuse the handshake; the
                // gateway takes it (apps call its API with tokens) but its health, like every
                // method but its own API, wants a caller of the mesh.
                let anonymous = try await Self.healthCheck(launcher, service, tls: serverOnly)
                if service.name == "gateway" {
                    #expect(anonymous == .permissionDenied, "the gateway's health answered a caller without a certificate: \(String(describing: anonymous))")
                } else {
                    #expect(anonymous == .unavailable, "\(service.name) answered a client without a certificate")
                }
            }
            // grpcio without a certificate is refused by every internal service too.
            for service in MeshLayout.services where service.name != "gateway" {
                let grpcio = try await Self.reflectionClient(
                    ["list", launcher.configuration.layout.address(of: service.name)], tls: ["--cacert", certs.caCertificatePath], expectFailure: true)
                #expect(grpcio["failed"] as? Bool == true, "\(service.name) answered grpcio without a certificate: \(grpcio)")
            }
        }
    }

    @Test("authorization by workload identity: the notifier's certificate may not erase users or train the model; the gateway's and the recommender's may")
    func authorizationByIdentity() async throws {
        let (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withRunningMesh(launcher) { running in
            let layout = launcher.configuration.layout
            let certs = launcher.certificates
            func client(as name: String, to service: String) throws -> HTTP2ClientTransport {
                var configuration = HTTP2ClientTransport.Configuration.defaults
                configuration.tls = ClientTLSConfiguration(
                    trustRootsPath: certs.caCertificatePath, certificateChainPath: certs.certificatePath(name), privateKeyPath: certs.keyPath(name))
                return try HTTP2ClientTransport(host: layout.host, port: layout.port(of: service), configuration: configuration)
            }
            let options = CallOptions(timeout: .seconds(5))
            func eraseOnRecommender(as name: String) async throws -> StatusCode? {
                let transport = try client(as: name, to: "recommender")
                return await code {
                    try await withGRPCClient(transport: transport) { client in
                        _ = try await Oo_Recommender_V1_Recommender_Client(wrapping: client).deleteUserData(.with { $0.userID = "nobody" }, options: options)
                    }
                }
            }
            func updateModel(as name: String) async throws -> StatusCode? {
                let transport = try client(as: name, to: "ml-serving")
                return await code {
                    try await withGRPCClient(transport: transport) { client in
                        _ = try await Oo_Ml_V1_ModelServing_Client(wrapping: client).update(.init(), options: options)
                    }
                }
            }
            #expect(try await eraseOnRecommender(as: "notifier") == .permissionDenied)
            #expect(try await updateModel(as: "notifier") == .permissionDenied)
            #expect(try await updateModel(as: "gateway") == .permissionDenied)
            #expect(try await eraseOnRecommender(as: "gateway") == nil)
            // The recommender may train: past authorization, the empty update is refused for
            // what it is (no candidate), not for who sent it.
            let recommenderUpdate = try await updateModel(as: "recommender")
            #expect(recommenderUpdate != .permissionDenied && recommenderUpdate != .unavailable, "\(String(describing: recommenderUpdate))")
            // The denial is logged, naming the caller and the method.
            let log = try String(contentsOfFile: running.first { $0.service.name == "ml-serving" }!.logPath, encoding: .utf8)
            #expect(log.contains("spiffe://oo.local/notifier may not call /oo.ml.v1.ModelServing/Update"), "\(log.suffix(2000))")
        }
    }

    @Test("every service answers grpcio's reflection client (list, describe) and a JSON call through the gateway works")
    func reflectionOnEveryService() async throws {
        let (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withRunningMesh(launcher) { running in
            let layout = launcher.configuration.layout
            for service in MeshLayout.services {
                let listed = try await Self.reflectionClient(["list", layout.address(of: service.name)], tls: Self.operatorFlags(launcher))
                let services = listed["services"] as? [String] ?? []
                #expect(services.contains(service.grpcService), "\(service.name) lists \(services)")
                #expect(services.contains("grpc.health.v1.Health") && services.contains("grpc.reflection.v1.ServerReflection"))
                let methods = (listed["methods"] as? [String: [String]])?[service.grpcService] ?? []
                #expect(!methods.isEmpty, "\(service.name)'s methods are described")
                // grpc_health_probe-style: exit 0 when SERVING, 1 for an unknown service.
                let probe = try await ChildProcess.run(Self.executable, ["health", layout.address(of: service.name), "--service", service.grpcService] + Self.operatorFlags(launcher))
                #expect(probe.status == 0, "\(String(decoding: probe.standardOutput, as: UTF8.self))")
                let unknown = try await ChildProcess.run(Self.executable, ["health", layout.address(of: service.name), "--service", "no.such.Service"] + Self.operatorFlags(launcher))
                #expect(unknown.status == 1)
            }
            let token = try JWTSigner(hs256Secret: try Self.secret(launcher)).sign(
                subject: "json-user", issuer: "oo-dev", audience: "oo-gateway", expiresAt: Date().addingTimeInterval(600))
            let gateway = layout.address(of: "gateway")
            let imported = try await Self.reflectionClient([
                "call", gateway, "oo.gateway.v1.Gateway/ImportTasks",
                #"{"tasksJson": "[{\"id\": \"1\", \"content\": \"water the plants\", \"labels\": [\"chores\"]}]"}"#,
                "authorization:Bearer \(token)",
            ], tls: Self.operatorFlags(launcher))
            #expect(imported["imported"] as? Int == 1, "\(imported)")
            let tip = try await Self.reflectionClient(["call", gateway, "oo.gateway.v1.Gateway/GetNextTip", "{}", "authorization:Bearer \(token)"], tls: Self.operatorFlags(launcher))
            #expect((tip["tip"] as? [String: Any])?["content"] as? String == "water the plants", "\(tip)")
            let refused = try await Self.reflectionClient(["call", gateway, "oo.gateway.v1.Gateway/GetNextTip", "{}"], tls: Self.operatorFlags(launcher))
            #expect(refused["error"] as? String == "UNAUTHENTICATED", "\(refused)")
        }
    }
}

extension MeshProcessTests {
    /// GET `http://127.0.0.1:port/path` with a raw socket client (bounded by `timeout`).
    static func httpGet(port: Int, path: String) async throws -> String {
        let script = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:\(port)\(path)', timeout=10).read().decode())"
        let child = try ChildProcess("python3", ["-c", script])
        guard await child.exitStatus(within: .seconds(30)) == 0 else {
            child.signal(SIGKILL)
            throw MeshError(message: "GET \(path) on \(port) failed: \(String(decoding: child.standardError, as: UTF8.self))")
        }
        return String(decoding: child.standardOutput, as: UTF8.self)
    }

    @Test("one trace id follows a call gateway → recommender → ml-serving and notifier in the logs; /metrics counts it")
    func tracingAndMetrics() async throws {
        let (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withRunningMesh(launcher) { running in
            let layout = launcher.configuration.layout
            let token = try JWTSigner(hs256Secret: try Self.secret(launcher)).sign(
                subject: "traced-user", issuer: "oo-dev", audience: "oo-gateway", expiresAt: Date().addingTimeInterval(600))
            let traceID = TraceIDs.random(hexDigits: 32)
            let traceparent = "00-\(traceID)-\(TraceIDs.random(hexDigits: 16))-01"
            let transport = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: "gateway"), configuration: launcher.clientConfiguration)
            try await withGRPCClient(transport: transport) { client in
                let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
                _ = try await gateway.importTasks(.with { $0.tasksJson = tasksJSON(3) }, metadata: ["authorization": .string("Bearer \(token)")])
                let metadata: Metadata = ["authorization": .string("Bearer \(token)"), "traceparent": .string(traceparent)]
                _ = try await gateway.getNextTip(.init(), metadata: metadata, options: CallOptions(timeout: .seconds(10)))
            }
            // Every hop logged the call with the caller's trace id.
            try await Task.sleep(for: .milliseconds(300))
            for service in ["gateway", "recommender", "ml-serving", "notifier"] {
                let log = try String(contentsOfFile: "\(directory.path)/logs/\(service).log", encoding: .utf8)
                #expect(log.contains("trace_id=\(traceID)"), "\(service)'s log has the trace id")
            }
            // The gateway's and the recommender's metrics, in Prometheus's format.
            let gatewayMetrics = try await Self.httpGet(port: layout.adminPort(of: "gateway"), path: "/metrics")
            #expect(gatewayMetrics.contains(
                #"grpc_server_handled_total{grpc_type="unary",grpc_service="oo.gateway.v1.Gateway",grpc_method="GetNextTip",grpc_code="OK"} 1"#))
            #expect(gatewayMetrics.contains("# TYPE grpc_server_handling_seconds histogram"))
            #expect(gatewayMetrics.contains(#"grpc_server_handling_seconds_bucket{grpc_type="unary",grpc_service="oo.gateway.v1.Gateway",grpc_method="GetNextTip",le="+Inf"} 1"#))
            #expect(gatewayMetrics.contains(#"grpc_client_handled_total{grpc_type="unary",grpc_service="oo.notifier.v1.Notifier",grpc_method="Deliver",grpc_code="OK"} 1"#))
            let recommenderMetrics = try await Self.httpGet(port: layout.adminPort(of: "recommender"), path: "/metrics")
            #expect(recommenderMetrics.contains(#"grpc_client_started_total{grpc_type="unary",grpc_service="oo.ml.v1.ModelServing",grpc_method="Score"} 1"#))
            #expect(recommenderMetrics.contains(#"grpc_client_msg_sent_total{grpc_type="unary",grpc_service="oo.ml.v1.ModelServing",grpc_method="Score"} 1"#))
            #expect(recommenderMetrics.contains(#"grpc_client_msg_received_total{grpc_type="unary",grpc_service="oo.ml.v1.ModelServing",grpc_method="Score"} 1"#))
            #expect(recommenderMetrics.contains(#"grpc_server_msg_sent_total{grpc_type="unary",grpc_service="oo.recommender.v1.Recommender",grpc_method="Recommend"} 1"#))
            // Probes that need no gRPC or TLS, on the admin port: live and ready.
            for service in MeshLayout.services {
                #expect(try await Self.httpGet(port: layout.adminPort(of: service.name), path: "/healthz") == "ok\n")
                #expect(try await Self.httpGet(port: layout.adminPort(of: service.name), path: "/readyz").hasPrefix("SERVING"), "\(service.name)")
            }
            let missing = try await Self.httpGet(port: layout.adminPort(of: "gateway"), path: "/metrics").isEmpty
            #expect(!missing)
        }
    }
}

/// Random lowercase hex ids.
enum TraceIDs {
    static func random(hexDigits: Int) -> String {
        String((0..<hexDigits).map { _ in "0123456789abcdef".randomElement()! })
    }
}
