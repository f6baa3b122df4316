import ArgumentParser
import Foundation
import MeshRuntime
import OOAuth
import OOMesh
import OOProcess

/// `oo up`: the whole mesh on this machine, each service its own process.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start every oO service on loopback, wait until each is healthy, and stop them all on Ctrl-C.")

    @Option(name: .customLong("data-dir"), help: "Where the services keep their SQLite files and logs.")
    var dataDirectory = "oo-data"

    @Option(name: .customLong("base-port"), help: "The gateway's port; the others follow it (recommender +1, ml-serving +2, notifier +3, registry +4).")
    var basePort = 50051

    @Option(name: .customLong("control-share"), help: "Share of users the recommender serves with the random control policy.")
    var controlShare = 0.0

    @Flag(name: .customLong("insecure-plaintext"), help: "Serve and call plaintext h2c instead of mutual TLS (development only).")
    var insecurePlaintext = false

    func run() async throws {
        let launcher = MeshLauncher(configuration: meshConfiguration(
            dataDirectory: dataDirectory, basePort: basePort, controlShare: controlShare, insecurePlaintext: insecurePlaintext))
        // Interrupted while starting: exit; the services started so far see their stdin
        // lifeline close and stop on their own.
        let starting = TerminationSignals { _ in
            print("oo up: interrupted while starting; the services started so far stop on their own")
            Foundation.exit(130)
        }
        let running: [MeshLauncher.Running]
        do {
            running = try await launcher.start { print("oo up: \($0)") }
            starting.cancel()
        } catch {
            starting.cancel()
            throw error
        }
        let gateway = launcher.configuration.layout.address(of: "gateway")
        let scheme = launcher.configuration.insecurePlaintext ? "http" : "https"
        print("oo up: the mesh is up; the gateway is at \(gateway) (gRPC). Ctrl-C stops it.")
        print("oo up: Connect and gRPC-Web on the same port: \(scheme)://\(gateway)/oo.gateway.v1.Gateway/GetNextTip (HTTP/2; browsers: allow an origin with --cors-origin)")
        print("oo up: tokens are HS256 with the secret in \(launcher.jwtSecretPath), issuer oo-dev, audience oo-gateway: TOKEN=$(oo token --data-dir \(dataDirectory) --subject ada)")
        if launcher.configuration.insecurePlaintext {
            print("oo up: WARNING: plaintext h2c (--insecure-plaintext): anyone who can reach the ports can read and make calls.")
        } else {
            let certs = launcher.certificates
            print("oo up: every service serves TLS and calls the others with mutual TLS; CA \(certs.caCertificatePath).")
            print("oo up: as an operator: --cacert \(certs.caCertificatePath) --cert \(certs.certificatePath(MeshLauncher.operatorName)) --key \(certs.keyPath(MeshLauncher.operatorName))")
        }
        let stop = await waitForSignalOrExit(running)
        print("oo up: \(stop); stopping every service")
        await MeshLauncher.stop(running, timeout: launcher.configuration.stopTimeout)
        print("oo up: stopped")
    }
}

/// The mesh as `oo up` and `oo simulate` start it.
func meshConfiguration(dataDirectory: String, basePort: Int, controlShare: Double, insecurePlaintext: Bool = false) -> MeshLauncher.Configuration {
    var configuration = MeshLauncher.Configuration()
    configuration.insecurePlaintext = insecurePlaintext
    configuration.dataDirectory = dataDirectory
    configuration.layout = MeshLayout(basePort: basePort)
    if controlShare > 0 { configuration.extraArguments["recommender"] = ["--control-share", "\(controlShare)"] }
    return configuration
}

/// Waits for SIGINT/SIGTERM or for a service to exit on its own; says which.
func waitForSignalOrExit(_ running: [MeshLauncher.Running]) async -> String {
    let (events, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(8))
    let signals = TerminationSignals { number in continuation.yield(number == SIGINT ? "interrupted" : "terminated") }
    defer { signals.cancel() }
    // Unstructured on purpose: a task waiting for an exit cannot be cancelled, and a group
    // would wait for it; each ends when its service does (every service is stopped next).
    for entry in running {
        Task {
            let status = await entry.process.exitStatus()
            continuation.yield("\(entry.service.name) exited on its own (status \(status); log \(entry.logPath))")
        }
    }
    for await event in events { return event }
    return "stopped"
}
