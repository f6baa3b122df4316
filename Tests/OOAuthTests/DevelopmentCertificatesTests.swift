import Foundation
import OOAuth
import Testing

/// The development CA `oo up` and `oo certs` make, checked with the real `openssl` command
/// (and used for mutual TLS by the transport's TLS tests and `oo serve`'s).
@Suite("Development certificates")
struct DevelopmentCertificatesTests {
    private func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("oo-dev-certs-\(UUID().uuidString)").path
    }

    private func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private func permissions(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("a CA and leaves that chain to it, for both TLS roles, naming the workload; keys 0600 in a 0700 directory")
    func makesAChain() throws {
        let certs = DevelopmentCertificates(directory: directory())
        defer { try? FileManager.default.removeItem(atPath: certs.directory) }
        let created = try certs.ensure(["gateway", "ml-serving"])
        #expect(created == [certs.caCertificatePath, certs.certificatePath("gateway"), certs.certificatePath("ml-serving")])
        let verified = try openssl(["verify", "-CAfile", certs.caCertificatePath, certs.certificatePath("gateway")])
        #expect(verified.status == 0, "\(verified.output)")
        let text = try openssl(["x509", "-in", certs.certificatePath("ml-serving"), "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage,basicConstraints"])
        #expect(text.output.contains("CN = ml-serving"), "\(text.output)")
        #expect(text.output.contains("URI:spiffe://oo.local/ml-serving"), "\(text.output)")
        #expect(text.output.contains("IP Address:127.0.0.1") && text.output.contains("DNS:localhost"), "\(text.output)")
        #expect(text.output.contains("TLS Web Server Authentication") && text.output.contains("TLS Web Client Authentication"), "\(text.output)")
        #expect(text.output.contains("CA:FALSE"), "\(text.output)")
        let keyMatches = try openssl(["pkey", "-in", certs.keyPath("gateway"), "-noout"])
        #expect(keyMatches.status == 0, "\(keyMatches.output)")
        #expect(try permissions(certs.keyPath("gateway")) == 0o600)
        #expect(try permissions(certs.keyPath("ca")) == 0o600)
        #expect(try permissions(certs.directory) == 0o700)
        #expect(certs.identity("gateway") == "spiffe://oo.local/gateway")
    }

    @Test("running again keeps what exists and adds only what is missing, signed by the same CA")
    func keepsWhatExists() throws {
        let certs = DevelopmentCertificates(directory: directory())
        defer { try? FileManager.default.removeItem(atPath: certs.directory) }
        try certs.ensure(["gateway"])
        let before = try Data(contentsOf: URL(fileURLWithPath: certs.certificatePath("gateway")))
        let created = try certs.ensure(["gateway", "notifier"])
        #expect(created == [certs.certificatePath("notifier")])
        #expect(try Data(contentsOf: URL(fileURLWithPath: certs.certificatePath("gateway"))) == before)
        let verified = try openssl(["verify", "-CAfile", certs.caCertificatePath, certs.certificatePath("notifier")])
        #expect(verified.status == 0, "\(verified.output)")
    }

    @Test("names that would escape the directory, and a CA key that is not the CA's, are refused")
    func refusesBadInput() throws {
        let certs = DevelopmentCertificates(directory: directory())
        defer { try? FileManager.default.removeItem(atPath: certs.directory) }
        for name in ["../gateway", "a/b", "", ".hidden"] {
            #expect(throws: DevelopmentCertificates.Failure.self) { try certs.ensure([name]) }
        }
        try certs.ensure(["gateway"])
        // Another CA's key in place of ours: nothing is signed with it.
        let other = DevelopmentCertificates(directory: directory())
        defer { try? FileManager.default.removeItem(atPath: other.directory) }
        try other.ensure([])
        try FileManager.default.removeItem(atPath: certs.keyPath("ca"))
        try FileManager.default.copyItem(atPath: other.keyPath("ca"), toPath: certs.keyPath("ca"))
        #expect(throws: DevelopmentCertificates.Failure.self) { try certs.ensure(["notifier"]) }
        #expect(!FileManager.default.fileExists(atPath: certs.certificatePath("notifier")))
    }
}
