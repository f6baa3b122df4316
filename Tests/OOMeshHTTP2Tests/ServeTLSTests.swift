import ExampleProtos
import Foundation
import OOMesh
import OOMeshHTTP2
import SwiftProtobuf
import Testing

/// `oo serve`'s TLS: refused without TLS or an explicit --insecure-plaintext; mutual TLS with
/// --tls-ca; certificates rotated on disk (or announced with SIGHUP) served to the next
/// connection without a restart, and a half-rotated pair never loaded. Real processes, the
/// real `openssl s_client` to see which certificate is served.
@Suite("oo serve over TLS", .serialized)
struct ServeTLSTests {
    private let oo = ".build/debug/oo"

    /// `name.pem`/`name.key` signed by the tests' CA (made once with `tools/make-certs`,
    /// which keeps what exists and adds what is missing).
    private func certificates(adding names: [String]) async throws -> TestCertificates {
        let certs = try await TestCertificates.shared()
        let result = try await runProcess("bash", ["tools/make-certs", "--out", certs.directory] + names)
        guard result.status == 0 else { throw ProcessFailure(description: "tools/make-certs: \(result.output)") }
        return certs
    }

    /// Calls SayHello with the tests' CA and, when given, a client certificate.
    private func sayHello(port: Int, certs: TestCertificates, clientCertificate: Bool = true) async throws -> String {
        try await withHTTP2Client(port: port, configuration: certs.clientConfiguration(withCertificate: clientCertificate)) { client in
            var request = Oo_Example_V1_HelloRequest()
            request.name = "tls"
            return try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(request, options: CallOptions(timeout: .seconds(5))).message
        }
    }

