import Foundation
import HealthProtos
import OOAuth
import OOMesh
import OOMeshHTTP2
import OOProcess
import SwiftProtobuf

/// Starts every service of the mesh as its own `oo serve` process on loopback, with its
/// data and log under one directory, waits until each reports SERVING over gRPC health, and
/// stops them all (SIGTERM, then SIGKILL after a grace period).
public final class MeshLauncher: Sendable {
    /// What to start.
    public struct Configuration: Sendable, Hashable {
        /// The `oo` executable to run `serve` with. Default: this process's executable.
        public var executable: String = MeshLauncher.currentExecutable
        /// Where each service keeps its SQLite file, and `logs/<service>.log`. Default `oo-data`.
        public var dataDirectory = "oo-data"
        /// Ports and host.
        public var layout = MeshLayout()
        /// How long each service may take to become healthy. Default 30 s.
        public var startTimeout: Duration = .seconds(30)
        /// How long each service may take to stop after SIGTERM before it is killed. Default 10 s.
        public var stopTimeout: Duration = .seconds(10)
        /// Extra arguments per service name, e.g. `["recommender": ["--control-share", "0.5"]]`.
        public var extraArguments: [String: [String]] = [:]
        /// Serve and call plaintext h2c instead of mutual TLS. Default: false, TLS with the
        /// development CA in `<data>/certs/`.
        public var insecurePlaintext = false

        /// The defaults.
        public init() {}
    }

    /// A started service.
    public struct Running: Sendable {
        public var service: MeshLayout.Service
        public var address: String
        public var process: ChildProcess
        /// Its log (rotated by the service itself).
        public var logPath: String
        /// Its stdout and stderr.
        public var outputPath: String
    }

    public let configuration: Configuration
    /// The HS256 secret the gateway verifies tokens with (in `<data>/jwt-secret`), for
    /// minting tokens as the simulator does.
    public let jwtSecretPath: String

    /// The development CA and the certificates of every service and of `operator` (for
    /// people and tools), in `<data>/certs/`, made at start when missing.
    public let certificates: DevelopmentCertificates

