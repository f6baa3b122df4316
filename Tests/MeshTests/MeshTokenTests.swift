import Foundation
import GatewayProtos
import MeshRuntime
import OOAuth
import OOMesh
import OOMeshHTTP2
import OOProcess
import Testing

extension MeshProcessTests {
    /// Writes `keys` as a JWKS to `path` the way key tools and secret volumes do: a new file
    /// renamed over the old one.
    static func writeJWKS(_ keys: [(id: String, secret: [UInt8])], to path: String) throws {
        let temporary = path + ".new"
        try Data(try JWKS.document(hs256: keys)).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw MeshError(message: "cannot rename \(temporary)") }
    }

    @Test("token keys rotate without a restart: a new kid beside the old keeps both valid, removing the old refuses its tokens; oo token's token is accepted; a year-9999 token is not")
    func tokenKeyRotation() async throws {
        var (launcher, directory) = Self.launcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let jwksPath = directory.appendingPathComponent("gateway-jwks.json").path
        let oldSecret = Array("the old 32-byte-or-longer HS256 secret....".utf8)
        let newSecret = Array("the new 32-byte-or-longer HS256 secret....".utf8)
        try Self.writeJWKS([("2026-11", oldSecret)], to: jwksPath)
        var configuration = launcher.configuration
        configuration.extraArguments["gateway"] = ["--jwt-jwks", jwksPath, "--jwt-reload-interval", "0.2"]
        launcher = MeshLauncher(configuration: configuration)
        try await Self.withRunningMesh(launcher) { running in
            func token(_ secret: [UInt8], kid: String?, lifetime: TimeInterval = 600) throws -> String {
                try JWTSigner(hs256Secret: secret, keyID: kid).sign(
                    subject: "rotating-user", issuer: "oo-dev", audience: "oo-gateway",
                    expiresAt: Date().addingTimeInterval(lifetime), issuedAt: Date())
            }
            let oldToken = try token(oldSecret, kid: "2026-11")
            let newToken = try token(newSecret, kid: "2026-12")
            // `oo token` signs with the mesh's own secret (no kid), as the README shows.
            let minted = try await ChildProcess.run(Self.executable, [
                "token", "--data-dir", directory.path, "--subject", "rotating-user", "--ttl", "10m",
            ])
            #expect(minted.status == 0, "\(String(decoding: minted.standardError, as: UTF8.self))")
            let ooToken = String(decoding: minted.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)

            let layout = launcher.configuration.layout
            // A mobile backend's developer, as the README shows: grpcurl with the mesh's CA,
            // no client certificate, the .proto files (reflection is for mesh callers) and
            // `oo token`'s token.
            let grpcurl = try await ChildProcess.run("grpcurl", [
                "-cacert", launcher.certificates.caCertificatePath, "-import-path", FileManager.default.currentDirectoryPath + "/Proto",
                "-proto", "oo/gateway/v1/gateway.proto", "-H", "authorization: Bearer \(ooToken)", "-d", "{}",
                layout.address(of: "gateway"), "oo.gateway.v1.Gateway/ListTips",
            ])
            #expect(grpcurl.status == 0, "grpcurl: \(String(decoding: grpcurl.standardOutput + grpcurl.standardError, as: UTF8.self))")
            let anonymous = try await ChildProcess.run("grpcurl", [
                "-cacert", launcher.certificates.caCertificatePath, "-import-path", FileManager.default.currentDirectoryPath + "/Proto",
                "-proto", "oo/gateway/v1/gateway.proto", "-d", "{}", layout.address(of: "gateway"), "oo.gateway.v1.Gateway/ListTips",
            ])
            #expect(String(decoding: anonymous.standardError, as: UTF8.self).contains("Unauthenticated"), "\(String(decoding: anonymous.standardError, as: UTF8.self))")
            let transport = try HTTP2ClientTransport(host: layout.host, port: layout.port(of: "gateway"), configuration: launcher.clientConfiguration)
            try await withGRPCClient(transport: transport) { client in
                let gateway = Oo_Gateway_V1_Gateway_Client(wrapping: client)
                func answer(_ token: String) async -> (StatusCode?, String) {
                    do {
                        _ = try await gateway.listTips(
                            .init(), metadata: ["authorization": .string("Bearer \(token)")], options: CallOptions(timeout: .seconds(5)))
                        return (nil, "")
                    } catch let error as RPCError {
                        return (error.code, error.message)
                    } catch {
                        return (.unknown, "\(error)")
                    }
                }
                /// Waits (bounded) until `token` gets `expected`, as the watcher picks up a file.
                func eventually(_ token: String, _ expected: StatusCode?) async throws -> (StatusCode?, String) {
                    let deadline = ContinuousClock.now + .seconds(10)
                    var last = await answer(token)
                    while last.0 != expected, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(100))
                        last = await answer(token)
                    }
                    return last
                }
                let first = await answer(ooToken)
                #expect(first.0 == nil, "oo token's token refused: \(first)")
                #expect(await answer(oldToken).0 == nil)
                let unknown = await answer(newToken)
                #expect(unknown.0 == .unauthenticated)
                #expect(unknown.1.contains("kid '2026-12' names no configured key"), "\(unknown.1)")

                // Overlap: the new key beside the old one.
                try Self.writeJWKS([("2026-11", oldSecret), ("2026-12", newSecret)], to: jwksPath)
                #expect(try await eventually(newToken, nil).0 == nil, "the new key was not picked up")
                #expect(await answer(oldToken).0 == nil, "the old key must stay valid while both are listed")

                // The old key retired: its tokens are refused, the new ones and oo token's are not.
                try Self.writeJWKS([("2026-12", newSecret)], to: jwksPath)
                let retired = try await eventually(oldToken, .unauthenticated)
                #expect(retired.0 == .unauthenticated, "the old key is still accepted: \(retired)")
                #expect(await answer(newToken).0 == nil)
                #expect(await answer(ooToken).0 == nil)

                // A broken key file is logged and the keys in use stay.
                try "{not json".write(toFile: jwksPath, atomically: true, encoding: .utf8)
                try await Task.sleep(for: .milliseconds(600))
                #expect(await answer(newToken).0 == nil, "a broken key file must not drop the keys in use")

                // exp in the year 9999: refused for its lifetime whatever its signature.
                let forever = try JWTSigner(hs256Secret: newSecret, keyID: "2026-12").sign(
                    subject: "rotating-user", issuer: "oo-dev", audience: "oo-gateway", expiresAt: Date(timeIntervalSince1970: 253_402_000_000))
                let refused = await answer(forever)
                #expect(refused.0 == .unauthenticated)
                #expect(refused.1.contains("the limit is 86400 s"), "\(refused.1)")
            }
            let log = try String(contentsOfFile: running.first { $0.service.name == "gateway" }!.logPath, encoding: .utf8)
            #expect(log.contains("token keys reloaded (the key files changed): 2 keys"), "\(log.suffix(2000))")
            #expect(log.contains("token keys not reloaded"), "\(log.suffix(2000))")
        }
    }
}