    /// The subject CN of the certificate a new TLS connection is served (openssl s_client).
    private func servedCommonName(port: Int, certs: TestCertificates) async throws -> String? {
        let result = try await runProcess("openssl", [
            "s_client", "-connect", "127.0.0.1:\(port)", "-alpn", "h2", "-CAfile", certs.ca,
            "-cert", certs.certificate("client"), "-key", certs.key("client"),
        ], timeout: .seconds(10))
        guard let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }) else { return nil }
        return line.split(separator: "CN").last.map { $0.drop { $0 == " " || $0 == "=" } }.map(String.init)
    }

    /// Replaces `destination` by `source` the way certificate tools do: a copy renamed over it.
    private func install(_ source: String, as destination: String) throws {
        let temporary = destination + ".new"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: source, toPath: temporary)
        guard rename(temporary, destination) == 0 else { throw ProcessFailure(description: "rename \(temporary): errno \(errno)") }
    }

    private func waitUntil(_ what: String, timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw ProcessFailure(description: "not within \(timeout): \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// `oo serve greeter` on copies of the "server" certificate and key in a fresh directory
    /// (removed by the caller), checking for changes every `interval` seconds.
    private func serveRotatable(interval: String) async throws
        -> (server: BackgroundProcess, certs: TestCertificates, port: Int, pem: String, key: String, directory: String) {
        let certs = try await certificates(adding: ["rotated"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oo-serve-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (pem, key) = ("\(directory)/served.pem", "\(directory)/served.key")
        try install(certs.certificate("server"), as: pem)
        try install(certs.key("server"), as: key)
        let port = freePort()
        let server = try await BackgroundProcess(oo, [
            "serve", "greeter", "--port", String(port), "--admin-port=-1",
            "--tls-cert", pem, "--tls-key", key, "--tls-ca", certs.ca, "--tls-reload-interval", interval,
        ], readyMarker: "oo: serving")
        return (server, certs, port, pem, key, directory)
    }

    @Test("without TLS files or --insecure-plaintext, oo serve refuses to start and says what to pass")
    func plaintextNeedsAFlag() async throws {
        let result = try await runProcess(oo, ["serve", "greeter", "--port", String(freePort()), "--admin-port=-1"])
        #expect(result.status != 0)
        #expect(result.output.contains("--tls-cert FILE --tls-key FILE"), "\(result.output)")
        #expect(result.output.contains("--insecure-plaintext"), "\(result.output)")

        let both = try await runProcess(oo, ["serve", "greeter", "--port", String(freePort()), "--admin-port=-1",
                                             "--insecure-plaintext", "--tls-cert", "x.pem", "--tls-key", "x.key"])
        #expect(both.status != 0)
        #expect(both.output.contains("contradict"), "\(both.output)")
    }

    @Test("--insecure-plaintext serves h2c and warns at start")
    func insecurePlaintextWarns() async throws {
        let port = freePort()
        let server = try await BackgroundProcess(oo, ["serve", "greeter", "--port", String(port), "--admin-port=-1", "--insecure-plaintext"],
                                                 readyMarker: "oo: serving")
        defer { server.stop() }
        #expect(server.output.contains("(plaintext)"))
        #expect(server.output.contains("anyone who can reach"), "no warning: \(server.output)")
        let reply = try await withHTTP2Client(port: port) { client in
            try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(.with { $0.name = "h2c" }, options: CallOptions(timeout: .seconds(5))).message
        }
        #expect(reply.contains("h2c"))
    }

    @Test("with --tls-ca, mutual TLS: a client with the mesh's certificate is answered; one without, or in plaintext, is refused")
    func mutualTLS() async throws {
        let certs = try await TestCertificates.shared()
        let port = freePort()
        let server = try await BackgroundProcess(oo, [
            "serve", "greeter", "--port", String(port), "--admin-port=-1",
            "--tls-cert", certs.certificate("server"), "--tls-key", certs.key("server"), "--tls-ca", certs.ca,
        ], readyMarker: "oo: serving")
        defer { server.stop() }
        #expect(server.output.contains("(TLS)"))
        #expect(try await sayHello(port: port, certs: certs).contains("tls"))
        await #expect(throws: RPCError.self) { try await sayHello(port: port, certs: certs, clientCertificate: false) }
        await #expect(throws: RPCError.self) {
            try await withHTTP2Client(port: port) { client in
                try await Oo_Example_V1_Greeter_Client(wrapping: client).sayHello(.with { $0.name = "h2c" }, options: CallOptions(timeout: .seconds(5)))
            }
        }
        #expect(server.isRunning)
    }

    @Test("a certificate rotated on disk is served to the next connection; a half-rotated pair is not loaded and the old one stays")
    func rotationOnDisk() async throws {
        let (server, certs, port, pem, key, directory) = try await serveRotatable(interval: "0.2")
        defer { server.stop(); try? FileManager.default.removeItem(atPath: directory) }
        #expect(try await servedCommonName(port: port, certs: certs) == "server")

        // Only the certificate: it does not match the key, so nothing is loaded.
        try install(certs.certificate("rotated"), as: pem)
        try await waitUntil("the mismatched pair is refused") { server.output.contains("TLS files not reloaded") }
        #expect(try await servedCommonName(port: port, certs: certs) == "server")
        #expect(try await sayHello(port: port, certs: certs).contains("tls"))

        // Then the key: the pair matches and the next connection gets it.
        try install(certs.key("rotated"), as: key)
        try await waitUntil("the rotated certificate is served") { try await servedCommonName(port: port, certs: certs) == "rotated" }
        #expect(try await sayHello(port: port, certs: certs).contains("tls"))
        #expect(server.isRunning)
    }

    @Test("SIGHUP reloads the TLS files when watching is off")
    func reloadOnSIGHUP() async throws {
        let (server, certs, port, pem, key, directory) = try await serveRotatable(interval: "0")
        defer { server.stop(); try? FileManager.default.removeItem(atPath: directory) }
        try install(certs.certificate("rotated"), as: pem)
        try install(certs.key("rotated"), as: key)
        #expect(try await servedCommonName(port: port, certs: certs) == "server")
        server.signal(SIGHUP)
        try await waitUntil("the rotated certificate is served after SIGHUP") { try await servedCommonName(port: port, certs: certs) == "rotated" }
        #expect(server.output.contains("TLS files reloaded (SIGHUP)"))
        #expect(server.isRunning)
    }
}