    /// The identity given to people and tools (`oo health`, `oo call`, the simulator, tests).
    public static let operatorName = "operator"

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.jwtSecretPath = configuration.dataDirectory + "/jwt-secret"
        self.certificates = DevelopmentCertificates(directory: configuration.dataDirectory + "/certs")
    }

    /// TLS for a client of this mesh: trusts its CA and presents the operator's certificate;
    /// nil when the mesh runs plaintext.
    public var operatorTLS: ClientTLSConfiguration? {
        configuration.insecurePlaintext ? nil : ClientTLSConfiguration(
            trustRootsPath: certificates.caCertificatePath,
            certificateChainPath: certificates.certificatePath(Self.operatorName),
            privateKeyPath: certificates.keyPath(Self.operatorName))
    }

    /// A client transport configuration for this mesh (the operator's TLS, or plaintext).
    public var clientConfiguration: HTTP2ClientTransport.Configuration {
        var transport = HTTP2ClientTransport.Configuration.defaults
        transport.tls = operatorTLS
        return transport
    }

    /// This process's executable, from /proc/self/exe.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Makes what the services need before any starts, keeping what exists: the data and
    /// log directories, the gateway's JWT secret, and (unless plaintext) the development CA
    /// and a certificate per service and for `operator`. Returns the files created. What
    /// `oo init` does for a mesh started some other way (compose.yaml).
    @discardableResult
    public func prepare() throws -> [String] {
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data + "/logs", withIntermediateDirectories: true)
        var created: [String] = []
        if try Self.ensureSecret(at: jwtSecretPath) { created.append(jwtSecretPath) }
        if !configuration.insecurePlaintext {
            do {
                created += try certificates.ensure(MeshLayout.services.map(\.name) + [Self.operatorName])
            } catch {
                throw MeshError(message: "Cannot make the mesh's certificates in \(certificates.directory): \(error)")
            }
        }
        return created
    }

    /// Starts every service in dependency order and waits for each to be healthy. On any
    /// failure, stops those already started and throws, naming the service and its log.
    public func start(progress: @Sendable (String) -> Void = { _ in }) async throws -> [Running] {
        try prepare()
        // A port already taken (a previous `oo up` still running, say) would answer the
        // health checks in place of the new service: refuse to start instead.
        for service in MeshLayout.services {
            for port in [configuration.layout.port(of: service.name), configuration.layout.adminPort(of: service.name)] {
            do {
                let probe = try HTTP2ServerTransport(host: configuration.layout.host, port: port)
                probe.beginGracefulShutdown()
            } catch {
                throw MeshError(
                    message: "Port \(port) (\(service.name)) on \(configuration.layout.host) is in use: is another `oo up` running? Stop it or pick another --base-port.")
            }
            }
        }
        var running: [Running] = []
        do {
            for service in MeshLayout.services {
                let entry = try launch(service)
                running.append(entry)
                try await waitUntilHealthy(entry)
                progress("\(service.name) is serving on \(entry.address) (pid \(entry.process.pid), log \(entry.logPath))")
            }
            return running
        } catch {
            await Self.stop(running, timeout: configuration.stopTimeout)
            throw error
        }
    }

    /// Starts `service` again (after it stopped or was killed) with the same arguments and
    /// data, and waits until it is healthy.
    public func restart(_ service: MeshLayout.Service) async throws -> Running {
        let entry = try launch(service)
        do {
            try await waitUntilHealthy(entry)
        } catch {
            await Self.stop([entry], timeout: configuration.stopTimeout)
            throw error
        }
        return entry
    }

    private func launch(_ service: MeshLayout.Service) throws -> Running {
        // Logs go to <name>.log (rotated by the service at 64 MiB); stdout and stderr, which
        // carry little but a crash's last words, to <name>.out.
        let logs = "\(configuration.dataDirectory)/logs/\(service.name)"
        // Our OO_* settings are not the children's: each gets its settings as flags.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OO_") }
        let process: ChildProcess
        do {
            process = try ChildProcess(
                configuration.executable, arguments(for: service), output: .file(logs + ".out"), environment: environment,
                lifeline: true)
        } catch {
            throw MeshError(message: "Could not start \(service.name) (\(configuration.executable), output \(logs).out): \(error)")
        }
        return Running(
            service: service, address: configuration.layout.address(of: service.name), process: process, logPath: logs + ".log",
            outputPath: logs + ".out")
    }

    /// The `oo serve` arguments of `service`.
    func arguments(for service: MeshLayout.Service) -> [String] {
        let layout = configuration.layout
        let data = configuration.dataDirectory
        var arguments = [
            "serve", service.name, "--host", layout.host, "--port", "\(layout.port(of: service.name))",
            "--data-dir", data, "--exit-when-stdin-closes", "--admin-port", "\(layout.adminPort(of: service.name))",
            "--log-file", "\(data)/logs/\(service.name).log",
        ]
        if configuration.insecurePlaintext {
            arguments.append("--insecure-plaintext")
        } else {
            // Every service serves TLS with its own certificate and calls the others with
            // it (mutual TLS); internal services require a client certificate. The gateway
            // verifies one when presented but does not require it: apps and browsers call it
            // with a bearer token, not a certificate.
            arguments += [
                "--tls-cert", certificates.certificatePath(service.name), "--tls-key", certificates.keyPath(service.name),
                "--tls-ca", certificates.caCertificatePath,
            ]
            if service.name == "gateway" { arguments += ["--tls-client-auth", "optional"] }
        }
        for dependency in service.dependencies {
            arguments += ["--\(dependency)", layout.address(of: dependency)]
        }
        if service.name == "gateway" { arguments += ["--jwt-secret-file", jwtSecretPath] }
        return arguments + (configuration.extraArguments[service.name] ?? [])
    }

    /// Polls the service's health until it answers SERVING, it exits, or time runs out.
    private func waitUntilHealthy(_ running: Running) async throws {
        let deadline = ContinuousClock.now + configuration.startTimeout
        let transport = try HTTP2ClientTransport(
            host: configuration.layout.host, port: configuration.layout.port(of: running.service.name), configuration: clientConfiguration)
        var lastError = "no answer yet"
        let healthy: Bool = try await withGRPCClient(transport: transport) { client in
            let health = Grpc_Health_V1_Health_Client(wrapping: client)
            while ContinuousClock.now < deadline {
                if running.process.hasExited { return false }
                do {
                    let response = try await health.check(.with { $0.service = running.service.grpcService }, options: CallOptions(timeout: .seconds(1)))
                    if response.status == .serving { return !running.process.hasExited }
                    lastError = "health is \(response.status)"
                } catch {
                    lastError = "\(error)"
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        guard healthy else {
            let tail = Self.tail(of: running.outputPath) + "\n" + Self.tail(of: running.logPath)
            throw MeshError(
                message: running.process.hasExited
                    ? "\(running.service.name) exited while starting (log \(running.logPath)):\n\(tail)"
                    : "\(running.service.name) did not become healthy within \(configuration.startTimeout) (\(lastError)); log \(running.logPath):\n\(tail)")
        }
    }

    /// Stops services in reverse start order: SIGTERM, then SIGKILL after `timeout`.
    public static func stop(_ running: [Running], timeout: Duration) async {
        for entry in running.reversed() {
            entry.process.signal(SIGTERM)
            if await entry.process.exitStatus(within: timeout) == nil {
                entry.process.signal(SIGKILL)
                _ = await entry.process.exitStatus(within: .seconds(5))
            }
            entry.process.closeLifeline()
        }
    }

    /// The last lines of a log, for error messages.
    static func tail(of path: String, lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Creates a random 32-byte secret file (mode 0600) unless one exists; true when it did.
    @discardableResult
    static func ensureSecret(at path: String) throws -> Bool {
        if FileManager.default.fileExists(atPath: path) { return false }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw MeshError(message: "Cannot write the JWT secret to \(path).")
        }
        return true
    }
}

/// Running the mesh failed; the message says which service and where its log is.
public struct MeshError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
